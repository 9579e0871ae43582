"""Shared test set-up: an isolated Wayfarer home per test, offscreen Qt, hypothesis profiles.

Property tests run a bounded number of examples by default (the `ci` profile); run them
longer with `scripts/test --hypothesis-profile=long`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Fixtures every test may use: a real relay child process, a local Anthropic API server.
pytest_plugins = ["relay_process", "anthropic_server"]

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def wayfarer_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own WAYFARER_HOME, so nothing touches the user's real trips."""
    home = tmp_path / "wayfarer-home"
    home.mkdir()
    monkeypatch.setenv("WAYFARER_HOME", str(home))
    return home

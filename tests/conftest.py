"""Shared test set-up: an isolated Wayfarer home per test, offscreen Qt, hypothesis profiles.

Property tests run a bounded number of examples by default (the `ci` profile); run them
longer with `scripts/test --hypothesis-profile=long`.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Fixtures every test may use: a real relay child process, a local Anthropic API server.
pytest_plugins = ["relay_process", "anthropic_server", "agent_process"]

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fault-rounds",
        type=int,
        default=int(os.environ.get("WAYFARER_FAULT_ROUNDS", "3")),
        help="rounds of each fault-injection test (relay kills, proxy cuts); default 3",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every `async def` test runs on anyio (asyncio backend)."""
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, "function", None)):
            item.add_marker(pytest.mark.anyio)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fault_rounds(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--fault-rounds"))


@pytest.fixture(autouse=True)
def wayfarer_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own WAYFARER_HOME, so nothing touches the user's real trips."""
    home = tmp_path / "wayfarer-home"
    home.mkdir()
    monkeypatch.setenv("WAYFARER_HOME", str(home))
    return home

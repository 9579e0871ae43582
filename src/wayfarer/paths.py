"""Where Wayfarer keeps things on disk (platformdirs), overridable for tests and portable use.

Set `WAYFARER_HOME` to put everything (trips, settings, relay data) under one folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path

APP = "wayfarer"


def _home() -> Path | None:
    value = os.environ.get("WAYFARER_HOME")
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    home = _home()
    path = home / "data" if home else user_data_path(APP, appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    home = _home()
    path = home / "config" if home else user_config_path(APP, appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def trips_dir() -> Path:
    path = data_dir() / "trips"
    path.mkdir(parents=True, exist_ok=True)
    return path


def embedded_relay_dir() -> Path:
    path = data_dir() / "relay"
    path.mkdir(parents=True, exist_ok=True)
    return path

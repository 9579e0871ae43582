"""Per-user settings: who I am (stable person id, name, colour), which relay and model to use.

Kept as one JSON file in the platformdirs config folder. The file holds the Anthropic API
key, so it is created readable by its owner only (0600) and replaced atomically; the key
never appears in a repr, a log line or an error message.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wayfarer import paths
from wayfarer.agent.providers import DEFAULT_ANTHROPIC_MODEL
from wayfarer.trip import Person

log = logging.getLogger(__name__)

FILE_NAME = "settings.json"
# Distinct, readable on white, and none of them the agent's purple.
PALETTE = ("#e8590c", "#2b8a3e", "#1c7ed6", "#c2255c", "#0c8599", "#5f3dc4", "#e67700", "#495057")
MODELS = (DEFAULT_ANTHROPIC_MODEL, "claude-opus-4-1", "claude-haiku-4-5")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_NAME = 60


class SettingsError(ValueError):
    """A setting a person entered cannot be used; the message says which and why."""


def color_for(person_id: str) -> str:
    """A stable palette colour for someone whose chosen colour we do not know."""
    return PALETTE[sum(person_id.encode()) % len(PALETTE)]


@dataclass(frozen=True)
class Settings:
    person_id: str
    display_name: str
    color: str
    relay_url: str = ""  # "": an embedded relay on this computer
    relay_key: str = field(default="", repr=False)  # lets this app mint links on relay_url
    api_key: str = field(default="", repr=False)
    model: str = DEFAULT_ANTHROPIC_MODEL
    last_trip: str = ""  # trip id reopened at start

    @property
    def person(self) -> Person:
        return Person(self.person_id, self.display_name, self.color)

    def checked(self) -> Settings:
        """These settings with whitespace trimmed; `SettingsError` if one is unusable."""
        name = self.display_name.strip()
        if not name:
            raise SettingsError("Your name must not be empty: others see it beside your messages.")
        if len(name) > MAX_NAME:
            raise SettingsError(f"Your name is too long ({len(name)} characters, at most {MAX_NAME}).")
        if not _COLOR.match(self.color):
            raise SettingsError(f"{self.color!r} is not a colour like #1c7ed6.")
        relay = self.relay_url.strip()
        if relay and not re.match(r"^wss?://[^/\s]+/?$", relay):
            raise SettingsError(
                f"{relay!r} is not a relay address: use ws://HOST:PORT (or leave it empty for the embedded relay)."
            )
        return dataclasses.replace(
            self,
            display_name=name,
            relay_url=relay.rstrip("/"),
            relay_key=self.relay_key.strip(),
            api_key=self.api_key.strip(),
            model=self.model.strip() or DEFAULT_ANTHROPIC_MODEL,
        )


def default_settings() -> Settings:
    person_id = f"p-{secrets.token_hex(8)}"
    try:
        name = getpass.getuser().capitalize()
    except (KeyError, OSError):  # no login name (e.g. a container without a passwd entry)
        name = "Traveller"
    return Settings(person_id=person_id, display_name=name or "Traveller", color=color_for(person_id))


class SettingsStore:
    """Loads and saves `Settings` at `path` (default: the user's config folder)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else paths.config_dir() / FILE_NAME

    def load(self) -> Settings:
        """The saved settings; on first use, fresh ones (with a new person id) saved at once,
        so that the person id stays the same from then on."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return self._first_run()
        except (OSError, ValueError) as exc:
            damaged = self.path.with_name(self.path.name + ".damaged")
            log.warning("settings file %s unreadable (%s); moved aside to %s", self.path, type(exc).__name__, damaged)
            os.replace(self.path, damaged)
            return self._first_run()
        return _from_json(raw)

    def save(self, settings: Settings) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        data = json.dumps(dataclasses.asdict(settings), indent=2).encode()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)  # O_CREAT's mode does not apply to an existing leftover
        os.replace(temporary, self.path)

    def update(self, **changes: Any) -> Settings:
        settings = dataclasses.replace(self.load(), **changes)
        self.save(settings)
        return settings

    def _first_run(self) -> Settings:
        settings = default_settings()
        self.save(settings)
        return settings


def _from_json(raw: Any) -> Settings:
    defaults = default_settings()
    if not isinstance(raw, dict):
        return defaults
    known = {f.name for f in dataclasses.fields(Settings)}
    values = {k: v for k, v in raw.items() if k in known and isinstance(v, str)}
    settings = dataclasses.replace(defaults, **values)
    if not settings.person_id:
        settings = dataclasses.replace(settings, person_id=defaults.person_id)
    return settings


class ColorButton(QPushButton):
    """A swatch that opens a colour picker."""

    def __init__(self, color: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(44, 26)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.clicked.connect(self._pick)
        self.set_color(color)

    @property
    def color(self) -> str:
        return self._color

    def set_color(self, color: str) -> None:
        self._color = color
        self.setStyleSheet(f"QPushButton {{ background: {color}; border: 1px solid #ced4da; border-radius: 13px; }}")

    def _pick(self) -> None:
        chosen = QColorDialog.getColor(QColor(self._color), self, "Your colour")
        if chosen.isValid():
            self.set_color(chosen.name())


class SettingsDialog(QDialog):
    """Edits a copy of the settings; `settings()` gives the accepted, checked result."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(460)
        self._original = settings
        self._result = settings

        self.name = QLineEdit(settings.display_name)
        self.name.setMaxLength(MAX_NAME)
        self.color = ColorButton(settings.color)
        swatches = QHBoxLayout()
        swatches.addWidget(self.color)
        for preset in PALETTE:
            swatch = QPushButton()
            swatch.setFixedSize(18, 18)
            swatch.setToolTip(preset)
            swatch.setStyleSheet(f"background: {preset}; border: none; border-radius: 9px;")
            swatch.clicked.connect(lambda _=False, c=preset: self.color.set_color(c))
            swatches.addWidget(swatch)
        swatches.addStretch()

        self.relay_url = QLineEdit(settings.relay_url)
        self.relay_url.setPlaceholderText("empty: an embedded relay on this computer")
        self.relay_key = QLineEdit(settings.relay_key)
        self.relay_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.relay_key.setPlaceholderText("optional: lets you create shared trips on that relay")
        self.api_key = QLineEdit(settings.api_key)
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("empty: the offline planner that ships with Wayfarer")
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.addItems(MODELS)
        self.model.setCurrentText(settings.model)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow(_section("You"))
        form.addRow("Name", self.name)
        form.addRow("Colour", swatches)
        form.addRow(_section("Sync"))
        form.addRow("Relay address", self.relay_url)
        form.addRow("Relay key", self.relay_key)
        form.addRow(_section("Agent"))
        form.addRow("Anthropic API key", self.api_key)
        form.addRow("Model", self.model)

        note = QLabel(
            "Name and colour apply at once, in every Wayfarer window you have open; relay, keys and "
            "model the next time Wayfarer starts."
        )
        note.setObjectName("hint")
        note.setWordWrap(True)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def settings(self) -> Settings:
        return self._result

    def accept(self) -> None:
        edited = dataclasses.replace(
            self._original,
            display_name=self.name.text(),
            color=self.color.color,
            relay_url=self.relay_url.text(),
            relay_key=self.relay_key.text(),
            api_key=self.api_key.text(),
            model=self.model.currentText(),
        )
        try:
            self._result = edited.checked()
        except SettingsError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        super().accept()


def _section(title: str) -> QLabel:
    label = QLabel(title)
    label.setObjectName("section")
    return label

"""Settings saved by another Wayfarer process of this user reach this one.

Every `wayfarer` window process reads the settings file once at start; a person who
renames themselves in one window would otherwise keep announcing the old name from the
others. `SettingsWatcher` watches the file and emits the settings whenever what is on
disk differs from what this process last knew.

Why the folder is watched too: `SettingsStore.save` replaces the file atomically (a new
file renamed over the old one), and a watch on the old file ends with it. A save is
several events (the temporary file, its rename); they are read once, after a short pause.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from .settings import Settings, SettingsStore

log = logging.getLogger(__name__)

SETTLE_MS = 150


class SettingsWatcher(QObject):
    changed = Signal(object)  # Settings, as saved by some process of this user

    def __init__(self, store: SettingsStore, known: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._known = known
        self._watcher = QFileSystemWatcher(self)
        self._watcher.addPath(str(store.path.parent))
        self._watch_file()
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(self._reload)
        self._watcher.directoryChanged.connect(lambda _path: self._settle.start())
        self._watcher.fileChanged.connect(lambda _path: self._settle.start())

    def saved_here(self, settings: Settings) -> None:
        """This process saved `settings` itself: nothing to tell it when the file changes."""
        self._known = settings

    def _watch_file(self) -> None:
        path = str(self._store.path)
        if self._store.path.exists() and path not in self._watcher.files():
            self._watcher.addPath(path)

    def _reload(self) -> None:
        self._watch_file()
        if not self._store.path.exists():
            return  # being replaced, or removed by hand: keep what we have
        try:
            settings = self._store.load()
        except OSError as exc:
            log.warning("could not read the settings another Wayfarer saved: %s", exc)
            return
        if settings.person_id != self._known.person_id:
            # Only a file written from scratch has another person id (it was deleted):
            # this process stays who it is, and its next save puts the id back.
            return
        if settings != self._known:
            self._known = settings
            self.changed.emit(settings)

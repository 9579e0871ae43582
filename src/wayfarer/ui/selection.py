"""The selected stop, shared by the board and the map of one window (not by peers)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class StopSelection(QObject):
    changed = Signal(str)  # stop id, or "" for none

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stop_id = ""

    @property
    def stop_id(self) -> str:
        return self._stop_id

    def select(self, stop_id: str) -> None:
        if stop_id != self._stop_id:
            self._stop_id = stop_id
            self.changed.emit(stop_id)

"""The sync state in the header: a coloured dot and `SyncStatus.summary`
("synced", "connecting", "offline · 3 changes waiting")."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from wayfarer.sync.status import SyncStatus

_DOT = {"offline": "#adb5bd", "connecting": "#f59f00", "syncing": "#4c6ef5", "synced": "#2f9e44"}
_PROBLEM = "#e03131"
LOCAL_ONLY = "local only · not shared"


class SyncIndicator(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncIndicator")
        self.dot = QLabel("●")
        self.text = QLabel()
        self.text.setObjectName("syncIndicator")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(5)
        layout.addWidget(self.dot)
        layout.addWidget(self.text)
        self.show_local_only()

    def show_status(self, status: SyncStatus) -> None:
        problem = status.stopped or (status.state == "offline" and bool(status.error))
        color = _PROBLEM if problem else _DOT.get(status.state, _DOT["offline"])
        summary = status.summary
        # The header stays one line; the full reason is in the tooltip.
        self.text.setText(summary if len(summary) <= 48 else summary[:46] + "…")
        self.dot.setStyleSheet(f"color: {color}; font-size: 11px;")
        self.setToolTip(summary)

    def show_local_only(self) -> None:
        """A trip with no relay link: nothing to sync with."""
        self.text.setText(LOCAL_ONLY)
        self.dot.setStyleSheet(f"color: {_DOT['offline']}; font-size: 11px;")
        self.setToolTip("This trip is kept on this computer only.")

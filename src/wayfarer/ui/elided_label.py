"""A one-line label that shortens its text with "…" instead of widening its window.

A QLabel asks for its whole text's width as its minimum, so a long day title in the
budget, or a hint beside buttons that come and go, would make every Wayfarer window
wider than two of them side by side (as `wayfarer demo` places them) can be.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel


class ElidedLabel(QLabel):
    MINIMUM_WIDTH = 40

    def minimumSizeHint(self) -> QSize:
        return QSize(min(self.MINIMUM_WIDTH, super().minimumSizeHint().width()), super().minimumSizeHint().height())

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)  # the whole text, when it had to be shortened

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        area = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, area.width())
        painter.drawText(area, int(self.alignment()), text)

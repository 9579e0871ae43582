"""A round avatar with a person's initials on their colour (the agent gets a sparkle)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

AGENT_GLYPH = "✦"


def initials(name: str) -> str:
    words = [w for w in name.replace("-", " ").split() if w]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].capitalize()
    return (words[0][0] + words[-1][0]).upper()


class Avatar(QWidget):
    """`ring` draws a live-activity ring around it (the agent while it works)."""

    def __init__(self, name: str, color: str, *, size: int = 28, agent: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._size = size
        self._agent = agent
        self._ring = False
        self.setFixedSize(QSize(size + 4, size + 4))
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.set_person(name, color)

    def set_person(self, name: str, color: str) -> None:
        self._label = avatar_label(name, agent=self._agent)
        self._color = QColor(color)
        self.update()

    def set_ring(self, on: bool) -> None:
        if on != self._ring:
            self._ring = on
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        circle = QRectF(2, 2, self._size, self._size)
        paint_avatar(painter, circle, self._label, self._color, font=self.font(), agent=self._agent, ring=self._ring)


def paint_avatar(
    painter: QPainter, circle: QRectF, label: str, color: QColor, *, font: QFont, agent: bool, ring: bool = False
) -> None:
    """The avatar's circle and label in `circle`: shared by the widget and by views that
    paint many avatars themselves (the chat paints one per message)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if ring:
        painter.setPen(QPen(color, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(circle.adjusted(-1, -1, 1, 1))
        circle = circle.adjusted(2.5, 2.5, -2.5, -2.5)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawEllipse(circle)
    bold = QFont(font)
    bold.setBold(True)
    bold.setPixelSize(max(9, int(circle.height() * (0.5 if agent else 0.4))))
    painter.setFont(bold)
    painter.setPen(QColor("white"))
    painter.drawText(circle, Qt.AlignmentFlag.AlignCenter, label)
    painter.restore()


def avatar_label(name: str, *, agent: bool) -> str:
    """What an avatar shows: the person's initials, or the agent's glyph."""
    return AGENT_GLYPH if agent else initials(name)

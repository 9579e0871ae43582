"""Small line icons drawn with QPainter.

Drawn rather than taken from a font or the platform theme so that they look the same on
every machine (a bare Linux has no icon theme and few symbol glyphs).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

from . import style

_SIZE = 16
_SCALE = 3  # drawn large and scaled down: crisp on high-DPI screens

Drawing = Callable[[QPainterPath], None]


def _undo(path: QPainterPath) -> None:
    path.moveTo(4.5, 6.5)
    path.lineTo(10, 6.5)
    path.cubicTo(13.5, 6.5, 13.5, 13, 10, 13)
    path.lineTo(6, 13)
    path.moveTo(7, 3.5)
    path.lineTo(4, 6.5)
    path.lineTo(7, 9.5)


def _redo(path: QPainterPath) -> None:
    mirrored = QPainterPath()
    _undo(mirrored)
    for i in range(mirrored.elementCount()):
        element = mirrored.elementAt(i)
        mirrored.setElementPositionAt(i, _SIZE - element.x, element.y)
    path.addPath(mirrored)


def _plus(path: QPainterPath) -> None:
    path.moveTo(8, 3.5)
    path.lineTo(8, 12.5)
    path.moveTo(3.5, 8)
    path.lineTo(12.5, 8)


def _minus(path: QPainterPath) -> None:
    path.moveTo(3.5, 8)
    path.lineTo(12.5, 8)


def _fit(path: QPainterPath) -> None:
    for (x, y), (dx, dy) in (((3, 3), (1, 1)), ((13, 3), (-1, 1)), ((3, 13), (1, -1)), ((13, 13), (-1, -1))):
        path.moveTo(x, y + 3.5 * dy)
        path.lineTo(x, y)
        path.lineTo(x + 3.5 * dx, y)
    path.addEllipse(QPointF(8, 8), 1.6, 1.6)


def _trash(path: QPainterPath) -> None:
    path.moveTo(3, 4.5)
    path.lineTo(13, 4.5)
    path.moveTo(6.5, 4.5)
    path.lineTo(6.5, 2.8)
    path.lineTo(9.5, 2.8)
    path.lineTo(9.5, 4.5)
    path.moveTo(4.5, 4.5)
    path.lineTo(5.2, 13.2)
    path.lineTo(10.8, 13.2)
    path.lineTo(11.5, 4.5)
    path.moveTo(8, 7)
    path.lineTo(8, 11)


def _pencil(path: QPainterPath) -> None:
    path.moveTo(3, 13)
    path.lineTo(3.6, 10.2)
    path.lineTo(10.6, 3.2)
    path.lineTo(12.8, 5.4)
    path.lineTo(5.8, 12.4)
    path.closeSubpath()
    path.moveTo(9.2, 4.6)
    path.lineTo(11.4, 6.8)


_DRAWINGS: dict[str, Drawing] = {
    "undo": _undo,
    "redo": _redo,
    "plus": _plus,
    "minus": _minus,
    "fit": _fit,
    "trash": _trash,
    "edit": _pencil,
}


def icon(name: str, color: QColor | None = None) -> QIcon:
    """One of: undo, redo, plus, minus, fit, trash, edit; greyed out when disabled."""
    result = QIcon()
    result.addPixmap(_pixmap(name, color or style.TEXT), QIcon.Mode.Normal)
    result.addPixmap(_pixmap(name, style.TEXT_FAINT), QIcon.Mode.Disabled)
    return result


def _pixmap(name: str, color: QColor) -> QPixmap:
    path = QPainterPath()
    _DRAWINGS[name](path)
    pixmap = QPixmap(_SIZE * _SCALE, _SIZE * _SCALE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(_SCALE, _SCALE)
    pen = QPen(color, 1.5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(path)
    painter.end()
    pixmap.setDevicePixelRatio(_SCALE)
    return pixmap


def badge_rect(center: QPointF, diameter: float) -> QRectF:
    """A square of `diameter` around `center`: numbered day badges and pins."""
    return QRectF(center.x() - diameter / 2, center.y() - diameter / 2, diameter, diameter)

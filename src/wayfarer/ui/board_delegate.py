"""How a board row looks: a day header, or a stop as a card.

The delegate only paints what `ItineraryItems` says a row is; it keeps nothing.
"""

from __future__ import annotations

import datetime as _dt

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTreeView

from wayfarer.trip import Day, Stop

from . import style
from .board_items import Role
from .icons import badge_rect

SECTION_HEIGHT = 58
STOP_HEIGHT = 62
_MARGIN = 12  # left and right of every row
_CARD_GAP = 6  # between stop cards
_BADGE = 28
_CHEVRON_WIDTH = 18

AnyIndex = QModelIndex | QPersistentModelIndex


def card_rect(row: QRectF) -> QRectF:
    """Where a stop's card is in its row (and its inline editor, while it is edited)."""
    return QRectF(QPointF(row.left() + _MARGIN + _CHEVRON_WIDTH, row.top()), QPointF(row.right() - _MARGIN, row.bottom() - _CARD_GAP))


def chevron_rect(row: QRectF) -> QRectF:
    """Where a day header's expand/collapse arrow is (the view toggles on a click there)."""
    return QRectF(row.left() + _MARGIN - 4, row.top() + 14, _CHEVRON_WIDTH, row.height() - 14)


class BoardDelegate(QStyledItemDelegate):
    def __init__(self, view: QTreeView) -> None:
        super().__init__(view)
        self._view = view
        self._title = style.ui_font(11.0, QFont.Weight.DemiBold)
        self._body = style.ui_font(10.0)
        self._strong = style.ui_font(10.0, QFont.Weight.DemiBold)
        self._small = style.ui_font(8.5)
        self._small_strong = style.ui_font(8.5, QFont.Weight.Bold)

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        kind = index.data(Role.KIND)
        return QSize(option.rect.width(), STOP_HEIGHT if kind == "stop" else SECTION_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(option.rect)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if index.data(Role.KIND) == "stop":
            self._paint_stop(painter, rect, index, selected, hovered)
        else:
            self._paint_section(painter, rect, index, selected)
        painter.restore()

    # ------------------------------------------------------------------ day header

    def _paint_section(self, painter: QPainter, rect: QRectF, index: AnyIndex, selected: bool) -> None:
        day: Day | None = index.data(Role.DAY)
        day_index: int = index.data(Role.DAY_INDEX)
        count: int = index.data(Role.STOP_COUNT)
        total: float = index.data(Role.TOTAL_COST)
        currency: str = index.data(Role.CURRENCY)
        color = style.day_color(day_index)
        top = rect.top() + 12  # air above each day
        body = QRectF(rect.left(), top, rect.width(), rect.bottom() - top)

        if selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(style.ACCENT_SOFT)
            painter.drawRoundedRect(body.adjusted(_MARGIN - 6, -2, -_MARGIN + 6, -2), 8, 8)

        self._paint_chevron(painter, chevron_rect(rect), self._view.isExpanded(index))
        badge = badge_rect(QPointF(rect.left() + _MARGIN + _CHEVRON_WIDTH + _BADGE / 2, body.center().y()), _BADGE)
        painter.setPen(Qt.PenStyle.NoPen)
        if day is None:
            painter.setBrush(style.SURFACE)
            painter.setPen(QPen(style.TEXT_FAINT, 1.3, Qt.PenStyle.DashLine))
            painter.drawEllipse(badge.adjusted(1, 1, -1, -1))
        else:
            painter.setBrush(color)
            painter.drawEllipse(badge)
            painter.setPen(QColor("white"))
            painter.setFont(self._small_strong)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, str(day_index + 1))

        text_left = badge.right() + 10
        right = rect.right() - _MARGIN - 4
        summary = _count_text(count)
        money = style.format_money(total, currency) if total else ""
        painter.setFont(self._strong)
        money_width = QFontMetrics(self._strong).horizontalAdvance(money)
        painter.setPen(style.TEXT)
        painter.drawText(
            QRectF(right - money_width, body.top(), money_width, body.height() / 2 + 2),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
            money,
        )
        painter.setFont(self._small)
        painter.setPen(style.TEXT_MUTED)
        painter.drawText(
            QRectF(text_left, body.center().y() + 2, right - text_left, body.height() / 2),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
            summary,
        )

        title_width = right - text_left - money_width - 12
        painter.setFont(self._title)
        painter.setPen(style.TEXT)
        title = QFontMetrics(self._title).elidedText(str(index.data()), Qt.TextElideMode.ElideRight, int(title_width))
        painter.drawText(
            QRectF(text_left, body.top(), title_width, body.height() / 2 + 2),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
            title,
        )
        painter.setFont(self._small)
        painter.setPen(style.TEXT_MUTED)
        painter.drawText(
            QRectF(text_left, body.center().y() + 2, title_width, body.height() / 2),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
            _day_subtitle(day, day_index, count),
        )

    @staticmethod
    def _paint_chevron(painter: QPainter, area: QRectF, expanded: bool) -> None:
        center = area.center()
        path = QPainterPath()
        if expanded:
            path.moveTo(center + QPointF(-4, -2))
            path.lineTo(center + QPointF(0, 2))
            path.lineTo(center + QPointF(4, -2))
        else:
            path.moveTo(center + QPointF(-2, -4))
            path.lineTo(center + QPointF(2, 0))
            path.lineTo(center + QPointF(-2, 4))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(style.TEXT_FAINT, 1.6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawPath(path)

    # ------------------------------------------------------------------ stop card

    def _paint_stop(self, painter: QPainter, rect: QRectF, index: AnyIndex, selected: bool, hovered: bool) -> None:
        stop: Stop = index.data(Role.STOP)
        day_index: int = index.data(Role.DAY_INDEX)
        currency: str = index.data(Role.CURRENCY)
        color = style.day_color(day_index)
        card = card_rect(rect)

        outline = style.ACCENT if selected else (style.TEXT_FAINT if hovered else style.BORDER)
        painter.setPen(QPen(outline, 1.6 if selected else 1.0))
        painter.setBrush(QColor("#f5f7ff") if selected else style.SURFACE)
        painter.drawRoundedRect(card.adjusted(0.5, 0.5, -0.5, -0.5), 8, 8)

        # The day's colour as a strip on the card's left edge: ties the card to its pin.
        strip = QPainterPath()
        strip.addRoundedRect(card.adjusted(1, 1, 0, -1), 7, 7)
        clip = QPainterPath()
        clip.addRect(QRectF(card.left(), card.top(), 4, card.height()))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawPath(strip.intersected(clip))

        line1 = QRectF(card.left() + 14, card.top() + 8, card.width() - 28, 20)
        line2 = QRectF(line1.left(), line1.bottom() + 2, line1.width(), 18)

        # Order number, as on the map pin; unscheduled stops have no order to show.
        number = badge_rect(QPointF(line1.left() + 10, card.center().y()), 20)
        if day_index >= 0:
            painter.setBrush(style.tinted(color, 0.12))
            painter.drawEllipse(number)
            painter.setPen(color)
            painter.setFont(self._small_strong)
            painter.drawText(number, Qt.AlignmentFlag.AlignCenter, str(index.data(Role.ORDER)))

        left = number.right() + 12
        painter.setFont(self._strong)
        painter.setPen(style.TEXT if stop.start_time else style.TEXT_FAINT)
        time_rect = QRectF(left, line1.top(), 44, line1.height())
        no_time = "--:--" if day_index >= 0 else ""
        painter.drawText(time_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, stop.start_time or no_time)

        cost = style.format_money(stop.cost, currency) if stop.cost else "free"
        cost_font = self._strong if stop.cost else self._small
        cost_width = QFontMetrics(cost_font).horizontalAdvance(cost)
        painter.setFont(cost_font)
        painter.setPen(style.TEXT if stop.cost else style.TEXT_FAINT)
        painter.drawText(line1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, cost)

        name_left = time_rect.right() + 6
        name_rect = QRectF(name_left, line1.top(), line1.right() - cost_width - 12 - name_left, line1.height())
        painter.setFont(self._body)
        painter.setPen(style.TEXT)
        name = QFontMetrics(self._body).elidedText(stop.name, Qt.TextElideMode.ElideRight, int(name_rect.width()))
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)

        chip_right = self._paint_chip(painter, QPointF(left, line2.center().y()), stop.category)
        details = " · ".join(
            part for part in (style.format_duration(stop.duration_min), stop.notes.replace("\n", " ")) if part
        )
        painter.setFont(self._small)
        painter.setPen(style.TEXT_MUTED)
        details_rect = QRectF(chip_right + 8, line2.top(), line2.right() - chip_right - 8, line2.height())
        details = QFontMetrics(self._small).elidedText(details, Qt.TextElideMode.ElideRight, int(details_rect.width()))
        painter.drawText(details_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, details)

    def _paint_chip(self, painter: QPainter, left_center: QPointF, category: str) -> float:
        """A rounded category label; returns its right edge."""
        label = style.CATEGORY_LABELS.get(category, category)
        color = style.category_color(category)
        width = QFontMetrics(self._small).horizontalAdvance(label) + 22
        chip = QRectF(left_center.x(), left_center.y() - 8, width, 16)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style.tinted(color, 0.13))
        painter.drawRoundedRect(chip, 8, 8)
        painter.setBrush(color)
        painter.drawEllipse(QPointF(chip.left() + 8, chip.center().y()), 2.6, 2.6)
        painter.setFont(self._small)
        painter.setPen(color.darker(125))
        painter.drawText(chip.adjusted(14, 0, -6, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label)
        return chip.right()


def long_date(iso: str) -> str:
    """`2026-03-14` → `Saturday 14 March 2026`; a date a foreign peer garbled stays as written."""
    try:
        when = _dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{when:%A} {when.day} {when:%B %Y}"


def _count_text(count: int) -> str:
    return f"{count} stop" if count == 1 else f"{count} stops"


def _day_subtitle(day: Day | None, day_index: int, count: int) -> str:
    if day is None:
        return "Ideas not on a day yet" if count else "Drag a stop here to take it off its day"
    parts = []
    if day.date:
        parts.append(long_date(day.date))
    if day.title:
        parts.append(f"Day {day_index + 1}")
    if not count:
        parts.append("no stops yet: drag one here")
    return " · ".join(parts)

"""The budget: limit against spent, what is left or over, spent by category and by day.

The limit is the trip's PN-counter; the +/- buttons and "Set" each make one
`adjust_budget` call (`set_budget_limit` adjusts by the difference), so two people
adjusting at once both count. Spent is never stored: it is the sum of the stops' costs.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from wayfarer.trip import Budget, TripSnapshot

from . import style
from .edits import apply_edit
from .elided_label import ElidedLabel
from .text_keys import EscapeCancels
from .trip_model import TripModel

STEPS = (-100.0, -50.0, 50.0, 100.0)
_NEAR_LIMIT = 0.9  # from here on the bar turns amber


class _Bar(QWidget):
    """A rounded bar filled to `fraction` (capped at 1) in `color`."""

    def __init__(self, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fraction = 0.0
        self.color = QColor(style.ACCENT)
        self.setFixedHeight(height)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_value(self, fraction: float, color: QColor) -> None:
        fraction = max(0.0, min(1.0, fraction))
        if (fraction, color) != (self.fraction, self.color):
            self.fraction, self.color = fraction, QColor(color)
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(120, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        track = QRectF(self.rect())
        radius = track.height() / 2
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style.SURFACE_ALT)
        painter.drawRoundedRect(track, radius, radius)
        if self.fraction > 0:
            fill = QRectF(track.left(), track.top(), max(track.height(), track.width() * self.fraction), track.height())
            painter.setBrush(self.color)
            painter.drawRoundedRect(fill, radius, radius)


@dataclass(frozen=True)
class _Row:
    label: str
    color: QColor
    amount: float


class _Breakdown(QWidget):
    """Titled rows of dot, label, bar and amount; rows are reused as the numbers change."""

    def __init__(self, title: str, empty_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._grid = QGridLayout()
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(10)
        self._grid.setVerticalSpacing(7)
        self._grid.setColumnStretch(2, 1)
        self._rows: list[tuple[QLabel, QLabel, _Bar, QLabel]] = []
        self.empty = QLabel(empty_text, objectName="hintText")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(QLabel(title, objectName="breakdownTitle"))
        layout.addLayout(self._grid)
        layout.addWidget(self.empty)

    def set_rows(self, rows: list[_Row], currency: str) -> None:
        while len(self._rows) < len(rows):
            self._add_row()
        most = max((r.amount for r in rows), default=0.0)
        for i, widgets in enumerate(self._rows):
            for widget in widgets:
                widget.setVisible(i < len(rows))
            if i >= len(rows):
                continue
            dot, label, bar, amount = widgets
            row = rows[i]
            dot.setStyleSheet(f"color: {row.color.name()};")
            label.setText(row.label)
            bar.set_value(row.amount / most if most else 0.0, style.tinted(row.color, 0.55))
            amount.setText(style.format_money(row.amount, currency))
        self.empty.setVisible(not rows)

    def labels(self) -> list[str]:
        """What the rows say, as "label: amount" (what a person reads)."""
        return [f"{label.text()}: {amount.text()}" for _dot, label, _bar, amount in self._rows if label.isVisible()]

    def _add_row(self) -> None:
        row = len(self._rows)
        widgets = (QLabel("●", objectName="dot"), ElidedLabel(objectName="rowLabel"), _Bar(6), QLabel(objectName="amount"))
        widgets[3].setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for column, widget in enumerate(widgets):
            self._grid.addWidget(widget, row, column)
        self._rows.append(widgets)


class BudgetPanel(QWidget):
    """Limit and spending of one trip, with quick adjustments of the limit."""

    def __init__(self, model: TripModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.setObjectName("budgetPanel")
        self.setStyleSheet(_BUDGET_STYLE)
        editable = not model.read_only

        self.currency = QLabel(objectName="currency")
        self.spent = QLabel(objectName="spent")
        self.limit = QLabel(objectName="limit")
        self.bar = _Bar(10)
        self.status = QLabel(objectName="status")
        self.status.setWordWrap(True)
        self.adjust_buttons: dict[float, QPushButton] = {}
        for step in STEPS:
            button = QPushButton(objectName="step")
            button.clicked.connect(lambda _=False, delta=step: self.adjust(delta))
            self.adjust_buttons[step] = button
        self.set_button = QPushButton("Set…", objectName="step")
        self.set_button.setToolTip("Type a new limit")
        self.set_button.clicked.connect(self._toggle_limit_editor)
        self.limit_input = QDoubleSpinBox(minimum=0.0, maximum=1e9, decimals=2, singleStep=50.0)
        self.limit_input.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.limit_save = QPushButton("Set limit", objectName="primary")
        self.limit_save.clicked.connect(self._save_limit)
        self.limit_input.editingFinished.connect(self._save_limit_on_enter)
        EscapeCancels(self.limit_input, self._cancel_limit)
        self.error = QLabel(objectName="error", wordWrap=True)
        self.error.hide()
        for button in (*self.adjust_buttons.values(), self.set_button, self.limit_save):
            button.setEnabled(editable)
        self.by_category = _Breakdown("By category", "Nothing spent yet.")
        self.by_day = _Breakdown("By day", "No costs on any day yet.")
        self._limit_row = QWidget()
        self._layout()

        model.budget_changed.connect(self._refresh)
        model.meta_changed.connect(self._refresh)
        model.itinerary_changed.connect(lambda days, _stops: self._refresh() if days else None)
        self._refresh()

    def sizeHint(self) -> QSize:
        return QSize(340, 560)

    # ------------------------------------------------------------------ layout

    def _layout(self) -> None:
        title = QLabel("Budget", objectName="title")
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch()
        header.addWidget(self.currency)

        figures = QHBoxLayout()
        figures.addWidget(self.spent, 0, Qt.AlignmentFlag.AlignBottom)
        figures.addStretch()
        figures.addWidget(self.limit, 0, Qt.AlignmentFlag.AlignBottom)

        steps = QHBoxLayout()
        steps.setSpacing(6)
        for button in self.adjust_buttons.values():
            steps.addWidget(button)
        limit_row = QHBoxLayout(self._limit_row)
        limit_row.setContentsMargins(0, 0, 0, 0)
        limit_row.addWidget(self.limit_input, 1)
        limit_row.addWidget(self.limit_save)
        self._limit_row.hide()

        card = QFrame(objectName="card")
        inner = QVBoxLayout(card)
        inner.setContentsMargins(16, 14, 16, 14)
        inner.setSpacing(8)
        inner.addLayout(figures)
        inner.addWidget(self.bar)
        inner.addWidget(self.status)
        adjust = QHBoxLayout()
        adjust.addWidget(QLabel("Adjust the limit", objectName="hintText"))
        adjust.addStretch()
        adjust.addWidget(self.set_button)  # beside its label: the steps keep a narrow window's width
        inner.addSpacing(4)
        inner.addLayout(adjust)
        inner.addLayout(steps)
        inner.addWidget(self._limit_row)
        inner.addWidget(self.error)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 16)
        layout.setSpacing(20)
        layout.addLayout(header)
        layout.addWidget(card)
        layout.addWidget(self.by_category)
        layout.addWidget(self.by_day)
        layout.addStretch()

    # ------------------------------------------------------------------ following the trip

    def _refresh(self) -> None:
        snapshot = self._model.snapshot
        budget, currency = snapshot.budget, snapshot.meta.currency
        self.currency.setText(currency)
        self.currency.setToolTip(f"Amounts are in {currency}")
        muted = f"font-size:10pt; font-weight:400; color:{style.TEXT_MUTED.name()}"
        self.spent.setText(f"{style.format_money(budget.spent, currency)} <span style='{muted}'>spent</span>")
        self.limit.setText(
            f"of {style.format_money(budget.limit, currency)}" if budget.limit > 0 else "no limit set"
        )
        self._show_status(budget, currency)
        for step, button in self.adjust_buttons.items():
            button.setText(style.format_money(step, currency, signed=True))
            # The limit is never taken below zero from here.
            button.setEnabled(not self._model.read_only and budget.limit + step >= 0)
        self.limit_input.setPrefix(style.currency_symbol(currency))
        self.by_category.set_rows(
            [
                _Row(style.CATEGORY_LABELS.get(key, key), style.category_color(key), amount)
                for key, amount in sorted(budget.by_category.items(), key=lambda kv: -kv[1])
                if amount > 0
            ],
            currency,
        )
        self.by_day.set_rows(_day_rows(snapshot), currency)

    def _show_status(self, budget: Budget, currency: str) -> None:
        tone = "ok"
        if budget.limit <= 0:
            self.bar.set_value(0.0, style.ACCENT)
            text = "Set a limit to track spending against it."
            tone = "muted"
        elif budget.over:
            self.bar.set_value(1.0, style.DANGER)
            text = f"⚠ Over budget by {style.format_money(-budget.remaining, currency)}"
            tone = "over"
        else:
            used = budget.spent / budget.limit
            self.bar.set_value(used, style.WARNING if used >= _NEAR_LIMIT else style.ACCENT)
            text = f"{style.format_money(budget.remaining, currency)} left · {used:.0%} used"
            tone = "near" if used >= _NEAR_LIMIT else "ok"
        self.status.setText(text)
        self.status.setProperty("tone", tone)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    # ------------------------------------------------------------------ edits

    def adjust(self, delta: float) -> None:
        self._report(apply_edit(self._model, lambda trip: trip.adjust_budget(delta)))

    def set_limit(self, limit: float) -> None:
        self._report(apply_edit(self._model, lambda trip: trip.set_budget_limit(limit)))

    def _toggle_limit_editor(self) -> None:
        opening = self._limit_row.isHidden()
        self._limit_row.setVisible(opening)
        if opening:
            self.limit_input.setValue(max(0.0, self._model.snapshot.budget.limit))
            self.limit_input.setFocus()
            self.limit_input.selectAll()

    def _save_limit(self) -> None:
        self.set_limit(self.limit_input.value())
        if self.error.isHidden():
            self._limit_row.hide()

    def _cancel_limit(self) -> None:
        self._limit_row.hide()

    def _save_limit_on_enter(self) -> None:
        # editingFinished also fires when focus leaves: only Enter in the box saves.
        if self.limit_input.hasFocus():
            self._save_limit()

    def _report(self, refusal: str) -> None:
        self.error.setText(refusal)
        self.error.setVisible(bool(refusal))


def _day_rows(snapshot: TripSnapshot) -> list[_Row]:
    by_day = snapshot.budget.by_day
    rows = [
        _Row(f"Day {i}" + (f" · {day.title}" if day.title else ""), style.day_color(i - 1), by_day.get(day.id, 0.0))
        for i, day in enumerate(snapshot.days, start=1)
    ]
    if by_day.get("", 0.0) > 0:
        rows.append(_Row("Unscheduled", style.day_color(-1), by_day[""]))
    return rows if any(r.amount > 0 for r in rows) else []


_BUDGET_STYLE = f"""
#budgetPanel {{ background: {style.WINDOW.name()}; }}
QLabel {{ color: {style.TEXT.name()}; }}
QLabel#title {{ font-size: 14pt; font-weight: 600; }}
QLabel#currency {{
    color: {style.TEXT_MUTED.name()}; background: {style.SURFACE.name()}; border: 1px solid {style.BORDER.name()};
    border-radius: 9px; padding: 1px 8px; font-size: 8pt; font-weight: 600;
}}
QFrame#card {{ background: {style.SURFACE.name()}; border: 1px solid {style.BORDER.name()}; border-radius: 10px; }}
QLabel#spent {{ font-size: 18pt; font-weight: 700; }}
QLabel#limit {{ color: {style.TEXT_MUTED.name()}; font-size: 10pt; padding-bottom: 3px; }}
QLabel#status {{ font-size: 9.5pt; }}
QLabel#status[tone="ok"] {{ color: {style.SUCCESS.name()}; }}
QLabel#status[tone="near"] {{ color: {style.WARNING.name()}; font-weight: 600; }}
QLabel#status[tone="muted"] {{ color: {style.TEXT_MUTED.name()}; }}
QLabel#status[tone="over"] {{
    color: {style.DANGER.name()}; background: {style.DANGER_SOFT.name()}; font-weight: 600;
    border-radius: 6px; padding: 5px 8px;
}}
QLabel#hintText {{ color: {style.TEXT_MUTED.name()}; font-size: 9pt; }}
QLabel#breakdownTitle {{ color: {style.TEXT_MUTED.name()}; font-size: 9pt; font-weight: 600; }}
QLabel#rowLabel {{ font-size: 9.5pt; }}
QLabel#amount {{ font-size: 9.5pt; font-weight: 600; }}
QLabel#dot {{ font-size: 9pt; }}
QLabel#error {{ color: {style.DANGER.name()}; font-size: 9pt; }}
QPushButton#step {{
    background: {style.SURFACE.name()}; border: 1px solid {style.BORDER.name()}; border-radius: 7px;
    padding: 5px 4px; font-weight: 600; color: {style.TEXT.name()}; min-width: 44px;
}}
QPushButton#step:hover {{ border-color: {style.TEXT_FAINT.name()}; background: {style.SURFACE_ALT.name()}; }}
QPushButton#step:disabled {{ color: {style.TEXT_FAINT.name()}; background: {style.SURFACE_ALT.name()}; }}
QPushButton#primary {{
    background: {style.ACCENT.name()}; color: white; border: 1px solid {style.ACCENT.name()};
    border-radius: 7px; padding: 5px 12px; font-weight: 600;
}}
QPushButton#primary:disabled {{ background: {style.SURFACE_ALT.name()}; color: {style.TEXT_FAINT.name()}; border-color: {style.BORDER.name()}; }}
QDoubleSpinBox {{ border: 1px solid {style.BORDER.name()}; border-radius: 6px; padding: 4px 6px; background: white; }}
QDoubleSpinBox:focus {{ border-color: {style.ACCENT.name()}; }}
QDoubleSpinBox::up-button, QDoubleSpinBox::down-button {{ width: 0; border: none; }}
"""

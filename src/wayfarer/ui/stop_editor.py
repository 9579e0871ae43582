"""Forms that edit one stop or one day of the board.

A form writes only the fields the person changed, so that what someone else edited on the
same stop meanwhile (another field) is kept. A refused value is shown under the form with
the field marked, and the form stays open with everything typed: nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from wayfarer.agent.gazetteer import Place
from wayfarer.trip import Day, Stop, Trip

from . import style
from .edits import apply_edit, refused_field
from .place_lookup import place_lookup
from .trip_model import TripModel

_MAX_DURATION_MIN = 7 * 24 * 60
FIELD_STYLE = f"""
QLineEdit, QPlainTextEdit, QSpinBox, QDoubleSpinBox, QComboBox {{
    border: 1px solid {style.BORDER.name()}; border-radius: 6px; padding: 4px 6px;
    background: {style.SURFACE.name()}; color: {style.TEXT.name()};
}}
QLineEdit:focus, QPlainTextEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus, QComboBox:focus {{
    border-color: {style.ACCENT.name()};
}}
/* A styled box draws broken arrows (and hiding them with NoButtons hides the text):
   no arrows; typing, the arrow keys and the wheel still step. */
QSpinBox::up-button, QSpinBox::down-button, QDoubleSpinBox::up-button, QDoubleSpinBox::down-button {{
    width: 0; border: none;
}}
*[refused="true"] {{ border-color: {style.DANGER.name()}; background: {style.DANGER_SOFT.name()}; }}
QLabel#error {{
    color: {style.DANGER.name()}; background: {style.DANGER_SOFT.name()};
    border-radius: 6px; padding: 6px 8px;
}}
"""


class _Form(QDialog):
    """A dialog with a form, an error line and Save/Cancel; subclasses say what Save does."""

    # Schema fields that one form widget edits together (lat and lon: "Location").
    aliases: dict[str, str] = {}

    def __init__(self, model: TripModel, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self._model = model
        self.setWindowTitle(title)
        self.setStyleSheet(FIELD_STYLE)
        self.setMinimumWidth(380)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.form.setVerticalSpacing(8)
        self.error = QLabel(objectName="error", wordWrap=True)
        self.error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(12)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._fields: dict[str, QWidget] = {}

    def add_field(self, key: str, label: str, widget: QWidget, row: QWidget | None = None) -> None:
        """Add `widget` as the field `key` (marked when refused), shown in `row` if given."""
        self._fields[key] = widget
        self.form.addRow(label, row or widget)

    def save(self) -> None:
        raise NotImplementedError

    def write(self, action: Callable[[Trip], object]) -> None:
        """Apply `action`; close when it went through, else show why and stay open."""
        refusal = apply_edit(self._model, action)
        if refusal:
            self.show_error(refusal, refused_field(refusal))
        else:
            self.accept()

    def show_error(self, message: str, field: str = "") -> None:
        field = self.aliases.get(field, field)
        self.error.setText(message)
        self.error.show()
        for key, widget in self._fields.items():
            widget.setProperty("refused", key == field)
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        if field in self._fields:
            self._fields[field].setFocus()


class StopForm(_Form):
    """Edit a stop (`stop` given) or add one to `day_id` (`stop` None) near `near`."""

    aliases = {"lat": "location", "lon": "location"}

    def __init__(
        self,
        model: TripModel,
        stop: Stop | None,
        *,
        day_id: str = "",
        near: tuple[float, float] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(model, "Edit stop" if stop else "New stop", parent)
        self._stop = stop
        self._day_id = day_id
        self.created = ""  # id of the stop a "New stop" form added
        currency = model.snapshot.meta.currency
        start = stop or Stop(id="", day=day_id, position="", name="", lat=0.0, lon=0.0, duration_min=60, category="sight")

        self.name = QLineEdit(start.name, placeholderText="e.g. Belém Tower")
        self.start_time = QLineEdit(start.start_time, placeholderText="HH:MM, or empty", maxLength=5)
        self.duration = QSpinBox(minimum=0, maximum=_MAX_DURATION_MIN, singleStep=15, suffix=" min")
        self.duration.setValue(start.duration_min)
        self.cost = QDoubleSpinBox(minimum=0.0, maximum=1e9, decimals=2, singleStep=5.0)
        self.cost.setPrefix(style.currency_symbol(currency))
        self.cost.setValue(start.cost)
        self.category = QComboBox()
        for key, label in style.CATEGORY_LABELS.items():
            self.category.addItem(label, key)
        self.category.setCurrentIndex(max(0, self.category.findData(start.category)))
        where = near if stop is None else (stop.lat, stop.lon)
        self.location = QLineEdit(
            f"{where[0]:.5f}, {where[1]:.5f}" if where is not None else "",
            placeholderText="latitude, longitude, e.g. 38.69158, -9.21598",
        )
        self.find = QPushButton("Find", objectName="secondary")
        self.find.setToolTip("Look the name up in the offline atlas of cities and sights")
        self.find.clicked.connect(self.find_place)
        self.places = QMenu(self)
        self._near = near
        self._looking_for = ""
        place_lookup().found.connect(self._show_places)
        self.finished.connect(lambda _result: place_lookup().found.disconnect(self._show_places))
        self.notes = QPlainTextEdit(start.notes)
        self.notes.setFixedHeight(84)

        self.add_field("name", "Name", self.name)
        self.add_field("start_time", "Start time", self.start_time)
        self.add_field("duration_min", "Duration", self.duration)
        self.add_field("cost", f"Cost ({currency})", self.cost)
        self.add_field("category", "Category", self.category)
        where_row = QWidget()
        where_layout = QHBoxLayout(where_row)
        where_layout.setContentsMargins(0, 0, 0, 0)
        where_layout.addWidget(self.location, 1)
        where_layout.addWidget(self.find)
        self.add_field("location", "Location", self.location, where_row)
        self.add_field("notes", "Notes", self.notes)
        self.name.setFocus()

    def values(self) -> dict[str, Any]:
        """What the form says now, under the schema's field names (location is lat/lon)."""
        return {
            "name": self.name.text(),
            "start_time": self.start_time.text().strip(),
            "duration_min": self.duration.value(),
            "cost": round(self.cost.value(), 2),
            "category": self.category.currentData(),
            "notes": self.notes.toPlainText(),
        }

    def save(self) -> None:
        where = _parse_location(self.location.text())
        if where is None:
            self.show_error("Location: write latitude, longitude, e.g. 38.69158, -9.21598", "location")
            return
        values = self.values()
        if self._stop is None:
            self.write(lambda trip: self._add(trip, values, where))
            return
        before = field_values(self._stop)
        changes = {key: value for key, value in values.items() if value != before[key]}
        if (round(self._stop.lat, 5), round(self._stop.lon, 5)) != where:
            changes["lat"], changes["lon"] = where
        if not changes:
            self.accept()
            return
        stop_id = self._stop.id
        self.write(lambda trip: trip.update_stop(stop_id, **changes))

    def find_place(self) -> None:
        """Look the name up; the places found are offered in a menu under "Find"."""
        query = self.name.text().strip()
        if not query:
            self.show_error("Name: type the place's name, then Find looks it up.", "name")
            return
        self._looking_for = query
        self.find.setEnabled(False)
        self.find.setText("Finding…")
        place_lookup().search(query, self._near)

    def _show_places(self, query: str, places: list[Place]) -> None:
        if query != self._looking_for:
            return  # an older search, or another form's
        self._looking_for = ""
        self.find.setEnabled(True)
        self.find.setText("Find")
        if not places:
            self.show_error(f"Location: no place called “{query}” in the offline atlas; type its coordinates.", "location")
            return
        self.places.clear()
        for place in places:
            action = self.places.addAction(place.label)
            action.triggered.connect(lambda _=False, p=place: self.use_place(p))
        self.places.popup(self.find.mapToGlobal(self.find.rect().bottomLeft()))

    def use_place(self, place: Place) -> None:
        self.location.setText(f"{place.lat:.5f}, {place.lon:.5f}")
        if self._stop is None and place.category in style.CATEGORY_LABELS:
            self.category.setCurrentIndex(self.category.findData(place.category))
        self.error.hide()

    def _add(self, trip: Trip, values: dict[str, Any], where: tuple[float, float]) -> None:
        self.created = trip.add_stop(
            values.pop("name"), where[0], where[1], day=self._day_id, added_by=self._model.me.id, **values
        )


class DayForm(_Form):
    """Edit a day's title and date."""

    def __init__(self, model: TripModel, day: Day, number: int, parent: QWidget | None = None) -> None:
        super().__init__(model, f"Edit day {number}", parent)
        self._day = day
        self.title = QLineEdit(day.title, placeholderText=f"Day {number}")
        self.date = QLineEdit(day.date, placeholderText="YYYY-MM-DD, or empty", maxLength=10)
        self.add_field("title", "Title", self.title)
        self.add_field("date", "Date", self.date)
        self.title.setFocus()

    def save(self) -> None:
        changes = {
            key: value
            for key, value, before in (
                ("title", self.title.text().strip(), self._day.title),
                ("date", self.date.text().strip(), self._day.date),
            )
            if value != before
        }
        if not changes:
            self.accept()
            return
        day_id = self._day.id
        self.write(lambda trip: trip.update_day(day_id, **changes))


def field_values(stop: Stop) -> dict[str, Any]:
    """A stop's fields that the forms and the inline editor edit, as the widgets hold them
    (cost in cents), under the schema's names: compared with what a form says, they tell
    which fields the person changed."""
    return {
        "name": stop.name,
        "start_time": stop.start_time,
        "duration_min": stop.duration_min,
        "cost": round(stop.cost, 2),
        "category": stop.category,
        "notes": stop.notes,
    }


def _parse_location(text: str) -> tuple[float, float] | None:
    """`38.69158, -9.21598` → (lat, lon) rounded as the form shows them; None if unreadable."""
    parts = text.replace(";", ",").split(",")
    if len(parts) != 2:
        return None
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        return None
    return round(lat, 5), round(lon, 5)

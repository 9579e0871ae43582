"""The board's Qt item model: days as parents, their stops as children, then "Unscheduled".

It mirrors the trip's snapshot and nothing else. `sync` patches it from one change: a
stop edit becomes `dataChanged` on that row, a stop that moved becomes a row move (within
a day) or a remove plus an insert (between days), so the view keeps its scroll position,
its selection and any open editor. Adding, deleting or reordering days resets the model:
every child's parent changes then, and it is rare.

Drag and drop goes through the standard `mimeData`/`dropMimeData` pair; a drop is one
`move_stop` or `move_day` call on the trip and the rows follow from the change event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from wayfarer.trip import Day, Stop, TripSnapshot

from .edits import apply_edit
from .trip_model import TripModel

MIME_TYPE = "application/x-wayfarer-board-item"
_SECTION_ID = 0  # internal id of every top-level index; children carry their section's key
_UNSCHEDULED_KEY = 1

AnyIndex = QModelIndex | QPersistentModelIndex


class Role(IntEnum):
    KIND = Qt.ItemDataRole.UserRole + 1  # "day" | "unscheduled" | "stop"
    ID = Qt.ItemDataRole.UserRole + 2  # day id ("" for unscheduled) or stop id
    DAY = Qt.ItemDataRole.UserRole + 3  # Day | None (sections)
    STOP = Qt.ItemDataRole.UserRole + 4  # Stop (stops)
    DAY_INDEX = Qt.ItemDataRole.UserRole + 5  # 0-based day order, -1 for unscheduled
    STOP_COUNT = Qt.ItemDataRole.UserRole + 6  # sections
    TOTAL_COST = Qt.ItemDataRole.UserRole + 7  # sections
    ORDER = Qt.ItemDataRole.UserRole + 8  # 1-based number of a stop within its day
    CURRENCY = Qt.ItemDataRole.UserRole + 9


@dataclass
class _Section:
    key: int
    day: Day | None  # None: the unscheduled stops
    stops: list[Stop] = field(default_factory=list)

    @property
    def day_id(self) -> str:
        return self.day.id if self.day is not None else ""


class ItineraryItems(QAbstractItemModel):
    """Rows of the board, kept equal to `model.snapshot` by `sync`."""

    refused = Signal(str)  # a drop the trip refused, in words for the person

    def __init__(self, model: TripModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._sections: list[_Section] = []
        self._row_of_key: dict[int, int] = {}
        # Stable keys per day id, so that an index's internal id survives a reset.
        self._keys: dict[str, int] = {"": _UNSCHEDULED_KEY}
        self._currency = "EUR"
        self.reset(model.snapshot)

    # ------------------------------------------------------------------ following the trip

    def reset(self, snapshot: TripSnapshot) -> None:
        self.beginResetModel()
        self._currency = snapshot.meta.currency
        self._sections = [_Section(self._key_of(d.id), d) for d in snapshot.days]
        self._sections.append(_Section(_UNSCHEDULED_KEY, None))
        self._row_of_key = {s.key: row for row, s in enumerate(self._sections)}
        grouped = _group(snapshot.stops)
        for section in self._sections:
            section.stops = list(grouped.get(section.day_id, ()))
        self.endResetModel()

    def sync(self, snapshot: TripSnapshot, days: Iterable[str], stops: Iterable[str]) -> None:
        """Bring the rows up to date after a change that touched `days` and `stops`."""
        if [d.id for d in snapshot.days] != [s.day_id for s in self._sections[:-1]]:
            self.reset(snapshot)
            return
        for row in (self._row_of_day(d) for d in days):
            if row is not None:
                day = snapshot.day(self._sections[row].day_id)
                if day is not None and day != self._sections[row].day:
                    self._sections[row].day = day
                    self._section_changed(row)
        touched = set(stops)
        if not touched:
            return
        grouped = _group(snapshot.stops)
        affected = {row for row, s in enumerate(self._sections) if any(t.id in touched for t in s.stops)}
        affected |= {self._row_of_key[self._key_of(s.day)] for s in snapshot.stops if s.id in touched}
        for row in sorted(affected):
            self._patch(row, grouped.get(self._sections[row].day_id, ()))

    def set_currency(self, currency: str) -> None:
        if currency != self._currency:
            self._currency = currency
            for row in range(len(self._sections)):
                self._section_changed(row)
                count = len(self._sections[row].stops)
                if count:
                    parent = self.index(row, 0)
                    self.dataChanged.emit(self.index(0, 0, parent), self.index(count - 1, 0, parent))

    def _patch(self, row: int, target: Sequence[Stop]) -> None:
        """Turn one section's rows into `target` with removes, moves and inserts."""
        section = self._sections[row]
        parent = self.index(row, 0)
        wanted = {s.id for s in target}
        for i in reversed(range(len(section.stops))):
            if section.stops[i].id not in wanted:
                self.beginRemoveRows(parent, i, i)
                del section.stops[i]
                self.endRemoveRows()
        order = [s.id for s in target]
        for i, stop in enumerate(target):
            ids = [s.id for s in section.stops]
            if stop.id not in ids:
                self.beginInsertRows(parent, i, i)
                section.stops.insert(i, stop)
                self.endInsertRows()
                continue
            if ids[i] != stop.id:  # rows before i are in place already
                if i + 1 < len(ids) and ids[i + 1] == stop.id:
                    # The row at i is the one that moved (down): one move, not one per row it passed.
                    k = order.index(ids[i])
                    self.beginMoveRows(parent, i, i, parent, k + 1)
                    section.stops.insert(k, section.stops.pop(i))
                else:
                    j = ids.index(stop.id)
                    self.beginMoveRows(parent, j, j, parent, i)
                    section.stops.insert(i, section.stops.pop(j))
                self.endMoveRows()
            if section.stops[i] != stop:
                section.stops[i] = stop
                changed = self.index(i, 0, parent)
                self.dataChanged.emit(changed, changed)
        self._section_changed(row)  # its count and total

    def _section_changed(self, row: int) -> None:
        index = self.index(row, 0)
        self.dataChanged.emit(index, index)

    def _key_of(self, day_id: str) -> int:
        if day_id not in self._keys:
            self._keys[day_id] = len(self._keys) + 1
        return self._keys[day_id]

    def _row_of_day(self, day_id: str) -> int | None:
        key = self._keys.get(day_id)
        return self._row_of_key.get(key) if key is not None and day_id else None

    # ------------------------------------------------------------------ lookups for the view

    def index_of_stop(self, stop_id: str) -> QModelIndex:
        for row, section in enumerate(self._sections):
            for i, stop in enumerate(section.stops):
                if stop.id == stop_id:
                    return self.index(i, 0, self.index(row, 0))
        return QModelIndex()

    def index_of_day(self, day_id: str) -> QModelIndex:
        row = self._row_of_key.get(self._keys.get(day_id, -1)) if day_id else len(self._sections) - 1
        return self.index(row, 0) if row is not None else QModelIndex()

    def day_ids(self) -> list[str]:
        return [s.day_id for s in self._sections[:-1]]

    def stop_at(self, index: AnyIndex) -> Stop | None:
        section = self._section_of(index)
        if section is None or not index.isValid() or index.internalId() == _SECTION_ID:
            return None
        return section.stops[index.row()] if index.row() < len(section.stops) else None

    def day_id_at(self, index: AnyIndex) -> str | None:
        """The day a row belongs to ("" = unscheduled); None for no row."""
        section = self._section_of(index)
        return section.day_id if section is not None else None

    def _section_of(self, index: AnyIndex) -> _Section | None:
        if not index.isValid():
            return None
        if index.internalId() == _SECTION_ID:
            row = index.row()
        else:
            found = self._row_of_key.get(index.internalId())
            if found is None:
                return None
            row = found
        return self._sections[row] if row < len(self._sections) else None

    # ------------------------------------------------------------------ QAbstractItemModel

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:
        if column != 0 or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, 0, _SECTION_ID) if row < len(self._sections) else QModelIndex()
        if parent.internalId() != _SECTION_ID or parent.row() >= len(self._sections):
            return QModelIndex()
        section = self._sections[parent.row()]
        return self.createIndex(row, 0, section.key) if row < len(section.stops) else QModelIndex()

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid() or index.internalId() == _SECTION_ID:
            return QModelIndex()
        row = self._row_of_key.get(index.internalId())
        return self.createIndex(row, 0, _SECTION_ID) if row is not None else QModelIndex()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        if not parent.isValid():
            return len(self._sections)
        if parent.internalId() == _SECTION_ID and parent.row() < len(self._sections):
            return len(self._sections[parent.row()].stops)
        return 0

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 1

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        section = self._section_of(index)
        if section is None:
            return None
        if role == Role.CURRENCY:
            return self._currency
        if index.internalId() == _SECTION_ID:
            return self._section_data(section, index.row(), role)
        if index.row() >= len(section.stops):
            return None
        stop = section.stops[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return stop.name if role == Qt.ItemDataRole.DisplayRole else stop.notes or None
        values: dict[int, Any] = {
            Role.KIND: "stop",
            Role.ID: stop.id,
            Role.STOP: stop,
            Role.DAY_INDEX: self._row_of_key[section.key] if section.day is not None else -1,
            Role.ORDER: index.row() + 1,
        }
        return values.get(role)

    def _section_data(self, section: _Section, row: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if section.day is None:
                return "Unscheduled"
            return section.day.title or f"Day {row + 1}"
        values: dict[int, Any] = {
            Role.KIND: "day" if section.day is not None else "unscheduled",
            Role.ID: section.day_id,
            Role.DAY: section.day,
            Role.DAY_INDEX: row if section.day is not None else -1,
            Role.STOP_COUNT: len(section.stops),
            Role.TOTAL_COST: sum(s.cost for s in section.stops),
        }
        return values.get(role)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self._model.read_only:
            return base if index.isValid() else Qt.ItemFlag.NoItemFlags
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled  # between days: where a dragged day lands
        if index.internalId() != _SECTION_ID:
            return base | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsEditable
        section = self._sections[index.row()]
        drag = Qt.ItemFlag.ItemIsDragEnabled if section.day is not None else Qt.ItemFlag.NoItemFlags
        return base | drag | Qt.ItemFlag.ItemIsDropEnabled

    # ------------------------------------------------------------------ drag and drop

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [MIME_TYPE]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        data = QMimeData()
        valid = [i for i in indexes if i.isValid()]
        if valid:
            index = valid[0]
            kind = "stop" if index.internalId() != _SECTION_ID else "day"
            ident = self.data(index, Role.ID)
            data.setData(MIME_TYPE, QByteArray(json.dumps({"kind": kind, "id": ident}).encode()))
        return data

    def canDropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: AnyIndex
    ) -> bool:
        return self._drop_target(data, action, row, parent) is not None

    def dropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: AnyIndex
    ) -> bool:
        target = self._drop_target(data, action, row, parent)
        if target is None:
            return False
        kind, ident, day_id, index = target
        if self._lands_where_it_is(kind, ident, day_id, index):
            return True  # no write: a drop back in place is not an edit to undo
        if kind == "stop":
            refusal = apply_edit(self._model, lambda trip: trip.move_stop(ident, day_id, index))
        else:
            refusal = apply_edit(self._model, lambda trip: trip.move_day(ident, index or 0))
        if refusal:
            self.refused.emit(refusal)
        return not refusal

    def _lands_where_it_is(self, kind: str, ident: str, day_id: str, index: int | None) -> bool:
        if kind == "day":
            return self.day_ids().index(ident) == index
        section = self._sections[self._row_of_key[self._key_of(day_id)]]
        ids = [s.id for s in section.stops]
        if ident not in ids:
            return False
        return ids.index(ident) == (len(ids) - 1 if index is None else index)

    def _drop_target(
        self, data: QMimeData, action: Qt.DropAction, row: int, parent: AnyIndex
    ) -> tuple[str, str, str, int | None] | None:
        """(kind, id, day, index) of the trip call that a drop stands for, or None."""
        if self._model.read_only or action != Qt.DropAction.MoveAction or not data.hasFormat(MIME_TYPE):
            return None
        try:
            item = json.loads(bytes(data.data(MIME_TYPE).data()).decode())
            kind, ident = str(item["kind"]), str(item["id"])
        except (ValueError, KeyError, TypeError):
            return None
        if kind == "stop":
            return self._stop_drop(ident, row, parent)
        if kind == "day":
            return self._day_drop(ident, row, parent)
        return None

    def _stop_drop(self, stop_id: str, row: int, parent: AnyIndex) -> tuple[str, str, str, int | None] | None:
        if not self.index_of_stop(stop_id).isValid():
            return None  # a stop of another trip, dragged from another window
        if parent.isValid() and parent.internalId() == _SECTION_ID:
            section_row = parent.row()
        elif not parent.isValid() and row >= 1:
            # Dropped in the gap above a day header: the person aims at the end of the
            # day above (its header when that day is collapsed).
            section_row, row = min(row, len(self._sections)) - 1, -1
        else:
            return None
        section = self._sections[section_row]
        if row < 0:
            return ("stop", stop_id, section.day_id, None)
        # `move_stop` counts the other stops of the day; the dragged one still has a row.
        current = next((i for i, s in enumerate(section.stops) if s.id == stop_id), None)
        index = row - 1 if current is not None and current < row else row
        return ("stop", stop_id, section.day_id, index)

    def _day_drop(self, day_id: str, row: int, parent: AnyIndex) -> tuple[str, str, str, int | None] | None:
        days = self.day_ids()
        if day_id not in days:
            return None
        current = days.index(day_id)
        if parent.isValid() and parent.internalId() == _SECTION_ID:
            # Dropped onto a day header: take that day's place.
            return ("day", day_id, "", min(parent.row(), len(days) - 1))
        if parent.isValid() or row < 0:
            return None
        row = min(row, len(days))
        return ("day", day_id, "", row - 1 if current < row else row)


def _group(stops: Iterable[Stop]) -> dict[str, list[Stop]]:
    """Stops by day id, keeping the snapshot's order (which is day, then position)."""
    grouped: dict[str, list[Stop]] = {}
    for stop in stops:
        grouped.setdefault(stop.day, []).append(stop)
    return grouped

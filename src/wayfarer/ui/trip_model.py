"""`TripModel`: the Qt face of one open trip, shared by every panel of a window.

Panels never touch the Y-document: they read `snapshot` (plain values) and react to
this object's signals, and every user action is one call on `trip` made through
`apply`, which turns a refused edit into a readable `error` signal instead of an
exception in a slot. Data flows one way: an edit goes into the document, and every
panel updates from the change notification that follows, whoever made the edit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Signal

from wayfarer.sync.updatelog import StoreError
from wayfarer.trip import Person, Trip, TripChange, TripError, TripSnapshot

log = logging.getLogger(__name__)
T = TypeVar("T")


class TripModel(QObject):
    """Signals carry what changed; `snapshot` is rebuilt lazily once per change."""

    changed = Signal(object)  # TripChange
    chat_changed = Signal(tuple, frozenset)  # messages added (ids, in order), messages changed (ids)
    runs_changed = Signal(frozenset)  # run ids
    itinerary_changed = Signal(frozenset, frozenset)  # day ids, stop ids
    budget_changed = Signal()
    meta_changed = Signal()
    error = Signal(str)  # a refused edit, in words for the person

    def __init__(self, trip: Trip, me: Person, *, read_only: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.trip = trip
        self.me = me
        self.read_only = read_only
        self._snapshot: TripSnapshot | None = None
        self._subscription = trip.subscribe(self._on_change)
        self._undo = trip.undo_manager()

    @property
    def snapshot(self) -> TripSnapshot:
        if self._snapshot is None:
            self._snapshot = self.trip.snapshot()
        return self._snapshot

    def apply(self, action: Callable[[Trip], T]) -> T | None:
        """Run one edit on the trip; a refused edit becomes an `error` signal."""
        if self.read_only:
            self.error.emit("This trip is view-only: you opened it with a viewer link.")
            return None
        try:
            return action(self.trip)
        except TripError as exc:
            self.error.emit(str(exc))
            return None
        except BaseExceptionGroup as group:
            # A save to disk runs inside the document's commit, so pycrdt hands its
            # failure back wrapped in a group: show it, as it would any refused edit.
            matched, rest = group.split((TripError, StoreError))
            if matched is None or rest is not None:
                raise
            first: BaseException = matched
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            self.error.emit(f"Could not save this change: {first}")
            return None

    def undo(self) -> bool:
        return not self.read_only and self._undo.undo()

    def redo(self) -> bool:
        return not self.read_only and self._undo.redo()

    def can_undo(self) -> bool:
        return not self.read_only and self._undo.can_undo()

    def can_redo(self) -> bool:
        return not self.read_only and self._undo.can_redo()

    def close(self) -> None:
        self._subscription.close()

    def _on_change(self, change: TripChange) -> None:
        # Called inside the document's commit: only record and signal; panels read later.
        self._snapshot = None
        self.changed.emit(change)
        if change.chat:
            self.chat_changed.emit(change.messages_added, change.messages_changed)
        if change.runs:
            self.runs_changed.emit(change.runs)
        if change.itinerary:
            self.itinerary_changed.emit(change.days, change.stops)
        if change.budget:
            self.budget_changed.emit()
        if change.meta:
            self.meta_changed.emit()

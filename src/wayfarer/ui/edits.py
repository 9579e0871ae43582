"""Running one edit through `TripModel.apply` when the caller must know how it went.

`TripModel.apply` reports a refused edit on its `error` signal (the window shows it).
A form also needs the words in place, next to the field, and must stay open with what
the person typed; `apply_edit` hands back those words.
"""

from __future__ import annotations

from collections.abc import Callable

from wayfarer.trip import Trip

from .trip_model import TripModel

# What the schema calls a field, as the forms label it.
_FIELD_LABELS = {
    "name": "Name",
    "title": "Title",
    "date": "Date",
    "start_time": "Start time",
    "duration_min": "Duration",
    "cost": "Cost",
    "category": "Category",
    "notes": "Notes",
    "lat": "Latitude",
    "lon": "Longitude",
    "delta": "Adjustment",
    "limit": "Budget limit",
}


def apply_edit(model: TripModel, action: Callable[[Trip], object]) -> str:
    """Run `action` on the trip through `model`; "" when done, else why it was refused."""
    refusals: list[str] = []

    def note(message: str) -> None:
        refusals.append(message)

    model.error.connect(note)
    try:
        model.apply(action)
    finally:
        model.error.disconnect(note)
    return readable(refusals[-1]) if refusals else ""


def refused_field(message: str) -> str:
    """The schema field a refusal from `apply_edit` names ("" when none), to mark it."""
    label = message.partition(":")[0]
    return next((key for key, text in _FIELD_LABELS.items() if text == label), "")


def readable(message: str) -> str:
    """`start_time: must be HH:MM …` → `Start time: must be HH:MM …`."""
    for kind in ("stop", "day"):
        if message.startswith(f"unknown {kind} "):
            return f"This {kind} no longer exists: someone deleted it while you were editing."
    field, sep, rest = message.partition(": ")
    if sep and field in _FIELD_LABELS:
        return f"{_FIELD_LABELS[field]}: {rest}"
    return message

"""The trip: a typed schema over one Y-document (pure: no Qt, no network).

`Trip` writes, `TripSnapshot` reads, `TripChange` says what changed. This package is
the only code that knows the document's key names.
"""

from .changes import TripChange
from .document import Subscription, Trip, new_id, utc_now
from .errors import InvalidValue, NotATrip, NotFound, TripError
from .jsonform import snapshot_to_json, snapshot_to_json_text
from .model import Budget, Day, Message, Meta, Person, Run, Stop, ToolCall, TripSnapshot

__all__ = [
    "Budget",
    "Day",
    "InvalidValue",
    "Message",
    "Meta",
    "NotATrip",
    "NotFound",
    "Person",
    "Run",
    "Stop",
    "Subscription",
    "ToolCall",
    "Trip",
    "TripChange",
    "TripError",
    "TripSnapshot",
    "new_id",
    "snapshot_to_json",
    "snapshot_to_json_text",
    "utc_now",
]

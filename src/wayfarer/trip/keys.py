"""The key names of the trip document (DESIGN.md, "The document contract").

This module and its siblings in `wayfarer.trip` are the only code that knows them:
everything else goes through `Trip` (writes) and `TripSnapshot` (reads).
"""

from __future__ import annotations

from typing import Final

SCHEMA_VERSION: Final = 1

# root types
META: Final = "meta"
CHAT: Final = "chat"
RUNS: Final = "runs"
DAYS: Final = "days"
STOPS: Final = "stops"
BUDGET: Final = "budget"

# meta
SCHEMA: Final = "schema"
TITLE: Final = "title"
CURRENCY: Final = "currency"
CREATED_AT: Final = "created_at"

# shared by several records
ID: Final = "id"
POSITION: Final = "position"

# chat messages
ROLE: Final = "role"
AUTHOR: Final = "author"
AUTHOR_NAME: Final = "author_name"
TEXT: Final = "text"
RUN_ID: Final = "run_id"
REASONING: Final = "reasoning"
TOOL_CALLS: Final = "tool_calls"

# tool calls
NAME: Final = "name"
INPUT: Final = "input"
STATUS: Final = "status"
RESULT: Final = "result"

# runs
TRIGGER: Final = "trigger"
REQUESTED_BY: Final = "requested_by"
AGENT: Final = "agent"
MODEL: Final = "model"
STARTED_AT: Final = "started_at"
ENDED_AT: Final = "ended_at"
END_REASON: Final = "end_reason"
CANCEL_REQUESTED_BY: Final = "cancel_requested_by"
HEARTBEAT_AT: Final = "heartbeat_at"

# days
DATE: Final = "date"

# stops
DAY: Final = "day"
LAT: Final = "lat"
LON: Final = "lon"
START_TIME: Final = "start_time"
DURATION_MIN: Final = "duration_min"
COST: Final = "cost"
CATEGORY: Final = "category"
NOTES: Final = "notes"
ADDED_BY: Final = "added_by"

ROLES: Final = ("user", "assistant")
RUN_STATUSES: Final = ("queued", "running", "completed", "cancelled", "failed", "interrupted")
LIVE_RUN_STATUSES: Final = ("queued", "running")
TOOL_STATUSES: Final = ("running", "ok", "error")
CATEGORIES: Final = ("sight", "food", "lodging", "transport", "activity", "other")

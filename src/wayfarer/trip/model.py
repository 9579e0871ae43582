"""Plain, immutable values of a trip: what views, the agent and `trip show` read.

Nothing here knows about pycrdt; a `TripSnapshot` is built by `wayfarer.trip.reader`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant"]
RunStatus = Literal["queued", "running", "completed", "cancelled", "failed", "interrupted"]
ToolStatus = Literal["running", "ok", "error"]
Category = Literal["sight", "food", "lodging", "transport", "activity", "other"]


@dataclass(frozen=True)
class Person:
    """Who writes: a human or an agent. `id` is stable across windows and devices."""

    id: str
    name: str
    color: str = "#5b7cfa"


@dataclass(frozen=True)
class Meta:
    schema: int
    title: str
    currency: str
    created_at: str


def json_object(text: str) -> dict[str, Any]:
    """A JSON object from text a peer wrote; {} for anything else (bad JSON, a list...)."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    input: str  # JSON text
    status: ToolStatus
    result: str  # JSON text

    @property
    def input_data(self) -> dict[str, Any]:
        return json_object(self.input)

    @property
    def result_data(self) -> dict[str, Any]:
        return json_object(self.result)


@dataclass(frozen=True)
class Message:
    id: str
    role: Role
    author: str
    author_name: str
    created_at: str
    text: str
    run_id: str = ""
    reasoning: str = ""
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class Run:
    id: str
    trigger: str
    requested_by: str
    status: RunStatus
    agent: str = ""
    model: str = ""
    created_at: str = ""
    started_at: str = ""
    ended_at: str = ""
    end_reason: str = ""
    cancel_requested_by: str = ""
    heartbeat_at: str = ""

    @property
    def is_live(self) -> bool:
        return self.status in ("queued", "running")


@dataclass(frozen=True)
class Day:
    id: str
    date: str
    title: str
    position: str


@dataclass(frozen=True)
class Stop:
    id: str
    day: str
    position: str
    name: str
    lat: float
    lon: float
    start_time: str = ""
    duration_min: int = 0
    cost: float = 0.0
    category: Category = "other"
    notes: str = ""
    added_by: str = ""


@dataclass(frozen=True)
class Budget:
    """The limit is the sum of every session's adjustments; spent is derived from stops."""

    limit: float
    spent: float
    by_category: dict[str, float] = field(default_factory=dict)
    by_day: dict[str, float] = field(default_factory=dict)

    @property
    def remaining(self) -> float:
        return self.limit - self.spent

    @property
    def over(self) -> bool:
        return self.limit > 0 and self.spent > self.limit


@dataclass(frozen=True)
class TripSnapshot:
    """The whole trip at one moment.

    `days` are in their order; `stops` are sorted by day (in day order, unscheduled last),
    then position. A stop whose day does not exist is shown as unscheduled (`day == ""`).
    `problems` lists entries written by a foreign or buggy peer that were skipped or
    repaired while reading, in words a person can act on.
    """

    meta: Meta
    days: tuple[Day, ...]
    stops: tuple[Stop, ...]
    chat: tuple[Message, ...]
    runs: tuple[Run, ...]
    budget: Budget
    problems: tuple[str, ...] = ()

    def day(self, day_id: str) -> Day | None:
        return next((d for d in self.days if d.id == day_id), None)

    def stop(self, stop_id: str) -> Stop | None:
        return next((s for s in self.stops if s.id == stop_id), None)

    def run(self, run_id: str) -> Run | None:
        return next((r for r in self.runs if r.id == run_id), None)

    def message(self, message_id: str) -> Message | None:
        return next((m for m in reversed(self.chat) if m.id == message_id), None)

    def stops_in(self, day_id: str) -> tuple[Stop, ...]:
        """Stops of one day in order; `""` gives the unscheduled ones."""
        return tuple(s for s in self.stops if s.day == day_id)

    @property
    def unscheduled(self) -> tuple[Stop, ...]:
        return self.stops_in("")

    def day_number(self, day_id: str) -> int | None:
        """1-based number of a day in the trip's order."""
        for i, d in enumerate(self.days, start=1):
            if d.id == day_id:
                return i
        return None

    @property
    def live_runs(self) -> tuple[Run, ...]:
        return tuple(r for r in self.runs if r.is_live)

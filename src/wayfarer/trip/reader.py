"""Reads a trip document into a `TripSnapshot`, tolerating what foreign peers write.

A document can hold anything a Yjs peer put there. Reading never raises for bad
content: an entry that cannot be understood is skipped, a field of the wrong type falls
back to its default, and each such repair is reported in `TripSnapshot.problems`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from pycrdt import Array, Doc, Map

from . import keys as K
from .model import Budget, Day, Message, Meta, Run, Stop, TripSnapshot, ToolCall


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def flag(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def str_(self, entry: Mapping[str, Any], key: str, where: str, default: str = "") -> str:
        value = entry.get(key, default)
        if isinstance(value, str):
            return value
        if value is None:
            return default
        self.flag(where, f"field {key!r} should be text, found {type(value).__name__}; ignored")
        return default

    def choice(self, entry: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...], default: str) -> str:
        value = entry.get(key)
        if value in allowed:
            return str(value)
        if value is None:
            self.flag(where, f"field {key!r} is missing; read as {default!r}")
        else:
            self.flag(where, f"field {key!r} has unknown value {value!r}; read as {default!r}")
        return default

    def float_(self, entry: Mapping[str, Any], key: str, where: str, default: float = 0.0) -> float:
        value = entry.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        if value is None:
            self.flag(where, f"field {key!r} is missing; read as {default:g}")
        else:
            self.flag(where, f"field {key!r} should be a number, found {value!r}; read as {default:g}")
        return default


def _root(doc: Doc, name: str, kind: type, r: _Reader) -> Any:
    try:
        root = doc.get(name, type=kind)
    except RuntimeError:
        # Inside an observer's read-only transaction a root cannot be created or cast,
        # but one that already has the right type can still be read.
        try:
            root = doc[name]
        except KeyError:
            return None
        return root if isinstance(root, kind) else None
    # A peer that created this root with another type wrote content that this view of
    # it cannot see. Casting an existing root only changes the view, never its type.
    other, what = (Array, "a list") if kind is Map else (Map, "keyed entries")
    if len(doc.get(name, type=other)):
        r.flag(name, f"root also holds {what}, written by a peer that created it with another type; ignored")
    return root


def _plain(root: Any) -> Any:
    """A root's content as plain Python values.

    pycrdt's `to_py` walks the tree in Python, one element at a time (5,000 messages take
    ~0.5 s); the JSON that yrs renders natively is an order of magnitude faster. Content
    JSON cannot express (binary values from a foreign peer) falls back to `to_py`.
    """
    try:
        return json.loads(str(root))
    except ValueError:
        return root.to_py()


def _sort_key(position: str, ident: str) -> tuple[str, str]:
    return (position, ident)


def read_meta(doc: Doc, r: _Reader | None = None) -> Meta:
    r = r or _Reader()
    root = _root(doc, K.META, Map, r)
    entry = _plain(root) if root is not None else {}
    schema = entry.get(K.SCHEMA, 0)
    return Meta(
        schema=int(schema) if isinstance(schema, (int, float)) and not isinstance(schema, bool) else 0,
        title=r.str_(entry, K.TITLE, "meta"),
        currency=r.str_(entry, K.CURRENCY, "meta", "EUR") or "EUR",
        created_at=r.str_(entry, K.CREATED_AT, "meta"),
    )


def _tool_calls(value: Any, where: str, r: _Reader) -> tuple[ToolCall, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        r.flag(where, "tool_calls is not a list; ignored")
        return ()
    calls = []
    for i, call in enumerate(value):
        w = f"{where} tool call {i}"
        if not isinstance(call, dict):
            r.flag(w, "is not a map; skipped")
            continue
        calls.append(
            ToolCall(
                id=r.str_(call, K.ID, w),
                name=r.str_(call, K.NAME, w),
                input=r.str_(call, K.INPUT, w, "{}"),
                status=r.choice(call, K.STATUS, w, K.TOOL_STATUSES, "error"),  # type: ignore[arg-type]
                result=r.str_(call, K.RESULT, w),
            )
        )
    return tuple(calls)


def message_from_py(entry: Any, index: int, r: _Reader) -> Message | None:
    where = f"chat message {index}"
    if not isinstance(entry, dict):
        r.flag(where, "is not a map; skipped")
        return None
    ident = r.str_(entry, K.ID, where)
    if not ident:
        r.flag(where, "has no id; skipped")
        return None
    where = f"chat message {ident!r}"
    return Message(
        id=ident,
        role=r.choice(entry, K.ROLE, where, K.ROLES, "user"),  # type: ignore[arg-type]
        author=r.str_(entry, K.AUTHOR, where),
        author_name=r.str_(entry, K.AUTHOR_NAME, where),
        created_at=r.str_(entry, K.CREATED_AT, where),
        text=r.str_(entry, K.TEXT, where),
        run_id=r.str_(entry, K.RUN_ID, where),
        reasoning=r.str_(entry, K.REASONING, where),
        tool_calls=_tool_calls(entry.get(K.TOOL_CALLS), where, r),
    )


def _keyed_entries(doc: Doc, name: str, r: _Reader) -> list[tuple[str, dict[str, Any]]]:
    root = _root(doc, name, Map, r)
    if root is None:
        r.flag(name, "root is not a map; ignored")
        return []
    out = []
    for key, entry in _plain(root).items():
        if not isinstance(entry, dict):
            r.flag(f"{name} {key!r}", "is not a map; skipped")
            continue
        ident = entry.get(K.ID, key)
        if ident != key:
            r.flag(f"{name} {key!r}", f"id {ident!r} does not match its key; using the key")
        out.append((key, entry))
    return out


def run_from_py(key: str, entry: dict[str, Any], r: _Reader) -> Run:
    w = f"run {key!r}"
    return Run(
        id=key,
        trigger=r.str_(entry, K.TRIGGER, w),
        requested_by=r.str_(entry, K.REQUESTED_BY, w),
        status=r.choice(entry, K.STATUS, w, K.RUN_STATUSES, "failed"),  # type: ignore[arg-type]
        agent=r.str_(entry, K.AGENT, w),
        model=r.str_(entry, K.MODEL, w),
        created_at=r.str_(entry, K.CREATED_AT, w),
        started_at=r.str_(entry, K.STARTED_AT, w),
        ended_at=r.str_(entry, K.ENDED_AT, w),
        end_reason=r.str_(entry, K.END_REASON, w),
        cancel_requested_by=r.str_(entry, K.CANCEL_REQUESTED_BY, w),
        heartbeat_at=r.str_(entry, K.HEARTBEAT_AT, w),
    )


def _valid_position(position: str, where: str, r: _Reader) -> str:
    from .fractional import is_valid

    if not is_valid(position):
        r.flag(where, f"position {position!r} is not a fractional index; sorted first")
        return ""
    return position


def read_days(doc: Doc, r: _Reader) -> tuple[Day, ...]:
    days = []
    for key, entry in _keyed_entries(doc, K.DAYS, r):
        w = f"day {key!r}"
        days.append(
            Day(
                id=key,
                date=r.str_(entry, K.DATE, w),
                title=r.str_(entry, K.TITLE, w),
                position=_valid_position(r.str_(entry, K.POSITION, w), w, r),
            )
        )
    days.sort(key=lambda d: _sort_key(d.position, d.id))
    return tuple(days)


def read_stops(doc: Doc, days: tuple[Day, ...], r: _Reader) -> tuple[Stop, ...]:
    day_rank = {d.id: i for i, d in enumerate(days)}
    stops = []
    for key, entry in _keyed_entries(doc, K.STOPS, r):
        w = f"stop {key!r}"
        lat = r.float_(entry, K.LAT, w)
        lon = r.float_(entry, K.LON, w)
        if not -90 <= lat <= 90 or not -180 <= lon <= 180:
            r.flag(w, f"coordinates ({lat}, {lon}) are out of range; read as (0, 0)")
            lat, lon = 0.0, 0.0
        day = r.str_(entry, K.DAY, w)
        if day and day not in day_rank:
            day = ""  # its day was deleted: the stop shows as unscheduled, never vanishes
        duration = r.float_(entry, K.DURATION_MIN, w)
        if duration < 0 or not duration.is_integer():
            r.flag(w, f"duration_min {duration:g} is not a whole number of minutes; read as {max(0, int(duration))}")
        cost = r.float_(entry, K.COST, w)
        if cost < 0:
            r.flag(w, f"cost {cost:g} is negative; read as 0")
        name = r.str_(entry, K.NAME, w)
        if not name.strip():
            r.flag(w, "has no name; shown as '(unnamed)'")
        stops.append(
            Stop(
                id=key,
                day=day,
                position=_valid_position(r.str_(entry, K.POSITION, w), w, r),
                name=name if name.strip() else "(unnamed)",
                lat=lat,
                lon=lon,
                start_time=r.str_(entry, K.START_TIME, w),
                duration_min=max(0, int(duration)),
                cost=max(0.0, cost),
                category=r.choice(entry, K.CATEGORY, w, K.CATEGORIES, "other"),  # type: ignore[arg-type]
                notes=r.str_(entry, K.NOTES, w),
                added_by=r.str_(entry, K.ADDED_BY, w),
            )
        )
    unscheduled = len(days)
    stops.sort(key=lambda s: (day_rank.get(s.day, unscheduled), s.position, s.id))
    return tuple(stops)


def read_budget_limit(doc: Doc, r: _Reader) -> float:
    root = _root(doc, K.BUDGET, Map, r)
    if root is None:
        r.flag("budget", "root is not a map; limit read as 0")
        return 0.0
    total = 0.0
    for key, value in _plain(root).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            total += float(value)
        else:
            r.flag(f"budget {key!r}", f"is not a number ({value!r}); ignored")
    return total


def budget_of(limit: float, stops: tuple[Stop, ...]) -> Budget:
    by_category: dict[str, float] = {}
    by_day: dict[str, float] = {}
    for s in stops:
        by_category[s.category] = by_category.get(s.category, 0.0) + s.cost
        by_day[s.day] = by_day.get(s.day, 0.0) + s.cost
    return Budget(limit=limit, spent=sum(by_category.values(), 0.0), by_category=by_category, by_day=by_day)


def read_chat(doc: Doc, r: _Reader) -> tuple[Message, ...]:
    root = _root(doc, K.CHAT, Array, r)
    if root is None:
        r.flag("chat", "root is not an array; ignored")
        return ()
    messages = []
    for i, entry in enumerate(_plain(root)):
        m = message_from_py(entry, i, r)
        if m is not None:
            messages.append(m)
    return tuple(messages)


def read_runs(doc: Doc, r: _Reader) -> tuple[Run, ...]:
    runs = [run_from_py(key, entry, r) for key, entry in _keyed_entries(doc, K.RUNS, r)]
    runs.sort(key=lambda run: (run.created_at, run.id))
    return tuple(runs)


def read_snapshot(doc: Doc) -> TripSnapshot:
    r = _Reader()
    with doc.transaction():
        meta = read_meta(doc, r)
        days = read_days(doc, r)
        stops = read_stops(doc, days, r)
        limit = read_budget_limit(doc, r)
        chat = read_chat(doc, r)
        runs = read_runs(doc, r)
    return TripSnapshot(
        meta=meta,
        days=days,
        stops=stops,
        chat=chat,
        runs=runs,
        budget=budget_of(limit, stops),
        problems=tuple(r.problems),
    )


def new_reader() -> _Reader:
    return _Reader()

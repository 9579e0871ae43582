"""`Trip`: the typed schema over one trip's Y-document.

Every write is one method, validated before anything is touched and applied in one
transaction, so a refused operation leaves the document exactly as it was and a peer
never sees half of an operation. Reads return plain values from `wayfarer.trip.model`.
"""

from __future__ import annotations

import datetime as _dt

import logging
import math
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pycrdt import Array, Doc, Map, Text, UndoManager

from . import keys as K
from . import validate as V
from .changes import TripChange
from .errors import InvalidValue, NotATrip, NotFound
from .fractional import key_between
from .model import Budget, Day, Message, Meta, Person, Run, Stop, TripSnapshot
from .reader import (
    budget_of,
    message_from_py,
    new_reader,
    read_budget_limit,
    read_days,
    read_meta,
    read_runs,
    read_snapshot,
    read_stops,
    run_from_py,
)

log = logging.getLogger(__name__)

Clock = Callable[[], str]
Listener = Callable[[TripChange], None]

_UNSET: Any = object()


def utc_now() -> str:
    """ISO 8601 UTC timestamp with milliseconds, e.g. 2026-11-25T22:40:00.123Z."""
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


class Subscription:
    """Handle returned by `Trip.subscribe`; `close()` stops the notifications."""

    def __init__(self, trip: Trip, listener: Listener) -> None:
        self._trip = trip
        self._listener = listener

    def close(self) -> None:
        self._trip._listeners.discard(self._listener)


class Trip:
    """One trip's document.

    `doc` may be empty (a trip that is still syncing, or about to be created with
    `create`). Writes are attributed to this object's `origin`, so `TripChange.local`
    and the undo manager can tell them from changes that arrived from other peers.
    """

    def __init__(self, doc: Doc | None = None, *, clock: Clock = utc_now) -> None:
        self.doc: Doc = doc if doc is not None else Doc()
        self.clock = clock
        self.origin = f"local-{self.doc.client_id}-{secrets.token_hex(3)}"
        with self.doc.transaction():
            self._meta = self.doc.get(K.META, type=Map)
            self._chat = self.doc.get(K.CHAT, type=Array)
            self._runs = self.doc.get(K.RUNS, type=Map)
            self._days = self.doc.get(K.DAYS, type=Map)
            self._stops = self.doc.get(K.STOPS, type=Map)
            self._budget = self.doc.get(K.BUDGET, type=Map)
        self._listeners: set[Listener] = set()
        self._pending: dict[str, Any] | None = None
        self._chat_index: dict[str, int] = {}
        self._observed = False

    # ------------------------------------------------------------------ creation

    def create(self, title: str, *, currency: str = "EUR", created_at: str | None = None) -> None:
        """Write the trip's `meta`. Fails if the document already holds a trip."""
        title = V.name("title", title)
        currency = V.currency(currency)
        if self.is_trip:
            raise InvalidValue("meta", "this document already holds a trip")
        with self._write():
            self._meta[K.SCHEMA] = float(K.SCHEMA_VERSION)
            self._meta[K.TITLE] = title
            self._meta[K.CURRENCY] = currency
            self._meta[K.CREATED_AT] = created_at or self.clock()

    @property
    def is_trip(self) -> bool:
        return K.SCHEMA in self._meta

    def check_schema(self) -> None:
        """Raise `NotATrip` unless this document holds a trip this code understands."""
        schema = self._meta.get(K.SCHEMA)
        if schema is None:
            raise NotATrip("this document holds no trip (meta.schema is missing)")
        if not isinstance(schema, (int, float)) or int(schema) > K.SCHEMA_VERSION:
            raise NotATrip(
                f"this trip uses schema {schema!r}; this Wayfarer understands up to "
                f"{K.SCHEMA_VERSION}: update Wayfarer to open it"
            )

    # ------------------------------------------------------------------ reads

    def snapshot(self) -> TripSnapshot:
        return read_snapshot(self.doc)

    def plan(self) -> TripSnapshot:
        """The plan only: meta, days, stops and budget, with `chat` and `runs` left empty.

        Reading a long chat dominates a full snapshot (~0.1 s at 5,000 messages); tools and
        prompts that only need the itinerary call this on every edit instead.
        """
        with self.doc.transaction():
            r = new_reader()
            meta = read_meta(self.doc, r)
            days = read_days(self.doc, r)
            stops = read_stops(self.doc, days, r)
            limit = read_budget_limit(self.doc, r)
        return TripSnapshot(
            meta=meta, days=days, stops=stops, chat=(), runs=(), budget=budget_of(limit, stops), problems=tuple(r.problems)
        )

    def meta(self) -> Meta:
        return read_meta(self.doc)

    def days(self) -> tuple[Day, ...]:
        return read_days(self.doc, new_reader())

    def stops(self) -> tuple[Stop, ...]:
        with self.doc.transaction():
            r = new_reader()
            return read_stops(self.doc, read_days(self.doc, r), r)

    def budget(self) -> Budget:
        with self.doc.transaction():
            r = new_reader()
            return budget_of(read_budget_limit(self.doc, r), read_stops(self.doc, read_days(self.doc, r), r))

    def runs(self) -> tuple[Run, ...]:
        return read_runs(self.doc, new_reader())

    def run(self, run_id: str) -> Run | None:
        entry = self._runs.get(run_id)
        if not isinstance(entry, Map):
            return None
        return run_from_py(run_id, entry.to_py(), new_reader())

    def message(self, message_id: str) -> Message | None:
        found = self._find_message(message_id)
        if found is None:
            return None
        index, entry = found
        return message_from_py(entry.to_py(), index, new_reader())

    def message_count(self) -> int:
        return len(self._chat)

    def message_ids(self) -> list[str]:
        ids = []
        for entry in self._chat:
            ident = entry.get(K.ID) if isinstance(entry, Map) else None
            if isinstance(ident, str):
                ids.append(ident)
        return ids

    # ------------------------------------------------------------------ chat and runs

    def post_user_message(self, text: str, author: Person, *, ask_agent: bool = True) -> tuple[str, str]:
        """Append a user message and, in the same transaction, its queued run.

        Returns `(message_id, run_id)`; `run_id` is "" when `ask_agent` is False.
        """
        text = V.text("text", text, max_len=V.MAX_MESSAGE, allow_empty=False)
        self._check_person(author)
        message_id, run_id = new_id("m"), new_id("r") if ask_agent else ""
        now = self.clock()
        with self._write():
            self._chat.append(
                Map(
                    {
                        K.ID: message_id,
                        K.ROLE: "user",
                        K.AUTHOR: author.id,
                        K.AUTHOR_NAME: author.name,
                        K.CREATED_AT: now,
                        K.TEXT: Text(text),
                    }
                )
            )
            if ask_agent:
                self._runs[run_id] = Map(
                    {
                        K.ID: run_id,
                        K.TRIGGER: message_id,
                        K.REQUESTED_BY: author.id,
                        K.STATUS: "queued",
                        K.CREATED_AT: now,
                    }
                )
        return message_id, run_id

    def post_assistant_note(self, text: str, agent: Person) -> str:
        """An assistant message outside any run (e.g. an advisory about the plan)."""
        text = V.text("text", text, max_len=V.MAX_MESSAGE, allow_empty=False)
        self._check_person(agent)
        message_id = new_id("m")
        with self._write():
            self._chat.append(self._assistant_map(message_id, "", agent, text))
        return message_id

    def claim_run(self, run_id: str, agent: Person, *, model: str) -> None:
        """Mark a queued run as running by `agent` (its peer id goes in `agent`)."""
        run = self._run_map(run_id)
        if run.get(K.STATUS) != "queued":
            raise InvalidValue("status", f"run {run_id!r} is {run.get(K.STATUS)!r}, not queued")
        self._check_person(agent)
        model = V.text("model", model, max_len=200)
        now = self.clock()
        with self._write():
            run[K.STATUS] = "running"
            run[K.AGENT] = agent.id
            run[K.MODEL] = model
            run[K.STARTED_AT] = now
            run[K.HEARTBEAT_AT] = now

    def start_assistant_message(self, run_id: str, agent: Person) -> str:
        """Append the (empty) assistant message that a run streams into."""
        self._run_map(run_id)
        self._check_person(agent)
        message_id = new_id("m")
        with self._write():
            self._chat.append(self._assistant_map(message_id, run_id, agent, ""))
        return message_id

    def stream(self, message_id: str, *, text: str = "", reasoning: str = "") -> None:
        """Append reply text and/or reasoning to a message, in one transaction."""
        _, entry = self._message_map(message_id)
        if not isinstance(text, str) or not isinstance(reasoning, str):
            raise InvalidValue("text", "streamed text must be a string")
        if reasoning and not isinstance(entry.get(K.REASONING), Text):
            raise InvalidValue("reasoning", f"message {message_id!r} has no reasoning (not an assistant message)")
        if not text and not reasoning:
            return
        with self._write():
            if text:
                body = entry[K.TEXT]
                body.insert(len(body), text)
            if reasoning:
                thoughts = entry[K.REASONING]
                thoughts.insert(len(thoughts), reasoning)

    def add_tool_call(self, message_id: str, name: str, input_json: str) -> str:
        """Record a tool call as `running` on an assistant message; returns its id."""
        _, entry = self._message_map(message_id)
        calls = entry.get(K.TOOL_CALLS)
        if not isinstance(calls, Array):
            raise InvalidValue("tool_calls", f"message {message_id!r} is not an assistant message")
        name = V.name("name", name)
        input_json = V.json_text("input", input_json)
        call_id = new_id("tc")
        with self._write():
            calls.append(Map({K.ID: call_id, K.NAME: name, K.INPUT: input_json, K.STATUS: "running", K.RESULT: ""}))
        return call_id

    def finish_tool_call(self, message_id: str, call_id: str, *, ok: bool, result_json: str) -> None:
        _, entry = self._message_map(message_id)
        result_json = V.json_text("result", result_json)
        calls = entry.get(K.TOOL_CALLS)
        call = None
        if isinstance(calls, Array):
            call = next((c for c in calls if isinstance(c, Map) and c.get(K.ID) == call_id), None)
        if call is None:
            raise NotFound("tool call", call_id)
        with self._write():
            call[K.STATUS] = "ok" if ok else "error"
            call[K.RESULT] = result_json

    def heartbeat(self, run_id: str) -> None:
        run = self._run_map(run_id)
        with self._write():
            run[K.HEARTBEAT_AT] = self.clock()

    def end_run(self, run_id: str, status: str, reason: str = "") -> None:
        """End a run: completed, cancelled, failed or interrupted, with a readable reason."""
        status = V.one_of("status", status, ("completed", "cancelled", "failed", "interrupted"))
        reason = V.text("end_reason", reason, max_len=2000)
        run = self._run_map(run_id)
        with self._write():
            run[K.STATUS] = status
            run[K.ENDED_AT] = self.clock()
            run[K.END_REASON] = reason

    def request_cancel(self, run_id: str, person: Person) -> None:
        """Stop: ask whichever agent runs `run_id` to end it as cancelled."""
        self._check_person(person)
        run = self._run_map(run_id)
        if run.get(K.STATUS) not in K.LIVE_RUN_STATUSES:
            return  # already over: nothing to stop
        with self._write():
            run[K.CANCEL_REQUESTED_BY] = person.id

    # ------------------------------------------------------------------ meta

    def set_title(self, title: str) -> None:
        title = V.name("title", title)
        with self._write():
            self._meta[K.TITLE] = title

    def set_currency(self, currency: str) -> None:
        currency = V.currency(currency)
        with self._write():
            self._meta[K.CURRENCY] = currency

    # ------------------------------------------------------------------ days

    def add_day(self, title: str = "", *, date: str = "", index: int | None = None) -> str:
        """Insert a day at `index` in day order (default: at the end); returns its id."""
        title = V.text("title", title, max_len=V.MAX_NAME).strip()
        date = V.date(date)
        position = self._position_at([d.position for d in self.days()], index)
        day_id = new_id("d")
        with self._write():
            self._days[day_id] = Map({K.ID: day_id, K.DATE: date, K.TITLE: title, K.POSITION: position})
        return day_id

    def update_day(self, day_id: str, *, title: str = _UNSET, date: str = _UNSET) -> None:
        day = self._record(self._days, "day", day_id)
        fields: dict[str, Any] = {}
        if title is not _UNSET:
            fields[K.TITLE] = V.text("title", title, max_len=V.MAX_NAME).strip()
        if date is not _UNSET:
            fields[K.DATE] = V.date(date)
        with self._write():
            for key, value in fields.items():
                day[key] = value

    def rename_day(self, day_id: str, title: str) -> None:
        self.update_day(day_id, title=title)

    def move_day(self, day_id: str, index: int) -> None:
        """Move a day to `index` in the order of the other days."""
        day = self._record(self._days, "day", day_id)
        others = [d.position for d in self.days() if d.id != day_id]
        position = self._position_at(others, index)
        with self._write():
            day[K.POSITION] = position

    def delete_day(self, day_id: str) -> None:
        """Delete a day; its stops become unscheduled (they are never deleted with it)."""
        self._record(self._days, "day", day_id)
        with self._write():
            for stop in self._stops.values():
                if isinstance(stop, Map) and stop.get(K.DAY) == day_id:
                    stop[K.DAY] = ""
            del self._days[day_id]

    # ------------------------------------------------------------------ stops

    def add_stop(
        self,
        name: str,
        lat: float,
        lon: float,
        *,
        day: str = "",
        index: int | None = None,
        start_time: str = "",
        duration_min: int = 60,
        cost: float = 0.0,
        category: str = "sight",
        notes: str = "",
        added_by: str = "",
    ) -> str:
        """Add a stop to `day` ("" = unscheduled) at `index` (default: last); returns its id."""
        fields = {
            K.NAME: V.name("name", name),
            K.LAT: V.latitude(lat),
            K.LON: V.longitude(lon),
            K.START_TIME: V.start_time(start_time),
            K.DURATION_MIN: float(V.duration(duration_min)),
            K.COST: V.cost(cost),
            K.CATEGORY: V.category(category),
            K.NOTES: V.text("notes", notes, max_len=V.MAX_NOTES),
            K.ADDED_BY: V.text("added_by", added_by, max_len=V.MAX_NAME),
        }
        self._check_day(day)
        position = self._position_at([s.position for s in self._stops_of(day)], index)
        stop_id = new_id("s")
        with self._write():
            self._stops[stop_id] = Map({K.ID: stop_id, K.DAY: day, K.POSITION: position, **fields})
        return stop_id

    def update_stop(
        self,
        stop_id: str,
        *,
        name: str = _UNSET,
        lat: float = _UNSET,
        lon: float = _UNSET,
        start_time: str = _UNSET,
        duration_min: int = _UNSET,
        cost: float = _UNSET,
        category: str = _UNSET,
        notes: str = _UNSET,
    ) -> None:
        """Change some fields of a stop; fields not given are left alone."""
        stop = self._record(self._stops, "stop", stop_id)
        checks: dict[str, tuple[Any, Callable[[Any], Any]]] = {
            K.NAME: (name, lambda v: V.name("name", v)),
            K.LAT: (lat, V.latitude),
            K.LON: (lon, V.longitude),
            K.START_TIME: (start_time, V.start_time),
            K.DURATION_MIN: (duration_min, lambda v: float(V.duration(v))),
            K.COST: (cost, V.cost),
            K.CATEGORY: (category, V.category),
            K.NOTES: (notes, lambda v: V.text("notes", v, max_len=V.MAX_NOTES)),
        }
        fields = {key: check(value) for key, (value, check) in checks.items() if value is not _UNSET}
        with self._write():
            for key, value in fields.items():
                stop[key] = value

    def move_stop(self, stop_id: str, day: str, index: int | None = None) -> None:
        """Move a stop to `day` ("" = unscheduled) at `index` among that day's other stops.

        One last-writer-wins write of `day` and `position`: two people moving the same stop
        at once end with it in exactly one place.
        """
        stop = self._record(self._stops, "stop", stop_id)
        self._check_day(day)
        others = [s.position for s in self._stops_of(day) if s.id != stop_id]
        position = self._position_at(others, index)
        with self._write():
            stop[K.DAY] = day
            stop[K.POSITION] = position

    def delete_stop(self, stop_id: str) -> None:
        self._record(self._stops, "stop", stop_id)
        with self._write():
            del self._stops[stop_id]

    # ------------------------------------------------------------------ budget

    @property
    def budget_key(self) -> str:
        """This session's key in the PN-counter: its Yjs client id."""
        return str(self.doc.client_id)

    def adjust_budget(self, delta: float) -> None:
        """Raise (or lower, with a negative delta) the budget limit by `delta`.

        Only this session's own key is rewritten, with its running sum, so concurrent
        adjustments from other sessions are never lost.
        """
        delta = V.number("delta", delta)
        if delta == 0:
            return
        own = self._budget.get(self.budget_key, 0.0)
        own = float(own) if isinstance(own, (int, float)) and not isinstance(own, bool) else 0.0
        total = own + delta
        if not math.isfinite(total):  # readers ignore a non-finite key: the limit would drop
            raise InvalidValue("delta", f"{delta:g} takes the budget limit out of range")
        with self._write():
            self._budget[self.budget_key] = total

    def set_budget_limit(self, limit: float) -> None:
        """Adjust so that the limit becomes `limit` (as of this peer's current view)."""
        limit = V.number("limit", limit, low=0.0)
        self.adjust_budget(limit - read_budget_limit(self.doc, new_reader()))

    # ------------------------------------------------------------------ undo

    def undo_manager(self) -> UndoManager:
        """An undo manager over the plan (days, stops, budget) that only ever undoes this
        object's own writes, never someone else's change."""
        manager = UndoManager(
            scopes=[self._days, self._stops, self._budget, self._meta], capture_timeout_millis=300
        )
        manager.include_origin(self.origin)
        return manager

    # ------------------------------------------------------------------ notifications

    def subscribe(self, listener: Listener) -> Subscription:
        """Call `listener` with a `TripChange` after each transaction that changes the trip.

        Listeners run inside the document's commit: they may read, but must not write
        (schedule writes for later).
        """
        if not self._observed:
            self._observe()
        self._listeners.add(listener)
        return Subscription(self, listener)

    def _observe(self) -> None:
        self._observed = True
        self._meta.observe_deep(lambda events: self._collect("meta", events))
        self._chat.observe_deep(lambda events: self._collect("chat", events))
        self._runs.observe_deep(lambda events: self._collect("runs", events))
        self._days.observe_deep(lambda events: self._collect("days", events))
        self._stops.observe_deep(lambda events: self._collect("stops", events))
        self._budget.observe_deep(lambda events: self._collect("budget", events))
        self.doc.observe(self._flush)

    def _collect(self, root: str, events: list[Any]) -> None:
        p = self._pending
        if p is None:
            p = self._pending = {
                "local": False, "meta": False, "added": [], "changed": set(), "runs": set(),
                "days": set(), "stops": set(), "budget": False,
            }  # fmt: skip
        for event in events:
            origin = event.transaction.origin
            p["local"] = p["local"] or origin == self.origin
            path = list(event.path)
            if root == "meta":
                p["meta"] = True
            elif root == "budget":
                p["budget"] = True
            elif root == "chat":
                if path:
                    ident = self._chat_id_at(path[0])
                    if ident:
                        p["changed"].add(ident)
                else:
                    for op in event.delta:
                        for item in op.get("insert", ()):
                            ident = item.get(K.ID) if isinstance(item, Map) else None
                            if isinstance(ident, str):
                                p["added"].append(ident)
                    if any("delete" in op for op in event.delta):
                        self._chat_index.clear()
            else:
                target = p[root]
                if path:
                    target.add(str(path[0]))
                else:
                    target.update(event.keys)

    def _flush(self, event: Any) -> None:
        p, self._pending = self._pending, None
        if p is None:
            return
        added = tuple(p["added"])
        change = TripChange(
            local=p["local"],
            meta=p["meta"],
            messages_added=added,
            messages_changed=frozenset(p["changed"] - set(added)),
            runs=frozenset(p["runs"]),
            days=frozenset(p["days"]),
            stops=frozenset(p["stops"]),
            budget_limit=p["budget"],
        )
        if change.empty:
            return
        # pycrdt gives document observers no transaction to read with (type observers get
        # one); lend the committing one, read-only, so that listeners can read the trip.
        with self.doc._read_transaction(event.transaction):
            for listener in list(self._listeners):
                try:
                    listener(change)
                except Exception:
                    log.exception("trip change listener %r failed", listener)

    # ------------------------------------------------------------------ internals

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group several operations into one transaction: peers see all of them or none.

        Validation still happens per operation; an exception inside the block is raised
        after the operations before it were applied, so validate everything first.
        """
        with self._write():
            yield

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self.doc.transaction(origin=self.origin):
            yield

    def _check_person(self, person: Person) -> None:
        V.name("author", person.id)
        V.text("author_name", person.name, max_len=V.MAX_NAME)

    def _assistant_map(self, message_id: str, run_id: str, agent: Person, text: str) -> Map:
        return Map(
            {
                K.ID: message_id,
                K.ROLE: "assistant",
                K.AUTHOR: agent.id,
                K.AUTHOR_NAME: agent.name,
                K.CREATED_AT: self.clock(),
                K.TEXT: Text(text),
                K.RUN_ID: run_id,
                K.REASONING: Text(),
                K.TOOL_CALLS: Array(),
            }
        )

    def _chat_id_at(self, index: int) -> str | None:
        try:
            entry = self._chat[index]
        except IndexError:
            return None
        ident = entry.get(K.ID) if isinstance(entry, Map) else None
        return ident if isinstance(ident, str) else None

    def _find_message(self, message_id: str) -> tuple[int, Map] | None:
        cached = self._chat_index.get(message_id)
        if cached is not None and cached < len(self._chat):
            entry = self._chat[cached]
            if isinstance(entry, Map) and entry.get(K.ID) == message_id:
                return cached, entry
        for index in range(len(self._chat) - 1, -1, -1):
            entry = self._chat[index]
            if isinstance(entry, Map) and entry.get(K.ID) == message_id:
                self._chat_index[message_id] = index
                return index, entry
        return None

    def _message_map(self, message_id: str) -> tuple[int, Map]:
        found = self._find_message(message_id)
        if found is None:
            raise NotFound("message", message_id)
        return found

    def _run_map(self, run_id: str) -> Map:
        return self._record(self._runs, "run", run_id)

    @staticmethod
    def _record(root: Map, kind: str, ident: Any) -> Map:
        if not isinstance(ident, str):
            raise InvalidValue(kind, f"id must be text, got {ident!r}")
        entry = root.get(ident)
        if not isinstance(entry, Map):
            raise NotFound(kind, ident)
        return entry

    def _check_day(self, day: Any) -> None:
        if not isinstance(day, str):
            raise InvalidValue("day", f"must be a day id or \"\" for unscheduled, got {day!r}")
        if day and not isinstance(self._days.get(day), Map):
            raise NotFound("day", day)

    def _stops_of(self, day: str) -> list[Stop]:
        return [s for s in self.stops() if s.day == day]

    @staticmethod
    def _position_at(ordered: list[str], index: int | None) -> str:
        """A fractional key that puts a record at `index` among `ordered` keys."""
        if index is None:
            index = len(ordered)
        if isinstance(index, bool) or not isinstance(index, int):
            raise InvalidValue("index", f"must be a whole number, got {index!r}")
        index = max(0, min(index, len(ordered)))
        before = ordered[index - 1] if index > 0 else None
        after = ordered[index] if index < len(ordered) else None
        if before is not None and after is not None and not before < after:
            # Two records share a key (a foreign peer, or a 1-in-46,656 collision): any key
            # just after `before` still keeps a total order, since readers break ties by id.
            after = None
        return key_between(before or None, after or None)



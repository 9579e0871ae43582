"""Every operation refuses a bad value with an error naming the field, and changes nothing.

Each case below is one validation rule. The trip it runs on holds one of everything (a
day, a stop, a queued run, a running run with a reply and a tool call, an ended run), so
a refused operation that wrote anything before raising would show up as a changed
document.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from wayfarer.trip import InvalidValue, NotFound, Person, Trip
from wayfarer.trip.validate import MAX_DURATION_MIN, MAX_MESSAGE, MAX_NAME, MAX_NOTES

ANN = Person("ann", "Ann")
AGENT = Person("agent-1", "Wayfarer")
NAN = math.nan
TOO_LONG_NAME = "x" * (MAX_NAME + 1)


@dataclass
class Planned:
    trip: Trip
    day: str
    stop: str
    question: str
    queued_run: str
    running_run: str
    reply: str
    tool_call: str
    ended_run: str


@pytest.fixture
def planned() -> Planned:
    trip = Trip()
    trip.create("Lisbon in May")
    day = trip.add_day("Belém", date="2026-05-02")
    stop = trip.add_stop("Belém Tower", 38.6916, -9.216, day=day, cost=10)
    question, queued_run = trip.post_user_message("Plan three days", ANN)
    _, running_run = trip.post_user_message("Add a food stop", ANN)
    trip.claim_run(running_run, AGENT, model="offline")
    reply = trip.start_assistant_message(running_run, AGENT)
    tool_call = trip.add_tool_call(reply, "add_stop", "{}")
    _, ended_run = trip.post_user_message("Thanks", ANN)
    trip.end_run(ended_run, "completed")
    trip.adjust_budget(500)
    return Planned(trip, day, stop, question, queued_run, running_run, reply, tool_call, ended_run)


Operation = Callable[[Trip, Planned], Any]


def finish(trip: Trip, message_id: str, call_id: str, result: Any = '{"ok": true}') -> None:
    trip.finish_tool_call(message_id, call_id, ok=True, result_json=result)


INVALID: list[tuple[str, Operation, str]] = [
    # ---- meta
    ("create on a trip", lambda t, p: t.create("Again"), "meta"),
    ("empty title", lambda t, p: t.set_title(""), "title"),
    ("blank title", lambda t, p: t.set_title("   "), "title"),
    ("too-long title", lambda t, p: t.set_title(TOO_LONG_NAME), "title"),
    ("title not text", lambda t, p: t.set_title(42), "title"),
    ("lower-case currency", lambda t, p: t.set_currency("eur"), "currency"),
    ("four-letter currency", lambda t, p: t.set_currency("EURO"), "currency"),
    ("empty currency", lambda t, p: t.set_currency(""), "currency"),
    ("currency not text", lambda t, p: t.set_currency(978), "currency"),
    # ---- chat
    ("empty message", lambda t, p: t.post_user_message("", ANN), "text"),
    ("blank message", lambda t, p: t.post_user_message(" \n", ANN), "text"),
    ("too-long message", lambda t, p: t.post_user_message("x" * (MAX_MESSAGE + 1), ANN), "text"),
    ("message not text", lambda t, p: t.post_user_message(b"hi", ANN), "text"),
    ("author without id", lambda t, p: t.post_user_message("hi", Person("", "Ann")), "author"),
    ("author name too long", lambda t, p: t.post_user_message("hi", Person("ann", TOO_LONG_NAME)), "author_name"),
    ("author name not text", lambda t, p: t.post_user_message("hi", Person("ann", None)), "author_name"),
    ("empty assistant note", lambda t, p: t.post_assistant_note("", AGENT), "text"),
    ("note by agent without id", lambda t, p: t.post_assistant_note("hi", Person(" ", "W")), "author"),
    ("streamed text not text", lambda t, p: t.stream(p.reply, text=5), "text"),
    ("streamed reasoning not text", lambda t, p: t.stream(p.reply, reasoning=["a"]), "text"),
    ("reasoning on a user message", lambda t, p: t.stream(p.question, reasoning="hmm"), "reasoning"),
    # ---- runs
    ("claim a running run", lambda t, p: t.claim_run(p.running_run, AGENT, model="offline"), "status"),
    ("claim an ended run", lambda t, p: t.claim_run(p.ended_run, AGENT, model="offline"), "status"),
    ("claim with model not text", lambda t, p: t.claim_run(p.queued_run, AGENT, model=None), "model"),
    ("claim with too-long model", lambda t, p: t.claim_run(p.queued_run, AGENT, model="m" * 201), "model"),
    ("claim by agent without id", lambda t, p: t.claim_run(p.queued_run, Person("", "W"), model="offline"), "author"),
    ("run id not text", lambda t, p: t.heartbeat(7), "run"),
    ("reply by agent without id", lambda t, p: t.start_assistant_message(p.queued_run, Person("", "W")), "author"),
    ("end a run as running", lambda t, p: t.end_run(p.running_run, "running"), "status"),
    ("end a run as queued", lambda t, p: t.end_run(p.running_run, "queued"), "status"),
    ("end a run with an unknown status", lambda t, p: t.end_run(p.running_run, "done"), "status"),
    ("end reason not text", lambda t, p: t.end_run(p.running_run, "failed", 500), "end_reason"),
    ("end reason too long", lambda t, p: t.end_run(p.running_run, "failed", "x" * 2001), "end_reason"),
    ("cancel by person without id", lambda t, p: t.request_cancel(p.running_run, Person("", "Ann")), "author"),
    # ---- tool calls
    ("tool call on a user message", lambda t, p: t.add_tool_call(p.question, "add_stop", "{}"), "tool_calls"),
    ("tool without name", lambda t, p: t.add_tool_call(p.reply, "", "{}"), "name"),
    ("tool name too long", lambda t, p: t.add_tool_call(p.reply, TOO_LONG_NAME, "{}"), "name"),
    ("tool input not JSON", lambda t, p: t.add_tool_call(p.reply, "add_stop", "{name: Belém}"), "input"),
    ("tool input empty", lambda t, p: t.add_tool_call(p.reply, "add_stop", ""), "input"),
    ("tool input a dict", lambda t, p: t.add_tool_call(p.reply, "add_stop", {"name": "x"}), "input"),
    ("tool result not JSON", lambda t, p: finish(t, p.reply, p.tool_call, result="ok"), "result"),
    ("tool result not text", lambda t, p: finish(t, p.reply, p.tool_call, result=1), "result"),
    # ---- days
    ("day title too long", lambda t, p: t.add_day(TOO_LONG_NAME), "title"),
    ("day title not text", lambda t, p: t.add_day(None), "title"),
    ("impossible date", lambda t, p: t.add_day("x", date="2026-02-30"), "date"),
    ("month 13", lambda t, p: t.add_day("x", date="2026-13-01"), "date"),
    ("compact date", lambda t, p: t.add_day("x", date="20260501"), "date"),
    ("date in words", lambda t, p: t.add_day("x", date="tomorrow"), "date"),
    ("date with a time", lambda t, p: t.add_day("x", date="2026-05-01T10:00"), "date"),
    ("date not text", lambda t, p: t.add_day("x", date=20260501), "date"),
    ("day index not whole", lambda t, p: t.add_day("x", index=1.5), "index"),
    ("day index text", lambda t, p: t.add_day("x", index="1"), "index"),
    ("day index bool", lambda t, p: t.add_day("x", index=True), "index"),
    ("update day: bad date", lambda t, p: t.update_day(p.day, title="ok", date="05/02/2026"), "date"),
    ("update day: bad title", lambda t, p: t.update_day(p.day, title=TOO_LONG_NAME, date="2026-05-03"), "title"),
    ("rename day too long", lambda t, p: t.rename_day(p.day, TOO_LONG_NAME), "title"),
    ("move day to index text", lambda t, p: t.move_day(p.day, "first"), "index"),
    ("day id not text", lambda t, p: t.delete_day(None), "day"),
    # ---- stops
    ("empty stop name", lambda t, p: t.add_stop("", 38.7, -9.2), "name"),
    ("blank stop name", lambda t, p: t.add_stop("  ", 38.7, -9.2), "name"),
    ("too-long stop name", lambda t, p: t.add_stop(TOO_LONG_NAME, 38.7, -9.2), "name"),
    ("stop name not text", lambda t, p: t.add_stop(12, 38.7, -9.2), "name"),
    ("lat above 90", lambda t, p: t.add_stop("x", 90.0001, 0), "lat"),
    ("lat below -90", lambda t, p: t.add_stop("x", -91, 0), "lat"),
    ("lat as text", lambda t, p: t.add_stop("x", "38.7", 0), "lat"),
    ("lat NaN", lambda t, p: t.add_stop("x", NAN, 0), "lat"),
    ("lat infinite", lambda t, p: t.add_stop("x", math.inf, 0), "lat"),
    ("lat bool", lambda t, p: t.add_stop("x", True, 0), "lat"),
    ("lat None", lambda t, p: t.add_stop("x", None, 0), "lat"),
    ("lon above 180", lambda t, p: t.add_stop("x", 0, 180.5), "lon"),
    ("lon below -180", lambda t, p: t.add_stop("x", 0, -181), "lon"),
    ("lon as text", lambda t, p: t.add_stop("x", 0, "-9.2"), "lon"),
    ("lon NaN", lambda t, p: t.add_stop("x", 0, NAN), "lon"),
    ("negative duration", lambda t, p: t.add_stop("x", 0, 0, duration_min=-1), "duration_min"),
    ("fractional duration", lambda t, p: t.add_stop("x", 0, 0, duration_min=1.5), "duration_min"),
    ("duration as text", lambda t, p: t.add_stop("x", 0, 0, duration_min="60"), "duration_min"),
    ("duration bool", lambda t, p: t.add_stop("x", 0, 0, duration_min=True), "duration_min"),
    ("duration over a week", lambda t, p: t.add_stop("x", 0, 0, duration_min=MAX_DURATION_MIN + 1), "duration_min"),
    ("cost as text", lambda t, p: t.add_stop("x", 0, 0, cost="12"), "cost"),
    ("cost NaN", lambda t, p: t.add_stop("x", 0, 0, cost=NAN), "cost"),
    ("cost infinite", lambda t, p: t.add_stop("x", 0, 0, cost=math.inf), "cost"),
    ("negative cost", lambda t, p: t.add_stop("x", 0, 0, cost=-0.01), "cost"),
    ("cost bool", lambda t, p: t.add_stop("x", 0, 0, cost=True), "cost"),
    ("cost None", lambda t, p: t.add_stop("x", 0, 0, cost=None), "cost"),
    ("unknown category", lambda t, p: t.add_stop("x", 0, 0, category="museum"), "category"),
    ("capitalised category", lambda t, p: t.add_stop("x", 0, 0, category="Food"), "category"),
    ("empty category", lambda t, p: t.add_stop("x", 0, 0, category=""), "category"),
    ("start time without leading zero", lambda t, p: t.add_stop("x", 0, 0, start_time="9:30"), "start_time"),
    ("start time 24:00", lambda t, p: t.add_stop("x", 0, 0, start_time="24:00"), "start_time"),
    ("start time minute 60", lambda t, p: t.add_stop("x", 0, 0, start_time="12:60"), "start_time"),
    ("start time in words", lambda t, p: t.add_stop("x", 0, 0, start_time="noon"), "start_time"),
    ("start time with seconds", lambda t, p: t.add_stop("x", 0, 0, start_time="12:00:00"), "start_time"),
    ("start time not text", lambda t, p: t.add_stop("x", 0, 0, start_time=930), "start_time"),
    ("notes too long", lambda t, p: t.add_stop("x", 0, 0, notes="n" * (MAX_NOTES + 1)), "notes"),
    ("notes not text", lambda t, p: t.add_stop("x", 0, 0, notes=["a"]), "notes"),
    ("added_by too long", lambda t, p: t.add_stop("x", 0, 0, added_by=TOO_LONG_NAME), "added_by"),
    ("stop day not text", lambda t, p: t.add_stop("x", 0, 0, day=None), "day"),
    ("stop index not whole", lambda t, p: t.add_stop("x", 0, 0, day=p.day, index=0.5), "index"),
    ("update stop lat", lambda t, p: t.update_stop(p.stop, lat=-90.5), "lat"),
    ("update stop lon", lambda t, p: t.update_stop(p.stop, lon=200), "lon"),
    ("update stop name", lambda t, p: t.update_stop(p.stop, name=""), "name"),
    ("update stop duration", lambda t, p: t.update_stop(p.stop, duration_min=-5), "duration_min"),
    ("update stop cost", lambda t, p: t.update_stop(p.stop, cost=NAN), "cost"),
    ("update stop category", lambda t, p: t.update_stop(p.stop, category="bar"), "category"),
    ("update stop start time", lambda t, p: t.update_stop(p.stop, start_time="7pm"), "start_time"),
    ("update stop notes", lambda t, p: t.update_stop(p.stop, notes=3), "notes"),
    ("update stop: one bad field of many", lambda t, p: t.update_stop(p.stop, name="New", cost=5, lat=100), "lat"),
    ("move stop to day not text", lambda t, p: t.move_stop(p.stop, 3), "day"),
    ("move stop to index text", lambda t, p: t.move_stop(p.stop, p.day, "last"), "index"),
    ("stop id not text", lambda t, p: t.delete_stop(None), "stop"),
    # ---- budget
    ("budget delta as text", lambda t, p: t.adjust_budget("100"), "delta"),
    ("budget delta NaN", lambda t, p: t.adjust_budget(NAN), "delta"),
    ("budget delta infinite", lambda t, p: t.adjust_budget(-math.inf), "delta"),
    ("budget delta bool", lambda t, p: t.adjust_budget(True), "delta"),
    ("budget delta None", lambda t, p: t.adjust_budget(None), "delta"),
    ("negative budget limit", lambda t, p: t.set_budget_limit(-1), "limit"),
    ("budget limit NaN", lambda t, p: t.set_budget_limit(NAN), "limit"),
    ("budget limit as text", lambda t, p: t.set_budget_limit("900"), "limit"),
]

MISSING: list[tuple[str, Operation, str]] = [
    ("claim unknown run", lambda t, p: t.claim_run("r-nope", AGENT, model="offline"), "run"),
    ("reply to unknown run", lambda t, p: t.start_assistant_message("r-nope", AGENT), "run"),
    ("heartbeat unknown run", lambda t, p: t.heartbeat("r-nope"), "run"),
    ("end unknown run", lambda t, p: t.end_run("r-nope", "completed"), "run"),
    ("cancel unknown run", lambda t, p: t.request_cancel("r-nope", ANN), "run"),
    ("stream into unknown message", lambda t, p: t.stream("m-nope", text="hi"), "message"),
    ("tool call on unknown message", lambda t, p: t.add_tool_call("m-nope", "add_stop", "{}"), "message"),
    ("finish on unknown message", lambda t, p: finish(t, "m-nope", p.tool_call), "message"),
    ("finish unknown tool call", lambda t, p: finish(t, p.reply, "tc-nope"), "tool call"),
    ("finish another message's call", lambda t, p: finish(t, p.question, p.tool_call), "tool call"),
    ("update unknown day", lambda t, p: t.update_day("d-nope", title="x"), "day"),
    ("rename unknown day", lambda t, p: t.rename_day("d-nope", "x"), "day"),
    ("move unknown day", lambda t, p: t.move_day("d-nope", 0), "day"),
    ("delete unknown day", lambda t, p: t.delete_day("d-nope"), "day"),
    ("stop in unknown day", lambda t, p: t.add_stop("x", 0, 0, day="d-nope"), "day"),
    ("update unknown stop", lambda t, p: t.update_stop("s-nope", cost=1), "stop"),
    ("move unknown stop", lambda t, p: t.move_stop("s-nope", p.day), "stop"),
    ("move stop to unknown day", lambda t, p: t.move_stop(p.stop, "d-nope"), "day"),
    ("delete unknown stop", lambda t, p: t.delete_stop("s-nope"), "stop"),
    ("a stop id is not a day id", lambda t, p: t.add_stop("x", 0, 0, day=p.stop), "day"),
]


def state(trip: Trip) -> tuple[bytes, bytes]:
    return trip.doc.get_state(), trip.doc.get_update()


@pytest.mark.parametrize(("operation", "field"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_a_bad_value_is_refused_naming_its_field_and_the_trip_is_unchanged(
    planned: Planned, operation: Operation, field: str
) -> None:
    trip = planned.trip
    before, snapshot = state(trip), trip.snapshot()
    with pytest.raises(InvalidValue) as raised:
        operation(trip, planned)
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")
    assert state(trip) == before
    assert trip.snapshot() == snapshot


@pytest.mark.parametrize(("operation", "kind"), [case[1:] for case in MISSING], ids=[case[0] for case in MISSING])
def test_a_reference_to_something_that_does_not_exist_is_refused_and_the_trip_is_unchanged(
    planned: Planned, operation: Operation, kind: str
) -> None:
    trip = planned.trip
    before, snapshot = state(trip), trip.snapshot()
    with pytest.raises(NotFound) as raised:
        operation(trip, planned)
    assert raised.value.kind == kind
    assert str(raised.value).startswith(f"unknown {kind} ")
    assert state(trip) == before
    assert trip.snapshot() == snapshot


def test_a_budget_adjustment_beyond_any_number_is_refused(planned: Planned) -> None:
    trip = planned.trip
    trip.adjust_budget(1e308)
    before = state(trip)
    with pytest.raises(InvalidValue, match="^delta: "):
        trip.adjust_budget(1e308)
    assert state(trip) == before
    assert trip.budget().limit == 1e308 + 500


def test_create_refuses_a_bad_title_or_currency_on_an_empty_document() -> None:
    trip = Trip()
    before = state(trip)
    with pytest.raises(InvalidValue, match="^title: must not be empty"):
        trip.create("")
    with pytest.raises(InvalidValue, match="^currency: "):
        trip.create("Lisbon", currency="euros")
    assert state(trip) == before
    assert not trip.is_trip


def test_error_messages_say_what_was_wrong(planned: Planned) -> None:
    with pytest.raises(InvalidValue, match=r"^lat: must be at most 90, got 91"):
        planned.trip.add_stop("x", 91, 0)
    with pytest.raises(InvalidValue, match=r"^duration_min: must not be negative, got -5"):
        planned.trip.add_stop("x", 0, 0, duration_min=-5)
    with pytest.raises(InvalidValue, match=r"^category: must be one of sight, food, lodging, transport, activity"):
        planned.trip.add_stop("x", 0, 0, category="museum")
    with pytest.raises(NotFound, match=r"^unknown day 'd-nope'$"):
        planned.trip.move_stop(planned.stop, "d-nope")


def test_values_at_the_edge_of_the_rules_are_accepted(planned: Planned) -> None:
    trip = planned.trip
    stop_id = trip.add_stop(
        "x" * MAX_NAME, -90, 180, start_time="23:59", duration_min=MAX_DURATION_MIN, cost=0,
        category="other", notes="n" * MAX_NOTES,
    )  # fmt: skip
    trip.update_stop(stop_id, lat=90, lon=-180, start_time="00:00", duration_min=0, cost=1e9)
    trip.add_day("", date="2028-02-29")
    trip.set_budget_limit(0)
    stop = trip.snapshot().stop(stop_id)
    assert stop is not None and (stop.lat, stop.lon, stop.duration_min) == (90, -180, 0)
    assert trip.snapshot().problems == ()

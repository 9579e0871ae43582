"""The JSON form of a trip: what `wayfarer trip show --json` prints (DESIGN.md).

One object with `meta`, `days` (in order), `stops` (by day, then position), `budget`
(`limit`, `spent`), `chat` (each `id`, `role`, `author`, `text`, `run_id`) and `runs`;
plain JSON that survives `json.dumps` / `json.loads` unchanged.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrdt import Map

from wayfarer.trip import Person, Trip, snapshot_to_json, snapshot_to_json_text

ANN = Person("ann", "Ann")
AGENT = Person("agent-1", "Wayfarer")


@pytest.fixture
def trip() -> Trip:
    t = Trip()
    t.create("Lisbon in May", currency="EUR", created_at="2026-04-01T08:00:00.000Z")
    return t


def test_the_json_has_the_sections_of_trip_show(trip: Trip) -> None:
    form = snapshot_to_json(trip.snapshot())
    assert {"meta", "days", "stops", "budget", "chat", "runs"} <= set(form)
    assert form["meta"] == {
        "schema": 1, "title": "Lisbon in May", "currency": "EUR", "created_at": "2026-04-01T08:00:00.000Z"
    }  # fmt: skip
    assert (form["days"], form["stops"], form["chat"], form["runs"]) == ([], [], [], [])
    assert (form["budget"]["limit"], form["budget"]["spent"]) == (0, 0)
    assert form["problems"] == []


def test_days_are_listed_in_trip_order(trip: Trip) -> None:
    second = trip.add_day("Sintra", date="2026-05-03")
    first = trip.add_day("Belém", date="2026-05-02", index=0)
    third = trip.add_day("Cascais")
    trip.move_day(third, 0)
    days = snapshot_to_json(trip.snapshot())["days"]
    assert [d["id"] for d in days] == [third, first, second]
    assert days[1] == {"id": first, "date": "2026-05-02", "title": "Belém", "position": days[1]["position"]}
    assert [d["position"] for d in days] == sorted(d["position"] for d in days)


def test_stops_are_sorted_by_day_then_position_with_unscheduled_last(trip: Trip) -> None:
    belem = trip.add_day("Belém")
    sintra = trip.add_day("Sintra")
    loose = trip.add_stop("Somewhere", 38.7, -9.1)
    palace = trip.add_stop("Pena Palace", 38.7876, -9.3906, day=sintra)
    tower = trip.add_stop("Belém Tower", 38.6916, -9.216, day=belem)
    pasteis = trip.add_stop("Pastéis", 38.6975, -9.2032, day=belem, index=0, category="food", cost=7.5)
    trip.move_day(sintra, 0)
    stops = snapshot_to_json(trip.snapshot())["stops"]
    assert [s["id"] for s in stops] == [palace, pasteis, tower, loose]
    assert stops[1] == {
        "id": pasteis, "day": belem, "position": stops[1]["position"], "name": "Pastéis", "lat": 38.6975,
        "lon": -9.2032, "start_time": "", "duration_min": 60, "cost": 7.5, "category": "food", "notes": "",
        "added_by": "",
    }  # fmt: skip


def test_budget_gives_limit_and_spent_and_their_breakdown(trip: Trip) -> None:
    belem = trip.add_day("Belém")
    trip.add_stop("Tower", 38.69, -9.21, day=belem, cost=10)
    trip.add_stop("Pastéis", 38.69, -9.20, day=belem, cost=7.5, category="food")
    trip.add_stop("Train", 38.71, -9.14, cost=2.5, category="transport")
    trip.set_budget_limit(100)
    budget = snapshot_to_json(trip.snapshot())["budget"]
    assert budget == {
        "limit": 100,
        "spent": 20,
        "remaining": 80,
        "by_category": {"food": 7.5, "sight": 10, "transport": 2.5},
        "by_day": {belem: 17.5, "unscheduled": 2.5},
    }


def test_chat_entries_carry_id_role_author_text_and_run_id(trip: Trip) -> None:
    question, run_id = trip.post_user_message("Plan three days", ANN)
    trip.claim_run(run_id, AGENT, model="offline")
    reply = trip.start_assistant_message(run_id, AGENT)
    trip.stream(reply, text="Day 1: Belém.", reasoning="Start west.")
    call = trip.add_tool_call(reply, "add_day", '{"title": "Belém"}')
    trip.finish_tool_call(reply, call, ok=True, result_json='{"day": "d-1"}')
    chat = snapshot_to_json(trip.snapshot())["chat"]
    assert [(m["id"], m["role"], m["author"], m["text"], m["run_id"]) for m in chat] == [
        (question, "user", "ann", "Plan three days", ""),
        (reply, "assistant", "agent-1", "Day 1: Belém.", run_id),
    ]
    assert chat[1]["author_name"] == "Wayfarer" and chat[1]["reasoning"] == "Start west."
    assert chat[1]["tool_calls"] == [
        {"id": call, "name": "add_day", "input": '{"title": "Belém"}', "status": "ok", "result": '{"day": "d-1"}'}
    ]


def test_runs_carry_their_whole_record(trip: Trip) -> None:
    question, run_id = trip.post_user_message("Plan three days", ANN)
    trip.claim_run(run_id, AGENT, model="offline")
    trip.request_cancel(run_id, ANN)
    trip.end_run(run_id, "cancelled", "Stopped by Ann")
    (run,) = snapshot_to_json(trip.snapshot())["runs"]
    assert set(run) == {
        "id", "trigger", "requested_by", "status", "agent", "model", "created_at", "started_at", "ended_at",
        "end_reason", "cancel_requested_by", "heartbeat_at",
    }  # fmt: skip
    assert (run["id"], run["trigger"], run["status"], run["agent"]) == (run_id, question, "cancelled", "agent-1")
    assert (run["cancel_requested_by"], run["end_reason"]) == ("ann", "Stopped by Ann")


def test_problems_are_part_of_the_json(trip: Trip) -> None:
    trip.doc.get("budget", type=Map)["7"] = "lots"  # as a buggy peer would
    assert snapshot_to_json(trip.snapshot())["problems"] == ["budget '7': is not a number ('lots'); ignored"]


def test_the_text_form_keeps_unicode_and_parses_back(trip: Trip) -> None:
    trip.set_title("Lisboa ☀ São Jorge")
    text = snapshot_to_json_text(trip.snapshot())
    assert "Lisboa ☀ São Jorge" in text
    assert json.loads(text) == snapshot_to_json(trip.snapshot())
    assert "\n" not in snapshot_to_json_text(trip.snapshot(), indent=None)


names = st.text(min_size=1, max_size=30).filter(str.strip)
stops = st.lists(
    st.tuples(
        names,
        st.floats(-90, 90),
        st.floats(-180, 180),
        st.floats(0, 1e9, allow_subnormal=False),
        st.integers(0, 7 * 24 * 60),
        st.text(max_size=40),
        st.booleans(),
    ),
    max_size=6,
)


@given(names, stops, st.lists(names, max_size=3), st.integers(-(10**6), 10**6))
def test_any_trip_round_trips_through_strict_json(title: str, stops: list, messages: list[str], budget: int) -> None:
    """json.loads(json.dumps(form, allow_nan=False)) == form for any trip."""
    trip = Trip()
    trip.create(title)
    day = trip.add_day(title)
    for name, lat, lon, cost, duration, notes, scheduled in stops:
        trip.add_stop(name, lat, lon, cost=cost, duration_min=duration, notes=notes, day=day if scheduled else "")
    for text in messages:
        trip.post_user_message(text, ANN)
    trip.adjust_budget(budget)
    form = snapshot_to_json(trip.snapshot())
    assert json.loads(json.dumps(form, allow_nan=False)) == form
    assert json.loads(snapshot_to_json_text(trip.snapshot())) == form
    order = [(s["day"] == "", s["position"]) for s in form["stops"]]
    assert order == sorted(order)

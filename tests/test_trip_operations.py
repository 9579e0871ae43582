"""Every write of a trip does what its description says, in one transaction, and says so.

Each operation of `Trip` is checked through what a reader sees afterwards (`snapshot()`),
what another peer sees once the update reaches it, and the `TripChange` it announces.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from pycrdt import Doc, Map

from wayfarer.trip import InvalidValue, NotATrip, Person, Trip, TripChange

ANN = Person("ann", "Ann")
BOB = Person("bob", "Bob")
AGENT = Person("agent-1", "Wayfarer")


class Clock:
    """A clock that ticks one second per call, so timestamps are predictable."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.timezone.utc)

    def __call__(self) -> str:
        self.now += dt.timedelta(seconds=1)
        return self.now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def trip() -> Trip:
    t = Trip(clock=Clock())
    t.create("Lisbon in May", currency="EUR", created_at="2026-04-01T08:00:00.000Z")
    return t


def peer_of(trip: Trip) -> Trip:
    """Another peer: its own Doc (own client id), holding everything `trip` holds."""
    other = Trip(Doc(), clock=Clock())
    other.doc.apply_update(trip.doc.get_update())
    return other


def sync(source: Trip, target: Trip) -> None:
    target.doc.apply_update(source.doc.get_update(target.doc.get_state()))


def record_changes(trip: Trip) -> list[TripChange]:
    changes: list[TripChange] = []
    trip.subscribe(changes.append)
    return changes


def record_updates(trip: Trip) -> list[bytes]:
    updates: list[bytes] = []
    trip.doc.observe(lambda event: updates.append(event.update))
    return updates


def running_run(trip: Trip) -> tuple[str, str, str]:
    """A user message, its run claimed by the agent, and the agent's reply message."""
    message_id, run_id = trip.post_user_message("Plan three days", ANN)
    trip.claim_run(run_id, AGENT, model="offline")
    reply_id = trip.start_assistant_message(run_id, AGENT)
    return message_id, run_id, reply_id


# ---------------------------------------------------------------- creating a trip


def test_create_writes_the_meta_of_a_schema_1_trip() -> None:
    trip = Trip(clock=Clock())
    assert not trip.is_trip
    trip.create("  Lisbon in May ", currency="CHF")
    meta = trip.snapshot().meta
    assert (meta.schema, meta.title, meta.currency) == (1, "Lisbon in May", "CHF")
    assert meta.created_at == "2026-05-01T09:00:01.000Z"
    assert trip.is_trip
    trip.check_schema()


def test_create_keeps_a_given_creation_time(trip: Trip) -> None:
    assert trip.meta().created_at == "2026-04-01T08:00:00.000Z"


def test_a_trip_created_on_one_peer_is_a_trip_on_another(trip: Trip) -> None:
    other = peer_of(trip)
    assert other.is_trip
    assert other.meta() == trip.meta()


def test_a_document_without_a_trip_is_refused_by_check_schema() -> None:
    with pytest.raises(NotATrip, match="no trip"):
        Trip().check_schema()


def test_a_trip_of_a_newer_schema_is_refused_by_check_schema() -> None:
    doc = Doc()
    doc.get("meta", type=Map)["schema"] = 2.0
    with pytest.raises(NotATrip, match="update Wayfarer"):
        Trip(doc).check_schema()


def test_set_title_and_currency(trip: Trip) -> None:
    changes = record_changes(trip)
    trip.set_title(" Porto ")
    trip.set_currency("USD")
    assert (trip.meta().title, trip.meta().currency) == ("Porto", "USD")
    assert changes == [TripChange(local=True, meta=True)] * 2


# ---------------------------------------------------------------- chat and runs


def test_post_user_message_appends_the_message_and_its_queued_run(trip: Trip) -> None:
    message_id, run_id = trip.post_user_message("Plan three days", ANN)
    snap = trip.snapshot()
    message = snap.message(message_id)
    assert message is not None
    assert (message.role, message.author, message.author_name) == ("user", "ann", "Ann")
    assert message.text == "Plan three days"
    assert message.run_id == "" and message.tool_calls == ()
    run = snap.run(run_id)
    assert run is not None
    assert (run.trigger, run.requested_by, run.status) == (message_id, "ann", "queued")
    assert run.created_at == message.created_at
    assert run.is_live and snap.live_runs == (run,)


def test_post_user_message_is_one_transaction_one_update_one_change(trip: Trip) -> None:
    other = peer_of(trip)
    updates = record_updates(trip)
    changes = record_changes(trip)
    message_id, run_id = trip.post_user_message("Plan three days", ANN)
    assert len(updates) == 1
    assert changes == [TripChange(local=True, messages_added=(message_id,), runs=frozenset({run_id}))]
    other.doc.apply_update(updates[0])
    seen = other.snapshot()
    assert seen.message(message_id) is not None
    assert seen.run(run_id) is not None and seen.run(run_id).trigger == message_id


def test_post_user_message_without_asking_the_agent_queues_no_run(trip: Trip) -> None:
    message_id, run_id = trip.post_user_message("Just a note to Bob", ANN, ask_agent=False)
    assert run_id == ""
    assert trip.snapshot().runs == ()
    assert trip.message_ids() == [message_id]
    assert trip.message_count() == 1


def test_post_assistant_note_is_an_assistant_message_outside_any_run(trip: Trip) -> None:
    note_id = trip.post_assistant_note("Day 2 is over budget.", AGENT)
    note = trip.message(note_id)
    assert note is not None
    assert (note.role, note.author, note.author_name) == ("assistant", "agent-1", "Wayfarer")
    assert note.text == "Day 2 is over budget."
    assert (note.run_id, note.reasoning, note.tool_calls) == ("", "", ())
    assert trip.snapshot().runs == ()


def test_claim_run_marks_it_running_by_the_agent(trip: Trip) -> None:
    _, run_id = trip.post_user_message("Plan three days", ANN)
    changes = record_changes(trip)
    trip.claim_run(run_id, AGENT, model="claude-sonnet-4-6")
    run = trip.run(run_id)
    assert run is not None
    assert (run.status, run.agent, run.model) == ("running", "agent-1", "claude-sonnet-4-6")
    assert run.started_at and run.heartbeat_at == run.started_at
    assert changes == [TripChange(local=True, runs=frozenset({run_id}))]


def test_start_assistant_message_appends_an_empty_reply_for_the_run(trip: Trip) -> None:
    _, run_id, reply_id = running_run(trip)
    reply = trip.message(reply_id)
    assert reply is not None
    assert (reply.role, reply.run_id) == ("assistant", run_id)
    assert (reply.text, reply.reasoning, reply.tool_calls) == ("", "", ())
    assert trip.message_ids()[-1] == reply_id


def test_streamed_text_and_reasoning_are_appended_in_order(trip: Trip) -> None:
    _, _, reply_id = running_run(trip)
    for chunk in ("Day 1: ", "Belém", ", then Alfama."):
        trip.stream(reply_id, text=chunk)
    trip.stream(reply_id, reasoning="They like ")
    trip.stream(reply_id, text=" Day 2: Sintra.", reasoning="old towns.")
    reply = trip.message(reply_id)
    assert reply is not None
    assert reply.text == "Day 1: Belém, then Alfama. Day 2: Sintra."
    assert reply.reasoning == "They like old towns."


def test_streaming_text_and_reasoning_together_is_one_update_and_one_change(trip: Trip) -> None:
    _, _, reply_id = running_run(trip)
    updates = record_updates(trip)
    changes = record_changes(trip)
    trip.stream(reply_id, text="Hello", reasoning="greet first")
    assert len(updates) == 1
    assert changes == [TripChange(local=True, messages_changed=frozenset({reply_id}))]


def test_streaming_nothing_changes_nothing(trip: Trip) -> None:
    _, _, reply_id = running_run(trip)
    before = trip.doc.get_update()
    changes = record_changes(trip)
    trip.stream(reply_id)
    assert trip.doc.get_update() == before
    assert changes == []


def test_a_peer_receives_streamed_text_in_order(trip: Trip) -> None:
    _, _, reply_id = running_run(trip)
    other = peer_of(trip)
    words = ["Start ", "at ", "the ", "castle."]
    for word in words:
        trip.stream(reply_id, text=word)
        sync(trip, other)
    assert other.message(reply_id).text == "".join(words)  # type: ignore[union-attr]


def test_a_tool_call_is_recorded_running_and_then_finished(trip: Trip) -> None:
    _, _, reply_id = running_run(trip)
    changes = record_changes(trip)
    ok_id = trip.add_tool_call(reply_id, "add_stop", '{"name": "Belém Tower"}')
    failed_id = trip.add_tool_call(reply_id, "delete_day", '{"day": 9}')
    calls = trip.message(reply_id).tool_calls  # type: ignore[union-attr]
    assert [(c.id, c.name, c.input, c.status, c.result) for c in calls] == [
        (ok_id, "add_stop", '{"name": "Belém Tower"}', "running", ""),
        (failed_id, "delete_day", '{"day": 9}', "running", ""),
    ]
    trip.finish_tool_call(reply_id, ok_id, ok=True, result_json='{"stop": "s-1"}')
    trip.finish_tool_call(reply_id, failed_id, ok=False, result_json='{"error": "no day 9"}')
    calls = trip.message(reply_id).tool_calls  # type: ignore[union-attr]
    assert [(c.status, c.result) for c in calls] == [("ok", '{"stop": "s-1"}'), ("error", '{"error": "no day 9"}')]
    assert changes == [TripChange(local=True, messages_changed=frozenset({reply_id}))] * 4


def test_heartbeat_refreshes_heartbeat_at(trip: Trip) -> None:
    _, run_id, _ = running_run(trip)
    first = trip.run(run_id).heartbeat_at  # type: ignore[union-attr]
    trip.heartbeat(run_id)
    later = trip.run(run_id).heartbeat_at  # type: ignore[union-attr]
    assert later > first


@pytest.mark.parametrize("status", ["completed", "cancelled", "failed", "interrupted"])
def test_end_run_records_status_time_and_reason(trip: Trip, status: str) -> None:
    _, run_id, _ = running_run(trip)
    trip.end_run(run_id, status, "Stopped by Ann")
    run = trip.run(run_id)
    assert run is not None
    assert (run.status, run.end_reason) == (status, "Stopped by Ann")
    assert run.ended_at > run.started_at
    assert not run.is_live and trip.snapshot().live_runs == ()


@pytest.mark.parametrize("claimed", [False, True])
def test_request_cancel_names_who_pressed_stop_on_a_live_run(trip: Trip, claimed: bool) -> None:
    _, run_id = trip.post_user_message("Plan three days", ANN)
    if claimed:
        trip.claim_run(run_id, AGENT, model="offline")
    changes = record_changes(trip)
    trip.request_cancel(run_id, BOB)
    assert trip.run(run_id).cancel_requested_by == "bob"  # type: ignore[union-attr]
    assert changes == [TripChange(local=True, runs=frozenset({run_id}))]


def test_request_cancel_on_an_ended_run_changes_nothing(trip: Trip) -> None:
    _, run_id, _ = running_run(trip)
    trip.end_run(run_id, "completed")
    before = trip.doc.get_update()
    changes = record_changes(trip)
    trip.request_cancel(run_id, BOB)
    assert trip.doc.get_update() == before
    assert trip.run(run_id).cancel_requested_by == ""  # type: ignore[union-attr]
    assert changes == []


def test_a_stop_requested_on_one_peer_reaches_the_agent_peer(trip: Trip) -> None:
    _, run_id, _ = running_run(trip)
    asker = peer_of(trip)
    asker.request_cancel(run_id, ANN)
    sync(asker, trip)
    assert trip.run(run_id).cancel_requested_by == "ann"  # type: ignore[union-attr]


# ---------------------------------------------------------------- days


def titles(trip: Trip) -> list[str]:
    return [d.title for d in trip.days()]


def test_add_day_appends_by_default_and_inserts_at_an_index(trip: Trip) -> None:
    trip.add_day("Belém")
    trip.add_day("Sintra", date="2026-05-03")
    trip.add_day("Arrival", index=0)
    trip.add_day("Alfama", index=2)
    trip.add_day("Departure", index=99)
    assert titles(trip) == ["Arrival", "Belém", "Alfama", "Sintra", "Departure"]
    assert [d.date for d in trip.days()] == ["", "", "", "2026-05-03", ""]
    positions = [d.position for d in trip.days()]
    assert positions == sorted(positions) and len(set(positions)) == 5


def test_add_day_returns_the_id_of_the_new_day(trip: Trip) -> None:
    day_id = trip.add_day("  Belém  ", date="2026-05-02")
    day = trip.snapshot().day(day_id)
    assert day is not None and (day.title, day.date) == ("Belém", "2026-05-02")
    assert trip.snapshot().day_number(day_id) == 1


def test_update_day_changes_only_the_fields_given(trip: Trip) -> None:
    day_id = trip.add_day("Belém", date="2026-05-02")
    trip.update_day(day_id, date="2026-05-04")
    assert (trip.days()[0].title, trip.days()[0].date) == ("Belém", "2026-05-04")
    trip.update_day(day_id, title="Belém and Ajuda")
    assert (trip.days()[0].title, trip.days()[0].date) == ("Belém and Ajuda", "2026-05-04")
    trip.update_day(day_id, date="")
    assert trip.days()[0].date == ""


def test_rename_day(trip: Trip) -> None:
    day_id = trip.add_day("Belém")
    changes = record_changes(trip)
    trip.rename_day(day_id, "Lazy Sunday")
    assert titles(trip) == ["Lazy Sunday"]
    assert changes == [TripChange(local=True, days=frozenset({day_id}))]


@pytest.mark.parametrize(
    ("index", "expected"),
    [(0, "CABD"), (1, "ACBD"), (2, "ABCD"), (3, "ABDC"), (99, "ABDC")],
)
def test_move_day_puts_it_at_the_index_among_the_other_days(trip: Trip, index: int, expected: str) -> None:
    ids = {title: trip.add_day(title) for title in "ABCD"}
    changes = record_changes(trip)
    trip.move_day(ids["C"], index)
    assert "".join(titles(trip)) == expected
    assert changes == [TripChange(local=True, days=frozenset({ids["C"]}))]


def test_delete_day_leaves_its_stops_unscheduled(trip: Trip) -> None:
    belem = trip.add_day("Belém")
    sintra = trip.add_day("Sintra")
    tower = trip.add_stop("Belém Tower", 38.6916, -9.2160, day=belem)
    pasteis = trip.add_stop("Pastéis de Belém", 38.6975, -9.2032, day=belem, category="food")
    palace = trip.add_stop("Pena Palace", 38.7876, -9.3906, day=sintra)
    changes = record_changes(trip)
    trip.delete_day(belem)
    snap = trip.snapshot()
    assert [d.id for d in snap.days] == [sintra]
    assert {s.id for s in snap.unscheduled} == {tower, pasteis}
    assert [s.id for s in snap.stops_in(sintra)] == [palace]
    assert changes == [TripChange(local=True, days=frozenset({belem}), stops=frozenset({tower, pasteis}))]


# ---------------------------------------------------------------- stops


def names(stops: tuple) -> list[str]:
    return [s.name for s in stops]


def test_add_stop_records_every_field(trip: Trip) -> None:
    day_id = trip.add_day("Belém")
    stop_id = trip.add_stop(
        " Belém Tower ", 38.6916, -9.216, day=day_id, start_time="09:30", duration_min=45,
        cost=10, category="sight", notes="Buy tickets online", added_by="ann",
    )  # fmt: skip
    stop = trip.snapshot().stop(stop_id)
    assert stop is not None
    assert (stop.name, stop.lat, stop.lon, stop.day) == ("Belém Tower", 38.6916, -9.216, day_id)
    assert (stop.start_time, stop.duration_min, stop.cost) == ("09:30", 45, 10.0)
    assert (stop.category, stop.notes, stop.added_by) == ("sight", "Buy tickets online", "ann")
    assert isinstance(stop.duration_min, int) and isinstance(stop.cost, float)


def test_add_stop_defaults_to_an_unscheduled_hour_long_sight(trip: Trip) -> None:
    stop_id = trip.add_stop("Miradouro", 38.71, -9.13)
    stop = trip.snapshot().stop(stop_id)
    assert stop is not None
    assert (stop.day, stop.start_time, stop.duration_min, stop.cost, stop.category) == ("", "", 60, 0.0, "sight")
    assert trip.snapshot().unscheduled == (stop,)


def test_add_stop_appends_by_default_and_inserts_at_an_index_within_its_day(trip: Trip) -> None:
    day_id = trip.add_day("Belém")
    other_day = trip.add_day("Sintra")
    trip.add_stop("Pena Palace", 38.78, -9.39, day=other_day)
    for name, index in [("B", None), ("D", None), ("A", 0), ("C", 2), ("E", 42)]:
        trip.add_stop(name, 38.7, -9.2, day=day_id, index=index)
    snap = trip.snapshot()
    assert names(snap.stops_in(day_id)) == list("ABCDE")
    assert names(snap.stops_in(other_day)) == ["Pena Palace"]
    assert names(snap.stops) == [*"ABCDE", "Pena Palace"]


def test_update_stop_changes_only_the_fields_given(trip: Trip) -> None:
    stop_id = trip.add_stop("Belém Tower", 38.6916, -9.216, cost=10, notes="tickets")
    changes = record_changes(trip)
    trip.update_stop(stop_id, cost=12.5, start_time="10:00", category="activity")
    stop = trip.snapshot().stop(stop_id)
    assert stop is not None
    assert (stop.name, stop.lat, stop.lon, stop.notes) == ("Belém Tower", 38.6916, -9.216, "tickets")
    assert (stop.cost, stop.start_time, stop.category) == (12.5, "10:00", "activity")
    trip.update_stop(stop_id, name="Torre de Belém", lat=38.69, lon=-9.21, duration_min=30.0, notes="")
    stop = trip.snapshot().stop(stop_id)
    assert stop is not None
    assert (stop.name, stop.lat, stop.lon, stop.duration_min, stop.notes) == ("Torre de Belém", 38.69, -9.21, 30, "")
    assert changes == [TripChange(local=True, stops=frozenset({stop_id}))] * 2


def test_move_stop_to_another_day_at_an_index(trip: Trip) -> None:
    belem = trip.add_day("Belém")
    sintra = trip.add_day("Sintra")
    moving = trip.add_stop("Moving", 38.7, -9.2, day=belem)
    for name in "ABC":
        trip.add_stop(name, 38.7, -9.2, day=sintra)
    changes = record_changes(trip)
    trip.move_stop(moving, sintra, 1)
    snap = trip.snapshot()
    assert names(snap.stops_in(sintra)) == ["A", "Moving", "B", "C"]
    assert snap.stops_in(belem) == ()
    assert changes == [TripChange(local=True, stops=frozenset({moving}))]


@pytest.mark.parametrize(("index", "expected"), [(0, "CABD"), (1, "ACBD"), (2, "ABCD"), (3, "ABDC"), (None, "ABDC")])
def test_move_stop_within_its_day(trip: Trip, index: int | None, expected: str) -> None:
    day_id = trip.add_day("Belém")
    ids = {name: trip.add_stop(name, 38.7, -9.2, day=day_id) for name in "ABCD"}
    trip.move_stop(ids["C"], day_id, index)
    assert "".join(names(trip.snapshot().stops_in(day_id))) == expected


def test_move_stop_to_unscheduled_and_back(trip: Trip) -> None:
    day_id = trip.add_day("Belém")
    stop_id = trip.add_stop("Belém Tower", 38.69, -9.21, day=day_id)
    trip.move_stop(stop_id, "")
    assert [s.id for s in trip.snapshot().unscheduled] == [stop_id]
    trip.move_stop(stop_id, day_id, 0)
    assert [s.id for s in trip.snapshot().stops_in(day_id)] == [stop_id]


def test_delete_stop(trip: Trip) -> None:
    keep = trip.add_stop("Keep", 38.7, -9.2)
    gone = trip.add_stop("Gone", 38.7, -9.2)
    changes = record_changes(trip)
    trip.delete_stop(gone)
    assert [s.id for s in trip.stops()] == [keep]
    assert changes == [TripChange(local=True, stops=frozenset({gone}))]


# ---------------------------------------------------------------- budget


def test_adjust_budget_raises_and_lowers_the_limit(trip: Trip) -> None:
    changes = record_changes(trip)
    trip.adjust_budget(500)
    trip.adjust_budget(250.5)
    trip.adjust_budget(-100)
    assert trip.budget().limit == 650.5
    assert changes == [TripChange(local=True, budget_limit=True)] * 3
    assert all(c.budget and not c.itinerary for c in changes)


def test_adjusting_by_zero_changes_nothing(trip: Trip) -> None:
    before = trip.doc.get_update()
    trip.adjust_budget(0)
    assert trip.doc.get_update() == before


def test_set_budget_limit_sets_the_limit_as_this_peer_sees_it(trip: Trip) -> None:
    trip.adjust_budget(300)
    trip.set_budget_limit(1200)
    assert trip.budget().limit == 1200
    trip.set_budget_limit(0)
    assert trip.budget().limit == 0


def test_each_session_rewrites_only_its_own_budget_key(trip: Trip) -> None:
    other = peer_of(trip)
    trip.adjust_budget(100)
    trip.adjust_budget(20)
    other.adjust_budget(-30)
    sync(other, trip)
    sync(trip, other)
    counter = trip.doc.get("budget", type=Map).to_py()
    assert counter == {trip.budget_key: 120.0, other.budget_key: -30.0}
    assert trip.budget().limit == other.budget().limit == 90


def test_concurrent_budget_adjustments_add_up(trip: Trip) -> None:
    peers = [peer_of(trip) for _ in range(3)]
    for n, p in enumerate(peers, start=1):
        p.adjust_budget(100 * n)
        p.adjust_budget(-n)
    for p in peers:
        for q in peers:
            sync(p, q)
    assert {p.budget().limit for p in peers} == {600 - 6}


def test_spent_is_the_sum_of_stop_costs_by_category_and_by_day(trip: Trip) -> None:
    belem = trip.add_day("Belém")
    sintra = trip.add_day("Sintra")
    trip.add_stop("Tower", 38.69, -9.21, day=belem, cost=10, category="sight")
    trip.add_stop("Pastéis", 38.69, -9.20, day=belem, cost=7.5, category="food")
    trip.add_stop("Palace", 38.78, -9.39, day=sintra, cost=20, category="sight")
    trip.add_stop("Train", 38.71, -9.14, cost=2.5, category="transport")
    trip.set_budget_limit(35)
    budget = trip.budget()
    assert (budget.limit, budget.spent, budget.remaining, budget.over) == (35, 40, -5, True)
    assert budget.by_category == {"sight": 30, "food": 7.5, "transport": 2.5}
    assert budget.by_day == {belem: 17.5, sintra: 20, "": 2.5}
    assert trip.snapshot().budget == budget


def test_an_empty_trip_has_spent_nothing_and_is_not_over(trip: Trip) -> None:
    budget = trip.budget()
    assert (budget.limit, budget.spent, budget.over) == (0.0, 0.0, False)
    assert isinstance(budget.spent, float)


def test_changing_a_stop_cost_is_a_budget_change(trip: Trip) -> None:
    stop_id = trip.add_stop("Tower", 38.69, -9.21, cost=10)
    changes = record_changes(trip)
    trip.update_stop(stop_id, cost=15)
    assert changes[0].budget and not changes[0].budget_limit
    assert trip.budget().spent == 15


# ---------------------------------------------------------------- undo


def test_undo_reverts_this_peers_own_edits_only(trip: Trip) -> None:
    day_id = trip.add_day("Belém")
    other = peer_of(trip)
    undo = trip.undo_manager()
    trip.add_stop("Mine", 38.7, -9.2, day=day_id)
    trip.adjust_budget(100)
    other.add_stop("Theirs", 38.7, -9.2, day=day_id)
    other.adjust_budget(40)
    sync(other, trip)
    assert undo.undo()
    while undo.can_undo():  # one step, or two if the machine was slow between the edits
        undo.undo()
    snap = trip.snapshot()
    assert names(snap.stops) == ["Theirs"]
    assert snap.budget.limit == 40
    assert snap.day(day_id) is not None  # written before the undo manager existed


def test_undo_does_not_touch_the_chat(trip: Trip) -> None:
    undo = trip.undo_manager()
    message_id, _ = trip.post_user_message("Plan three days", ANN)
    assert not undo.can_undo()
    undo.undo()
    assert trip.message_ids() == [message_id]


def test_undo_and_redo_step_by_step(trip: Trip) -> None:
    undo = trip.undo_manager()
    day_id = trip.add_day("Belém")
    time.sleep(0.35)  # edits further apart than the capture timeout are separate steps
    trip.rename_day(day_id, "Sintra")
    assert undo.undo()
    assert titles(trip) == ["Belém"]
    assert undo.undo()
    assert titles(trip) == []
    assert undo.redo()
    assert titles(trip) == ["Belém"]


def test_undone_edits_reach_other_peers(trip: Trip) -> None:
    other = peer_of(trip)
    undo = trip.undo_manager()
    trip.set_title("Porto")
    sync(trip, other)
    undo.undo()
    sync(trip, other)
    assert other.meta().title == "Lisbon in May"


# ---------------------------------------------------------------- change notifications


def test_changes_from_another_peer_are_not_local(trip: Trip) -> None:
    other = peer_of(trip)
    changes = record_changes(trip)
    message_id, run_id = other.post_user_message("Plan three days", BOB)
    day_id = other.add_day("Belém")
    stop_id = other.add_stop("Tower", 38.69, -9.21, day=day_id)
    other.adjust_budget(10)
    sync(other, trip)
    assert changes == [
        TripChange(
            local=False,
            messages_added=(message_id,),
            runs=frozenset({run_id}),
            days=frozenset({day_id}),
            stops=frozenset({stop_id}),
            budget_limit=True,
        )
    ]


def test_remote_streaming_names_the_message_that_grew(trip: Trip) -> None:
    _, run_id, reply_id = running_run(trip)
    other = peer_of(trip)
    changes = record_changes(other)
    trip.stream(reply_id, text="Day 1")
    trip.heartbeat(run_id)
    sync(trip, other)
    assert changes == [TripChange(local=False, messages_changed=frozenset({reply_id}), runs=frozenset({run_id}))]


def test_messages_added_are_listed_in_chat_order(trip: Trip) -> None:
    other = peer_of(trip)
    changes = record_changes(trip)
    first, _ = other.post_user_message("one", BOB)
    second = other.post_assistant_note("two", AGENT)
    third, _ = other.post_user_message("three", BOB, ask_agent=False)
    sync(other, trip)
    assert changes[0].messages_added == (first, second, third)
    assert not changes[0].local


def test_a_listener_can_read_the_trip_while_it_is_told_of_a_change(trip: Trip) -> None:
    _, run_id = trip.post_user_message("Plan three days", ANN)
    agent = peer_of(trip)
    seen: list[tuple[str, int]] = []

    def on_change(change: TripChange) -> None:
        if run_id in change.runs:
            run = agent.run(run_id)
            seen.append((run.cancel_requested_by if run else "?", len(agent.snapshot().days)))

    agent.subscribe(on_change)
    trip.add_day("Belém")
    trip.request_cancel(run_id, ANN)
    sync(trip, agent)
    agent.heartbeat(run_id)
    assert seen == [("ann", 1), ("ann", 1)]


def test_a_failing_listener_neither_blocks_the_write_nor_other_listeners(trip: Trip) -> None:
    def broken(change: TripChange) -> None:
        raise RuntimeError("view crashed")

    trip.subscribe(broken)
    changes = record_changes(trip)
    day_id = trip.add_day("Belém")
    assert [d.id for d in trip.days()] == [day_id]
    assert changes == [TripChange(local=True, days=frozenset({day_id}))]


def test_a_closed_subscription_hears_nothing_more(trip: Trip) -> None:
    changes: list[TripChange] = []
    subscription = trip.subscribe(changes.append)
    trip.add_day("Belém")
    subscription.close()
    trip.add_day("Sintra")
    assert len(changes) == 1


def test_a_change_summarises_itself() -> None:
    assert TripChange(local=True).empty
    assert TripChange(local=True, stops=frozenset({"s"})).itinerary
    assert TripChange(local=True, stops=frozenset({"s"})).budget
    assert TripChange(local=True, messages_changed=frozenset({"m"})).chat
    assert not TripChange(local=True, runs=frozenset({"r"})).chat
    assert not TripChange(local=True, runs=frozenset({"r"})).empty


def test_invalid_value_is_a_value_error_naming_its_field() -> None:
    error = InvalidValue("lat", "must be at most 90")
    assert isinstance(error, ValueError)
    assert (error.field, str(error)) == ("lat", "lat: must be at most 90")


def test_the_plan_is_the_snapshot_without_chat_and_runs() -> None:
    from dataclasses import replace

    from wayfarer.trip import Person, Trip

    trip = Trip()
    trip.create("Plan only")
    day = trip.add_day("One", date="2026-12-01")
    trip.add_stop("Belém Tower", 38.6916, -9.2160, day=day, cost=10)
    trip.adjust_budget(100)
    trip.post_user_message("hello", Person("p-ana", "Ana"))
    full = trip.snapshot()
    assert full.chat and full.runs
    assert trip.plan() == replace(full, chat=(), runs=())

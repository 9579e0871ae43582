"""A LocalTrip saves every local and remote change as it happens, and never hides a failed save."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from _children import run_and_kill, saved_numbers
from pycrdt import Doc

from wayfarer.sync.local import INFO_TITLE, LocalTrip
from wayfarer.sync.updatelog import StoreCorrupted, StoreError, UpdateLog
from wayfarer.trip import Person, Trip

ANA = Person(id="p-ana", name="Ana")
AGENT = Person(id="agent-1", name="Planner")


def plan_a_weekend(trip: Trip) -> None:
    trip.create("Weekend in Porto", currency="EUR")
    saturday = trip.add_day("Saturday", date="2027-05-01")
    trip.add_stop("Livraria Lello", 41.1469, -8.6149, day=saturday, cost=8, category="sight")
    trip.add_stop("Francesinha", 41.15, -8.61, cost=15, category="food")
    trip.adjust_budget(300)
    _, run_id = trip.post_user_message("Plan our Saturday", ANA)
    trip.claim_run(run_id, AGENT, model="offline")
    reply = trip.start_assistant_message(run_id, AGENT)
    for word in ("Start ", "at ", "the ", "bookshop."):
        trip.stream(reply, text=word)
    trip.end_run(run_id, "completed")


def refuse_inserts(path: Path) -> sqlite3.Connection:
    """Make the file refuse new rows, as a full or failing disk would."""
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON updates BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END"
    )
    return raw


def test_local_writes_are_on_disk_and_reopen_equal(tmp_path: Path) -> None:
    path = tmp_path / "porto.wayfarer"
    with LocalTrip.open(path, create=True) as local:
        plan_a_weekend(local.trip)
        written = local.trip.snapshot()
    with LocalTrip.open(path) as local:
        assert local.trip.snapshot() == written
    assert written.meta.title == "Weekend in Porto" and len(written.stops) == 2


def test_updates_from_another_peer_are_saved_too(tmp_path: Path) -> None:
    path = tmp_path / "shared.wayfarer"
    peer = Trip(Doc())
    plan_a_weekend(peer)
    with LocalTrip.open(path, create=True) as local:
        local.doc.apply_update(peer.doc.get_update())
        peer_state = peer.doc.get_state()
        peer.add_day("Sunday")
        local.doc.apply_update(peer.doc.get_update(peer_state))
        assert local.store.row_count() == 2
    with LocalTrip.open(path) as local:
        assert local.trip.snapshot() == peer.snapshot()
        assert [d.title for d in local.trip.days()] == ["Saturday", "Sunday"]


def test_the_title_is_kept_beside_the_document_for_cheap_listing(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    with LocalTrip.open(path, create=True) as local:
        local.trip.create("Lisbon")
        local.trip.set_title("Lisbon and Sintra")
    with UpdateLog(path, create=False) as store:
        assert store.get_info(INFO_TITLE) == "Lisbon and Sintra"


def test_a_title_changed_by_a_peer_is_also_kept(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    peer = Trip(Doc())
    peer.create("Old name")
    with LocalTrip.open(path, create=True) as local:
        local.doc.apply_update(peer.doc.get_update())
        state = peer.doc.get_state()
        peer.set_title("New name")
        local.doc.apply_update(peer.doc.get_update(state))
        assert local.store.get_info(INFO_TITLE) == "New name"


def test_a_failed_save_raises_stays_visible_and_repair_saves_it(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    with LocalTrip.open(path, create=True) as local:
        local.trip.create("Rome")
        raw = refuse_inserts(path)
        with pytest.raises(ExceptionGroup) as caught:
            local.trip.add_day("Day one")
        assert caught.group_contains(StoreError, match="simulated disk failure")
        assert local.error is not None and str(path) in str(local.error)
        with pytest.raises(StoreError, match="simulated disk failure"):
            local.check()
        raw.execute("DROP TRIGGER refuse")
        raw.close()
        with pytest.raises(ExceptionGroup) as caught:
            local.trip.add_day("Day two")
        assert caught.group_contains(StoreError, match="an earlier change could not be saved")
        local.repair()
        local.check()
        local.trip.add_day("Day three")
    with LocalTrip.open(path) as local:
        assert [d.title for d in local.trip.days()] == ["Day one", "Day two", "Day three"]


def test_a_change_after_close_raises_instead_of_vanishing(tmp_path: Path) -> None:
    local = LocalTrip.open(tmp_path / "t.wayfarer", create=True)
    local.trip.create("Oslo")
    local.close()
    with pytest.raises(ExceptionGroup) as caught:
        local.trip.add_day("Too late")
    assert caught.group_contains(StoreError, match="closed")


def test_a_long_trip_is_compacted_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    with LocalTrip.open(path, create=True, compact_every=10_000) as local:
        plan_a_weekend(local.trip)
        message = local.trip.post_assistant_note("Tokens follow", AGENT)
        for n in range(600):
            local.trip.stream(message, text=f"{n} ")
        written = local.trip.snapshot()
        assert local.store.row_count() > 600
    with LocalTrip.open(path) as local:
        assert local.store.row_count() == 1
        assert local.trip.snapshot() == written


def test_a_streaming_trip_is_compacted_as_it_grows(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    with LocalTrip.open(path, create=True, compact_every=100) as local:
        local.trip.create("Streaming")
        message = local.trip.post_assistant_note("Tokens:", AGENT)
        for n in range(350):
            local.trip.stream(message, text=f" {n}")
        assert local.store.row_count() < 60  # 352 rows written, every 100 merged into one
        written = local.trip.snapshot()
    with LocalTrip.open(path) as local:
        assert local.trip.snapshot() == written


def test_a_row_that_is_not_a_yjs_update_is_reported_as_damage(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    with UpdateLog(path) as store:
        store.append(b"this is not a yjs update")
    with pytest.raises(StoreCorrupted, match="not a valid Yjs update") as caught:
        LocalTrip.open(path)
    assert str(path) in str(caught.value)


def test_the_relay_link_is_remembered(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    with LocalTrip.open(path, create=True) as local:
        assert local.link is None
        local.set_link("ws://127.0.0.1:9/abc?token=x")
    with LocalTrip.open(path) as local:
        assert local.link == "ws://127.0.0.1:9/abc?token=x"
        local.set_link(None)
        assert local.link is None


def test_a_killed_app_loses_no_message_it_reported_saved(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    lines = run_and_kill("trip", path, lambda lines: len(lines) >= 150)
    reported = saved_numbers(lines)
    assert len(reported) >= 150
    with LocalTrip.open(path) as local:
        texts = {m.text for m in local.trip.snapshot().chat}
    assert {f"note {n}" for n in reported} <= texts

"""The small parts of a relay connection, on their own: status values and their feed,
the reconnect backoff, and the ledger of acknowledged changes."""

from __future__ import annotations

import random

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrdt import Doc, Map

from wayfarer.sync.acks import AckLedger, decode_state_vector
from wayfarer.sync.backoff import Backoff
from wayfarer.sync.status import StatusFeed, SyncStatus


def test_a_status_reads_as_a_short_line() -> None:
    assert SyncStatus("synced").summary == "synced"
    assert SyncStatus("synced", unacked=3).summary == "synced · 3 changes waiting"
    assert SyncStatus("offline", unacked=1, error="cannot reach the relay").summary == (
        "offline · 1 change waiting · cannot reach the relay"
    )
    assert SyncStatus("synced", unacked=2, read_only=True).summary == "synced · view only: your changes are not shared"
    assert SyncStatus("offline", error="the relay refused this link", stopped=True).summary == (
        "disconnected: the relay refused this link"
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_callbacks_see_every_status_and_iterators_the_latest() -> None:
    feed = StatusFeed()
    heard: list[SyncStatus] = []
    unsubscribe = feed.subscribe(heard.append)
    updates = feed.changes()
    assert await anext(updates) == SyncStatus()
    for state in ("connecting", "syncing", "synced"):
        feed.publish(SyncStatus(state))
    feed.publish(SyncStatus("synced"))  # the same value again: nobody is told
    assert [s.state for s in heard] == ["connecting", "syncing", "synced"]
    assert await anext(updates) == SyncStatus("synced"), "a slow reader skips to the latest"

    unsubscribe()
    feed.publish(SyncStatus("offline", error="gone"))
    assert len(heard) == 3
    with anyio.fail_after(5):
        assert (await anext(updates)).error == "gone"


@given(attempt=st.integers(min_value=0, max_value=10_000), seed=st.integers())
def test_backoff_delays_stay_within_their_bounds(attempt: int, seed: int) -> None:
    backoff = Backoff(first=0.5, factor=2.0, cap=10.0)
    delay = backoff.delay(attempt, random.Random(seed))
    assert backoff.ceiling(attempt) / 2 <= delay <= backoff.ceiling(attempt) <= 10.0


def test_backoff_grows_then_stops_at_its_cap() -> None:
    backoff = Backoff(first=0.5, factor=2.0, cap=10.0)
    assert [backoff.ceiling(n) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    with pytest.raises(ValueError, match="0 < first <= cap"):
        Backoff(first=0.0)


def test_a_deletion_is_a_change_to_wait_for_although_no_clock_moves() -> None:
    doc = Doc()
    stops = doc.get("stops", type=Map)
    stops["s-1"] = "Belém"
    ledger = AckLedger(doc.get_state())
    before = doc.get_state()
    del stops["s-1"]
    ledger.local_change()
    assert doc.get_state() == before, "the premise: deleting does not advance the state vector"
    assert ledger.unacked == 1


def test_a_reply_acknowledges_the_changes_made_before_its_query() -> None:
    ledger = AckLedger(Doc().get_state())
    assert ledger.query() is None, "no query before the resync: it could not vouch for anything"
    ledger.resync_sent()
    ledger.local_change()
    first = ledger.query()
    ledger.local_change()
    second = ledger.query()
    assert first is not None and second is not None
    assert (ledger.unacked, ledger.settled) == (2, False)
    ledger.reply(first, b"\x00")
    assert (ledger.unacked, ledger.settled) == (1, False)
    ledger.reply(second, b"\x00")
    assert (ledger.unacked, ledger.settled) == (0, True)
    ledger.new_connection()
    assert not ledger.settled, "a new connection must confirm its resync again"


def test_content_from_before_this_session_counts_while_the_relay_lacks_it() -> None:
    doc = Doc()
    doc.get("meta", type=Map)["title"] = "made offline, yesterday"
    ledger = AckLedger(doc.get_state())
    ledger.relay_state(Doc().get_state())
    assert ledger.unacked == 1
    ledger.relay_state(doc.get_state())
    assert ledger.unacked == 0
    assert decode_state_vector(doc.get_state()) == {doc.client_id: 1}

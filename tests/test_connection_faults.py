"""Sync survives what real life does to it: a relay killed with SIGKILL, a stream of tokens
cut in the middle, a peer that edits for a while with no relay at all."""

from __future__ import annotations

import contextlib
from pathlib import Path

import anyio
import pytest
from _frame_dropping_proxy import FrameDroppingProxy
from _sync_peers import FAST_RETRY, PATIENCE, eventually
from pycrdt import Doc
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from relay_process import RelayProcess

from wayfarer.sync.acks import AckLedger
from wayfarer.sync.connection import RelayConnection
from wayfarer.sync.links import TripLink
from wayfarer.sync.local import LocalTrip
from wayfarer.sync.remote import fetch_snapshot
from wayfarer.sync.session import IDLE_ACK_CHECK_S, RelaySession
from wayfarer.sync.status import SyncStatus
from wayfarer.trip import Person, Trip

pytestmark = pytest.mark.anyio

AGENT = Person("agent-test", "Planner")


async def test_after_sigkill_and_restart_peers_reconnect_alone_and_nothing_acknowledged_is_lost(
    relay: RelayProcess,
) -> None:
    link = relay.link("crash")
    # A peer that leaves after the relay confirmed its stops: nobody can resend them, so
    # they are on the relay's disk or lost.
    departed = Trip(Doc())
    departed.create("Crash test")
    confirmed = [departed.add_stop(f"confirmed {n}", 45.0, 7.0) for n in range(30)]
    async with RelayConnection(departed.doc, link) as connection:
        await connection.flush(PATIENCE)

    stayer = Trip(Doc())
    async with RelayConnection(stayer.doc, link, backoff=FAST_RETRY) as connection:
        await connection.wait_synced(PATIENCE)
        relay.kill()
        await eventually(lambda: connection.status.state == "offline", "the peer notices the relay is gone")
        offline = [stayer.add_stop(f"offline {n}", 45.0, 7.0) for n in range(5)]
        await eventually(lambda: connection.status.unacked == 5, "the offline stops are waiting")

        await anyio.to_thread.run_sync(relay.start)
        await connection.flush(PATIENCE)  # no help: it reconnects and resends on its own

    on_relay = await fetch_snapshot(link)
    assert {s.id for s in on_relay.stops} == set(confirmed) | set(offline)


async def test_a_reader_cut_off_mid_stream_ends_with_exactly_the_writers_text(relay: RelayProcess) -> None:
    link = relay.link("stream")
    writer, reader = Trip(Doc()), Trip(Doc())
    writer.create("Streaming")
    run_message = writer.start_assistant_message(writer.post_user_message("plan it", AGENT)[1], AGENT)
    tokens = [f"<{n}>" for n in range(600)]
    async with (
        RelayConnection(writer.doc, link, backoff=FAST_RETRY) as writing,
        RelayConnection(reader.doc, link, backoff=FAST_RETRY) as reading,
    ):
        await writing.wait_synced(PATIENCE)
        await reading.wait_synced(PATIENCE)
        def reader_text() -> str:
            message = reader.message(run_message)
            return message.text if message is not None else ""

        reader_statuses: list[SyncStatus] = []
        reading.on_status(reader_statuses.append)

        written = 0
        written_at_kill = -1

        async def restart_relay_midway() -> None:
            nonlocal written_at_kill
            await eventually(lambda: len(reader_text()) > 500, "the reader is mid-stream")
            relay.kill()
            written_at_kill = written
            await anyio.to_thread.run_sync(relay.start)

        async with anyio.create_task_group() as tg:
            tg.start_soon(restart_relay_midway)
            for token in tokens:
                writer.stream(run_message, text=token)
                written += 1
                await anyio.sleep(0.004)
        await writing.flush(PATIENCE)
        expected = "".join(tokens)
        await eventually(lambda: len(reader_text()) >= len(expected), "the reader catches up")
        assert reader_text() == expected
    assert max(s.unacked for s in reader_statuses) == 0, "the reader never took the writer's text for its own"
    assert 0 < written_at_kill < len(tokens), "the relay really was killed mid-stream"


async def test_offline_edits_survive_a_restart_of_the_peer_and_merge_both_ways(
    relay: RelayProcess, tmp_path: Path
) -> None:
    link = relay.link("offline")
    path = tmp_path / "offline.wayfarer"
    with LocalTrip.open(path, create=True) as local:
        local.trip.create("Offline first")
        async with RelayConnection(local.doc, link) as connection:
            await connection.flush(PATIENCE)

    other = Trip(Doc())
    async with RelayConnection(other.doc, link) as connection:
        await connection.wait_synced(PATIENCE)
        online = other.add_stop("Added online", 48.85, 2.35)
        await connection.flush(PATIENCE)

    with LocalTrip.open(path) as local:  # no relay involved: edits go to disk only
        offline = local.trip.add_stop("Added on the train", 48.0, 2.0)
        local.trip.set_title("Offline first, renamed")

    with LocalTrip.open(path) as local:  # a restart of the app
        assert local.trip.snapshot().stop(offline) is not None
        async with RelayConnection(local.doc, link) as connection:
            assert connection.status.unacked == 0, "nothing is known to be missing before the relay says so"
            await connection.wait_synced(PATIENCE)
            assert connection.status.unacked == 1, "the edits of the earlier session count as waiting"
            await connection.flush(PATIENCE)
            assert local.trip.snapshot().stop(online) is not None

    with LocalTrip.open(path) as local:  # what came from the relay was saved too
        assert local.trip.snapshot().stop(online) is not None
    on_relay = await fetch_snapshot(link)
    assert on_relay.meta.title == "Offline first, renamed"
    assert {s.name for s in on_relay.stops} == {"Added online", "Added on the train"}


async def test_a_connected_peer_that_missed_an_update_catches_up_without_reconnecting(relay: RelayProcess) -> None:
    """An update lost on a live connection (what a pycrdt update stuck pending looks like)
    is fetched again: the relay's answers to the idle acknowledgement queries show the
    peer behind, and the peer asks for what it lacks, on the same connection."""
    link = TripLink.parse(relay.link("missed-update"))
    async with FrameDroppingProxy(relay.port) as proxy:
        proxied = TripLink(f"ws://127.0.0.1:{proxy.port}", link.trip_id, link.token)
        ana, ben = Trip(Doc()), Trip(Doc())
        async with RelayConnection(ana.doc, proxied) as ana_link, RelayConnection(ben.doc, link) as ben_link:
            await ana_link.wait_synced(PATIENCE)
            await ben_link.wait_synced(PATIENCE)
            statuses: list[SyncStatus] = []
            ana_link.on_status(statuses.append)
            proxy.drop_next_update()
            ben.create("Lisbon")
            await ben_link.flush(PATIENCE)
            await eventually(lambda: proxy.dropped == 1, "the proxy swallows Ben's update")
            await eventually(lambda: ana.is_trip and ana.snapshot() == ben.snapshot(), "Ana catches up", IDLE_ACK_CHECK_S * 4)
            assert all(s.state != "offline" and s.state != "connecting" for s in statuses)  # never reconnected


async def test_a_local_edit_made_as_the_connection_breaks_never_fails(relay: RelayProcess) -> None:
    """The sender of a broken connection stops before the session is dropped; an edit made
    in between (inside its document transaction, where `RelayConnection` hands it to the
    session) must not raise: it waits in the document for the next connection."""
    doc = Doc()
    trip = Trip(doc)
    trip.create("Lisbon")
    async with connect(relay.link("breaking")) as websocket:
        session = RelaySession(
            websocket, doc, AckLedger(doc.get_state()), editor=True, presence=None,
            apply_remote=doc.apply_update, on_synced=lambda: None, on_acked=lambda: None, ack_interval=0.05,
        )  # fmt: skip
        doc.observe(lambda event: session.send_update(event.update))

        async def run_until_broken() -> None:
            with contextlib.suppress(ConnectionClosed):
                await session.run()

        async with anyio.create_task_group() as tg:
            tg.start_soon(run_until_broken)
            relay.kill()  # the socket breaks: the session's sender stops at its next send
            with anyio.fail_after(PATIENCE):
                while not session._drained.is_set():
                    trip.add_stop("Alfama", 38.71, -9.13)
                    await anyio.sleep(0.01)
            trip.add_stop("Belém", 38.69, -9.21)  # the outbox is closed now: must not raise
    assert trip.stops()[-1].name == "Belém"

"""Peers keep a trip in sync through a real relay process: live edits both ways, a status
a person can read, refusals that stop instead of storming, and viewer links that only read."""

from __future__ import annotations

import time

import anyio
import pytest
from _sync_peers import FAST_RETRY, PATIENCE, eventually, states_of
from pycrdt import Doc
from relay_process import RelayProcess

from wayfarer.sync.connection import LinkRefused, ReadOnlyLink, RelayConnection, SyncTimeout
from wayfarer.sync.remote import create_remote_trip, fetch_snapshot
from wayfarer.sync.status import SyncStatus
from wayfarer.sync.tokens import make_token
from wayfarer.trip import Trip

pytestmark = pytest.mark.anyio


async def test_two_peers_editing_at_once_converge(relay: RelayProcess) -> None:
    link = relay.link("converge")
    ana, ben = Trip(Doc()), Trip(Doc())
    async with RelayConnection(ana.doc, link) as ana_link, RelayConnection(ben.doc, link) as ben_link:
        await ana_link.wait_synced(PATIENCE)
        await ben_link.wait_synced(PATIENCE)
        ana.create("Lisbon")
        await eventually(lambda: ben.is_trip, "the trip reaches Ben")
        shared = ana.add_stop("Alfama", 38.711, -9.13)
        await eventually(lambda: ben.snapshot().stop(shared) is not None, "Ana's stop reaches Ben")

        async def ana_edits() -> None:
            for n in range(20):
                ana.add_stop(f"Ana {n}", 38.7, -9.1)
                ana.update_stop(shared, name=f"Alfama by Ana {n}")
                await anyio.sleep(0)

        async def ben_edits() -> None:
            day = ben.add_day("Day one")
            for n in range(20):
                ben.add_stop(f"Ben {n}", 38.7, -9.2, day=day)
                ben.update_stop(shared, notes=f"Ben's note {n}")
                await anyio.sleep(0)

        async with anyio.create_task_group() as tg:
            tg.start_soon(ana_edits)
            tg.start_soon(ben_edits)
        await ana_link.flush(PATIENCE)
        await ben_link.flush(PATIENCE)
        await eventually(lambda: ana.snapshot() == ben.snapshot(), "both peers show the same trip")
    final = ana.snapshot()
    assert len(final.stops) == 41
    assert final.stop(shared).name == "Alfama by Ana 19" and final.stop(shared).notes == "Ben's note 19"


async def test_status_goes_offline_connecting_syncing_synced_and_changes_get_confirmed(relay: RelayProcess) -> None:
    link = relay.link("status")
    relay.kill()
    trip = Trip(Doc())
    seen: list[SyncStatus] = []
    connection = RelayConnection(trip.doc, link, backoff=FAST_RETRY)
    connection.on_status(seen.append)
    async with connection:
        await eventually(lambda: connection.status.error != "", "a failed attempt while the relay is down")
        assert connection.status.state == "offline" and not connection.status.stopped
        assert "cannot reach the relay at ws://127.0.0.1" in connection.status.error
        trip.create("Made offline")
        await eventually(lambda: connection.status.unacked == 1, "the offline change is counted")

        await anyio.to_thread.run_sync(relay.start)
        await connection.flush(PATIENCE)
        assert connection.status == SyncStatus(state="synced", unacked=0)

        trip.set_title("Renamed online")
        await eventually(lambda: connection.status.unacked == 1, "the new change is waiting")
        await connection.flush(PATIENCE)
        assert connection.status.unacked == 0
    states = states_of(seen)
    assert states[:2] == ["connecting", "offline"]
    assert states[-4:] == ["connecting", "syncing", "synced", "offline"]
    assert seen[-1] == SyncStatus(state="offline"), "closing is not an error"
    assert (await fetch_snapshot(relay.link("status"))).meta.title == "Renamed online"


async def test_a_refused_link_stops_with_a_readable_error_instead_of_retrying(relay: RelayProcess) -> None:
    forged = f"{relay.url}/refused?token={make_token('not the relay key', 'refused', 'editor')}"
    seen: list[SyncStatus] = []
    connection = RelayConnection(Doc(), forged, backoff=FAST_RETRY)
    connection.on_status(seen.append)
    async with connection:
        with pytest.raises(LinkRefused, match=r"the relay refused this link \(HTTP 403\): .*not signed by this relay"):
            await connection.wait_synced(PATIENCE)
        await anyio.sleep(1.0)  # many retry periods of FAST_RETRY
        assert connection.status.stopped and connection.status.state == "offline"
        assert connection.status.summary.startswith("disconnected: the relay refused this link")
    assert states_of(seen).count("connecting") <= 1
    assert relay.count_log(r"refused a peer") == 1


async def test_an_expired_link_says_so(relay: RelayProcess) -> None:
    expired = relay.link("expired", expires_at=time.time() - 60)
    with pytest.raises(LinkRefused, match="its token has expired"):
        await fetch_snapshot(expired)


async def test_a_viewer_reads_the_trip_but_its_edits_never_leave_its_machine(relay: RelayProcess) -> None:
    editor, viewer = Trip(Doc()), Trip(Doc())
    editor.create("Porto")
    async with RelayConnection(editor.doc, relay.link("viewed")) as editing:
        await editing.flush(PATIENCE)
        async with RelayConnection(viewer.doc, relay.link("viewed", role="viewer")) as viewing:
            await viewing.flush(PATIENCE)  # nothing to send: being in sync is enough
            assert viewing.status.read_only and viewer.meta().title == "Porto"
            viewer.set_title("Hijacked")
            viewer.add_stop("Not shared", 41.1, -8.6)
            with pytest.raises(ReadOnlyLink, match="view-only link: 2 local change"):
                await viewing.flush(PATIENCE)
            assert "view only" in viewing.status.summary

            ribeira = editor.add_stop("Ribeira", 41.14, -8.61)
            await editing.flush(PATIENCE)
            await eventually(lambda: viewer.snapshot().stop(ribeira) is not None, "editor's stop reaches the viewer")
    assert relay.count_log("dropping edits") == 0, "the viewer never even sent its edits"
    on_relay = await fetch_snapshot(relay.link("viewed"))
    assert on_relay.meta.title == "Porto"
    assert [s.name for s in on_relay.stops] == ["Ribeira"]


async def test_create_a_trip_on_a_relay_then_read_it_back_with_each_link(relay: RelayProcess) -> None:
    created = await create_remote_trip(relay.url, relay.key, "  Kyoto in spring ", currency="JPY")
    assert set(created) == {"id", "title", "link", "viewer_link"}
    assert created["title"] == "Kyoto in spring"
    assert created["link"].startswith(f"{relay.url}/{created['id']}?token=")
    for link in (created["link"], created["viewer_link"]):
        snapshot = await fetch_snapshot(link)
        assert (snapshot.meta.title, snapshot.meta.currency) == ("Kyoto in spring", "JPY")


async def test_one_shot_reads_fail_readably(relay: RelayProcess) -> None:
    with pytest.raises(Exception, match="holds no trip 'never-made'"):
        await fetch_snapshot(relay.link("never-made"))
    with pytest.raises(ValueError, match="not a trip link"):
        await fetch_snapshot("http://example.invalid/nope")
    with pytest.raises(ValueError, match="a relay URL looks like ws://HOST:PORT"):
        await create_remote_trip(f"{relay.url}/some-trip", relay.key, "Oops")
    unreachable = relay.link("gone")
    relay.kill()
    with pytest.raises(SyncTimeout, match="cannot reach the relay at ws://127.0.0.1"):
        await fetch_snapshot(unreachable, timeout=1.0)


async def test_a_flush_that_never_reached_the_relay_says_so_without_counting_zero_changes() -> None:
    trip = Trip(Doc())
    trip.create("Lisbon")  # made before connecting: the ledger cannot count it until a sync
    async with RelayConnection(trip.doc, f"ws://127.0.0.1:1/never?token={make_token('k', 'never', 'editor')}") as link:
        with pytest.raises(SyncTimeout) as timeout:
            await link.flush(0.5)
    assert str(timeout.value).startswith("local changes not confirmed as stored by the relay at ws://127.0.0.1:1")
    assert "cannot reach" in str(timeout.value)

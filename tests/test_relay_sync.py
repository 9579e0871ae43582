"""Peers of one trip converge through a real relay process, and what it acknowledged survives a crash."""

from __future__ import annotations

import pytest
from pycrdt import Doc
from relay_client import RawPeer
from relay_process import RelayProcess

pytestmark = pytest.mark.anyio


def missing(acknowledged: bytes, doc: Doc) -> bytes:
    """What `doc` has that a relay acknowledging `acknowledged` lacks (b"" for nothing)."""
    update = doc.get_update(acknowledged)
    return b"" if update == b"\x00\x00" else update


async def test_two_peers_editing_at_once_converge(relay: RelayProcess) -> None:
    link = relay.link("trip-converge")
    async with RawPeer.connect(link) as alice, RawPeer.connect(link) as bob:
        await alice.synced()
        await bob.synced()
        alice.text().insert(0, "alice ")
        bob.text().insert(0, "bob ")
        await alice.wait_until(lambda: "bob" in str(alice.text()), "bob's edit at alice")
        await bob.wait_until(lambda: "alice" in str(bob.text()), "alice's edit at bob")
        assert str(alice.text()) == str(bob.text())


async def test_a_late_peer_receives_the_stored_trip(relay: RelayProcess) -> None:
    link = relay.link("trip-late")
    async with RawPeer.connect(link) as writer:
        await writer.synced()
        writer.text().insert(0, "kept")
        await writer.ack()
    async with RawPeer.connect(link) as reader:
        await reader.synced()
        assert str(reader.text()) == "kept"


async def test_acknowledged_updates_survive_sigkill_and_restart(relay: RelayProcess) -> None:
    link = relay.link("trip-crash")
    async with RawPeer.connect(link) as writer:
        await writer.synced()
        for n in range(50):
            writer.text().insert(len(writer.text()), f"{n};")
        acknowledged = await writer.ack()
        assert missing(acknowledged, writer.doc) == b"", "the ACK must cover every update sent before it"
        expected = str(writer.text())
    relay.kill()
    relay.restart()
    async with RawPeer.connect(relay.link("trip-crash")) as reader:
        await reader.synced()
        assert str(reader.text()) == expected


async def test_sigterm_stores_everything_and_exits_cleanly(relay: RelayProcess) -> None:
    link = relay.link("trip-term")
    async with RawPeer.connect(link) as writer:
        await writer.synced()
        writer.text().insert(0, "before shutdown")
        await writer.ack()
        assert relay.terminate() == 0
        assert await writer.closed() == 1012
    relay.start()
    async with RawPeer.connect(relay.link("trip-term")) as reader:
        await reader.synced()
        assert str(reader.text()) == "before shutdown"
    assert "relay stopped; every trip is stored" in relay.logs()


async def test_logs_name_trip_and_role_but_never_the_token(relay: RelayProcess) -> None:
    link = relay.link("trip-logs", role="viewer")
    token = link.split("token=")[1]
    async with RawPeer.connect(link) as viewer:
        await viewer.synced()
    relay.wait_for_log(r"peer #\d+ \(viewer\) of trip trip-logs left")
    assert "peer #1 (viewer) of trip trip-logs joined" in relay.logs()
    assert token not in relay.logs()
    assert token.split(".")[1] not in relay.logs()

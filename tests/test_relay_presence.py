"""Issue 8, items 3 and 4: presence is seen at once, and nobody speaks for somebody else.

Against pycrdt-websocket as shipped (`WAYFARER_RELAY_STOCK=presence`) these fail: a
newcomer sees nobody until the others renew, a leaver lingers, a silent peer is never
removed for the others, forged states are forwarded and malformed ones reach peers.
"""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import create_awareness_message, write_var_uint
from relay_client import RawPeer
from relay_process import RelayProcess

pytestmark = pytest.mark.anyio

PROMPTLY = 5.0  # seconds: "at once" with a wide margin; the library's way is ~15-30 s or never


def person(name: str) -> dict[str, Any]:
    return {"user": {"id": name, "name": name.title(), "color": "#336699"}, "kind": "human", "status": "idle"}


async def announce(peer: RawPeer, name: str, clock: int = 1) -> int:
    """Send `peer`'s presence and wait until the relay has echoed it back (it has it)."""
    client_id = peer.doc.client_id
    peer.send_awareness(client_id, clock, person(name))
    await peer.wait_until(lambda: peer.present().get(client_id) == person(name), f"{name}'s own presence echoed")
    return client_id


async def test_a_newcomer_sees_everyone_present_with_its_first_sync(relay: RelayProcess) -> None:
    link = relay.link("trip-hello")
    async with RawPeer.connect(link) as alice, RawPeer.connect(link) as bob:
        await alice.synced()
        await bob.synced()
        alice_id = await announce(alice, "alice")
        bob_id = await announce(bob, "bob")
        async with RawPeer.connect(link) as carol:
            await carol.synced()
            assert carol.present() == {alice_id: person("alice"), bob_id: person("bob")}


async def test_a_peer_that_leaves_is_removed_for_everyone_at_once(relay: RelayProcess) -> None:
    link = relay.link("trip-bye")
    async with RawPeer.connect(link) as watcher:
        await watcher.synced()
        async with RawPeer.connect(link) as leaver:
            await leaver.synced()
            leaver_id = await announce(leaver, "leaver")
            await watcher.wait_until(lambda: leaver_id in watcher.present(), "the leaver's presence")
        # The leaver closed its socket without removing its own state, as a window that
        # is closed abruptly does.
        await watcher.wait_until(lambda: leaver_id not in watcher.present(), "the leaver's removal", PROMPTLY)


async def test_a_peer_whose_process_died_is_removed_at_once(relay: RelayProcess) -> None:
    link = relay.link("trip-crash")
    async with RawPeer.connect(link) as watcher:
        await watcher.synced()
        async with RawPeer.connect(link) as doomed:
            await doomed.synced()
            doomed_id = await announce(doomed, "doomed")
            await watcher.wait_until(lambda: doomed_id in watcher.present(), "the doomed peer's presence")
            doomed.websocket.transport.abort()  # what the kernel does for a killed process
            await watcher.wait_until(lambda: doomed_id not in watcher.present(), "the dead peer's removal", PROMPTLY)


async def test_a_silent_peer_disappears_after_the_awareness_timeout(relay_factory) -> None:
    relay = relay_factory(awareness_timeout=2)
    link = relay.link("trip-silent")
    async with RawPeer.connect(link) as watcher, RawPeer.connect(link) as frozen:
        await watcher.synced()
        await frozen.synced()
        frozen_id = await announce(frozen, "frozen")  # and never renewed: a hung process
        await watcher.wait_until(lambda: frozen_id in watcher.present(), "the frozen peer's presence")
        await watcher.wait_until(lambda: frozen_id not in watcher.present(), "the timeout's removal", 2 + PROMPTLY)
        assert not frozen.websocket.close_code, "only its presence goes, not its connection"


async def test_nobody_can_speak_for_somebody_else(relay: RelayProcess) -> None:
    link = relay.link("trip-forgery")
    async with RawPeer.connect(link) as alice, RawPeer.connect(link) as watcher, RawPeer.connect(link) as mallory:
        for peer in (alice, watcher, mallory):
            await peer.synced()
        alice_id = await announce(alice, "alice")
        await watcher.wait_until(lambda: alice_id in watcher.present(), "alice's presence")
        mallory.send_awareness(alice_id, 50, None)  # a removal of alice, before binding
        mallory.send_awareness(alice_id, 51, person("mallory"))  # claiming alice's id
        mallory_id = await announce(mallory, "mallory")
        mallory.send_awareness(alice_id, 52, person("mallory"))  # alice's id, once bound
        mallory.send_awareness(alice_id, 53, None)  # a removal of alice, once bound
        mallory.send_awareness(mallory_id, 2, {**person("mallory"), "status": "done"})
        await watcher.wait_until(lambda: watcher.present().get(mallory_id, {}).get("status") == "done", "marker")
        assert watcher.present()[alice_id] == person("alice")
        assert alice.present()[alice_id] == person("alice")
    # The relay logged these before relaying the marker; its log may reach us after it.
    await relay.await_log(f"dropped a removal of client {alice_id} from peer")
    await relay.await_log(f"for client {alice_id}, which another peer speaks for")
    await relay.await_log(f"dropped presence for client {alice_id} from peer")


@pytest.mark.parametrize(
    "malformed",
    [
        create_awareness_message(write_var_uint(1) + write_var_uint(7) + write_var_uint(1) + b"\x05{oops"),
        create_awareness_message(write_var_uint(1) + write_var_uint(7) + write_var_uint(1) + b"\x03[1]"),
        create_awareness_message(write_var_uint(2) + write_var_uint(7)),
        create_awareness_message(write_var_uint(1) + write_var_uint(7) + write_var_uint(1) + b"\x02\xff\xfe"),
    ],
    ids=["bad-json", "not-an-object", "truncated", "not-utf8"],
)
async def test_malformed_presence_is_dropped_never_forwarded(relay: RelayProcess, malformed: bytes) -> None:
    link = relay.link("trip-malformed")
    async with RawPeer.connect(link) as watcher, RawPeer.connect(link) as sender:
        await watcher.synced()
        await sender.synced()
        await sender.send(malformed)
        sender_id = await announce(sender, "sender")
        await watcher.wait_until(lambda: sender_id in watcher.present(), "the sender's valid presence after it")
        assert malformed not in watcher.received
        assert watcher.unreadable == []
    relay.wait_for_log("dropped malformed presence from peer")


async def test_y_websocket_query_awareness_gets_everyone_present(relay: RelayProcess) -> None:
    link = relay.link("trip-query")
    async with RawPeer.connect(link) as alice, RawPeer.connect(link) as asker:
        await alice.synced()
        await asker.synced()
        alice_id = await announce(alice, "alice")
        await asker.wait_until(lambda: alice_id in asker.present(), "alice's presence")

        def answers() -> int:
            """Presence messages carrying alice's state (the relay's own renewals do not)."""
            return sum(message[0] == 1 and b'"Alice"' in message for message in asker.received)

        before = answers()
        await asker.send(write_var_uint(3))
        await asker.wait_until(lambda: answers() > before, "the answer to query-awareness", PROMPTLY)

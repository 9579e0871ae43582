"""Presence across the relays of a cluster (issue 9): everyone present on any relay is seen
from every relay, at once, and the single relay's hardening holds across relays."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from cluster_process import cluster_factory  # noqa: F401
from pycrdt import Doc
from redis_process import RedisProcess, redis_factory, redis_server  # noqa: F401
from relay_client import RawPeer
from relay_process import RelayProcess

from wayfarer.sync.cluster.liveness import GONE_AFTER_SECONDS
from wayfarer.sync.cluster.presence_bus import PresenceBus
from wayfarer.sync.cluster.redis_log import connect

pytestmark = pytest.mark.anyio

PROMPTLY = 5.0  # seconds: "at once" with a wide margin; waiting for the awareness timeout is 30 s
Cluster = Callable[..., list[RelayProcess]]


def person(name: str, status: str = "idle") -> dict[str, Any]:
    return {"user": {"id": name, "name": name.title(), "color": "#336699"}, "kind": "human", "status": status}


async def announce(peer: RawPeer, name: str, clock: int = 1, status: str = "idle") -> int:
    """Send `peer`'s presence and wait until its relay has echoed it back (it has it)."""
    client_id = peer.doc.client_id
    peer.send_awareness(client_id, clock, person(name, status))
    await peer.wait_until(lambda: peer.present().get(client_id) == person(name, status), f"{name}'s own echo")
    return client_id


def same_client(doc: Doc) -> Doc:
    """A document with `doc`'s client id, as the same window has after reconnecting."""
    return Doc(client_id=doc.client_id)


async def test_a_newcomer_on_any_relay_sees_everyone_on_every_relay_with_its_first_sync(
    cluster_factory: Cluster,  # noqa: F811
) -> None:
    a, b = cluster_factory(2)
    async with RawPeer.connect(a.link("trip-hello")) as alice:
        await alice.synced()
        alice_id = await announce(alice, "alice")
        # Relay B has no peer of this trip yet: it loads the room, and the states kept in Redis.
        async with RawPeer.connect(b.link("trip-hello")) as bob:
            await bob.synced()
            assert bob.present() == {alice_id: person("alice")}
            bob_id = await announce(bob, "bob")
            await alice.wait_until(lambda: bob_id in alice.present(), "bob's presence at alice", PROMPTLY)
            for relay in (a, b):
                async with RawPeer.connect(relay.link("trip-hello")) as carol:
                    await carol.synced()
                    assert carol.present() == {alice_id: person("alice"), bob_id: person("bob")}


async def test_a_change_of_state_on_one_relay_reaches_the_others_at_once(cluster_factory: Cluster) -> None:  # noqa: F811
    a, b, c = cluster_factory(3)
    async with (
        RawPeer.connect(a.link("trip-status")) as agent,
        RawPeer.connect(b.link("trip-status")) as bob,
        RawPeer.connect(c.link("trip-status")) as carol,
    ):
        for peer in (agent, bob, carol):
            await peer.synced()
        agent_id = await announce(agent, "agent")
        await announce(agent, "agent", clock=2, status="streaming")
        for watcher in (bob, carol):
            await watcher.wait_until(
                lambda w=watcher: w.present().get(agent_id) == person("agent", "streaming"),  # type: ignore[misc]
                "the agent's new status on another relay",
                PROMPTLY,
            )


@pytest.mark.parametrize("how", ["closes", "is cut off"], ids=["closed", "cut-off"])
async def test_a_peer_that_leaves_one_relay_is_removed_on_the_others_at_once(
    cluster_factory: Cluster,  # noqa: F811
    how: str,
) -> None:
    a, b = cluster_factory(2)
    async with RawPeer.connect(b.link("trip-bye")) as watcher:
        await watcher.synced()
        async with RawPeer.connect(a.link("trip-bye")) as leaver:
            await leaver.synced()
            leaver_id = await announce(leaver, "leaver")
            await watcher.wait_until(lambda: leaver_id in watcher.present(), "the leaver's presence", PROMPTLY)
            if how == "is cut off":
                leaver.websocket.transport.abort()  # what the kernel does for a killed process
        # No removal of its own was sent: relay A, which lost the peer, tells relay B.
        await watcher.wait_until(lambda: leaver_id not in watcher.present(), "the leaver's removal", PROMPTLY)
    a.wait_for_log(r"peer #\d+ \(editor\) of trip trip-bye left")


async def test_a_relay_that_stops_removes_its_peers_for_the_others_at_once(cluster_factory: Cluster) -> None:  # noqa: F811
    a, b = cluster_factory(2)
    async with RawPeer.connect(a.link("trip-stop")) as leaving, RawPeer.connect(b.link("trip-stop")) as watcher:
        await leaving.synced()
        await watcher.synced()
        leaving_id = await announce(leaving, "leaving")
        await watcher.wait_until(lambda: leaving_id in watcher.present(), "the presence", PROMPTLY)
        assert a.terminate() == 0
        await watcher.wait_until(lambda: leaving_id not in watcher.present(), "its removal", PROMPTLY)


async def test_the_peers_of_a_killed_relay_expire_on_the_others_with_the_awareness_timeout(
    cluster_factory: Cluster,  # noqa: F811
) -> None:
    timeout = 4.0
    a, b = cluster_factory(2, awareness_timeout=timeout)
    async with RawPeer.connect(a.link("trip-killed")) as doomed, RawPeer.connect(b.link("trip-killed")) as watcher:
        await doomed.synced()
        await watcher.synced()
        doomed_id = await announce(doomed, "doomed")
        await watcher.wait_until(lambda: doomed_id in watcher.present(), "the doomed peer's presence", PROMPTLY)
        a.kill()  # nobody is left to say that its peers are gone
        killed_at = time.monotonic()
        await watcher.wait_until(lambda: doomed_id not in watcher.present(), "the expiry", timeout + PROMPTLY)
        assert time.monotonic() - killed_at > timeout / 2, "removed before the awareness timeout"
        assert watcher.close_code is None


async def test_a_peer_of_a_killed_relay_is_seen_again_once_it_reconnects_to_another(
    cluster_factory: Cluster,  # noqa: F811
) -> None:
    a, b = cluster_factory(2)  # the awareness timeout is 30 s: far beyond what this waits
    doc = Doc()
    async with RawPeer.connect(b.link("trip-move")) as watcher:
        await watcher.synced()
        async with RawPeer.connect(a.link("trip-move"), doc=doc) as mover:
            await mover.synced()
            mover_id = await announce(mover, "mover", status="streaming")
            await watcher.wait_until(lambda: mover_id in watcher.present(), "the mover's presence", PROMPTLY)
            a.kill()
            assert await mover.closed() is not None
        async with RawPeer.connect(b.link("trip-move"), doc=same_client(doc)) as mover:
            await mover.synced()
            assert mover.present()[mover_id] == person("mover", "streaming"), "its last state, from relay A"
            # The same client id that relay A spoke for: relay B holds it back until A is gone.
            mover.send_awareness(mover_id, 2, person("mover", "idle"))
            await watcher.wait_until(
                lambda: watcher.present().get(mover_id) == person("mover", "idle"),
                "the mover's new state through relay B",
                GONE_AFTER_SECONDS + PROMPTLY,
            )
            await mover.wait_until(lambda: mover.present().get(mover_id) == person("mover", "idle"), "its echo")
    b.wait_for_log(rf"now speaks for client {mover_id}")


async def test_nobody_on_one_relay_can_speak_for_a_peer_of_another(cluster_factory: Cluster) -> None:  # noqa: F811
    a, b = cluster_factory(2)
    async with (
        RawPeer.connect(a.link("trip-forgery")) as alice,
        RawPeer.connect(a.link("trip-forgery")) as watcher_a,
        RawPeer.connect(b.link("trip-forgery")) as watcher_b,
        RawPeer.connect(b.link("trip-forgery")) as mallory,
    ):
        for peer in (alice, watcher_a, watcher_b, mallory):
            await peer.synced()
        alice_id = await announce(alice, "alice")
        for watcher in (watcher_a, watcher_b, mallory):
            await watcher.wait_until(lambda w=watcher: alice_id in w.present(), "alice's presence", PROMPTLY)  # type: ignore[misc]
        mallory.send_awareness(alice_id, 50, None)  # a removal of alice, before binding
        mallory.send_awareness(alice_id, 51, person("mallory"))  # claiming alice's id
        mallory_id = await announce(mallory, "mallory")
        mallory.send_awareness(alice_id, 52, person("mallory"))  # alice's id, once bound
        mallory.send_awareness(alice_id, 53, None)  # a removal of alice, once bound
        mallory.send_awareness(mallory_id, 2, {**person("mallory"), "status": "done"})
        for watcher in (watcher_a, watcher_b):
            await watcher.wait_until(
                lambda w=watcher: w.present().get(mallory_id, {}).get("status") == "done",  # type: ignore[misc]
                "mallory's last state, sent after the forgeries",
                PROMPTLY,
            )
            assert watcher.present()[alice_id] == person("alice")
        assert alice.present()[alice_id] == person("alice")
        # Held claims are never admitted while the relay that speaks for alice lives.
        await anyio.sleep(GONE_AFTER_SECONDS + 1)
        assert watcher_b.present()[alice_id] == person("alice")
    logs = b.logs()
    assert f"holding presence of client {alice_id} from peer" in logs
    assert f"dropped a removal of client {alice_id} from peer" in logs
    assert f"dropped presence for client {alice_id} from peer" in logs
    assert f"now speaks for client {alice_id}" not in logs


async def test_a_relay_hears_the_others_presence_but_not_its_own(redis_server: RedisProcess) -> None:  # noqa: F811
    client = connect(redis_server.url)
    heard: dict[str, list[tuple[str, bytes]]] = {"a": [], "b": []}

    class Listener:
        def __init__(self, name: str) -> None:
            self.name = name

        def receive(self, relay: str, update: bytes) -> None:
            heard[self.name].append((relay, update))

        def relays_gone(self) -> None:
            pass

    bus_a, bus_b = PresenceBus(client, 30), PresenceBus(client, 30)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(bus_a.run)
            tg.start_soon(bus_b.run)
            await bus_a.subscribe("trip-bus", Listener("a"))
            await bus_b.subscribe("trip-bus", Listener("b"))
            bus_a.publish("trip-bus", 7, b"state of client 7", present=True)
            await bus_a.flush()
            with anyio.fail_after(PROMPTLY):
                while not heard["b"]:
                    await anyio.sleep(0.01)
            await anyio.sleep(0.2)
            assert heard == {"a": [], "b": [(bus_a.relay, b"state of client 7")]}
            [kept] = await bus_b.read_states("trip-bus")
            assert (kept.relay, kept.update) == (bus_a.relay, b"state of client 7")
            bus_a.publish("trip-bus", 7, b"removal of client 7", present=False)
            await bus_a.flush()
            assert await bus_b.read_states("trip-bus") == []
            tg.cancel_scope.cancel()
    finally:
        await client.aclose()


async def test_a_relay_that_loads_a_trip_while_redis_is_down_hears_its_presence_once_redis_is_back(
    redis_server: RedisProcess,  # noqa: F811
) -> None:
    """The listener and the subscriber both reconnect the one pub/sub connection when Redis
    returns: at once, they read each other's handshake and the relay fell over."""
    client, other_client = connect(redis_server.url), connect(redis_server.url)
    heard: list[bytes] = []

    class Listener:
        def receive(self, relay: str, update: bytes) -> None:
            heard.append(update)

        def relays_gone(self) -> None:
            pass

    bus, other = PresenceBus(client, 30), PresenceBus(other_client, 30)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(bus.run)
            tg.start_soon(other.run)
            for round_ in range(3):
                trip = f"trip-outage-{round_}"
                await anyio.to_thread.run_sync(redis_server.stop)
                await bus.subscribe(trip, Listener())  # unconfirmed: a load goes on without it
                await anyio.to_thread.run_sync(redis_server.start)
                with anyio.fail_after(PROMPTLY + 5):
                    while len(heard) <= round_:
                        other.publish(trip, 7, b"state %d" % round_, present=True)
                        await other.flush()
                        await anyio.sleep(0.1)
            tg.cancel_scope.cancel()
    finally:
        await client.aclose()
        await other_client.aclose()

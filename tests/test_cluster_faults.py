"""Faults in a relay cluster (issue 9): relays killed mid-stream, Redis restarted, poison in
a trip's stream, a broken room. Peers end with exactly what was written, once; one trip's
trouble never stalls another.

Rounds are bounded by default; `--fault-rounds N` (or WAYFARER_FAULT_ROUNDS) runs more.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import anyio
import pytest
from _sync_peers import FAST_RETRY, eventually
from agent_process import child_env
from anthropic_server import AnthropicTestServer, text_turn
from cluster_balancer import Balancer
from cluster_process import cluster_factory  # noqa: F401
from pycrdt import Doc, Text
from redis.asyncio import Redis
from redis_process import RedisProcess, redis_factory, redis_server  # noqa: F401
from relay_client import RawPeer
from relay_process import RelayProcess

from wayfarer.sync.acks import decode_state_vector, lacks
from wayfarer.sync.cluster.poison import PoisonEntry, Quarantine, quarantine_key
from wayfarer.sync.cluster.reader import StreamReader
from wayfarer.sync.cluster.redis_log import (
    UPDATE_FIELD,
    StreamEntry,
    TripStreams,
    connect,
    stream_key,
)
from wayfarer.sync.connection import RelayConnection
from wayfarer.sync.remote import create_remote_trip
from wayfarer.trip import Person, Trip

pytestmark = pytest.mark.anyio

ANA = Person("p-ana", "Ana")
Cluster = Callable[..., list[RelayProcess]]


def reply_text(trip: Trip, run_id: str) -> str:
    reply = next((m for m in trip.snapshot().chat if m.run_id == run_id), None)
    return reply.text if reply else ""


def clocks(doc: Doc) -> dict[int, int]:
    """A document's state vector, client by client (its encoding's order varies)."""
    return decode_state_vector(doc.get_state())


async def grows(trip: Trip, run_id: str, beyond: int, what: str) -> None:
    await eventually(lambda: len(reply_text(trip, run_id)) > beyond, what, 60)


def update_of(text: str) -> bytes:
    """A Yjs update that sets the notes to `text` (a document of its own)."""
    doc = Doc()
    doc.get("notes", type=Text).insert(0, text)
    return doc.get_update()


@pytest.fixture
def agent_process() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """`wayfarer agent` processes against any relay URL (a balancer's); killed at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(relay_url: str, key: str, trip_id: str, *args: str, **env: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "wayfarer", "agent", "--relay", relay_url, f"--key={key}"]
        command += ["--trip", trip_id, "--heartbeat", "0.3", "--no-advice", *args]
        process = subprocess.Popen(command, env=child_env(**env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started.append(process)
        line = process.stdout.readline() if process.stdout else ""
        assert "Wayfarer agent serving" in line, line
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        output, _ = process.communicate(timeout=10)
        print(f"--- output of the agent ---\n{output}")


async def test_relays_killed_under_a_streaming_agent_every_peer_ends_with_exactly_its_text(
    cluster_factory: Cluster,  # noqa: F811
    agent_process: Callable[..., subprocess.Popen[str]],
    anthropic_server: AnthropicTestServer,
    fault_rounds: int,
) -> None:
    a, b, c = cluster_factory(3)
    words = [f"w{i} " for i in range(100 + 200 * fault_rounds)]
    anthropic_server.script(text_turn("".join(words), chunks=len(words), delay=0.02))
    # The agent and Ana reach relays A and B through one balancer, as behind a load
    # balancer in production; Ben watches from relay C, which stays up.
    async with Balancer([a.port, b.port]) as balancer:
        relay_url = f"ws://127.0.0.1:{balancer.port}"
        created = await create_remote_trip(relay_url, a.key, "Kill the relays")
        agent_process(relay_url, a.key, created["id"], "--model", "anthropic", "--frame-ms", "20",
                      ANTHROPIC_API_KEY="test-key", ANTHROPIC_BASE_URL=anthropic_server.base_url)  # fmt: skip
        ana, ben = Trip(Doc()), Trip(Doc())
        async with (
            RelayConnection(ana.doc, created["link"], backoff=FAST_RETRY) as ana_link,
            RelayConnection(ben.doc, c.link(created["id"]), backoff=FAST_RETRY) as ben_link,
        ):
            await ana_link.wait_synced(30)
            await ben_link.wait_synced(30)
            _, run_id = ana.post_user_message("Stream a long answer", ANA)
            await ana_link.flush(30)
            for round_ in range(fault_rounds):
                serving = (a, b)[round_ % 2]  # everyone behind the balancer is on this one now
                seen = len(reply_text(ben, run_id))
                await grows(ben, run_id, seen + 20, f"the reply grows before kill {round_ + 1}")
                serving.kill()
                await grows(ben, run_id, seen + 60, f"the reply grows after kill {round_ + 1}")
                await anyio.to_thread.run_sync(serving.restart)
            for trip in (ana, ben):
                await eventually(lambda t=trip: t.run(run_id) is not None and t.run(run_id).status == "completed", "run completed", 90)  # type: ignore[misc]
            expected = "".join(words)
            await eventually(lambda: reply_text(ana, run_id) == reply_text(ben, run_id) == expected, "both peers have the whole text")
        assert len(anthropic_server.requests) == 1, "the model never re-ran"
        assert balancer.connections[b.port] >= 2, "the agent and Ana were moved to relay B"


async def test_peers_on_two_relays_streaming_at_once_converge(cluster_factory: Cluster) -> None:  # noqa: F811
    a, b = cluster_factory(2)
    created = await create_remote_trip(a.url, a.key, "Two writers")
    writers = [Trip(Doc()), Trip(Doc())]
    readers = [Trip(Doc()), Trip(Doc())]
    links = [created["link"], created["link"].replace(a.url, b.url)]
    async with (
        RelayConnection(writers[0].doc, links[0], backoff=FAST_RETRY) as on_a,
        RelayConnection(writers[1].doc, links[1], backoff=FAST_RETRY) as on_b,
        RelayConnection(readers[0].doc, links[1], backoff=FAST_RETRY) as reader_b,
        RelayConnection(readers[1].doc, links[0], backoff=FAST_RETRY) as reader_a,
    ):
        for connection in (on_a, on_b, reader_a, reader_b):
            await connection.wait_synced(30)
        messages = []
        for writer, connection in zip(writers, (on_a, on_b), strict=True):
            _, run_id = writer.post_user_message("go", ANA)
            writer.claim_run(run_id, Person("agent-x", "Agent"), model="offline")
            messages.append((run_id, writer.start_assistant_message(run_id, Person("agent-x", "Agent"))))
            await connection.flush(30)

        async def stream(writer: Trip, message_id: str, tag: str) -> None:
            for n in range(150):
                writer.stream(message_id, text=f"{tag}{n} ")
                await anyio.sleep(0.003)

        async with anyio.create_task_group() as tg:
            for writer, (_, message_id), tag in zip(writers, messages, "ab", strict=True):
                tg.start_soon(stream, writer, message_id, tag)
        await on_a.flush(30)
        await on_b.flush(30)
        expected = {run_id: "".join(f"{tag}{n} " for n in range(150)) for (run_id, _), tag in zip(messages, "ab", strict=True)}
        for trip in [*writers, *readers]:
            await eventually(lambda t=trip: {r: reply_text(t, r) for r in expected} == expected, "every peer has both replies")  # type: ignore[misc]
        assert all(clocks(trip.doc) == clocks(writers[0].doc) for trip in [*writers, *readers])


async def test_a_redis_restart_while_an_agent_streams_loses_nothing_acknowledged(
    cluster_factory: Cluster,  # noqa: F811
    redis_server: RedisProcess,  # noqa: F811
) -> None:
    a, b, c = cluster_factory(3)  # C loads the trip only after the restart
    created = await create_remote_trip(a.url, a.key, "Restart Redis")
    writer, reader = Trip(Doc()), Trip(Doc())
    agent = Person("agent-x", "Agent")
    async with (
        RelayConnection(writer.doc, created["link"], backoff=FAST_RETRY) as writer_link,
        RelayConnection(reader.doc, created["link"].replace(a.url, b.url), backoff=FAST_RETRY) as reader_link,
    ):
        await writer_link.wait_synced(30)
        await reader_link.wait_synced(30)
        _, run_id = writer.post_user_message("Stream through a Redis restart", ANA)
        writer.claim_run(run_id, agent, model="offline")
        message_id = writer.start_assistant_message(run_id, agent)
        await writer_link.flush(30)
        words = [f"t{n} " for n in range(600)]

        async def stream() -> None:
            for word in words:
                writer.stream(message_id, text=word)
                await anyio.sleep(0.01)

        async with anyio.create_task_group() as tg:
            tg.start_soon(stream)
            await eventually(lambda: len(reply_text(reader, run_id)) > 100, "the reply reaches the reader")
            acknowledged = writer.doc.get_state()  # at least this much is acknowledged after the flush
            await writer_link.flush(30)
            await anyio.to_thread.run_sync(redis_server.stop)
            await anyio.sleep(1.0)  # longer than redis-py's retries of a command
            await anyio.to_thread.run_sync(redis_server.start)
            assert len(reply_text(writer, run_id)) < len("".join(words)), "the restart came mid-stream"
            async with RawPeer.connect(c.link(created["id"])) as fresh:  # store and stream, as Redis kept them
                await fresh.synced()
                assert not lacks(decode_state_vector(fresh.doc.get_state()), decode_state_vector(acknowledged))
        await writer_link.flush(60)
        expected = "".join(words)
        await eventually(lambda: reply_text(reader, run_id) == expected, "the reader has the whole reply", 60)
        assert reply_text(writer, run_id) == expected
    async with RawPeer.connect(c.link(created["id"])) as late:  # relay C, which read along
        await late.synced()
        await late.wait_until(lambda: clocks(late.doc) == clocks(writer.doc), "relay C to have everything too")
    for relay in (a, b, c):
        assert relay.running, "a relay survives its Redis restarting"
    a.wait_for_log(r"could not append an update of trip \S+ to Redis")


async def test_poison_in_one_trips_stream_is_skipped_and_kept_aside_while_both_trips_stream_on(
    cluster_factory: Cluster,  # noqa: F811
    redis_server: RedisProcess,  # noqa: F811
) -> None:
    a, b, c = cluster_factory(3)  # A and B serve both trips; C loads the poisoned one later
    async with (
        RawPeer.connect(b.link("trip-poisoned")) as victim_writer,
        RawPeer.connect(a.link("trip-poisoned")) as victim_reader,
        RawPeer.connect(b.link("trip-healthy")) as writer,
        RawPeer.connect(a.link("trip-healthy")) as reader,
    ):
        for peer in (victim_writer, victim_reader, writer, reader):
            await peer.synced()
        victim_writer.text().insert(0, "before;")
        await victim_writer.ack()
        poison = [{UPDATE_FIELD: b"not a Yjs update"}, {b"unexpected": b"field"}]
        async with Redis.from_url(redis_server.url) as client:
            poison_ids = [await client.xadd(stream_key("trip-poisoned"), fields) for fields in poison]
        expected, victim_expected = "", "before;"
        for n in range(50):
            writer.text().insert(len(writer.text()), f"{n};")
            expected += f"{n};"
            if n % 5 == 0:
                victim_writer.text().insert(len(victim_writer.text()), f"v{n};")
                victim_expected += f"v{n};"
            await anyio.sleep(0.002)
        await reader.wait_until(lambda: str(reader.text()) == expected, "the healthy trip to keep streaming")
        await victim_reader.wait_until(lambda: str(victim_reader.text()) == victim_expected, "the poisoned trip to go on")
        assert await victim_writer.ack(), "an ACK after the poison is answered"
        assert victim_writer.close_code is None and victim_reader.close_code is None
        async with RawPeer.connect(c.link("trip-poisoned")) as newcomer:  # a load that reads the poison
            await newcomer.synced()
            assert str(newcomer.text()) == victim_expected
    for relay in (a, b, c):
        relay.wait_for_log(r"trip trip-poisoned: stream entry \S+ is not a Yjs update .*skipped by every relay")
    async with Redis.from_url(redis_server.url) as client:
        kept = await client.hgetall(quarantine_key("trip-poisoned"))
    assert kept == {poison_ids[0]: b"not a Yjs update", poison_ids[1]: b""}


async def test_a_broken_room_is_dropped_and_the_reader_goes_on_for_every_other_room(
    redis_server: RedisProcess,  # noqa: F811
) -> None:
    client = connect(redis_server.url)
    streams, healthy = TripStreams(client), Doc()
    applied: list[StreamEntry] = []
    broken: list[Exception] = []

    def apply_healthy(entry: StreamEntry) -> None:
        try:
            healthy.apply_update(entry.update)
        except ValueError as exc:
            raise PoisonEntry("trip-fine", entry, str(exc)) from None
        applied.append(entry)

    def apply_broken(entry: StreamEntry) -> None:
        raise RuntimeError("this room's document is in a bad state")

    reader = StreamReader(client, Quarantine(client))
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader.read_forever)
            reader.subscribe("trip-broken", (0, 0), apply_broken, broken.append)
            reader.subscribe("trip-fine", (0, 0), apply_healthy, lambda exc: pytest.fail(f"the healthy room broke: {exc}"))
            for n in range(20):
                await streams.append("trip-broken", [update_of(f"broken {n}")])
                await streams.append("trip-fine", [update_of(f"fine {n}") if n != 10 else b"poison"])
            await eventually(lambda: len(applied) == 19, "every valid entry of the healthy room applied")
            assert len(broken) == 1, "the broken room is reported once, then dropped"
            tg.cancel_scope.cancel()
    finally:
        await client.aclose()

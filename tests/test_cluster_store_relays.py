"""Relays of a cluster load trips from the stream and the durable store: two relays on one
Redis and PostgreSQL converge while compaction runs, a relay on an empty Redis serves a trip
from the store alone, and a trim a room did not see coming (between its load's stream read
and store read, or while its relay was frozen) is caught up in place, with nothing lost or
doubled."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import pytest
from cluster_store_helpers import RedisProbe, closing_relays, eventually, start_relays, stored_text, write_tokens
from postgres_process import PostgresProcess, postgres_server  # noqa: F401
from pycrdt import Doc, Text
from redis_process import RedisProcess, redis_factory, redis_server  # noqa: F401
from relay_client import RawPeer
from relay_process import SRC
from worker_process import WorkerProcess, worker_factory  # noqa: F401

from wayfarer.sync.cluster import ClusterRelay
from wayfarer.sync.cluster.compaction import Compactor
from wayfarer.sync.cluster.options import ClusterOptions
from wayfarer.sync.cluster.redis_log import StreamId, TripStreams, connect
from wayfarer.sync.cluster.store import StoredTrip, TripStore, open_trip_store
from wayfarer.sync.relay import RelayConfig
from wayfarer.sync.tokens import make_token

pytestmark = pytest.mark.anyio

Workers = Callable[..., WorkerProcess]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A durable store every relay and worker of the test shares."""
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'trips'}"
    return str(request.getfixturevalue("postgres_server").url)


async def test_peers_on_two_relays_on_redis_and_postgresql_converge_while_their_trip_is_compacted(
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
    postgres_server: PostgresProcess,  # noqa: F811
) -> None:
    store = postgres_server.url
    probe = RedisProbe(redis_server.url)
    settings = ("--compact-after", "20", "--trim-grace", "0.2")  # each relay runs one compaction worker
    with closing_relays(start_relays(tmp_path, redis_server.url, store, *settings)) as [a, b]:
        async with RawPeer.connect(a.link("trip-two")) as alice, RawPeer.connect(b.link("trip-two")) as bob:
            await alice.synced()
            await bob.synced()
            async with anyio.create_task_group() as tg:
                tg.start_soon(write_tokens, alice, [f"a{n};" for n in range(150)], 0.004)
                tg.start_soon(write_tokens, bob, [f"b{n};" for n in range(150)], 0.004)
            await alice.ack()
            await bob.ack()
            parts = {f"a{n};" for n in range(150)} | {f"b{n};" for n in range(150)}
            await alice.wait_until(lambda: all(part in str(alice.text()) for part in parts), "bob's edits at alice")
            await bob.wait_until(lambda: str(bob.text()) == str(alice.text()), "bob to match alice")
            assert len(str(alice.text())) == sum(map(len, parts)), "no edit may arrive twice"
            expected = str(alice.text())
        stored, _ = await stored_text(store, "trip-two")
        assert stored and all(part in expected for part in stored.split(";") if part), "the store holds the trip"
        assert await probe.updates_in_stream("trip-two") < 300, "compaction trimmed the stream"
        async with RawPeer.connect(a.link("trip-two")) as late:
            await late.synced()
            assert str(late.text()) == expected
    await probe.aclose()


async def test_a_relay_on_an_empty_redis_serves_the_whole_trip_from_the_store(
    store: str,
    tmp_path: Path,
    redis_factory: Callable[..., RedisProcess],  # noqa: F811
    worker_factory: Workers,  # noqa: F811
) -> None:
    first_redis = redis_factory()
    tokens = [f"{n};" for n in range(60)]
    probe = RedisProbe(first_redis.url)
    before = start_relays(tmp_path / "before", first_redis.url, store, "--compaction-workers", "0", names=("a",))
    with closing_relays(before) as [relay]:
        async with RawPeer.connect(relay.link("trip-restart")) as writer:
            await writer.synced()
            await write_tokens(writer, tokens)
            await writer.ack()
        worker = worker_factory(first_redis.url, store, "--trim-grace", "0")
        await probe.request_compaction("trip-restart")
        worker.wait_for_log("compacted trip trip-restart")
        assert await probe.updates_in_stream("trip-restart") == 0
        key = relay.key
    await probe.aclose()
    first_redis.stop()

    empty_redis = redis_factory()
    with closing_relays(start_relays(tmp_path / "after", empty_redis.url, store, names=("a",), key=key)) as [relay]:
        async with RawPeer.connect(relay.link("trip-restart")) as reader:
            await reader.synced()
            assert str(reader.text()) == "".join(tokens)
            reader.text().insert(len(reader.text()), "more;")
            await reader.ack()
        async with RawPeer.connect(relay.link("trip-restart")) as again:
            await again.synced()
            assert str(again.text()) == "".join(tokens) + "more;"


class TrimBeforeStoreRead:
    """The durable store, except that its first `load` of `trip_id` first does what another
    relay and a worker could do between a room's stream read and its store read: peers of
    another relay append `late` updates to the stream, then a worker compacts and trims it."""

    def __init__(self, inner: TripStore, redis_url: str, trip_id: str, late: Sequence[bytes]) -> None:
        self.inner = inner
        self._redis_url = redis_url
        self._trip_id = trip_id
        self._late = list(late)
        self.fired = False

    @property
    def identity(self) -> str:
        return self.inner.identity

    @property
    def description(self) -> str:
        return self.inner.description

    async def load(self, trip_id: str) -> StoredTrip:
        if trip_id == self._trip_id and not self.fired:
            self.fired = True
            client = connect(self._redis_url)
            try:
                await TripStreams(client).append(trip_id, self._late)
                await anyio.sleep(0.01)  # the trim takes only entries older than "now"
                await Compactor(client, self.inner, grace_seconds=0).compact(trip_id)
            finally:
                await client.aclose()
        return await self.inner.load(trip_id)

    async def compact(self, trip_id: str, updates: Sequence[bytes], stream_upto: StreamId) -> StreamId:
        return await self.inner.compact(trip_id, updates, stream_upto)


async def test_a_trim_between_a_loads_stream_read_and_store_read_loses_and_doubles_nothing(
    store: str,
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = secrets.token_hex(32)
    relays = start_relays(tmp_path, redis_server.url, store, "--compaction-workers", "0", names=("other",), key=key)
    with closing_relays(relays) as [other]:
        writer_doc = Doc()
        async with RawPeer.connect(other.link("trip-race"), doc=writer_doc) as writer:
            await writer.synced()
            await write_tokens(writer, [f"{n};" for n in range(30)])
            await writer.ack()
        late_doc, late = Doc(), []
        late_doc.apply_update(writer_doc.get_update())
        late_doc.observe(lambda event: late.append(event.update))
        late_text = late_doc.get("notes", type=Text)
        for n in range(30, 40):
            late_text.insert(len(late_text), f"{n};")
        expected = str(late_text)

        caplog.set_level(logging.INFO, logger="wayfarer")
        config = RelayConfig(data_dir=tmp_path / "in-process", key=key)
        async with open_trip_store(store) as opened:
            racing = TrimBeforeStoreRead(opened, redis_server.url, "trip-race", late)
            options = ClusterOptions(compaction_workers=0)
            async with ClusterRelay(config, redis_server.url, options, store=racing) as relay:
                link = f"{relay.url}/trip-race?token={make_token(key, 'trip-race', 'editor')}"
                async with RawPeer.connect(link) as peer:
                    await peer.synced()
                    assert racing.fired
                    assert str(peer.text()) == expected, "everything, once: stream and store overlap, never gap"
                    await peer.wait_until(lambda: "caught up" in caplog.text, "the room to notice the trim")
                    async with RawPeer.connect(other.link("trip-race")) as more:
                        await more.synced()
                        more.text().insert(len(more.text()), "after;")
                        await more.ack()
                    await peer.wait_until(lambda: str(peer.text()) == expected + "after;", "edits after the catch-up")
        assert [r.message for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_relay_frozen_past_the_trim_grace_period_catches_its_peers_up(
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
    worker_factory: Workers,  # noqa: F811
) -> None:
    store = f"sqlite:{tmp_path / 'trips'}"
    settings = ("--compaction-workers", "0", "--compact-after", "10", "--trim-grace", "0.3")
    probe = RedisProbe(redis_server.url)
    with closing_relays(start_relays(tmp_path, redis_server.url, store, *settings)) as [a, b]:
        worker_factory(redis_server.url, store, *settings[2:])
        async with RawPeer.connect(a.link("trip-frozen")) as writer, RawPeer.connect(b.link("trip-frozen")) as watcher:
            await writer.synced()
            await watcher.synced()
            await write_tokens(writer, [f"{n};" for n in range(5)])
            await watcher.wait_until(lambda: str(watcher.text()) == str(writer.text()), "the watcher before the freeze")
            os.kill(b.pid, signal.SIGSTOP)
            try:
                await write_tokens(writer, [f"{n};" for n in range(5, 60)])
                await writer.ack()
                await anyio.sleep(0.5)  # past the grace period: the entries B never read may be trimmed
                await probe.request_compaction("trip-frozen")
                await eventually(
                    lambda: _less(probe.updates_in_stream("trip-frozen"), 50), "the stream to be trimmed under B"
                )
            finally:
                os.kill(b.pid, signal.SIGCONT)
            expected = str(writer.text())
            await watcher.wait_until(lambda: str(watcher.text()) == expected, "the watcher to catch up")
            await b.await_log(
                r"WARNING wayfarer.relay: trip trip-frozen: its stream was trimmed past \d+ entries this relay had "
                r"not read yet .*; caught up from the store and the stream, its peers stay connected"
            )
            assert watcher.close_code is None
        assert " ERROR " not in b.logs(), "falling behind a trim is expected and handled, not an error"
    await probe.aclose()


def test_a_relay_or_worker_with_another_store_than_the_clusters_refuses_to_start(
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
    worker_factory: Workers,  # noqa: F811
) -> None:
    ours, theirs = f"sqlite:{tmp_path / 'ours'}", f"sqlite:{tmp_path / 'theirs'}"
    worker = worker_factory(redis_server.url, ours, "--trim-grace", "0")
    anyio.run(_request, redis_server.url, "trip-claim")
    worker.wait_for_log("compacted trip trip-claim")
    for role in ("relay", "worker"):
        result = _wayfarer_relay(tmp_path / role, "--redis", redis_server.url, "--store", theirs, "--role", role)
        assert result.returncode == 1, result.stderr
        assert "compacted into another store than sqlite:" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (("--store", "sqlite:/tmp/x"), 2, "--store and --role worker need --redis URL"),
        (("--role", "worker"), 2, "--store and --role worker need --redis URL"),
        (("--redis", "redis://127.0.0.1:1/0", "--compact-after", "0"), 2, "--compact-after must be 1 or more"),
        (("--redis", "redis://127.0.0.1:1/0", "--role", "worker", "--compaction-workers", "0"), 2, "would compact nothing"),
    ],
)
def test_cluster_options_that_make_no_sense_are_refused_readably(
    tmp_path: Path, args: tuple[str, ...], status: int, says: str
) -> None:
    result = _wayfarer_relay(tmp_path, *args)
    assert result.returncode == status
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_a_relay_refuses_a_store_it_does_not_know(tmp_path: Path, redis_server: RedisProcess) -> None:  # noqa: F811
    result = _wayfarer_relay(tmp_path, "--redis", redis_server.url, "--store", "mysql://db/trips")
    assert result.returncode == 1
    assert "expected sqlite:FOLDER or postgresql://" in result.stderr
    assert "Traceback" not in result.stderr


def _wayfarer_relay(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "wayfarer", "relay", "--port", "0", "--data", str(data), *args]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=30, env=env)


async def _request(redis_url: str, trip_id: str) -> None:
    probe = RedisProbe(redis_url)
    await probe.client.xadd(f"wayfarer:trip:{trip_id}:updates", {"u": Doc().get_update()})
    await probe.request_compaction(trip_id)
    await probe.aclose()


async def _less(value: object, bound: int) -> bool:
    return await value < bound  # type: ignore[operator]

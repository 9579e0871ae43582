"""A trip's room on a relay of a cluster: peers opening it together share one load, a load
that Redis or the durable store fails refuses the trip's peers with one log line and a
close code they can act on, the trip loads again once the fault is gone, and the relay
leaves no file per trip in DATA/rooms."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from postgres_process import postgres_server  # noqa: F401
from redis.asyncio import Redis
from redis_process import RedisProcess, redis_factory, redis_server  # noqa: F401
from relay_client import RawPeer

from wayfarer.sync.cluster import ClusterRelay
from wayfarer.sync.cluster.options import ClusterOptions
from wayfarer.sync.cluster.redis_log import StreamId
from wayfarer.sync.cluster.store import STORE_IDENTITY_KEY, StoredTrip, TripStore, TripStoreError, open_trip_store
from wayfarer.sync.protocol import CLOSE_TRY_AGAIN
from wayfarer.sync.relay import CLOSE_STORE_FAILED, RelayConfig
from wayfarer.sync.tokens import make_token

pytestmark = pytest.mark.anyio


class FailingOnce:
    """The durable store, except that its next `load` fails as a lost PostgreSQL
    connection does (a message over several lines, as psycopg's are)."""

    def __init__(self, inner: TripStore) -> None:
        self.inner = inner
        self.fail_next = False

    @property
    def identity(self) -> str:
        return self.inner.identity

    @property
    def description(self) -> str:
        return self.inner.description

    async def load(self, trip_id: str) -> StoredTrip:
        if self.fail_next:
            self.fail_next = False
            raise TripStoreError(f"PostgreSQL at {self.description} could not load trip {trip_id}: server closed\n  the connection")
        return await self.inner.load(trip_id)

    async def compact(self, trip_id: str, updates: Sequence[bytes], stream_upto: StreamId) -> StreamId:
        return await self.inner.compact(trip_id, updates, stream_upto)


class InProcessRelay:
    def __init__(self, relay: ClusterRelay, key: str, store: FailingOnce) -> None:
        self.relay, self.key, self.store = relay, key, store

    def link(self, trip_id: str) -> str:
        return f"{self.relay.url}/{trip_id}?token={make_token(self.key, trip_id, 'editor')}"


@asynccontextmanager
async def cluster_relay(tmp_path: Path, redis_url: str, store_spec: str) -> AsyncIterator[InProcessRelay]:
    key = secrets.token_hex(32)
    config = RelayConfig(data_dir=tmp_path / "relay", key=key, idle_room_seconds=0.2)
    async with open_trip_store(store_spec) as opened:
        store = FailingOnce(opened)
        async with ClusterRelay(config, redis_url, ClusterOptions(compaction_workers=0), store=store) as relay:
            yield InProcessRelay(relay, key, store)


async def refusal(link: str) -> tuple[int | None, str]:
    """The close code and reason a peer opening `link` is sent."""
    async with RawPeer.connect(link) as peer:
        code = await peer.closed()
        return code, peer.websocket.close_reason or ""


async def writes_and_reads_back(link: str, text: str) -> bool:
    async with RawPeer.connect(link) as writer:
        await writer.synced()
        writer.text().insert(len(writer.text()), text)
        await writer.ack()
    async with RawPeer.connect(link) as reader:
        await reader.synced()
        return text in str(reader.text())


def load_failures(caplog: pytest.LogCaptureFixture, trip_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("wayfarer") and f"could not load trip {trip_id}" in r.message]


def assert_one_clear_line(caplog: pytest.LogCaptureFixture, trip_id: str, code: int, names: str) -> None:
    [record] = load_failures(caplog, trip_id)
    assert record.levelno == logging.ERROR
    assert "\n" not in record.message, "one line"
    assert names in record.message, record.message
    assert f"its peers are closed with {code}" in record.message, record.message
    tracebacks = [r.message for r in caplog.records if r.name.startswith("wayfarer") and r.exc_info]
    assert tracebacks == [], "an expected failure is logged without a traceback"


async def test_a_store_that_fails_a_load_refuses_the_peers_with_try_again_and_one_log_line(
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wayfarer")
    async with cluster_relay(tmp_path, redis_server.url, f"sqlite:{tmp_path / 'trips'}") as relay:
        relay.store.fail_next = True
        code, reason = await refusal(relay.link("trip-flaky"))
        assert code == CLOSE_TRY_AGAIN
        assert "try again" in reason and "sqlite:" not in reason, "the peer is told what to do, not where the store is"
        assert_one_clear_line(caplog, "trip-flaky", CLOSE_TRY_AGAIN, "could not load trip trip-flaky: server closed the connection")
        assert await writes_and_reads_back(relay.link("trip-flaky"), "loaded;"), "the next load works"


async def test_a_store_that_is_not_the_clusters_refuses_the_peers_as_a_misconfiguration(
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wayfarer")
    async with cluster_relay(tmp_path, redis_server.url, f"sqlite:{tmp_path / 'trips'}") as relay:
        async with Redis.from_url(redis_server.url) as client:
            # A worker with another store compacted first, after this relay started.
            await client.set(STORE_IDENTITY_KEY, "another-store")
            code, reason = await refusal(relay.link("trip-elsewhere"))
            assert code == CLOSE_STORE_FAILED
            assert "misconfigured" in reason
            assert_one_clear_line(caplog, "trip-elsewhere", CLOSE_STORE_FAILED, "compacted into another store than sqlite:")
            await client.delete(STORE_IDENTITY_KEY)
        assert await writes_and_reads_back(relay.link("trip-elsewhere"), "fixed;")


async def test_a_redis_that_is_down_at_a_load_refuses_the_peers_with_try_again(
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wayfarer")
    async with cluster_relay(tmp_path, redis_server.url, f"sqlite:{tmp_path / 'trips'}") as relay:
        redis_server.stop()
        try:
            code, _ = await refusal(relay.link("trip-down"))
        finally:
            redis_server.start()
        assert code == CLOSE_TRY_AGAIN
        assert_one_clear_line(caplog, "trip-down", CLOSE_TRY_AGAIN, "could not load trip trip-down: Redis: ")
        assert await writes_and_reads_back(relay.link("trip-down"), "back;")


@pytest.mark.parametrize("store_kind", ["sqlite elsewhere", "postgresql"])
async def test_a_cluster_relay_leaves_no_file_per_trip_in_its_data_folder(
    store_kind: str,
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    if store_kind == "postgresql":
        store = request.getfixturevalue("postgres_server").url
    else:
        store = f"sqlite:{tmp_path / 'trips'}"
    async with cluster_relay(tmp_path, redis_server.url, store) as relay:
        for trip_id in ("trip-one", "trip-two"):
            assert await writes_and_reads_back(relay.link(trip_id), f"{trip_id};")
        rooms = relay.relay.config.rooms_dir
    assert relay.relay.server is not None and relay.relay.server.loads >= 2
    assert sorted(p.name for p in rooms.rglob("*")) == [], "every trip is in Redis and the store, none in DATA/rooms"


async def test_peers_opening_a_cold_trip_together_share_one_load(
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
) -> None:
    async with cluster_relay(tmp_path, redis_server.url, f"sqlite:{tmp_path / 'trips'}") as relay:
        synced, everyone = [], anyio.Event()

        async def open_trip() -> None:
            async with RawPeer.connect(relay.link("trip-cold")) as peer:
                await peer.synced()
                synced.append(peer)
                if len(synced) == 10:
                    everyone.set()
                await everyone.wait()

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(10):
                    tg.start_soon(open_trip)
        assert relay.relay.server is not None and relay.relay.server.loads == 1

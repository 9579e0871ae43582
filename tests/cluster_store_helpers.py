"""Helpers for the cluster's store and compaction tests: relays and workers on one Redis and
one durable store, what Redis and the store hold, and waiting for either to change."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import psycopg
from pycrdt import Doc, Text
from redis.asyncio import Redis
from relay_client import RawPeer
from relay_process import RelayProcess

from wayfarer.sync.cluster.compaction_tasks import GROUP, TASKS_KEY, CompactionQueue
from wayfarer.sync.cluster.redis_log import stream_key
from wayfarer.sync.cluster.store import open_trip_store
from wayfarer.sync.cluster.store_postgres import trip_lock_name

WAIT = 30.0  # seconds: only turns a hang into a failure


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = WAIT) -> None:
    """Wait until `await check()` is true, polling."""
    try:
        with anyio.fail_after(timeout):
            while not await check():
                await anyio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


def text_of(update: bytes | None) -> str:
    doc = Doc()
    text = doc.get("notes", type=Text)
    if update is not None:
        doc.apply_update(update)
    return str(text)


async def stored_text(store: str, trip_id: str) -> tuple[str, int]:
    """The trip's text as the durable store holds it, and its number of rows."""
    async with open_trip_store(store) as opened:
        stored = await opened.load(trip_id)
    return text_of(stored.update), stored.rows


class RedisProbe:
    """What the cluster keeps in Redis, read by the test (not by a relay)."""

    def __init__(self, url: str) -> None:
        self.client = Redis.from_url(url)

    async def stream_length(self, trip_id: str) -> int:
        return int(await self.client.xlen(stream_key(trip_id)))

    async def updates_in_stream(self, trip_id: str) -> int:
        entries = await self.client.xrange(stream_key(trip_id))
        return sum(1 for _, fields in entries if b"u" in fields)

    async def pending_tasks(self) -> int:
        try:
            return int((await self.client.xpending(TASKS_KEY, GROUP))["pending"])
        except Exception:  # noqa: BLE001 - no group yet: nothing pending
            return 0

    async def request_compaction(self, trip_id: str) -> None:
        """Queue a task for `trip_id` as a relay does (and again, even if one is queued)."""
        await self.client.delete(f"wayfarer:trip:{trip_id}:compaction-requested")
        await CompactionQueue(self.client).request(trip_id)

    async def aclose(self) -> None:
        await self.client.aclose()


def start_relays(
    root: Path,
    redis_url: str,
    store: str,
    *args: str,
    names: tuple[str, ...] = ("relay-a", "relay-b"),
    key: str | None = None,
) -> list[RelayProcess]:
    """Relays on one Redis and one store, each with its own data folder, one signing key."""
    key = key or secrets.token_hex(32)
    relays = [
        RelayProcess(root / name, key=key, args=("--redis", redis_url, "--store", store, *args)) for name in names
    ]
    for relay in relays:
        relay.start()
    return relays


@contextmanager
def closing_relays(relays: list[RelayProcess]) -> Iterator[list[RelayProcess]]:
    try:
        yield relays
    finally:
        for relay in relays:
            relay.close()
            print(f"--- logs of the relay in {relay.data_dir} ---\n{relay.logs()}")


async def write_tokens(peer: RawPeer, tokens: list[str], pause: float = 0.002) -> None:
    for token in tokens:
        peer.text().insert(len(peer.text()), token)
        await anyio.sleep(pause)


@contextmanager
def trip_locked(postgres_url: str, trip_id: str) -> Iterator[psycopg.Connection]:
    """Hold the trip's compaction lock in PostgreSQL: a worker compacting it blocks inside its
    transaction, before its commit, until the block ends."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (trip_lock_name(trip_id),))
        try:
            yield conn
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (trip_lock_name(trip_id),))


def workers_waiting_for_a_trip_lock(postgres_url: str) -> int:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        (waiting,) = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()
    return int(waiting)


def stored_rows(postgres_url: str, trip_id: str) -> int:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM wayfarer_trip_updates WHERE trip_id = %s", (trip_id,)).fetchone()
    return int(rows)

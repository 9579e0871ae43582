"""`PostgresTripStore`: a cluster's durable store in PostgreSQL, for relays on many machines.

One table of append-only rows: each row is one Yjs update of one trip (bytea, never
JSON: the bytes are the CRDT's own encoding, and decoding them to JSON would lose what
makes concurrent edits merge), with the newest stream entry id it contains. Rows are
only ever inserted, and deleted once merged into a newer row:

- `compact` runs in ONE transaction: take the trip's advisory lock, read its rows,
  insert their merge with the new stream entries (the own encoding of a document built
  from them when it holds every one, else merged as bytes: `merge_compactly`), delete
  exactly the rows read, commit.
  A worker killed before the commit changes nothing (PostgreSQL rolls back); one killed
  after has stored everything it read. Two workers on one trip take turns on the lock;
  the second merges on top of the first's row and loses nothing.
- Loading merges a trip's rows in order; a trip with no rows is a trip never compacted.

The driver is psycopg 3 (its asyncio API and connection pool).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Final

import anyio
import psycopg
from psycopg_pool import AsyncConnectionPool
from pycrdt import merge_updates

from wayfarer.sync.cluster.redis_log import ClusterError, StreamId
from wayfarer.sync.cluster.store import StoredTrip, TripStoreError, one_line, redact
from wayfarer.sync.updatelog import merge_compactly

SCHEMA_VERSION: Final = 1
TABLE: Final = "wayfarer_trip_updates"
# What a Yjs encoder writes for "no change": the row of a trip whose stream held nothing
# to merge but trim markers.
EMPTY_UPDATE: Final = b"\x00\x00"
CONNECT_TIMEOUT_SECONDS: Final = 10
POOL_SIZE: Final = 4
# How long a load or compaction waits for a pooled connection. With PostgreSQL down, the
# pool's default (30 s) kept a peer waiting in silence; failing sooner closes it with
# CLOSE_TRY_AGAIN, and it retries on its own.
CONNECTION_WAIT_SECONDS: Final = 5.0

# Made once per database, under a lock, so relays starting together do not race on it.
_SCHEMA = f"""
SELECT pg_advisory_xact_lock(hashtextextended('wayfarer-schema', 0));
CREATE TABLE IF NOT EXISTS {TABLE} (
    trip_id text NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    data bytea NOT NULL,
    stream_ms bigint NOT NULL,
    stream_seq bigint NOT NULL,
    PRIMARY KEY (trip_id, seq)
);
CREATE TABLE IF NOT EXISTS wayfarer_store (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO wayfarer_store (key, value) VALUES ('identity', gen_random_uuid()::text), ('schema', '{SCHEMA_VERSION}')
    ON CONFLICT (key) DO NOTHING;
"""

log = logging.getLogger("wayfarer.relay")


def trip_lock_name(trip_id: str) -> str:
    """The text whose `hashtextextended(…, 0)` is the trip's advisory lock key."""
    return f"wayfarer-trip:{trip_id}"


class PostgresTripStore:
    """Trips as rows of one PostgreSQL table (see the module docstring)."""

    def __init__(self, pool: AsyncConnectionPool, url: str, identity: str) -> None:
        self._pool = pool
        self._url = url
        self._identity = identity

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def description(self) -> str:
        return redact(self._url)

    async def load(self, trip_id: str) -> StoredTrip:
        sql = f"SELECT data, stream_ms, stream_seq FROM {TABLE} WHERE trip_id = %s ORDER BY seq"
        rows = await self._fetch(sql, (trip_id,), f"load trip {trip_id}")
        if not rows:
            return StoredTrip(None, (0, 0), 0)
        updates = [bytes(row[0]) for row in rows]
        merged = await anyio.to_thread.run_sync(_merge, updates)
        return StoredTrip(merged, max((row[1], row[2]) for row in rows), len(rows))

    async def compact(self, trip_id: str, updates: Sequence[bytes], stream_upto: StreamId) -> StreamId:
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (trip_lock_name(trip_id),))
                cursor = await conn.execute(
                    f"SELECT seq, data, stream_ms, stream_seq FROM {TABLE} WHERE trip_id = %s ORDER BY seq", (trip_id,)
                )
                rows = await cursor.fetchall()
                stored = max(((row[2], row[3]) for row in rows), default=(0, 0))
                position = max(stored, stream_upto)
                if not updates and len(rows) <= 1 and position == stored:
                    return stored
                merged = await anyio.to_thread.run_sync(_compacted, [*(bytes(row[1]) for row in rows), *updates])
                await conn.execute(
                    f"INSERT INTO {TABLE} (trip_id, data, stream_ms, stream_seq) VALUES (%s, %s, %s, %s)",
                    (trip_id, merged, position[0], position[1]),
                )
                await conn.execute(
                    f"DELETE FROM {TABLE} WHERE trip_id = %s AND seq = ANY(%s)", (trip_id, [row[0] for row in rows])
                )
        except psycopg.Error as exc:
            raise self._error(f"compact trip {trip_id}", exc) from exc
        return position

    async def _fetch(self, sql: str, params: tuple[object, ...], action: str) -> list[tuple]:
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(sql, params)  # type: ignore[arg-type]
                return await cursor.fetchall()
        except psycopg.Error as exc:
            raise self._error(action, exc) from exc

    def _error(self, action: str, exc: psycopg.Error) -> TripStoreError:
        return TripStoreError(f"PostgreSQL at {self.description} could not {action}: {one_line(exc)}")


@asynccontextmanager
async def open_postgres_store(url: str) -> AsyncIterator[PostgresTripStore]:
    """The store at `url`, its table created if missing; ClusterError if unusable."""
    identity = await _prepare(url)
    pool = AsyncConnectionPool(
        url, min_size=1, max_size=POOL_SIZE, open=False, name="wayfarer-store", timeout=CONNECTION_WAIT_SECONDS
    )
    try:
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
    except psycopg.Error as exc:
        raise ClusterError(f"cannot use PostgreSQL at {redact(url)}: {one_line(exc)}") from None
    try:
        yield PostgresTripStore(pool, url, identity)
    finally:
        with anyio.CancelScope(shield=True):
            await pool.close()


async def _prepare(url: str) -> str:
    """Connect once (for a readable error), make the schema, return the store's identity."""
    try:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
            await conn.execute(_SCHEMA)  # type: ignore[arg-type]
            cursor = await conn.execute("SELECT key, value FROM wayfarer_store WHERE key IN ('identity', 'schema')")
            facts = dict(await cursor.fetchall())
    except psycopg.Error as exc:
        raise ClusterError(f"cannot use PostgreSQL at {redact(url)}: {one_line(exc)}") from None
    if int(facts["schema"]) > SCHEMA_VERSION:
        raise ClusterError(
            f"PostgreSQL at {redact(url)} holds trips in store format {facts['schema']}; this Wayfarer reads up "
            f"to {SCHEMA_VERSION}: update Wayfarer"
        )
    return str(facts["identity"])


def _compacted(updates: list[bytes]) -> bytes:
    """The row a compaction stores: a document's own encoding of `updates` when it holds
    them all, else `updates` merged as bytes (`merge_compactly`)."""
    return merge_compactly(updates) if updates else EMPTY_UPDATE


def _merge(updates: list[bytes]) -> bytes:
    if not updates:
        return EMPTY_UPDATE
    return updates[0] if len(updates) == 1 else merge_updates(*updates)

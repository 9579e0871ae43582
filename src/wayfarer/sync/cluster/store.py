"""`TripStore`: where a cluster keeps each trip for good, behind one small interface.

Redis streams are the trips' recent history; the durable store holds everything older.
Only compaction workers write to it (`compaction`): each merges a trip's stored rows and
its stream entries into one row, recording the newest stream entry id merged
(`stream_upto`, for people and tools to see how far the store goes), and only then may
the stream be trimmed up to that id. Relays only read it, when they load a room (stream
first, then store).

Two implementations, chosen by `--store`:
- `sqlite:FOLDER` (`store_sqlite`): one Wayfarer update log file per trip in FOLDER, the
  same files the single-process relay keeps. For relays and workers on one machine.
- `postgresql://…` (`store_postgres`): append-only rows of Yjs updates (bytea) per trip in
  one table. For relays and workers on several machines.

Every relay and worker of one cluster must use the same store: entries trimmed from the
stream exist nowhere else. `check_store` and `claim_store` keep the store's identity in
Redis, so a relay or worker pointed at another store refuses to run instead of serving
trips with their compacted history missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from redis.asyncio import Redis

from wayfarer.sync.cluster.redis_log import ClusterError, StreamId

# The identity of the store that holds this cluster's compacted history.
STORE_IDENTITY_KEY: Final = "wayfarer:store"


class TripStoreError(Exception):
    """The durable store could not be read or written; the message names the store."""


@dataclass(frozen=True)
class StoredTrip:
    """What the store holds of one trip."""

    update: bytes | None  # every row merged into one update (None: nothing stored)
    stream_upto: StreamId  # every stream entry up to this id is in `update`
    rows: int


class TripStore(Protocol):
    """A durable store of trips as Yjs updates; safe to share between processes.

    `compact` must be atomic (or idempotent step by step): a process killed at any point
    leaves the store holding everything it held before, and two processes compacting the
    same trip at once both succeed without losing a row either of them did not merge.
    """

    @property
    def identity(self) -> str:
        """Names this store; every relay and worker of one cluster must see the same."""
        ...

    @property
    def description(self) -> str:
        """Where the store is, for messages (no password)."""
        ...

    async def load(self, trip_id: str) -> StoredTrip: ...

    async def compact(self, trip_id: str, updates: Sequence[bytes], stream_upto: StreamId) -> StreamId:
        """Merge the trip's rows and `updates` (the stream's entries up to `stream_upto`)
        into one row, deleting only the rows merged; the stream position now stored."""
        ...


def default_store_spec(rooms_dir: Path) -> str:
    """The one-machine default: the relay's own folder of update logs."""
    return f"sqlite:{rooms_dir}"


@asynccontextmanager
async def open_trip_store(spec: str) -> AsyncIterator[TripStore]:
    """The store `spec` names (`sqlite:FOLDER` or `postgresql://…`), open for the block;
    ClusterError saying what is wrong when it cannot be used."""
    if spec.startswith("sqlite:"):
        from wayfarer.sync.cluster.store_sqlite import SqliteTripStore

        folder = spec.removeprefix("sqlite:")
        if not folder:
            raise ClusterError("--store sqlite: needs a folder, e.g. sqlite:/var/lib/wayfarer/trips")
        try:
            store = await SqliteTripStore.open(Path(folder).expanduser())
        except TripStoreError as exc:
            raise ClusterError(str(exc)) from None
        yield store
    elif spec.startswith(("postgresql://", "postgres://")):
        from wayfarer.sync.cluster.store_postgres import open_postgres_store

        async with open_postgres_store(spec) as store:
            yield store
    else:
        raise ClusterError(f"--store {redact(spec)!r}: expected sqlite:FOLDER or postgresql://USER@HOST:PORT/DATABASE")


async def check_store(client: Redis, store: TripStore) -> None:
    """ClusterError unless this cluster's history was never compacted or went to `store`."""
    ensure_same_store(await client.get(STORE_IDENTITY_KEY), store)


async def claim_store(client: Redis, store: TripStore) -> None:
    """Record `store` as the one this cluster compacts into (before the first compaction);
    ClusterError if another store was recorded first."""
    ensure_same_store(await client.set(STORE_IDENTITY_KEY, store.identity, nx=True, get=True), store)


def ensure_same_store(recorded: bytes | None, store: TripStore) -> None:
    """ClusterError unless `recorded` (the value of STORE_IDENTITY_KEY) is unset or `store`'s."""
    if recorded is not None and recorded.decode() != store.identity:
        raise ClusterError(
            f"this Redis' trips were compacted into another store than {store.description}: every relay and "
            "worker of a cluster must use the same --store (trip history trimmed from Redis is only there)"
        )


def one_line(failure: BaseException) -> str:
    """A driver's error message on one line (psycopg's span several, the second a hint
    indented with a tab), for a log line or a refusal a person reads at once."""
    return " ".join(str(failure).split()) or type(failure).__name__


def redact(url: str) -> str:
    """`url` without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    user, _, host = rest.rpartition("@")
    return f"{scheme}{sep}{user.split(':', 1)[0]}:***@{host}" if ":" in user else url

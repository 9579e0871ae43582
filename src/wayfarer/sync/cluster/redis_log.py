"""`TripStreams`: each trip's ordered log of updates, one Redis stream per trip.

Why a stream and not pub/sub: Hocuspocus's Redis extension relays updates over pub/sub,
which delivers only to whoever listens at that instant, so an update published while a
relay reconnects, or while a room is being loaded, is gone for that relay and its peers
diverge until they reconnect. A stream (the design y-redis proved) keeps every entry
with an id: a reader asks for "everything after id X" and cannot miss one, and a room
loaded from it sees exactly what every other relay sees, in the same order.

`check_redis_settings` refuses a Redis that could silently lose entries: one that
evicts keys under memory pressure (an evicted stream is a trip's recent history gone)
or writes no append-only file (a restart forgets everything since the last snapshot).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

# The field of a stream entry that holds one Yjs update.
UPDATE_FIELD: Final = b"u"
# The fields of a trim marker (see `compaction`): the newest entry id the trim removed,
# and how many entries the stream had received, the marker included, when it was added.
TRIMMED_FIELD: Final = b"t"
ORDINAL_FIELD: Final = b"n"
MIN_REDIS_VERSION: Final = (7, 0)
# A command on a broken connection is tried again this often, backing off from 50 ms to 1 s.
RETRIES: Final = 3
RETRY_BASE_SECONDS: Final = 0.05
RETRY_CAP_SECONDS: Final = 1.0

StreamId = tuple[int, int]


class ClusterError(Exception):
    """Redis is unreachable or unsafe for trips; the message says what to change."""


def stream_key(trip_id: str) -> str:
    return f"wayfarer:trip:{trip_id}:updates"


def parse_stream_id(entry_id: bytes | str) -> StreamId:
    """A stream entry id ("<ms>-<seq>") as a tuple that orders like Redis orders ids."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    millis, _, seq = text.partition("-")
    return int(millis), int(seq or 0)


def format_stream_id(entry_id: StreamId) -> str:
    return f"{entry_id[0]}-{entry_id[1]}"


@dataclass(frozen=True)
class StreamEntry:
    """One entry of a trip's stream: a Yjs update, or a trim marker (`ordinal` set, no update).

    A trim marker is what a compaction worker adds just before it trims the stream: a
    reader that counts the entries it read can tell from it whether the trim took entries
    it never read (`ClusterRoom.apply_entry`).
    """

    entry_id: StreamId
    update: bytes
    ordinal: int | None = None

    @classmethod
    def from_fields(cls, entry_id: bytes | str, fields: dict[bytes, bytes]) -> StreamEntry:
        ordinal = fields.get(ORDINAL_FIELD)
        if ordinal is not None and TRIMMED_FIELD in fields and UPDATE_FIELD not in fields:
            return cls(parse_stream_id(entry_id), b"", int(ordinal))
        # An entry without an update is a poison entry like any other (see `poison`): its
        # empty update fails to decode where it is applied.
        return cls(parse_stream_id(entry_id), fields.get(UPDATE_FIELD, b""))

    @property
    def is_trim_marker(self) -> bool:
        return self.ordinal is not None


def connect(url: str) -> Redis:
    """A client for `url` (no connection is made yet) that retries a command on a broken
    connection; ClusterError for a malformed URL.

    Without retries, the first command after a Redis restart fails on a pooled connection
    the server closed, and the room it served is unloaded for nothing. Retrying an XADD
    whose reply was lost can add an update twice: harmless, as applying a Yjs update
    again changes nothing.
    """
    try:
        return Redis.from_url(
            url,
            retry=Retry(ExponentialBackoff(cap=RETRY_CAP_SECONDS, base=RETRY_BASE_SECONDS), RETRIES),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
    except ValueError as exc:  # redis-py's word for a malformed URL
        raise ClusterError(f"--redis {safe_url(url)!r}: {exc}") from None


class TripStreams:
    """Appends updates to, and reads whole, the stream of a trip."""

    def __init__(self, client: Redis) -> None:
        self.client = client

    async def append(self, trip_id: str, updates: list[bytes]) -> StreamId:
        """XADD `updates` in order (one round trip); the id of the last one.

        When this returns, Redis holds them: that is the moment a relay may count them
        acknowledged. Raises RedisError if it cannot be sure they were all added.
        """
        async with self.client.pipeline(transaction=False) as pipe:
            for update in updates:
                pipe.xadd(stream_key(trip_id), {UPDATE_FIELD: update})
            ids = await pipe.execute()
        return parse_stream_id(ids[-1])

    async def read_all(self, trip_id: str) -> list[StreamEntry]:
        """Every entry of the trip's stream, oldest first (none for a trip never streamed)."""
        entries = await self.client.xrange(stream_key(trip_id))
        return [StreamEntry.from_fields(entry_id, fields) for entry_id, fields in entries]


async def check_redis_settings(client: Redis, url: str) -> None:
    """Raise ClusterError, naming the setting and its fix, unless Redis is safe for trips."""
    try:
        # INFO, not CONFIG GET: it reports the same settings, and managed Redis services often disable CONFIG.
        info = await client.info("server")
        appendonly = "yes" if int((await client.info("persistence")).get("aof_enabled", 0)) else "no"
        policy = (await client.info("memory")).get("maxmemory_policy")
    except RedisError as exc:
        raise ClusterError(f"cannot use Redis at {safe_url(url)}: {exc}") from exc
    version = str(info.get("redis_version", "0"))
    problems = []
    if _version(version) < MIN_REDIS_VERSION:
        problems.append(f"it is version {version}; Wayfarer needs Redis 7 or newer")
    if appendonly != "yes":
        problems.append(f"appendonly is {appendonly!r}: a restart would forget recent changes (set `appendonly yes`)")
    if policy != "noeviction":
        problems.append(
            f"maxmemory-policy is {policy!r}: Redis could evict a trip's stream, silently losing its "
            "recent changes (set `maxmemory-policy noeviction`)"
        )
    if problems:
        raise ClusterError(f"refusing Redis at {safe_url(url)}: " + "; ".join(problems))


def _version(text: str) -> tuple[int, int]:
    parts = [int(part) if part.isdigit() else 0 for part in text.split(".")[:2]]
    return parts[0], parts[1] if len(parts) > 1 else 0


def safe_url(url: str) -> str:
    """`url` without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.rsplit('@', 1)[1]}"

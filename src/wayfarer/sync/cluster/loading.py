"""`TripLoader`: what a room of a cluster starts from, read stream first, then durable store.

Stream before store: a compaction worker merges stream entries into the store and only
then trims them, so a stream read first and a store read after can only overlap
(harmless: a Yjs update applied twice is applied once), never leave a gap. The other
order could read the store just before a compaction and the stream just after its trim,
and miss everything in between.

The stream is read in one MULTI with the stream's entry count (`XINFO STREAM`
`entries-added`), which the room keeps counting from to notice a trim that took entries
it never read (`compaction`), and with the identity of the store the cluster compacts
into: a relay whose store is another one would load trips without their history.

A load that fails (`refuse_load`) is one log line and a close code its peers can act on:
Redis or the store out of reach is temporary (CLOSE_TRY_AGAIN: they reconnect, through a
load balancer perhaps to another relay); a store that is not the cluster's is this
relay's misconfiguration (CLOSE_STORE_FAILED), which a person must fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from wayfarer.sync.cluster.redis_log import ClusterError, StreamEntry, stream_key
from wayfarer.sync.cluster.store import (
    STORE_IDENTITY_KEY,
    StoredTrip,
    TripStore,
    TripStoreError,
    ensure_same_store,
    one_line,
)
from wayfarer.sync.protocol import CLOSE_TRY_AGAIN
from wayfarer.sync.relay.acks import CLOSE_STORE_FAILED
from wayfarer.sync.relay.server import RoomUnavailable

# What a load can fail with that is not a bug: Redis or the store out of reach, or not the cluster's.
LOAD_FAILURES = (RedisError, TripStoreError, ClusterError)

log = logging.getLogger("wayfarer.relay")


@dataclass(frozen=True)
class LoadedTrip:
    entries: list[StreamEntry]  # the whole stream when it was read, oldest first
    ordinal: int  # how many entries the stream had received then (the last one's number)
    stored: StoredTrip  # the durable store, read after the stream

    @property
    def size(self) -> int:
        """Bytes of the stored document and the stream's updates: an upper estimate of the
        document's size, for the relay's size limit."""
        stored = len(self.stored.update) if self.stored.update is not None else 0
        return stored + sum(len(entry.update) for entry in self.entries)


class TripLoader:
    """Reads a trip for a room of this relay (see the module docstring)."""

    def __init__(self, client: Redis, store: TripStore) -> None:
        self._client = client
        self._store = store

    async def read(self, trip_id: str) -> LoadedTrip:
        """The trip's stream, then its store; ClusterError if the store is not this cluster's,
        RedisError or TripStoreError if either cannot be read."""
        key = stream_key(trip_id)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xrange(key)
            pipe.xinfo_stream(key)
            pipe.get(STORE_IDENTITY_KEY)
            raw, info, identity = await pipe.execute(raise_on_error=False)
        if isinstance(raw, Exception):
            raise raw
        ensure_same_store(identity, self._store)
        # XINFO fails on a stream that does not exist yet: a trip never written to.
        ordinal = 0 if isinstance(info, Exception) else int(info["entries-added"])
        entries = [StreamEntry.from_fields(entry_id, fields) for entry_id, fields in raw]
        return LoadedTrip(entries, ordinal, await self._store.load(trip_id))


def refuse_load(trip_id: str, failure: Exception) -> RoomUnavailable:
    """Log why `trip_id` could not be loaded, in one line; what its peers are closed with.

    The reason the peers get names no host: it goes to anyone holding a link.
    """
    if isinstance(failure, ClusterError):
        code = CLOSE_STORE_FAILED
        reason = "this relay's store is not its cluster's (misconfigured); another relay may serve the trip"
    else:
        code, reason = CLOSE_TRY_AGAIN, "the relay cannot reach Redis or its store right now; try again"
    what = f"Redis: {one_line(failure)}" if isinstance(failure, RedisError) else one_line(failure)
    log.error("could not load trip %s: %s; its peers are closed with %d (%s)", trip_id, what, code, reason)
    return RoomUnavailable(reason, code)

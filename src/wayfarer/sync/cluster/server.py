"""`ClusterServer`: the relay's rooms, each loaded from its trip's stream and store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import anyio
from redis.asyncio import Redis

from wayfarer.sync.cluster.appender import StreamAppender
from wayfarer.sync.cluster.reader import StreamReader
from wayfarer.sync.cluster.redis_log import TripStreams, check_redis_settings, connect
from wayfarer.sync.cluster.room import ClusterRoom
from wayfarer.sync.relay.acks import CLOSE_STORE_FAILED
from wayfarer.sync.relay.config import RelayConfig
from wayfarer.sync.relay.room import TripRoom
from wayfarer.sync.relay.server import TripServer
from wayfarer.sync.relay.storage import RoomStore


class ClusterServer(TripServer):
    """A `TripServer` (one load per trip, idle unloading, clean shutdown) whose rooms are
    `ClusterRoom`s sharing their trips with every other relay through Redis.

    Opening it checks Redis' settings and refuses an unsafe Redis (`ClusterError`)
    before the relay accepts a single peer; one `StreamReader` task reads for all rooms.
    """

    def __init__(self, config: RelayConfig, redis_url: str) -> None:
        super().__init__(config)
        self._redis_url = redis_url
        self._client: Redis | None = None
        self._streams: TripStreams | None = None
        self._reader: StreamReader | None = None

    async def __aenter__(self) -> ClusterServer:
        client = connect(self._redis_url)
        try:
            await check_redis_settings(client, self._redis_url)
            self._client, self._streams, self._reader = client, TripStreams(client), StreamReader(client)
            await super().__aenter__()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await client.aclose()
            raise
        assert self._task_group is not None
        self._task_group.start_soon(self._reader.read_forever)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        try:
            return await super().__aexit__(exc_type, exc, tb)
        finally:
            assert self._client is not None
            with anyio.CancelScope(shield=True):
                await self._client.aclose()

    @asynccontextmanager
    async def _open_room(self, trip_id: str, store: RoomStore) -> AsyncIterator[TripRoom]:
        """Load the trip: its stream first, then its store; serve it while the reader feeds it.

        Stream before store: a compaction worker merges stream entries into the store and
        only then trims them, so a stream read first and a store read after can only
        overlap (harmless: updates apply idempotently), never leave a gap. Subscribing
        after the last entry read misses nothing either, as the reader reads by id.
        """
        assert self._streams is not None and self._reader is not None
        reader = self._reader
        entries = await self._streams.read_all(trip_id)
        stored = await store.load()

        def fail(_: Exception) -> None:
            self._request_unload(room, CLOSE_STORE_FAILED, "the relay could not keep this trip in step with Redis")

        async with anyio.create_task_group() as tg:
            room = ClusterRoom(trip_id, store, self.config, StreamAppender(self._streams, trip_id, fail))
            room.load_from(stored, entries)
            tg.start_soon(room.appender.append_forever)
            reader.subscribe(trip_id, room.applied_id, room.apply_entry, fail)
            try:
                yield room
            finally:
                reader.unsubscribe(trip_id)
                tg.cancel_scope.cancel()

"""`ClusterServer`: the relay's rooms, each loaded from its trip's stream and store."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType
from typing import Any

import anyio
from redis.asyncio import Redis
from redis.exceptions import RedisError

from wayfarer.sync.cluster.appender import StreamAppender
from wayfarer.sync.cluster.compaction_tasks import CompactionQueue, request_compaction_when_long
from wayfarer.sync.cluster.loading import LOAD_FAILURES, TripLoader, refuse_load
from wayfarer.sync.cluster.options import ClusterOptions
from wayfarer.sync.cluster.poison import Quarantine
from wayfarer.sync.cluster.presence_bus import PresenceBus
from wayfarer.sync.cluster.reader import StreamGap, StreamReader
from wayfarer.sync.cluster.redis_log import ClusterError, TripStreams, check_redis_settings, connect
from wayfarer.sync.cluster.room import ClusterRoom, FilelessRoomStore
from wayfarer.sync.cluster.store import TripStore, check_store, default_store_spec, one_line, open_trip_store
from wayfarer.sync.cluster.worker import run_relay_compaction
from wayfarer.sync.relay.acks import CLOSE_STORE_FAILED
from wayfarer.sync.relay.config import RelayConfig
from wayfarer.sync.relay.room import TripRoom
from wayfarer.sync.relay.server import TripServer
from wayfarer.sync.relay.storage import RoomStore
from wayfarer.sync.updatelog import StoreError

log = logging.getLogger("wayfarer.relay")


class ClusterServer(TripServer):
    """A `TripServer` (one load per trip, idle unloading, clean shutdown) whose rooms are
    `ClusterRoom`s sharing their trips with every other relay through Redis.

    Opening it checks Redis' settings and refuses an unsafe Redis (`ClusterError`)
    before the relay accepts a single peer; one `StreamReader` task reads for all rooms,
    one `PresenceBus` carries their presence, one `Quarantine` keeps poison entries aside.
    Rooms are loaded from the durable store (`options.store`, or `store` when the caller
    opened it) and the stream (`TripLoader`); `options.compaction_workers` compaction
    workers run in the relay.
    """

    def __init__(
        self, config: RelayConfig, redis_url: str, options: ClusterOptions | None = None, store: TripStore | None = None
    ) -> None:
        super().__init__(config)
        self._redis_url = redis_url
        self._options = options or ClusterOptions()
        self._store = store
        self._store_stack = AsyncExitStack()
        self._loader: TripLoader | None = None
        self._queue: CompactionQueue | None = None
        self._client: Redis | None = None
        self._streams: TripStreams | None = None
        self._reader: StreamReader | None = None
        self._quarantine: Quarantine | None = None
        self._presence_bus: PresenceBus | None = None

    async def __aenter__(self) -> ClusterServer:
        client = connect(self._redis_url)
        try:
            await check_redis_settings(client, self._redis_url)
            await self._open_trip_store(client)
            self._client, self._streams, self._quarantine = client, TripStreams(client), Quarantine(client)
            self._reader = StreamReader(client, self._quarantine)
            self._presence_bus = PresenceBus(client, self.config.awareness_timeout_seconds)
            await super().__aenter__()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._store_stack.aclose()
                await client.aclose()
            raise
        assert self._task_group is not None and self._store is not None
        if self._options.relay_workers > 0:
            self._task_group.start_soon(run_relay_compaction, client, self._store, self._options)
        self._task_group.start_soon(self._reader.read_forever)
        self._task_group.start_soon(self._quarantine.write_forever)
        self._task_group.start_soon(self._presence_bus.run)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        try:
            return await super().__aexit__(exc_type, exc, tb)
        finally:
            assert self._client is not None
            with anyio.CancelScope(shield=True):
                await self._store_stack.aclose()
                await self._client.aclose()

    async def _open_trip_store(self, client: Redis) -> None:
        """Open the durable store and refuse one that is not this cluster's (ClusterError)."""
        own_folder = self._store is None and self._options.store is None
        if self._store is None:
            spec = self._options.store or default_store_spec(self.config.rooms_dir)
            self._store = await self._store_stack.enter_async_context(open_trip_store(spec))
        try:
            await check_store(client, self._store)
        except RedisError as exc:
            raise ClusterError(f"cannot use Redis: {exc}") from exc
        self._loader, self._queue = TripLoader(client, self._store), CompactionQueue(client)
        log.info("trips are kept in Redis and, once compacted, in %s", self._store.description)
        if own_folder and self._options.relay_workers == 0:
            log.warning(
                "no --store: this relay loads compacted trips from its own %s and compacts none; give every relay "
                "and worker of the cluster the same --store, and run compaction workers, or trips' streams in "
                "Redis grow without bound",
                self._store.description,
            )

    async def unload_all(self, code: int, reason: str) -> None:
        """Unload every room, then give the removals of their peers' presence a moment to
        reach the other relays (a relay that stops removes its peers for all at once)."""
        await super().unload_all(code, reason)
        if self._presence_bus is not None:
            await self._presence_bus.flush()

    @asynccontextmanager
    async def _open_store(self, trip_id: str, on_failure: Callable[[StoreError], None]) -> AsyncIterator[RoomStore]:
        """No file in DATA/rooms: the relay never writes a clustered trip (`FilelessRoomStore`)."""
        yield FilelessRoomStore(trip_id)

    @asynccontextmanager
    async def _open_room(self, trip_id: str, store: RoomStore) -> AsyncIterator[TripRoom]:
        """Load the trip: its stream first, then its durable store (`TripLoader` says why in
        that order); serve it while the reader feeds it.

        Subscribing at the last entry the load read is subscribing first: the reader reads
        by id, so nothing added meanwhile is missed or applied twice. If a trim takes
        entries this room has not read yet (`StreamGap`), the room catches up in place.
        `store` only keeps the room's size estimate here. A load that Redis or the store
        fails refuses the trip's peers with one log line (`refuse_load`).
        """
        assert self._streams is not None and self._reader is not None and self._quarantine is not None
        assert self._presence_bus is not None and self._loader is not None and self._queue is not None
        reader, bus = self._reader, self._presence_bus

        def fail(exc: Exception) -> None:
            if isinstance(exc, StreamGap):
                if not room.unloading:
                    tg.start_soon(self._catch_up, room, exc, fail)
                return
            self._request_unload(room, CLOSE_STORE_FAILED, "the relay could not keep this trip in step with Redis")

        # Presence the same way as edits: subscribe first, then read what is kept.
        room = ClusterRoom(trip_id, store, self.config, StreamAppender(self._streams, trip_id, fail), bus)
        presence = room.cluster_presence
        if presence is not None:
            await bus.subscribe(trip_id, presence)
        try:
            try:
                loaded = await self._loader.read(trip_id)
                present = await bus.read_states(trip_id) if presence is not None else []
            except LOAD_FAILURES as exc:
                raise refuse_load(trip_id, exc) from None
            async with anyio.create_task_group() as tg:
                room.load_from(loaded, self._quarantine.hold)
                if presence is not None:
                    presence.load(present)
                tg.start_soon(room.appender.append_forever)
                threshold = self._options.compact_after_entries
                tg.start_soon(request_compaction_when_long, room.appender, self._queue, threshold, len(loaded.entries))
                reader.subscribe(trip_id, room.applied_id, room.apply_entry, fail)
                try:
                    yield room
                finally:
                    reader.unsubscribe(trip_id)
                    tg.cancel_scope.cancel()
        finally:
            if presence is not None:
                bus.unsubscribe(trip_id)

    async def _catch_up(self, room: ClusterRoom, gap: StreamGap, fail: Callable[[Exception], None]) -> None:
        """Read the trip again and apply it into the room's document, then read on.

        Expected when this relay was slowed or frozen past the trim grace period: one
        warning saying what happened and what was done, and the peers stay connected.
        """
        assert self._loader is not None and self._quarantine is not None and self._reader is not None
        try:
            loaded = await self._loader.read(room.trip_id)
        except LOAD_FAILURES as exc:
            log.error(
                "%s, and could not catch up from the store and the stream: %s; its peers are closed with %d",
                gap, one_line(exc), CLOSE_STORE_FAILED,
            )  # fmt: skip
            self._request_unload(room, CLOSE_STORE_FAILED, "the relay could not keep this trip in step with Redis")
            return
        if room.unloading:
            return
        room.catch_up(loaded, self._quarantine.hold)
        self._reader.subscribe(room.trip_id, room.applied_id, room.apply_entry, fail)
        log.warning("%s; caught up from the store and the stream, its peers stay connected", gap)

"""`TripServer`: the relay's rooms, one per trip, each loaded once and unloaded when idle."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any

import anyio
from pycrdt import Channel
from pycrdt.websocket import WebsocketServer, YRoom, exception_logger

from wayfarer.sync.relay.acks import CLOSE_STORE_FAILED
from wayfarer.sync.relay.config import Fix, RelayConfig
from wayfarer.sync.relay.memory import release_freed_memory
from wayfarer.sync.relay.peer import CLOSE_GOING_AWAY, PeerConnection
from wayfarer.sync.relay.room import TripRoom
from wayfarer.sync.relay.storage import RoomStore, open_room_store
from wayfarer.sync.updatelog import StoreError

log = logging.getLogger("wayfarer.relay")


class RoomUnavailable(Exception):
    """A trip's room could not be loaded (its store failed to open or read); its peers
    are closed with `code` and the message as the reason."""

    def __init__(self, reason: str, code: int = CLOSE_STORE_FAILED) -> None:
        super().__init__(reason)
        self.code = code


class _Loading:
    """The one load of a trip's room that every arriving peer waits for."""

    def __init__(self) -> None:
        self._done = anyio.Event()
        self._room: TripRoom | None = None
        self.failure: RoomUnavailable | None = None  # why it could not be loaded, if `_open_room` said

    def finish(self, room: TripRoom | None) -> None:
        """Hand `room` to every waiter (None: it could not be loaded; the log says why)."""
        self._room = room
        self._done.set()

    async def wait(self) -> TripRoom:
        await self._done.wait()
        if self._room is None:
            raise self.failure or RoomUnavailable("the trip could not be loaded")
        return self._room


class TripServer(WebsocketServer):
    """pycrdt-websocket's server with rooms that are loaded once and unloaded when idle.

    Prevents (NOTES.md):
    - rooms never loaded from a store: a trip's room is filled from its update log before
      any peer is served;
    - peers opening a cold trip together hang: the library's `get_room`/`start_room` let
      each of them call `room.start`, and every call after the first waits forever on a
      lock the first holds for the room's whole life. Here the first arrival registers
      one shared `_Loading` before any await, one task loads and starts the room, and
      everyone else awaits that same load (`loads` counts them: one per trip);
    - one client that writes and leaves at once brings the server down: with
      `auto_clean_rooms=True` the room was deleted under a broadcast. Rooms are instead
      unloaded by our own cleaner once nobody held them for `idle_room_seconds`, after
      their store has written everything out; a new room for the same trip waits for
      that before reading the file.
    """

    def __init__(self, config: RelayConfig) -> None:
        super().__init__(
            rooms_ready=False,
            auto_clean_rooms=not config.uses_fix(Fix.CONNECTION),
            exception_handler=exception_logger,
            log=log,
        )
        self.config = config
        self.loads = 0
        self._stopping = False
        self._stop_code, self._stop_reason = CLOSE_GOING_AWAY, ""
        self._loading: dict[str, _Loading] = {}
        # The newest room of each trip until it is closed, so its successor waits for it.
        self._closing: dict[str, anyio.Event] = {}
        # Every room lifetime not finished yet (from its scheduling), for shutdown to wait on.
        self._lifetimes: set[anyio.Event] = set()

    async def __aenter__(self) -> TripServer:
        await super().__aenter__()
        assert self._task_group is not None
        self._task_group.start_soon(self._unload_idle_rooms)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        with anyio.CancelScope(shield=True):
            await self.unload_all(CLOSE_GOING_AWAY, "the relay is shutting down")
        return await super().__aexit__(exc_type, exc, tb)

    async def get_room(self, name: str) -> YRoom:
        trip_id = name.strip("/")
        if not self.config.uses_fix(Fix.ROOM_LOADING):
            return await super().get_room(trip_id)
        room = self.rooms.get(trip_id)
        if isinstance(room, TripRoom) and not room.unloading:
            return room
        loading = self._loading.get(trip_id)
        if loading is None:
            if self._task_group is None or self._stopping:
                raise RoomUnavailable("the relay is shutting down")
            loading = self._loading[trip_id] = _Loading()
            finished = anyio.Event()
            self._lifetimes.add(finished)
            self._task_group.start_soon(self._run_room, trip_id, loading, finished)
        return await loading.wait()

    async def serve(self, websocket: Channel) -> None:
        if not isinstance(websocket, PeerConnection):
            await super().serve(websocket)
            return
        try:
            room = await self.get_room(websocket.path)
        except RoomUnavailable as exc:
            websocket.close(exc.code, str(exc))
            return
        if not isinstance(room, TripRoom):  # the stock loading path (regression tests only)
            await self.start_room(room)
            await room.serve(websocket)
            return
        room.holders += 1
        try:
            await room.serve(websocket)
        finally:
            room.holders -= 1
            room.idle_since = time.monotonic()

    async def unload_all(self, code: int, reason: str) -> None:
        """Unload every room (its peers closed with `code`) and wait until all are stored.

        Rooms still loading unload as soon as they are loaded; no new room is loaded.
        """
        self._stopping = True
        self._stop_code, self._stop_reason = code, reason
        for room in list(self.rooms.values()):
            if isinstance(room, TripRoom):
                self._request_unload(room, code, reason)
        while self._lifetimes:
            await next(iter(self._lifetimes)).wait()

    def _request_unload(self, room: TripRoom, code: int, reason: str) -> None:
        if room.unloading:
            return
        room.unloading = True
        if self.rooms.get(room.trip_id) is room:
            del self.rooms[room.trip_id]
        room.close_connections(code, reason)
        room.unload_requested.set()

    async def _run_room(self, trip_id: str, loading: _Loading, finished: anyio.Event) -> None:
        """The whole life of one room, after the previous room of its trip has closed."""
        previous = self._closing.get(trip_id)
        if previous is not None:
            await previous.wait()
        closed = self._closing[trip_id] = anyio.Event()
        try:
            await self._load_and_serve(trip_id, loading)
        finally:
            if self._loading.get(trip_id) is loading:
                del self._loading[trip_id]
                loading.finish(None)
            if self._closing.get(trip_id) is closed:
                del self._closing[trip_id]
            closed.set()
            self._lifetimes.discard(finished)
            finished.set()

    async def _load_and_serve(self, trip_id: str, loading: _Loading) -> None:
        """Load the trip's room from its store, serve it until unloaded, then write it out."""
        room: TripRoom | None = None

        def on_store_failure(error: StoreError) -> None:
            if room is not None:
                self._request_unload(room, CLOSE_STORE_FAILED, "the relay could not store the trip's changes")

        try:
            async with (
                self._open_store(trip_id, on_store_failure) as store,
                self._open_room(trip_id, store) as room,
            ):
                async with anyio.create_task_group() as tg:
                    await tg.start(room.start)
                    await room.ydoc_observed.wait()
                    self.loads += 1
                    log.info(
                        "loaded trip %s from its store (%d bytes) [room load #%d]",
                        trip_id, store.document_bytes, self.loads,
                    )  # fmt: skip
                    room.idle_since = time.monotonic()
                    self.rooms[trip_id] = room
                    del self._loading[trip_id]
                    loading.finish(room)
                    if self._stopping:
                        self._request_unload(room, self._stop_code, self._stop_reason)
                    await room.unload_requested.wait()
                    await room.stop()
                room.detach_store()
            log.info("unloaded trip %s; everything it received is stored", trip_id)
        except StoreError as exc:
            log.error("could not load trip %s: %s", trip_id, exc)
        except RoomUnavailable as exc:  # `_open_room` refused the trip, and logged why
            loading.failure = exc
        except Exception:
            log.exception("the room of trip %s failed; its peers will reconnect to a fresh one", trip_id)
        finally:
            if room is not None:
                self._request_unload(room, CLOSE_STORE_FAILED, "the relay failed to serve this trip")

    def _open_store(
        self, trip_id: str, on_failure: Callable[[StoreError], None]
    ) -> AbstractAsyncContextManager[RoomStore]:
        """The room's store for its lifetime: the trip's update log in DATA/rooms (a subclass hook)."""
        path = self.config.rooms_dir / f"{trip_id}.sqlite"
        return open_room_store(path, trip_id, self.config.compact_after_rows, on_failure)

    @asynccontextmanager
    async def _open_room(self, trip_id: str, store: RoomStore) -> AsyncIterator[TripRoom]:
        """The trip's room, filled from `store`, for as long as it is served (a subclass hook;
        it may raise RoomUnavailable, having logged why, to refuse the trip's peers)."""
        room = TripRoom(trip_id, store, self.config)
        room.load(await store.load())
        yield room

    async def _unload_idle_rooms(self) -> None:
        period = max(0.1, min(self.config.idle_room_seconds / 2, 5.0))
        unloaded = False
        while True:
            await anyio.sleep(period)
            if unloaded:  # the rooms asked to unload last time are gone by now
                release_freed_memory()
                unloaded = False
            now = time.monotonic()
            for room in list(self.rooms.values()):
                idle = now - room.idle_since if isinstance(room, TripRoom) and room.holders == 0 else 0.0
                if isinstance(room, TripRoom) and idle >= self.config.idle_room_seconds:
                    log.info("unloading trip %s: nobody connected for %.0f s", room.trip_id, idle)
                    self._request_unload(room, CLOSE_GOING_AWAY, "idle")
                    unloaded = True

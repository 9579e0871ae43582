"""`StreamAppender`: a room's peers' updates, appended to the trip's stream by one task."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

import anyio
from redis.exceptions import RedisError

from wayfarer.sync.cluster.redis_log import StreamId, TripStreams

# Updates waiting for Redis, per room, before the room's peers are read no further.
MAX_UNSENT_BYTES: Final = 8 * 1024 * 1024

log = logging.getLogger("wayfarer.relay")


class AppendFailed(Exception):
    """Redis did not take an update: nothing after it may be acknowledged."""


class StreamAppender:
    """Appends every update a room's peers send to the trip's stream, in arrival order.

    Prevents an update being counted as kept while it is only in this relay's memory:
    each update gets a sequence number when it arrives (`submit`), and `wait_appended`
    returns only once Redis has it (and the id it got), so an ACK can wait for exactly
    that. A failed XADD sets `failure`, calls `on_failure` (the server closes the room's
    peers, who keep their changes and send them again after reconnecting) and is never
    acknowledged.

    One task sends everything that arrived during the previous round trip as one
    pipeline: a burst of tokens costs a few round trips, order is kept, and peers that
    write faster than Redis takes are slowed (`wait_for_capacity`), not buffered.
    """

    def __init__(self, streams: TripStreams, trip_id: str, on_failure: Callable[[Exception], None]) -> None:
        self._streams = streams
        self.trip_id = trip_id
        self._on_failure = on_failure
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._wakeup = anyio.Event()
        self._progress = anyio.Event()
        self.submitted_seq = 0
        self.appended_seq = 0
        self.last_id: StreamId = (0, 0)
        self.failure: Exception | None = None

    def submit(self, update: bytes) -> None:
        """Queue `update` for the stream; it is not applied anywhere until the stream has it."""
        if self.failure is not None:
            return
        self._pending.append(update)
        self._pending_bytes += len(update)
        self.submitted_seq += 1
        self._wakeup.set()

    async def wait_appended(self, seq: int) -> StreamId:
        """Once update `seq` and every one before it are in the stream: the newest id added."""
        while self.appended_seq < seq:
            if self.failure is not None:
                raise AppendFailed(str(self.failure))
            await self._progress.wait()
        return self.last_id

    async def wait_for_capacity(self) -> None:
        while self._pending_bytes >= MAX_UNSENT_BYTES and self.failure is None:
            await self._progress.wait()

    async def append_forever(self) -> None:
        while self.failure is None:
            if not self._pending:
                await self._wakeup.wait()
                self._wakeup = anyio.Event()
                continue
            batch, self._pending, self._pending_bytes = self._pending, [], 0
            try:
                self.last_id = await self._streams.append(self.trip_id, batch)
            except RedisError as exc:
                self.failure = exc
                log.error("could not append an update of trip %s to Redis: %s", self.trip_id, exc)
                self._on_failure(exc)
            else:
                self.appended_seq += len(batch)
            self._progress.set()
            self._progress = anyio.Event()

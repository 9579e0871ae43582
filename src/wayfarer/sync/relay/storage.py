"""`RoomStore`: a trip's update log on the relay, written by one task, that knows what is on disk."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from pycrdt import TransactionEvent, merge_updates

from wayfarer.sync.updatelog import StoreError, UpdateLog

# Updates waiting for the disk, per room, before the room's peers are read no further.
MAX_UNWRITTEN_BYTES = 8 * 1024 * 1024

log = logging.getLogger("wayfarer.relay")


class StoreFailed(Exception):
    """The room's store could not keep an update: nothing after it may be acknowledged."""


class RoomStore:
    """Every update of one room, appended to its `UpdateLog` by a single writer task.

    Prevents pycrdt-store's silent losses (NOTES.md): `YRoom` writes with a fire-and-forget
    `start_soon(ystore.write, update)` whose failures are logged and swallowed, so a change
    can be lost after peers were told it was kept. Here each update gets a sequence number
    when the document produces it; `durable_seq` only moves once `append_many` returned
    (fsynced); `wait_durable(seq)` lets an ACK wait for exactly that; a failed write sets
    `failure`, calls `on_failure` and is never acknowledged.

    Why one writer task rather than `to_thread` per update: the log takes one call at a
    time, and an fsync costs milliseconds. The writer hands the thread everything that
    arrived during the previous fsync as one `append_many` (one transaction), so a burst
    of thousands of tokens costs a handful of fsyncs, order is kept, and the event loop
    never waits on the disk. Peers that write faster than the disk are slowed instead of
    buffered: `wait_for_capacity` holds their next read while more than
    MAX_UNWRITTEN_BYTES wait to be written (TCP then pushes back on them).
    """

    def __init__(
        self,
        update_log: UpdateLog,
        trip_id: str,
        compact_after_rows: int,
        on_failure: Callable[[StoreError], None],
    ) -> None:
        self._log = update_log
        self.trip_id = trip_id
        self._compact_after_rows = compact_after_rows
        self._on_failure = on_failure
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._rows = 0
        self._wakeup = anyio.Event()
        self._progress = anyio.Event()
        self._closed = False
        self.enqueued_seq = 0
        self.durable_seq = 0
        # Bytes of every update kept or queued since the last compaction: a cheap upper
        # estimate of the document's size (exact right after loading or compacting).
        self.document_bytes = 0
        self.failure: StoreError | None = None

    async def load(self) -> bytes | None:
        """The whole stored document as one update (None for a new trip)."""

        def read() -> tuple[bytes | None, int, int]:
            updates = self._log.read()
            merged = merge_updates(*updates) if len(updates) > 1 else (updates[0] if updates else None)
            return merged, len(updates), self._log.byte_size()

        merged, self._rows, self.document_bytes = await anyio.to_thread.run_sync(read)
        return merged

    def record(self, event: TransactionEvent) -> None:
        """Document observer: queue the transaction's update for the writer."""
        if self._closed or self.failure is not None:
            return
        self._pending.append(event.update)
        self._pending_bytes += len(event.update)
        self.enqueued_seq += 1
        self.document_bytes += len(event.update)
        self._wakeup.set()

    async def wait_durable(self, seq: int) -> None:
        """Return once update `seq` and all before it are on disk; StoreFailed if never."""
        while self.durable_seq < seq:
            if self.failure is not None:
                raise StoreFailed(str(self.failure))
            if self._closed:
                raise StoreFailed(f"the store of trip {self.trip_id} was closed")
            await self._progress.wait()

    async def wait_for_capacity(self) -> None:
        """Return once the unwritten backlog is under MAX_UNWRITTEN_BYTES (or writing stopped)."""
        while self._pending_bytes >= MAX_UNWRITTEN_BYTES and self.failure is None and not self._closed:
            await self._progress.wait()

    async def write_forever(self) -> None:
        """The writer task: append what is pending, compact when the log grows."""
        while self.failure is None:
            if not self._pending:
                await self._wakeup.wait()
                self._wakeup = anyio.Event()
                continue
            await self.flush()
            if self._rows >= self._compact_after_rows and self.failure is None:
                await self._compact()

    async def flush(self) -> None:
        """Append everything pending in one transaction (not cancellable mid-write)."""
        if not self._pending or self.failure is not None:
            return
        batch, self._pending, self._pending_bytes = self._pending, [], 0
        try:
            await anyio.to_thread.run_sync(self._log.append_many, batch)
        except StoreError as exc:
            self._fail(exc)
            return
        self.durable_seq += len(batch)
        self._rows += len(batch)
        self._notify_progress()

    async def _compact(self) -> None:
        def compact() -> int:
            self._log.compact()
            return self._log.byte_size()

        rows = self._rows
        try:
            compacted = await anyio.to_thread.run_sync(compact)
        except StoreError as exc:
            self._fail(exc)
            return
        self._rows = 1
        self.document_bytes = compacted + sum(len(update) for update in self._pending)
        log.info("compacted trip %s: %d rows merged into one of %d bytes", self.trip_id, rows, compacted)

    def _fail(self, exc: StoreError) -> None:
        self.failure = exc
        self._pending.clear()
        self._pending_bytes = 0
        log.error("could not store an update of trip %s: %s", self.trip_id, exc)
        self._notify_progress()
        self._on_failure(exc)

    def _notify_progress(self) -> None:
        self._progress.set()
        self._progress = anyio.Event()

    def mark_closed(self) -> None:
        self._closed = True
        self._notify_progress()


@asynccontextmanager
async def open_room_store(
    path: Path, trip_id: str, compact_after_rows: int, on_failure: Callable[[StoreError], None]
) -> AsyncIterator[RoomStore]:
    """A `RoomStore` on `path` whose writer runs inside this block; on exit (even when
    cancelled) everything still pending is written before the file is closed."""
    update_log = await anyio.to_thread.run_sync(UpdateLog, path)
    store = RoomStore(update_log, trip_id, compact_after_rows, on_failure)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(store.write_forever)
            try:
                yield store
            finally:
                tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await store.flush()
            store.mark_closed()
            await anyio.to_thread.run_sync(update_log.close)

"""`RoomStore`: a trip's update log on the relay, written by one task, that knows what is on disk."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from pycrdt import merge_updates

from wayfarer.sync.updatelog import StoreError, UpdateLog

# Updates waiting for the disk, per room, before the room's peers are read no further.
MAX_UNWRITTEN_BYTES = 8 * 1024 * 1024
# While no peer waits for an ACK, one commit (one fsync) per room at most this often.
COMMIT_INTERVAL = 0.025

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

    While nobody waits for durability, commits are at most COMMIT_INTERVAL apart, so a
    stream of 100 tokens a second costs a fraction of the fsyncs and thread hand-offs
    (measured on 2 busy cores: 14-22% of the relay's CPU, 4-12% of the median latency
    to its readers); a peer's ACK_QUERY (`wait_durable`) has what is pending committed
    at once. What waits is acknowledged to nobody, and every peer keeps and resends what
    the relay has not acknowledged, so a crash meanwhile loses nothing.
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
        # Rows up to this one came from the file, not from the room's document: compacting
        # to the document checks them (see `_compact`).
        self._foreign_through = 0
        self._wakeup = anyio.Event()
        self._hurry = anyio.Event()  # set when a peer starts waiting for durability
        self._awaited = 0  # how many wait for it now
        self._progress = anyio.Event()
        self._closed = False
        self.enqueued_seq = 0
        self.durable_seq = 0
        # Bytes of every update kept or queued since the last compaction: a cheap upper
        # estimate of the document's size (exact right after loading or compacting).
        self.document_bytes = 0
        self.failure: StoreError | None = None
        # The room's document, encoded whole (`Doc.get_update`): what compaction stores in
        # place of the rows when it holds them all. None: rows are merged as bytes.
        self.encode_document: Callable[[], bytes] | None = None

    async def load(self) -> bytes | None:
        """The whole stored document as one update (None for a new trip)."""

        def read() -> tuple[bytes | None, int, int, int]:
            updates = self._log.read()
            merged = merge_updates(*updates) if len(updates) > 1 else (updates[0] if updates else None)
            return merged, len(updates), self._log.last_seq(), self._log.byte_size()

        merged, self._rows, self._foreign_through, self.document_bytes = await anyio.to_thread.run_sync(read)
        return merged

    def record(self, update: bytes) -> None:
        """Queue one update of the room's document for the writer (called by its observer)."""
        if self._closed or self.failure is not None:
            return
        self._pending.append(update)
        self._pending_bytes += len(update)
        self.enqueued_seq += 1
        self.document_bytes += len(update)
        self._wakeup.set()

    async def wait_durable(self, seq: int) -> None:
        """Return once update `seq` and all before it are on disk; StoreFailed if never."""
        self._awaited += 1
        self._hurry.set()
        try:
            while self.durable_seq < seq:
                if self.failure is not None:
                    raise StoreFailed(str(self.failure))
                if self._closed:
                    raise StoreFailed(f"the store of trip {self.trip_id} was closed")
                await self._progress.wait()
        finally:
            self._awaited -= 1

    async def wait_for_capacity(self) -> None:
        """Return once the unwritten backlog is under MAX_UNWRITTEN_BYTES (or writing stopped)."""
        while self._pending_bytes >= MAX_UNWRITTEN_BYTES and self.failure is None and not self._closed:
            await self._progress.wait()

    async def write_forever(self) -> None:
        """The writer task: append what is pending, compact when the log grows."""
        last_commit = -COMMIT_INTERVAL
        while self.failure is None:
            if not self._pending:
                await self._wakeup.wait()
                self._wakeup = anyio.Event()
                continue
            delay = last_commit + COMMIT_INTERVAL - anyio.current_time()
            if delay > 0 and not self._awaited and self._pending_bytes < MAX_UNWRITTEN_BYTES:
                with anyio.move_on_after(delay):  # let what arrives meanwhile join this commit
                    await self._hurry.wait()
            self._hurry = anyio.Event()
            last_commit = anyio.current_time()
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

    async def write_out(self) -> None:
        """Write everything pending, then leave the log as the document's encoding in one
        row (when there is a document to encode): the next load reads just that."""
        await self.flush()
        if self.failure is None and self._rows > 1 and self.encode_document is not None:
            await self._compact()

    async def _compact(self) -> None:
        """Swap the log's rows for one: the document's own encoding when it holds all of
        them (`UpdateLog.compact_to`), else the rows merged as bytes.

        Only the rows read from the file at load are checked against the document: every
        later row is an update the document itself produced. Once the log is the
        document's encoding, nothing is left to check.
        """
        # Encoded here, on the event loop: a pycrdt document is not to be read from another
        # thread while the room applies updates to it.
        document = self.encode_document() if self.encode_document is not None else None

        def compact() -> tuple[bool, int, int]:
            last = self._log.last_seq()
            if document is not None and self._log.compact_to(document, check_through=self._foreign_through):
                return True, last, self._log.byte_size()
            self._log.compact()
            return False, last, self._log.byte_size()

        rows = self._rows
        try:
            encoded, last, compacted = await anyio.to_thread.run_sync(compact)
        except StoreError as exc:
            self._fail(exc)
            return
        how = "the document's encoding" if encoded else "their merge"
        self._foreign_through = 0 if encoded else last  # a merge keeps whatever the file held
        self._rows = 1
        self.document_bytes = compacted + sum(len(update) for update in self._pending)
        log.info("compacted trip %s: %d rows replaced by %s (%d bytes)", self.trip_id, rows, how, compacted)

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
    cancelled) everything still pending is written out before the file is closed."""
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
            try:
                await store.write_out()
            finally:
                store.mark_closed()
                await anyio.to_thread.run_sync(update_log.close)

"""`SqliteTripStore`: a cluster's durable store as one Wayfarer update log per trip.

The files are the single-process relay's own (`FOLDER/<trip>.sqlite`, `UpdateLog`), so a
relay moved into a cluster on the same machine keeps its trips, and every guarantee of
the update log holds: fsynced commits, checksummed rows, atomic compaction. SQLite files
are shared safely between processes on one machine (WAL), not between machines: that is
what `store_postgres` is for.

Compacting is three steps, each its own transaction: append the new stream entries as
one row, record the stream position, replace every row up to the new one with one
(atomic): the own encoding of a document built from the stored rows and the entries
when it holds every one of them (`UpdateLog.compact_to`, `document_encoding`: a reply
streamed a token per entry then loads as a few items, not one per token), else the rows
merged as bytes (`UpdateLog.compact`, which keeps updates still missing a dependency).
A process killed between them leaves an extra row, or a position older than the rows
hold; the next compaction merges the same entries again, which changes nothing (a Yjs
update applied twice is applied once). Never the reverse:
the position is recorded only after the entries are on disk, and a worker trims the
stream only up to what its own compaction stored. Compactions of one trip take turns on
a lock file beside it (`flock`, released by the kernel when a process dies), so that a
slower one cannot record an older position over a newer one. The lock is never taken on
the database file itself: closing any descriptor of it would drop the POSIX locks SQLite
holds on it in that process.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import anyio
from pycrdt import merge_updates

from wayfarer.sync.cluster.redis_log import StreamId, format_stream_id, parse_stream_id
from wayfarer.sync.cluster.store import StoredTrip, TripStoreError
from wayfarer.sync.updatelog import StoreError, UpdateLog, document_encoding

# The update log's `info` key holding the newest stream entry id merged into the rows.
POSITION_KEY: Final = "cluster_stream_upto"
IDENTITY_FILE: Final = "cluster-store.id"


class SqliteTripStore:
    """Trips as update log files in one folder (see the module docstring)."""

    def __init__(self, folder: Path, identity: str) -> None:
        self.folder = folder
        self._identity = identity

    @classmethod
    async def open(cls, folder: Path) -> SqliteTripStore:
        """The store in `folder` (created if missing), with its identity."""
        try:
            identity = await anyio.to_thread.run_sync(_read_or_create_identity, folder)
        except OSError as exc:
            raise TripStoreError(f"cannot use the store folder {folder}: {exc.strerror or exc}") from exc
        return cls(folder, identity)

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def description(self) -> str:
        return f"sqlite:{self.folder}"

    def path(self, trip_id: str) -> Path:
        return self.folder / f"{trip_id}.sqlite"

    async def load(self, trip_id: str) -> StoredTrip:
        return await anyio.to_thread.run_sync(self._load, trip_id)

    async def compact(self, trip_id: str, updates: Sequence[bytes], stream_upto: StreamId) -> StreamId:
        return await anyio.to_thread.run_sync(self._compact, trip_id, list(updates), stream_upto)

    def _load(self, trip_id: str) -> StoredTrip:
        path = self.path(trip_id)
        if not path.exists():
            return StoredTrip(None, (0, 0), 0)
        with self._open(path) as log:
            try:
                rows = log.read()
                position = _position(log)
            except StoreError as exc:
                raise TripStoreError(str(exc)) from exc
        merged = merge_updates(*rows) if len(rows) > 1 else (rows[0] if rows else None)
        return StoredTrip(merged, position, len(rows))

    def _compact(self, trip_id: str, updates: list[bytes], stream_upto: StreamId) -> StreamId:
        with _locked(self.folder / f".{trip_id}.compacting"), self._open(self.path(trip_id)) as log:
            try:
                stored = _position(log)
                if updates:
                    newest = log.append_many([merge_updates(*updates)])
                    # The entries themselves, not their merged row: a document applies
                    # those fast, and a row merged from many tokens slowly.
                    sources = [*log.read(newest - 1), *updates]
                else:
                    newest = log.last_seq()
                    sources = log.read(newest)
                if stream_upto > stored:
                    log.set_info(POSITION_KEY, format_stream_id(stream_upto))
                document = document_encoding(sources) if updates or len(sources) > 1 else None
                # compact_to checks again, in its transaction, that the document holds
                # every row it replaces; if it does not, the rows are merged as bytes.
                if document is None or not log.compact_to(document, upto_seq=newest):
                    log.compact(upto_seq=newest)
            except StoreError as exc:
                raise TripStoreError(str(exc)) from exc
        return max(stored, stream_upto)

    @staticmethod
    def _open(path: Path) -> UpdateLog:
        try:
            return UpdateLog(path)
        except StoreError as exc:
            raise TripStoreError(str(exc)) from exc


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise TripStoreError(f"{path}: cannot take the trip's compaction lock ({exc.strerror or exc})") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _position(log: UpdateLog) -> StreamId:
    value = log.get_info(POSITION_KEY)
    return parse_stream_id(value) if value else (0, 0)


def _read_or_create_identity(folder: Path) -> str:
    """The folder's identity file, made atomically by whichever process comes first."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / IDENTITY_FILE
    if not path.exists():
        temporary = folder / f".{IDENTITY_FILE}.{os.getpid()}.{uuid.uuid4().hex}"
        temporary.write_text(uuid.uuid4().hex + "\n")
        try:
            os.link(temporary, path)  # refuses to replace: the first process's identity wins
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    return path.read_text().strip()

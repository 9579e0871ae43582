"""`UpdateLog`: an append-only log of Yjs update bytes in one SQLite file of our own.

Why not pycrdt-store (see NOTES.md, "pycrdt-store 0.1.5"): its squash options store an
empty document and lose everything written after; with compression callbacks it cannot
load what it wrote; its write errors are logged and swallowed, so a failed write looks
like a saved one; and its FileYStore tears records on a crash and then cannot read
anything after the torn one. A trip is the user's only copy of their plan, so we keep
the store small enough to reason about completely:

- WAL journal + `synchronous=FULL`: when `append` returns, the update's commit has been
  fsynced, so a crash (kill -9, power loss) loses nothing that was reported saved.
- One row per update with a CRC32 of its bytes: a damaged row is named when read,
  instead of being skipped or turning into a quietly shorter trip.
- Compaction swaps rows for one update in ONE SQLite transaction: a crash during
  compaction leaves either all the old rows or the new one, never neither. The new row is
  the rows merged as bytes (`compact`) or a document's own encoding once it is checked to
  hold everything the rows hold (`compact_to`).
- Every failure raises `StoreError` naming the file; a truncated, garbage or foreign file
  raises `StoreCorrupted` and is never taken for an empty trip.
- A new file is built under a temporary name and renamed into place, so an existing file
  that is empty or has no log in it is damage, not a trip that was being created.

One `UpdateLog` may be used from any thread, one call at a time (an internal lock
serialises calls), so async code can hand calls to `anyio.to_thread.run_sync`.
"""

from __future__ import annotations

import bisect
import os
import sqlite3
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

from pycrdt import Decoder, Doc, get_state, get_update, merge_updates

# "WAYF" as a big-endian int: marks a SQLite file as a Wayfarer update log.
APPLICATION_ID = 0x57415946
FORMAT_VERSION = 1
DEFAULT_BUSY_TIMEOUT = 10.0
RESTORE_HINT = "restore the file from a backup, or rejoin the trip from its relay link"

_SCHEMA = f"""
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {FORMAT_VERSION};
CREATE TABLE updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    data BLOB NOT NULL,
    crc INTEGER NOT NULL
);
CREATE TABLE info (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class StoreError(Exception):
    """Reading or writing a trip's file on disk failed; the message names the file."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class StoreCorrupted(StoreError):
    """The file is damaged (truncated, overwritten, not a Wayfarer log): it was not
    read as a trip, so nothing was silently dropped."""


def _checksum(data: bytes) -> int:
    return zlib.crc32(data)


class UpdateLog:
    """The Yjs updates of one document, in the order they were appended.

    `create=False` refuses to make a new file (opening a trip that should exist).
    `busy_timeout` is how long a write waits for another process holding the file.
    """

    def __init__(self, path: Path, *, create: bool = True, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        if not self.path.exists():
            if not create:
                raise StoreError(self.path, "no such trip file")
            self._create_file()
        self._db = self._connect(busy_timeout)

    # ------------------------------------------------------------------ lifetime

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ updates

    def append(self, update: bytes) -> int:
        """Store one update; returns its row number once it is durably on disk."""
        return self.append_many([update])

    def append_many(self, updates: list[bytes]) -> int:
        """Store several updates in one transaction; returns the last row number."""
        if not updates:
            raise ValueError("append_many needs at least one update")
        rows = [(_blob(u), _checksum(u)) for u in updates]
        with self._transaction("append an update") as db:
            for row in rows:
                cursor = db.execute("INSERT INTO updates (data, crc) VALUES (?, ?)", row)
            seq = cursor.lastrowid
        assert seq is not None
        return seq

    def read(self, upto_seq: int | None = None) -> list[bytes]:
        """Every stored update (up to row `upto_seq`, default: all) in append order;
        raises `StoreCorrupted` on a bad row."""
        with self._lock:
            return [data for _, data in self._read_rows_in(self._db, upto_seq)]

    def row_count(self) -> int:
        return int(self._scalar("count the updates", "SELECT COUNT(*) FROM updates"))

    def last_seq(self) -> int:
        """Row number of the newest update (0 for an empty log)."""
        return int(self._scalar("read the newest update", "SELECT COALESCE(MAX(seq), 0) FROM updates"))

    def byte_size(self) -> int:
        """Total size of the stored updates, in bytes (what a document costs to load)."""
        return int(self._scalar("measure the updates", "SELECT COALESCE(SUM(LENGTH(data)), 0) FROM updates"))

    def compact(self, upto_seq: int | None = None, *, after_seq: int = 0) -> None:
        """Merge the rows after `after_seq` up to `upto_seq` (default: all) into one
        update, atomically.

        The merged row takes the highest merged row number, so it still sorts before
        every row appended after it (from this process or another). Rows are merged as
        bytes (`pycrdt.merge_updates`), not by loading them into a document: a document
        drops updates whose dependencies it has not seen yet when it is encoded again,
        and such a gap is exactly what a log may hold after a failed write.
        """
        with self._transaction("compact the updates") as db:
            rows = self._read_rows_in(db, upto_seq, after_seq)
            if len(rows) < 2:
                return
            first, last = rows[0][0], rows[-1][0]
            merged = merge_updates(*(data for _, data in rows))
            db.execute("DELETE FROM updates WHERE seq BETWEEN ? AND ?", (first, last))
            db.execute("INSERT INTO updates (seq, data, crc) VALUES (?, ?, ?)", (last, merged, _checksum(merged)))

    def compact_to(self, document: bytes, upto_seq: int | None = None, *, check_through: int | None = None) -> bool:
        """Replace every row up to `upto_seq` (default: all) with `document`, the whole
        state of a document that has applied them (`Doc.get_update()`), atomically; False,
        and nothing changed, unless `document` holds everything those rows hold.

        `check_through`: only the rows up to this row number are checked; the caller knows
        the later ones are held (it wrote them from that document's own updates). Checking
        costs a few decodings of `document`, ~45 ms each for a trip of 6 MB.

        Why not always `compact`: merged bytes keep every insert as its own item, so a
        reply streamed a token per transaction stays one item per token, and yrs takes
        time quadratic in them to load it (10,000 tokens: 755 ms); a document encodes
        that reply as a few items (0.4 ms). Why the check: a document leaves out what it
        holds pending (updates whose dependencies it has not seen, a deletion of items
        it lacks) when it is encoded, so each row's inserts must lie within the
        document's state vector and its deletions within the document's delete set.
        """
        with self._transaction("compact the updates") as db:
            rows = self._read_rows_in(db, upto_seq)
            if not rows:
                return True
            unchecked = [data for seq, data in rows if check_through is None or seq <= check_through]
            if unchecked and not _holds_all(document, unchecked):
                return False
            first, last = rows[0][0], rows[-1][0]
            db.execute("DELETE FROM updates WHERE seq BETWEEN ? AND ?", (first, last))
            db.execute("INSERT INTO updates (seq, data, crc) VALUES (?, ?, ?)", (last, document, _checksum(document)))
        return True

    # ------------------------------------------------------------------ info

    def set_info(self, key: str, value: str) -> None:
        """Keep a small fact about the document (title, relay link...) beside it."""
        with self._transaction(f"save {key!r}") as db:
            db.execute("INSERT OR REPLACE INTO info (key, value) VALUES (?, ?)", (key, value))

    def delete_info(self, key: str) -> None:
        with self._transaction(f"forget {key!r}") as db:
            db.execute("DELETE FROM info WHERE key = ?", (key,))

    def get_info(self, key: str) -> str | None:
        value = self._scalar(f"read {key!r}", "SELECT value FROM info WHERE key = ?", (key,))
        return None if value is None else str(value)

    # ------------------------------------------------------------------ internals

    def _create_file(self) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.new")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(temporary, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = FULL")
                db.executescript(f"BEGIN; {_SCHEMA} COMMIT;")
            finally:
                db.close()
            _fsync(temporary)
            # link() refuses to replace: if another process created the file meanwhile,
            # keep theirs (it may already hold updates) and open it.
            try:
                os.link(temporary, self.path)
            except FileExistsError:
                pass
            _fsync(self.path.parent)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(self.path, f"could not create the trip file ({exc})") from exc
        finally:
            temporary.unlink(missing_ok=True)

    def _connect(self, busy_timeout: float) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(self.path, f"could not open the trip file ({exc})") from exc
        try:
            # Checked before anything is written, so a damaged file is left as it was.
            self._check_format(db)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            db.close()
            raise self._error("open the file", exc) from exc
        except BaseException:
            db.close()
            raise
        return db

    def _check_format(self, db: sqlite3.Connection) -> None:
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if app_id != APPLICATION_ID:
            raise StoreCorrupted(
                self.path,
                f"this is not a Wayfarer trip file (it is empty or holds something else); {RESTORE_HINT}",
            )
        if version > FORMAT_VERSION:
            raise StoreError(
                self.path, f"this file uses store format {version}; this Wayfarer reads up to "
                f"{FORMAT_VERSION}: update Wayfarer to open it"
            )  # fmt: skip

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(action, exc) from exc
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.Error):
                    raise self._error(action, exc) from exc
                raise

    def _rollback(self) -> None:
        """Undo a failed transaction; SQLite may already have rolled it back itself."""
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the error that made us roll back is the one worth reporting

    def _scalar(self, action: str, sql: str, params: tuple[object, ...] = ()) -> object:
        with self._lock:
            try:
                row = self._db.execute(sql, params).fetchone()
            except sqlite3.Error as exc:
                raise self._error(action, exc) from exc
        return None if row is None else row[0]

    def _read_rows_in(
        self, db: sqlite3.Connection, upto_seq: int | None, after_seq: int = 0
    ) -> list[tuple[int, bytes]]:
        sql = "SELECT seq, data, crc FROM updates WHERE seq > ?"
        params: tuple[int, ...] = (after_seq,)
        if upto_seq is not None:
            sql, params = sql + " AND seq <= ?", (after_seq, upto_seq)
        try:
            rows = db.execute(sql + " ORDER BY seq", params).fetchall()
        except sqlite3.Error as exc:
            raise self._error("read the updates", exc) from exc
        for seq, data, crc in rows:
            if not isinstance(data, bytes) or _checksum(data) != crc:
                raise StoreCorrupted(
                    self.path, f"update row {seq} is damaged (its checksum does not match), so "
                    f"the trip was not loaded rather than loaded without it; {RESTORE_HINT}"
                )  # fmt: skip
        return [(seq, data) for seq, data, _ in rows]

    def _error(self, action: str, exc: sqlite3.Error) -> StoreError:
        """A readable error for a failed SQLite call: damage is StoreCorrupted."""
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None  # extended codes share the low byte
        if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "malformed" in str(exc):
            return StoreCorrupted(self.path, f"could not {action}: the file is damaged ({exc}); {RESTORE_HINT}")
        return StoreError(self.path, f"could not {action} ({exc}){_HINTS.get(primary, '')}")


_HINTS = {
    sqlite3.SQLITE_BUSY: ": another program is holding the file; close it and try again",
    sqlite3.SQLITE_LOCKED: ": another program is holding the file; close it and try again",
    sqlite3.SQLITE_FULL: ": the disk is full; free some space and try again",
    sqlite3.SQLITE_READONLY: ": check that the file and its folder are writable",
    sqlite3.SQLITE_PERM: ": check that the file and its folder are writable",
    sqlite3.SQLITE_CANTOPEN: ": check that the file and its folder are writable",
}


def document_encoding(updates: Sequence[bytes]) -> bytes | None:
    """The own encoding (`Doc.get_update()`) of a document that applied `updates`, if it
    holds every insert and deletion of every one of them; None if it does not (an update
    whose dependencies are not among `updates` stays pending, and an encoding leaves it
    out) or if pycrdt cannot read them.

    Why: merged bytes keep one item per insert, and yrs loads a reply streamed a token
    per transaction in time quadratic in its tokens; a document encodes it as few items.
    """
    doc: Doc = Doc()
    try:
        for update in updates:
            doc.apply_update(update)
    except ValueError:
        return None
    document = doc.get_update()
    return document if _holds_all(document, list(updates)) else None


def merge_compactly(updates: Sequence[bytes]) -> bytes:
    """`updates` as one update: a document's own encoding when it provably holds them all
    (`document_encoding`), else merged as bytes (`merge_updates`), which keeps everything,
    pending updates included."""
    document = document_encoding(updates)
    return document if document is not None else merge_updates(*updates)


def _holds_all(document: bytes, updates: list[bytes]) -> bool:
    """Whether `document` (a document's own encoding) holds every insert and deletion of `updates`."""
    try:
        state = get_state(document)
        deleted = _merged_ranges(_deletions(get_update(document, state)))
        for update in updates:
            # What the update has beyond the document's state vector: no inserts, and
            # deletions that the document's delete set already covers.
            beyond = get_update(update, state)
            if Decoder(beyond).read_var_uint() != 0:  # clients with inserts left over
                return False
            for client, start, length in _deletions(beyond):
                if not _within(deleted.get(client, []), start, start + length):
                    return False
    except (ValueError, IndexError):  # bytes pycrdt cannot read: not provably held
        return False
    return True


def _deletions(update: bytes) -> list[tuple[int, int, int]]:
    """(client, clock, length) of each range in the delete set of a v1 update with no inserts."""
    decoder = Decoder(update)
    if decoder.read_var_uint() != 0:
        raise ValueError("the update has inserts")
    ranges = []
    for _ in range(decoder.read_var_uint()):
        client = decoder.read_var_uint()
        for _ in range(decoder.read_var_uint()):
            clock = decoder.read_var_uint()
            ranges.append((client, clock, decoder.read_var_uint()))
    return ranges


def _merged_ranges(ranges: list[tuple[int, int, int]]) -> dict[int, list[tuple[int, int]]]:
    """Per client, the [start, end) clock ranges, sorted and with touching ones joined."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for client, start, length in sorted(ranges):
        joined = spans.setdefault(client, [])
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], start + length))
        else:
            joined.append((start, start + length))
    return spans


def _within(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    at = bisect.bisect_right(spans, (start, float("inf"))) - 1
    return at >= 0 and spans[at][0] <= start and end <= spans[at][1]


def _blob(update: bytes) -> bytes:
    if not isinstance(update, (bytes, bytearray, memoryview)):
        raise TypeError(f"an update is bytes, got {type(update).__name__}")
    return bytes(update)


def _fsync(path: Path) -> None:
    """Make a new file (or a rename in a folder) survive a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

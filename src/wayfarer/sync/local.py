"""`LocalTrip`: a trip's document bound to its update log on this disk.

Every update of the document, whether written here or applied from another peer by a
sync connection, is appended from the document's own update observer, that is, inside
the transaction's commit: when a write returns, it is on disk. If the disk refuses,
the write raises (pycrdt wraps observer errors in an `ExceptionGroup`; catch it with
`except* StoreError`), the error is kept in `error`, and every later write and `check()`
raise it again until `repair()` has saved the whole document: a change that was not
saved is never reported as saved.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from typing import Self

from pycrdt import Doc, TransactionEvent

from wayfarer.trip import Trip, TripChange
from wayfarer.trip import Subscription as TripSubscription

from .updatelog import RESTORE_HINT, StoreCorrupted, StoreError, UpdateLog

logger = logging.getLogger(__name__)

# Facts kept beside the updates so a list of trips never has to load documents.
INFO_TITLE = "title"
INFO_LINK = "link"

# A trip that streams an agent's reply writes one row per token. While the trip is open,
# every COMPACT_EVERY new rows are merged into one (cheap: the big rows before them are
# left alone, so a write never waits for the whole trip to be merged); at open, a log of
# more than COMPACT_AT_OPEN rows is merged whole, so a long trip opens from one row.
COMPACT_AT_OPEN = 500
COMPACT_EVERY = 1000


class LocalTrip:
    """One trip, open: `trip` to read and write it, saved to `path` as it changes."""

    def __init__(self, store: UpdateLog, doc: Doc, *, compact_every: int = COMPACT_EVERY) -> None:
        """Bind an already loaded `doc` to `store`; use `LocalTrip.open` instead."""
        self.store = store
        self.doc = doc
        self.trip = Trip(doc)
        self.error: StoreError | None = None
        self._compact_every = compact_every
        self._since_compaction = 0
        self._merged_through = store.last_seq()
        self._closed = False
        # Never unsubscribed: after `close` a late change must raise, not go unsaved quietly.
        doc.observe(self._save_update)
        self._trip_subscription: TripSubscription = self.trip.subscribe(self._on_change)
        self._remember_title()

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = False,
        compact_at_open: int = COMPACT_AT_OPEN,
        compact_every: int = COMPACT_EVERY,
    ) -> LocalTrip:
        """Load the trip stored at `path` (an empty document if `create` made the file).

        Raises `StoreError` if the file cannot be read, `StoreCorrupted` if it is damaged.
        """
        updates = UpdateLog(path, create=create)
        try:
            stored = updates.read()
            doc = _load(updates.path, stored)
            if len(stored) > compact_at_open:
                updates.compact()
            return cls(updates, doc, compact_every=compact_every)
        except BaseException:
            updates.close()
            raise

    # ------------------------------------------------------------------ lifetime

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop saving and close the file. A later change to `doc` raises: it would be lost."""
        if self._closed:
            return
        self._closed = True
        self._trip_subscription.close()
        self.store.close()

    @property
    def path(self) -> Path:
        return self.store.path

    # ------------------------------------------------------------------ health

    def check(self) -> None:
        """Raise the save error, if a change could not be written to disk."""
        if self.error is not None:
            raise self.error

    def repair(self) -> None:
        """Save the whole document as one row, so that whatever a failed write missed is
        on disk again; clears `error` when it succeeds. Call it outside a transaction."""
        self._ensure_open()
        self.store.append(self.doc.get_update())
        self.error = None

    # ------------------------------------------------------------------ relay link

    @property
    def link(self) -> str | None:
        """The relay link this trip syncs with, if it has one."""
        return self.store.get_info(INFO_LINK)

    def set_link(self, link: str | None) -> None:
        remember_link(self.store, link)

    # ------------------------------------------------------------------ internals

    def _ensure_open(self) -> None:
        if self._closed:
            raise StoreError(self.path, "this trip was closed, so this change was not saved to disk")

    def _save_update(self, event: TransactionEvent) -> None:
        self._ensure_open()
        try:
            seq = self.store.append(event.update)
        except StoreError as exc:
            logger.error("a change to the trip could not be saved: %s", exc)
            if self.error is None:
                self.error = exc
            raise
        if self.error is not None:
            raise StoreError(
                self.path, f"an earlier change could not be saved ({self.error.message}); "
                "fix the cause, then repair the trip to save it again"
            )  # fmt: skip
        self._since_compaction += 1
        if self._since_compaction >= self._compact_every:
            self._since_compaction = 0
            try:
                self.store.compact(upto_seq=seq, after_seq=self._merged_through)
                self._merged_through = seq
            except StoreError as exc:
                # Nothing is lost (the rows stay as they were); the trip only opens slower.
                logger.warning("could not compact the trip (will retry later): %s", exc)

    def _on_change(self, change: TripChange) -> None:
        if change.meta:
            self._remember_title()

    def _remember_title(self) -> None:
        title = self.trip.meta().title
        try:
            if self.store.get_info(INFO_TITLE) != title:
                self.store.set_info(INFO_TITLE, title)
        except StoreError as exc:
            # Only the trip list's copy of the title is stale; it is rewritten at next open.
            logger.warning("could not update the trip's title in its file: %s", exc)


def remember_link(store: UpdateLog, link: str | None) -> None:
    """Keep (or, with None, forget) the relay link beside a trip's updates."""
    if link is None:
        store.delete_info(INFO_LINK)
    else:
        store.set_info(INFO_LINK, link)


def _load(path: Path, updates: list[bytes]) -> Doc:
    doc = Doc()
    with doc.transaction():
        for index, update in enumerate(updates, start=1):
            try:
                doc.apply_update(update)
            except Exception as exc:  # pycrdt raises bare ValueError/RuntimeError for bad bytes
                raise StoreCorrupted(
                    path, f"update {index} of {len(updates)} is not a valid Yjs update ({exc}); {RESTORE_HINT}"
                ) from exc
    return doc

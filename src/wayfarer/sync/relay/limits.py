"""`DocumentSizeLimit`: a trip cannot grow past the relay's maximum document size."""

from __future__ import annotations

from collections.abc import Callable

from pycrdt import Doc

from wayfarer.sync.protocol import CLOSE_DOC_TOO_BIG
from wayfarer.sync.relay.frames import Frame
from wayfarer.sync.relay.peer import CloseConnection
from wayfarer.sync.relay.storage import RoomStore


class DocumentSizeLimit:
    """Closes an editor's connection (CLOSE_DOC_TOO_BIG) when its edit would make the
    trip's document larger than `max_bytes`; the edit is not applied.

    Prevents: one peer (buggy or hostile) growing a trip until the relay runs out of
    memory or disk, which would take every other trip down with it. The stored size is
    a cheap running estimate; the exact size is computed only when the estimate says
    the limit is near, so ordinary edits cost nothing.
    """

    def __init__(self, doc: Doc, store: RoomStore, max_bytes: int, unapplied: Callable[[], int] = lambda: 0) -> None:
        self._doc = doc
        self._store = store
        self._max_bytes = max_bytes
        self._unapplied = unapplied  # bytes of edits accepted but not applied yet

    def admit(self, frame: Frame) -> Frame | None:
        if not frame.is_edit:
            return frame
        incoming = len(frame.payload) + self._unapplied()
        if self._store.document_bytes + incoming <= self._max_bytes:
            return frame
        size = len(self._doc.get_update()) + incoming
        if size > self._max_bytes:
            raise CloseConnection(
                CLOSE_DOC_TOO_BIG, f"its edit would grow the trip to ~{size} bytes, over the limit of {self._max_bytes}"
            )
        return frame

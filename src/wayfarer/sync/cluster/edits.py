"""`EditToStream`: a peer's edits go to the trip's stream, never straight into the room."""

from __future__ import annotations

from typing import Final

from pycrdt import Doc

from wayfarer.sync.cluster.appender import StreamAppender
from wayfarer.sync.protocol import CLOSE_PROTOCOL
from wayfarer.sync.relay.frames import Frame
from wayfarer.sync.relay.peer import CloseConnection

# What a Yjs encoder writes for "no change" (a sync step 2 from a peer with nothing new).
EMPTY_UPDATE: Final = b"\x00\x00"


class EditToStream:
    """Takes each edit (sync step 2 or update) out of the library's path and submits it
    to the room's `StreamAppender`; lets every other frame through.

    Prevents two failures of a relay that applies first and publishes after: an update
    applied locally and then lost on its way to Redis (this relay's peers have it, no
    other relay ever will), and updates reaching different relays in different orders.
    Every relay, this one included, applies the edit when its reader reads it back.

    An edit that does not decode closes the connection here (CLOSE_PROTOCOL): once in
    the stream it would be a poison entry that every relay of the cluster reads.
    """

    def __init__(self, appender: StreamAppender) -> None:
        self._appender = appender

    def admit(self, frame: Frame) -> Frame | None:
        if not frame.is_edit:
            return frame
        if frame.payload == EMPTY_UPDATE:
            return None
        try:
            Doc().apply_update(frame.payload)
        except ValueError as exc:
            raise CloseConnection(CLOSE_PROTOCOL, f"sent an edit that is not a Yjs update ({exc})") from None
        self._appender.submit(frame.payload)
        return None

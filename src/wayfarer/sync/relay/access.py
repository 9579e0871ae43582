"""`ViewerGate`: a viewer receives every change but cannot make one."""

from __future__ import annotations

import logging

from wayfarer.sync.relay.frames import Frame
from wayfarer.sync.relay.peer import PeerConnection

log = logging.getLogger("wayfarer.relay")


class ViewerGate:
    """Drops a viewer's document edits (sync step 2 and updates); lets the rest through.

    Prevents: pycrdt-websocket has no notion of roles, so a viewer link would be an
    editor link. A viewer still sends sync step 1 (to receive the trip) and awareness
    (so others see who is looking). Its client is told nothing: a JavaScript client in
    a read-only view simply never has edits to send.
    """

    def __init__(self, connection: PeerConnection) -> None:
        self._connection = connection
        self._reported = False

    def admit(self, frame: Frame) -> Frame | None:
        if not frame.is_edit:
            return frame
        if not self._reported:
            self._reported = True
            log.info("dropping edits from %s: viewers cannot change the trip", self._connection)
        return None

"""`ClusterRoom`: a trip's room on one relay of a cluster, fed only by the trip's stream."""

from __future__ import annotations

import anyio

from wayfarer.sync.cluster.acks import StreamAckResponder
from wayfarer.sync.cluster.appender import StreamAppender
from wayfarer.sync.cluster.edits import EditToStream
from wayfarer.sync.cluster.redis_log import StreamEntry, StreamId
from wayfarer.sync.relay.config import RelayConfig
from wayfarer.sync.relay.peer import InboundCheck, PeerConnection
from wayfarer.sync.relay.room import TripRoom
from wayfarer.sync.relay.storage import RoomStore


class ClusterRoom(TripRoom):
    """A `TripRoom` whose document changes only through the trip's Redis stream.

    Everything a peer meets is the single-process room's (viewer gate, size limit,
    presence guard, bounded send queues, one load per trip); what differs is where
    edits go. A peer's edit is submitted to the stream (`EditToStream`), and the relay's
    one `StreamReader` applies it back through `apply_entry`, with every other relay's
    edits, in the stream's order; the library then broadcasts it to this relay's peers.
    The document is never written to the store from here: that is the compaction
    workers' job, so that N relays do not write the same update N times.
    """

    def __init__(self, trip_id: str, store: RoomStore, config: RelayConfig, appender: StreamAppender) -> None:
        super().__init__(trip_id, store, config)
        self.appender = appender
        self.applied_id: StreamId = (0, 0)
        self._applied = anyio.Event()

    def load_from(self, stored: bytes | None, entries: list[StreamEntry]) -> None:
        """Apply the stored document and the stream entries read at load; marks the room ready."""
        if stored is not None:
            self.ydoc.apply_update(stored)
        for entry in entries:
            self.apply_entry(entry)
        self.ready = True

    def apply_entry(self, entry: StreamEntry) -> None:
        """Apply one stream entry (the reader's callback); ValueError if it cannot be decoded."""
        self.ydoc.apply_update(entry.update)
        self.store.document_bytes += len(entry.update)  # keeps the size limit's estimate current
        self.applied_id = entry.entry_id
        self._applied.set()
        self._applied = anyio.Event()

    async def wait_applied(self, entry_id: StreamId) -> None:
        """Return once the document holds stream entry `entry_id` and everything before it."""
        while self.applied_id < entry_id:
            await self._applied.wait()

    def _attach(self, channel: PeerConnection) -> None:
        acks = StreamAckResponder(channel, self.ydoc, self.appender, self.wait_applied)
        channel.inbound = self._checks_for(channel, acks)
        channel.pace = self.appender.wait_for_capacity
        channel.start_soon(acks.answer_forever)

    def _checks_for(self, connection: PeerConnection, acks: InboundCheck) -> list[InboundCheck]:
        return [*super()._checks_for(connection, acks), EditToStream(self.appender)]

"""`ClusterRoom`: a trip's room on one relay of a cluster, fed only by the trip's stream."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import anyio
from pycrdt import Channel

from wayfarer.sync.cluster.acks import StreamAckResponder
from wayfarer.sync.cluster.appender import StreamAppender
from wayfarer.sync.cluster.edits import EditToStream
from wayfarer.sync.cluster.loading import LoadedTrip
from wayfarer.sync.cluster.poison import PoisonEntry
from wayfarer.sync.cluster.presence import ClusterPresence, RemoteClaimGuard
from wayfarer.sync.cluster.presence_bus import PresenceBus
from wayfarer.sync.cluster.reader import StreamGap
from wayfarer.sync.cluster.redis_log import StreamEntry, StreamId
from wayfarer.sync.relay.config import RelayConfig
from wayfarer.sync.relay.peer import InboundCheck, PeerConnection
from wayfarer.sync.relay.presence import PresenceGuard
from wayfarer.sync.relay.room import TripRoom
from wayfarer.sync.relay.storage import RoomStore
from wayfarer.sync.updatelog import UpdateLog


class FilelessRoomStore(RoomStore):
    """The single relay's `RoomStore` without its file: what a `ClusterRoom` is given.

    A clustered room's document is never written by the relay that serves it (edits go
    to the trip's stream; compaction workers move them into the cluster's store), yet
    the single relay's store would open DATA/rooms/<trip>.sqlite for every trip served:
    an empty file per trip, next to a PostgreSQL store, or a second handle on the very
    file the default SQLite store compacts into. The room only uses `document_bytes`, the
    running estimate of its document's size that the size limit reads, which
    `ClusterRoom` keeps. There is no file: anything that reads or writes one fails.
    """

    def __init__(self, trip_id: str) -> None:
        super().__init__(cast(UpdateLog, None), trip_id, compact_after_rows=0, on_failure=lambda error: None)


class ClusterRoom(TripRoom):
    """A `TripRoom` whose document changes only through the trip's Redis stream.

    Everything a peer meets is the single-process room's (viewer gate, size limit,
    presence guard, bounded send queues, one load per trip); what differs is where
    edits go. A peer's edit is submitted to the stream (`EditToStream`), and the relay's
    one `StreamReader` applies it back through `apply_entry`, with every other relay's
    edits, in the stream's order; the library then broadcasts it to this relay's peers.
    The document is never written to the store from here: that is the compaction
    workers' job, so that N relays do not write the same update N times. Presence is
    shared with the trip's rooms on other relays through `presence_bus` (`ClusterPresence`).
    """

    def __init__(
        self,
        trip_id: str,
        store: RoomStore,
        config: RelayConfig,
        appender: StreamAppender,
        presence_bus: PresenceBus | None = None,
    ) -> None:
        super().__init__(trip_id, store, config)
        self.appender = appender
        self.applied_id: StreamId = (0, 0)
        # How many entries the trip's stream had received up to `applied_id`.
        self.ordinal = 0
        self._applied = anyio.Event()
        self.cluster_presence = (
            ClusterPresence(self, self.presence, presence_bus, config.awareness_timeout_seconds)
            if presence_bus is not None and self.presence is not None
            else None
        )

    def load_from(self, loaded: LoadedTrip, on_poison: Callable[[PoisonEntry], None]) -> None:
        """Apply the stored document and the stream entries read at load (poison entries
        skipped and handed to `on_poison`); marks the room ready."""
        self._apply_loaded(loaded, on_poison)
        self.ready = True

    def catch_up(self, loaded: LoadedTrip, on_poison: Callable[[PoisonEntry], None]) -> None:
        """Apply the trip, read again after a `StreamGap`, into the document peers hold.

        Never into a fresh document: this one's peers would then be sent a second copy of
        what they have under new ids (duplicated content). Applied again, the store's
        update only adds what the trim took from this room; the stream's entries already
        applied are skipped.
        """
        self._apply_loaded(loaded, on_poison)

    def _apply_loaded(self, loaded: LoadedTrip, on_poison: Callable[[PoisonEntry], None]) -> None:
        if loaded.stored.update is not None:
            self.ydoc.apply_update(loaded.stored.update)
        for entry in loaded.entries:
            if entry.entry_id <= self.applied_id:
                continue
            if entry.is_trim_marker:
                self._mark_applied(entry.entry_id)
                continue
            try:
                self._apply_update(entry)
            except PoisonEntry as poison:
                on_poison(poison)
        self.ordinal = loaded.ordinal
        self.store.document_bytes = loaded.size

    def apply_entry(self, entry: StreamEntry) -> None:
        """Apply one stream entry (the reader's callback).

        Every entry is counted; at a trim marker whose count differs from the room's, the
        stream was trimmed past entries this room never read (see `compaction`), and
        `StreamGap` is raised for the server to catch the room up.
        """
        self.ordinal += 1
        if entry.ordinal is not None:
            if entry.ordinal != self.ordinal:
                raise StreamGap(self.trip_id, entry.ordinal - self.ordinal)
            self._mark_applied(entry.entry_id)
            return
        self._apply_update(entry)

    def _apply_update(self, entry: StreamEntry) -> None:
        """Apply one update entry.

        An entry that is not a Yjs update raises `PoisonEntry`, after counting as applied:
        it is skipped (see `poison`), and ACKs waiting for a later entry must not wait on it.
        """
        try:
            self.ydoc.apply_update(entry.update)
        except ValueError as exc:  # pycrdt's word for an update it cannot decode
            self._mark_applied(entry.entry_id)
            raise PoisonEntry(self.trip_id, entry, str(exc)) from None
        self.store.document_bytes += len(entry.update)  # keeps the size limit's estimate current
        self._mark_applied(entry.entry_id)

    def _mark_applied(self, entry_id: StreamId) -> None:
        self.applied_id = entry_id
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

    async def serve(self, channel: Channel) -> None:
        try:
            await super().serve(channel)
        finally:
            if self.cluster_presence is not None and isinstance(channel, PeerConnection):
                self.cluster_presence.forget(channel)

    def _checks_for(self, connection: PeerConnection, acks: InboundCheck) -> list[InboundCheck]:
        checks = super()._checks_for(connection, acks)
        if self.cluster_presence is not None:
            # Before the PresenceGuard, which would bind the connection to the id it claims.
            at = next(i for i, check in enumerate(checks) if isinstance(check, PresenceGuard))
            checks.insert(at, RemoteClaimGuard(connection, self.cluster_presence))
        return [*checks, EditToStream(self.appender)]

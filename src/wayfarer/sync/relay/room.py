"""`TripRoom`: one trip's live document on the relay, with its store and its peers."""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
from pycrdt import Awareness, Channel, Subscription, create_update_message
from pycrdt.websocket import YRoom

from wayfarer.sync.protocol import CLOSE_PROTOCOL, CLOSE_TRY_AGAIN
from wayfarer.sync.relay.access import ViewerGate
from wayfarer.sync.relay.acks import AckResponder
from wayfarer.sync.relay.config import Fix, RelayConfig
from wayfarer.sync.relay.limits import DocumentSizeLimit
from wayfarer.sync.relay.peer import InboundCheck, PeerConnection
from wayfarer.sync.relay.presence import PresenceGuard, RoomPresence
from wayfarer.sync.relay.storage import RoomStore

log = logging.getLogger("wayfarer.relay")


class TripRoom(YRoom):
    """A `YRoom` whose document comes from the trip's store and whose peers are checked.

    Prevents: `YRoom(ystore=...)` only ever writes, so a room starts empty and answers
    its first peer's sync with nothing, and that peer's state is then written back as
    new rows. A `TripRoom` is made `ready=False` (the library neither broadcasts nor
    observes the document yet), `load` applies the stored document and subscribes the
    store's writer, and only then is it marked ready and handed to peers; the stored
    content is never broadcast or written again.

    `serve` wraps each `PeerConnection` in the relay's per-connection checks (viewer
    edits, document size, ACK, presence) and closes a connection whose frame the
    library cannot apply (the library swallows such errors and goes on);
    `_broadcast_updates` fans updates out without a task per update per peer.
    """

    def __init__(self, trip_id: str, store: RoomStore, config: RelayConfig) -> None:
        super().__init__(ready=False, log=log)
        self.trip_id = trip_id
        self.store = store
        self._config = config
        self.awareness = Awareness(self.ydoc, outdated_timeout=int(config.awareness_timeout_seconds * 1000))
        self.awareness.observe(self.send_server_awareness)
        self.presence = (
            RoomPresence(self.awareness, lambda: list(self.clients), trip_id) if config.uses_fix(Fix.PRESENCE) else None
        )
        self.on_message_error = self._close_on_unusable_frame
        self._store_subscription: Subscription | None = None
        self.holders = 0
        self.idle_since = time.monotonic()
        self.unloading = False
        self.unload_requested = anyio.Event()

    def load(self, stored: bytes | None) -> None:
        """Apply the stored document, then record every later update; marks the room ready."""
        if stored is not None:
            self.ydoc.apply_update(stored)
        self._store_subscription = self.ydoc.observe(self.store.record)
        self.ready = True

    def detach_store(self) -> None:
        if self._store_subscription is not None:
            self.ydoc.unobserve(self._store_subscription)
            self._store_subscription = None

    def close_connections(self, code: int, reason: str) -> None:
        for client in list(self.clients):
            if isinstance(client, PeerConnection):
                client.close(code, reason)

    async def serve(self, channel: Channel) -> None:
        if not isinstance(channel, PeerConnection):
            await super().serve(channel)
            return
        if self.unloading:
            channel.close(CLOSE_TRY_AGAIN, "the trip was being unloaded; reconnect")
            return
        self._attach(channel)
        if self.presence is not None:
            self.presence.greet(channel)
        try:
            await super().serve(channel)
        finally:
            if self.presence is not None:
                self.presence.farewell(channel)

    def _attach(self, channel: PeerConnection) -> None:
        """Install the checks on what `channel` sends, its pacing and its ACK replies."""
        acks = AckResponder(channel, self.ydoc, self.store, durable=self._config.uses_fix(Fix.DURABLE_ACK))
        channel.inbound = self._checks_for(channel, acks)
        channel.pace = self.store.wait_for_capacity
        channel.start_soon(acks.answer_forever)

    async def _broadcast_updates(self) -> None:
        """Send every document update to every peer, draining all that is pending at once.

        Prevents (NOTES.md, fan-out and bursts): the library's loop takes one update per
        event-loop turn and starts one task per update per peer, so a burst from one
        writer piles up in the room's stream (tens of MB seen here) and past its 65,536
        slots `put_updates` drops updates silently: peers would miss changes. Here one
        wake-up drains the stream and hands each message to each peer's bounded queue.
        """
        if not self._config.uses_fix(Fix.CONNECTION):
            await super()._broadcast_updates()
            return
        async with self._update_receive_stream:
            async for update in self._update_receive_stream:
                while True:
                    self._send_to_peers(create_update_message(update))
                    try:
                        update = self._update_receive_stream.receive_nowait()
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break

    def _send_to_peers(self, message: bytes) -> None:
        for client in self.clients:
            if isinstance(client, PeerConnection):
                client.enqueue(message)

    def _checks_for(self, connection: PeerConnection, acks: InboundCheck) -> list[InboundCheck]:
        checks: list[InboundCheck] = []
        if not connection.claims.can_edit:
            checks.append(ViewerGate(connection))
        checks.append(DocumentSizeLimit(self.ydoc, self.store, self._config.max_document_bytes))
        checks.append(acks)
        if self.presence is not None:
            checks.append(PresenceGuard(connection, self.presence))
        return checks

    def _close_on_unusable_frame(self, exc: Exception, message: bytes, channel: Any) -> bool:
        if isinstance(channel, PeerConnection):
            channel.close(CLOSE_PROTOCOL, f"sent a message the relay could not apply ({exc})")
        else:
            log.warning("a peer of trip %s sent a message the relay could not apply: %s", self.trip_id, exc)
        return True

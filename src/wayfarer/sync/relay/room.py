"""`TripRoom`: one trip's live document on the relay, with its store and its peers."""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
from pycrdt import (
    Awareness,
    Channel,
    Subscription,
    TransactionEvent,
    create_update_message,
    is_awareness_disconnect_message,
    write_var_uint,
)
from pycrdt.websocket import YRoom

from wayfarer.sync.protocol import AWARENESS, CLOSE_PROTOCOL, CLOSE_TRY_AGAIN, SYNC
from wayfarer.sync.relay.access import ViewerGate
from wayfarer.sync.relay.acks import AckResponder
from wayfarer.sync.relay.config import Fix, RelayConfig
from wayfarer.sync.relay.frames import SYNC_STEP1, SYNC_STEP2, Frame
from wayfarer.sync.relay.limits import DocumentSizeLimit
from wayfarer.sync.relay.peer import CloseConnection, InboundCheck, PeerConnection
from wayfarer.sync.relay.presence import PresenceGuard, RoomPresence
from wayfarer.sync.relay.storage import RoomStore

log = logging.getLogger("wayfarer.relay")

EMPTY_UPDATE = b"\x00\x00"


class TripRoom(YRoom):
    """A `YRoom` whose document comes from the trip's store and whose peers are checked.

    Prevents: `YRoom(ystore=...)` only ever writes, so a room starts empty and answers
    its first peer's sync with nothing, and that peer's state is then written back as
    new rows. A `TripRoom` is made `ready=False` (the library neither broadcasts nor
    observes the document yet), `load` applies the stored document and starts recording
    for the store's writer, and only then is it marked ready and handed to peers; the
    stored content is never broadcast or written again.

    `serve` wraps each `PeerConnection` in the relay's per-connection checks (viewer
    edits, document size, ACK, presence) and closes a connection whose frame the
    library cannot apply (the library swallows such errors and goes on). The last
    check, `RoomDelivery`, has the room answer a peer's sync, apply its edits and
    forward its presence itself; the library's loop then only reads the connection.

    One document observer, `_relay_update`, hands each update to every peer's send
    queue and records it for the store, in the transaction that made it (see there).
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
        self._observer: Subscription | None = None
        self._store_subscription: Subscription | None = None  # the stock broadcast's separate one
        self._recording = False
        # The peer whose edit the document is applying (it has that update already).
        self._origin: PeerConnection | None = None
        # Edits that arrived after the first one of this turn of the event loop (see `apply_edit`).
        self._deferred: list[tuple[PeerConnection, bytes]] = []
        self.deferred_bytes = 0
        self._turn_has_edit = False
        self._edit_this_turn = anyio.Event()  # wakes the task that applies them, after the turn
        self.holders = 0
        self.idle_since = time.monotonic()
        self.unloading = False
        self.unload_requested = anyio.Event()

    def load(self, stored: bytes | None) -> None:
        """Apply the stored document, then record every later update; marks the room ready."""
        if stored is not None:
            self.ydoc.apply_update(stored)
        self.store.encode_document = self.ydoc.get_update
        if self._config.uses_fix(Fix.CONNECTION):
            self._recording = True
        else:
            self._store_subscription = self.ydoc.observe(lambda event: self.store.record(event.update))
        self.ready = True

    def detach_store(self) -> None:
        """Stop recording and relaying updates (the room has stopped; its store closes next)."""
        self.apply_deferred()
        self._recording = False
        for subscription in (self._observer, self._store_subscription):
            if subscription is not None:
                self.ydoc.unobserve(subscription)
        self._observer = self._store_subscription = None

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
        """Install the checks on what `channel` sends (ACK replies among them) and its pacing."""
        acks = AckResponder(
            channel, self.ydoc, self.store, durable=self._config.uses_fix(Fix.DURABLE_ACK), settle=self.apply_deferred
        )
        channel.inbound = [*self._checks_for(channel, acks), RoomDelivery(self, channel)]
        channel.pace = self.store.wait_for_capacity

    async def _watch_ready(self) -> None:
        if not self._config.uses_fix(Fix.CONNECTION):
            await super()._watch_ready()
            return
        await self.ready_event.wait()
        if self._observer is None:  # the library restarts a failed room with this same task
            self._observer = self.ydoc.observe(self._relay_update)
        self.ydoc_observed.set()

    def _relay_update(self, event: TransactionEvent) -> None:
        """The room's one document observer: queue the update for every peer, record it.

        Prevents (NOTES.md, fan-out and bursts): the library's broadcast observes the
        document, the store would observe it again, and yrs encodes a transaction's update
        once per observer (~12 µs each for a token of a 3,000-token reply, growing with
        its length); the library's loop then took one update per event-loop turn from a
        stream of 65,536 slots (past which `put_updates` drops updates silently) and
        started a task per update per peer. Here the update is encoded once, appended to
        each peer's bounded send queue at once (not to the peer that sent it: it has it),
        and numbered for the store in the transaction that made it, so an ACK_QUERY read
        after it always waits for it to be durable. Queuing first lets the peers' senders
        run before the store's writer hands its batch to a thread.
        """
        update = event.update
        try:
            message = create_update_message(update)
            for client in self.clients:
                if client is not self._origin and isinstance(client, PeerConnection):
                    client.enqueue(message)
        finally:
            if self._recording:
                self.store.record(update)

    def answer_sync(self, connection: PeerConnection, state: bytes) -> None:
        """Send `connection` what the document has beyond its state vector (sync step 2)."""
        update = self.ydoc.get_update(state)
        connection.enqueue(bytes((SYNC, SYNC_STEP2)) + write_var_uint(len(update)) + update)

    def apply_edit(self, connection: PeerConnection, update: bytes) -> None:
        """Apply `connection`'s update; every peer but `connection` is sent what it changed.

        The first edit in a turn of the event loop is applied at once. Edits that follow
        it in the same turn (a burst: frames read together) wait for the end of the turn
        and are applied together, in one transaction (`apply_deferred`): yrs commits a
        transaction in time that grows with the document (62 µs per token into a reply of
        10,000 tokens, 4 µs per token when 20 are applied at once).
        """
        if update == EMPTY_UPDATE:
            return
        if self._turn_has_edit:
            self._deferred.append((connection, update))
            self.deferred_bytes += len(update)
            return
        self._turn_has_edit = True
        self._edit_this_turn.set()
        self._origin = connection
        try:
            self.ydoc.apply_update(update)
        finally:
            self._origin = None

    def apply_deferred(self) -> None:
        """Apply the edits waiting for the end of this turn, in one transaction; a peer whose
        edit cannot be applied is closed. Runs at the end of each turn with an edit, before
        an ACK_QUERY is answered (so that it covers them), and when the room stops."""
        edits, self._deferred, self.deferred_bytes = self._deferred, [], 0
        self._turn_has_edit = False
        if not edits:
            return
        senders = {connection for connection, _ in edits}
        self._origin = next(iter(senders)) if len(senders) == 1 else None
        try:
            with self.ydoc.transaction():
                for connection, update in edits:
                    try:
                        self.ydoc.apply_update(update)
                    except Exception as exc:  # pycrdt raises bare ValueError/RuntimeError for bytes it cannot use
                        connection.close(CLOSE_PROTOCOL, f"sent a message the relay could not apply ({exc})")
        except Exception as exc:  # an observer failed after the transaction: not one peer's doing
            log.exception("trip %s: applying %d edits failed", self.trip_id, len(edits))
            for connection in senders:
                connection.close(CLOSE_PROTOCOL, f"sent a message the relay could not apply ({exc})")
        finally:
            self._origin = None

    def forward_presence(self, connection: PeerConnection, frame: Frame) -> None:
        """Send a (checked) awareness message to every peer and apply it to the room's
        awareness, as the library does: to its sender too (a y-websocket client hears
        its own presence back), unless it says the sender left."""
        leaving = is_awareness_disconnect_message(frame.data[1:])
        for client in self.clients:
            if isinstance(client, PeerConnection) and not (leaving and client is connection):
                client.enqueue(frame.data)
        self.awareness.apply_awareness_update(frame.payload, self)

    async def _broadcast_updates(self) -> None:
        """The library's stream is not used (`_relay_update` sends each update); this task
        applies the edits deferred in each turn of the event loop (see `apply_edit`)."""
        if not self._config.uses_fix(Fix.CONNECTION):
            await super()._broadcast_updates()
            return
        while True:
            await self._edit_this_turn.wait()
            self._edit_this_turn = anyio.Event()
            self.apply_deferred()

    def _checks_for(self, connection: PeerConnection, acks: InboundCheck) -> list[InboundCheck]:
        checks: list[InboundCheck] = []
        if not connection.claims.can_edit:
            checks.append(ViewerGate(connection))
        checks.append(
            DocumentSizeLimit(self.ydoc, self.store, self._config.max_document_bytes, lambda: self.deferred_bytes)
        )
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


class RoomDelivery:
    """The last check of a peer of a single relay: its room answers the peer's sync,
    applies its edits and forwards its presence itself, instead of the library's loop.

    Why: the room then knows which peer an update came from and does not send it back
    to that peer (the library echoes every update to its sender: one more message per
    edit for the writer, read and thrown away); a sync step 2 and presence go straight
    to the send queues, rather than through a task per reply and per peer per message;
    and each frame is decoded once, by `parse_frame`.
    """

    def __init__(self, room: TripRoom, connection: PeerConnection) -> None:
        self._room = room
        self._connection = connection

    def admit(self, frame: Frame) -> Frame | None:
        try:
            if frame.kind == SYNC and frame.step == SYNC_STEP1:
                self._room.answer_sync(self._connection, frame.payload)
            elif frame.kind == SYNC:
                self._room.apply_edit(self._connection, frame.payload)
            elif frame.kind == AWARENESS and self._room.presence is not None:  # checked by its PresenceGuard
                self._room.forward_presence(self._connection, frame)
            else:
                return frame
        except Exception as exc:  # pycrdt raises bare ValueError/RuntimeError for bytes it cannot use
            raise CloseConnection(CLOSE_PROTOCOL, f"sent a message the relay could not apply ({exc})") from None
        return None

"""`RelaySession`: one open websocket between this peer and a trip's room on a relay.

It lives from the moment the socket opens until it closes; `RelayConnection` makes a new
one after each reconnect. Its job is the standard Yjs exchange, in the order that makes
"no duplicate, no gap" hold across disconnections:

1. send our state vector (sync step 1): the relay answers with exactly what we lack;
2. answer the relay's state vector with exactly what it lacks (sync step 2), which
   covers every local change made while offline, deletions included;
3. from then on forward each local update as it happens and apply the relay's.

After the step 2 and after local updates it asks the relay (ACK_QUERY, throttled to one
per `ack_interval`) which of them are durably stored. Everything goes out through one
FIFO outbox, so a query always follows the updates it is about.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import anyio
from pycrdt import (
    Doc,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    read_message,
    write_message,
)
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from .acks import AckLedger, decode_state_vector, lacks
from .presence import Presence
from .protocol import ACK, AWARENESS, SYNC, ack_query, parse_ack

log = logging.getLogger(__name__)


IDLE_ACK_CHECK_S = 5.0


class RelayProtocolError(Exception):
    """The relay sent something this peer cannot read."""


class RelaySession:
    """One websocket to a relay room, from open to close. Not reusable."""

    def __init__(
        self,
        websocket: ClientConnection,
        doc: Doc,
        ledger: AckLedger,
        *,
        editor: bool,
        presence: Presence | None,
        apply_remote: Callable[[bytes], None],
        on_synced: Callable[[], None],
        on_acked: Callable[[], None],
        ack_interval: float,
    ) -> None:
        self._websocket = websocket
        self._doc = doc
        self._ledger = ledger
        self._editor = editor
        self._presence = presence
        self._apply_remote = apply_remote
        self._on_synced = on_synced
        self._on_acked = on_acked
        self._ack_interval = ack_interval
        self._outbox, self._queued = anyio.create_memory_object_stream[bytes](math.inf)
        self._ack_wanted = anyio.Event()
        self._drained = anyio.Event()
        self._leaving = False

    # ------------------------------------------------------------------ outgoing

    def send_update(self, update: bytes) -> None:
        """Forward a local document update (editors only; a viewer's stay local)."""
        if self._editor:
            self._enqueue(create_update_message(update))
            self._ack_wanted.set()

    def send_awareness(self, update: bytes) -> None:
        self._enqueue(create_awareness_message(update))

    def _enqueue(self, message: bytes) -> None:
        """Queue `message` for the socket; dropped once the socket is gone.

        Called from inside document transactions (a local edit), so it must never raise:
        when the connection has just broken, the sender has stopped and the outbox is
        closed. Nothing is lost: the change stays in the document, the ledger counts it
        as unacknowledged, and the next connection's sync step 2 carries it.
        """
        if self._leaving:
            return
        try:
            self._outbox.send_nowait(message)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass

    # ------------------------------------------------------------------ lifetime

    async def run(self) -> None:
        """Sync, then relay traffic both ways until the socket closes.

        Returns when the relay closes normally; raises `ConnectionClosed` (websockets)
        when the connection breaks or the relay closes it with an error code.
        """
        # The receive loop's error is carried out of the task group by hand: raised inside,
        # it would reach the caller wrapped in an ExceptionGroup.
        failure: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._send_queued)
            if self._editor:
                tg.start_soon(self._ask_for_acks)
            self._enqueue(create_sync_message(self._doc))
            if self._presence is not None:
                self._presence.announce()
            try:
                await self._receive()
            except Exception as exc:
                failure = exc
            tg.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def leave(self) -> None:
        """Say goodbye: withdraw our presence, send what is queued, close the socket."""
        if self._presence is not None:
            self._presence.withdraw()
        self._leaving = True
        self._outbox.close()
        await self._drained.wait()
        await self._websocket.close()

    async def _receive(self) -> None:
        async for message in self._websocket:
            if isinstance(message, str):
                raise RelayProtocolError("the relay sent a text frame; Yjs messages are binary")
            self._handle(message)

    async def _send_queued(self) -> None:
        try:
            async with self._queued:
                async for message in self._queued:
                    await self._websocket.send(message)
        except ConnectionClosed:
            pass  # the receive loop reports why the connection ended
        finally:
            self._drained.set()

    async def _ask_for_acks(self) -> None:
        while True:
            # Also ask now and then when nothing changed: the reply is how a quiet peer
            # notices that it is behind the relay (see `_catch_up_if_behind`).
            with anyio.move_on_after(IDLE_ACK_CHECK_S):
                await self._ack_wanted.wait()
            await anyio.sleep(self._ack_interval)
            # Reset after the pause: changes made during it are covered by this query.
            self._ack_wanted = anyio.Event()
            request_id = self._ledger.query()
            if request_id is not None:
                self._enqueue(ack_query(request_id))

    # ------------------------------------------------------------------ incoming

    def _handle(self, message: bytes) -> None:
        try:
            kind = message[0]
            if kind == SYNC:
                self._handle_sync(message[1:])
            elif kind == AWARENESS:
                if self._presence is not None:
                    self._presence.apply_remote(read_message(message[1:]))
            elif kind == ACK:
                request_id, state_vector = parse_ack(message)
                if state_vector is not None:
                    self._ledger.reply(request_id, state_vector)
                    self._on_acked()
                    self._catch_up_if_behind(state_vector)
            # Other types (y-websocket's auth and awareness query) mean nothing to us.
        # pycrdt's decoder signals a truncated message with IndexError, RuntimeError or an
        # AssertionError; a corrupt update with ValueError.
        except (IndexError, RuntimeError, ValueError, AssertionError) as exc:
            raise RelayProtocolError(f"the relay sent a message this peer cannot read ({exc})") from exc

    def _catch_up_if_behind(self, relay_state: bytes) -> None:
        """Ask again for what the relay has and this document still lacks.

        pycrdt 0.14 can leave an update pending for good when it arrives before the one it
        follows (possible around a reconnect: a broadcast can overtake the resync reply).
        The relay's acknowledged state says what it holds; when the document is behind it,
        one more state-vector exchange brings the missing updates, and the pending one
        with them. (A broadcast still in flight also triggers it; the extra exchange then
        costs a few bytes and changes nothing.)
        """
        if lacks(decode_state_vector(self._doc.get_state()), decode_state_vector(relay_state)):
            self._enqueue(create_sync_message(self._doc))

    def _handle_sync(self, message: bytes) -> None:
        step, payload = message[0], read_message(message[1:])
        if step == YSyncMessageType.SYNC_STEP1:
            self._ledger.relay_state(payload)
            if self._editor:
                missing = self._doc.get_update(payload)  # exactly what the relay lacks
                self._enqueue(bytes([SYNC, YSyncMessageType.SYNC_STEP2]) + write_message(missing))
                self._ledger.resync_sent()
                self._ack_wanted.set()
        elif step == YSyncMessageType.SYNC_STEP2:
            self._apply_remote(payload)
            self._on_synced()
        elif step == YSyncMessageType.SYNC_UPDATE:
            self._apply_remote(payload)

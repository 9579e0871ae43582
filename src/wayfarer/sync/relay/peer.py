"""`PeerConnection`: one websocket peer, as the pycrdt `Channel` a room serves."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
from anyio.abc import TaskGroup
from pycrdt import create_update_message, merge_updates, read_message

from wayfarer.sync.protocol import CLOSE_PROTOCOL, CLOSE_TOKEN_EXPIRED, CLOSE_TOO_BIG, CLOSE_TRY_AGAIN, SYNC
from wayfarer.sync.relay.frames import SYNC_UPDATE, Frame, MalformedFrame, parse_frame
from wayfarer.sync.tokens import TokenClaims

ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
# How long a close frame may wait for a peer that stopped reading before we give up on it.
CLOSE_FRAME_TIMEOUT = 30.0
# RFC 6455 §5.5: a close frame's reason fits in 123 bytes; a longer one fails the close.
MAX_CLOSE_REASON_BYTES = 123
# Queued document updates sent as one merged update at most (merging grows faster than
# linearly past ~100 small updates).
MAX_MERGED_UPDATES = 64

log = logging.getLogger("wayfarer.relay")


class CloseConnection(Exception):
    """Raised by an inbound check: close this connection with `code`, for `reason`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class InboundCheck(Protocol):
    """One concern applied to every frame a peer sends, before the room sees it.

    Returns the frame to pass on, None to drop it, or raises `CloseConnection`.
    """

    def admit(self, frame: Frame) -> Frame | None: ...


class PeerConnection:
    """A peer's websocket, with one bounded send queue and one sender task.

    Prevents two pycrdt-websocket failures (NOTES.md):
    - a slow or stuck reader made the relay buffer without bound (one task per update
      per client): here `send` only appends to a queue capped at `send_queue_bytes`, one
      task writes it out, and a peer that falls that far behind is closed with
      CLOSE_TRY_AGAIN (it reconnects and resyncs what it missed);
    - a peer that sent an update and vanished crashed the server's task group when the
      room's broadcast hit it: sends to a closed or gone peer are dropped, never raised.
    Text frames (which the library turns into `KeyError: 'bytes'`) close this connection
    only, with CLOSE_PROTOCOL and a log line.
    """

    def __init__(
        self,
        receive: ASGIReceive,
        send: ASGISend,
        trip_id: str,
        claims: TokenClaims,
        number: int,
        send_queue_bytes: int,
        max_message_bytes: int,
    ) -> None:
        self._receive = receive
        self._send = send
        self.trip_id = trip_id
        self.claims = claims
        self.number = number
        self._send_queue_bytes = send_queue_bytes
        self._max_message_bytes = max_message_bytes
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._wakeup = anyio.Event()
        self._receive_scope: anyio.CancelScope | None = None
        self._sending_scope: anyio.CancelScope | None = None
        self._task_group: TaskGroup | None = None
        self.inbound: list[InboundCheck] = []
        # Awaited before each frame is read: lets a busy store slow the peers feeding it.
        self.pace: Callable[[], Awaitable[None]] | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self._peer_gone = False

    def __str__(self) -> str:
        return f"peer #{self.number} ({self.claims.role}) of trip {self.trip_id}"

    # ------------------------------------------------------------------ Channel

    @property
    def path(self) -> str:
        return self.trip_id

    def __aiter__(self) -> PeerConnection:
        return self

    async def __anext__(self) -> bytes:
        return await self.recv()

    async def send(self, message: bytes) -> None:
        self.enqueue(message)

    async def recv(self) -> bytes:
        """The next frame that passes every inbound check; StopAsyncIteration once closed."""
        while True:
            data = await self._receive_frame()
            try:
                frame: Frame | None = parse_frame(data)
                for check in self.inbound:
                    if frame is None:
                        break
                    frame = check.admit(frame)
            except MalformedFrame as exc:
                self.close(CLOSE_PROTOCOL, f"sent a malformed frame ({exc})")
                raise StopAsyncIteration from None
            except CloseConnection as close:
                self.close(close.code, close.reason)
                raise StopAsyncIteration from None
            if frame is not None:
                return frame.data

    # ------------------------------------------------------------------ sending

    def enqueue(self, message: bytes) -> None:
        """Queue `message` for this peer without waiting; drops it if the peer is gone.

        A message is taken while less than `send_queue_bytes` wait, however large it is,
        so a trip bigger than the queue still reaches a newcomer in its sync step 2.
        """
        if self.close_code is not None:
            return
        if self._queued_bytes >= self._send_queue_bytes:
            self.close(CLOSE_TRY_AGAIN, f"too slow: more than {self._send_queue_bytes} bytes waiting to be sent")
            return
        self._queue.append(message)
        self._queued_bytes += len(message)
        self._wakeup.set()

    def close(self, code: int, reason: str) -> None:
        """Close this connection with `code` (logged with `reason`); later calls are no-ops."""
        if self.close_code is not None:
            return
        self.close_code, self.close_reason = code, reason
        if code not in (CLOSE_NORMAL, CLOSE_GOING_AWAY):
            log.warning("closing %s with code %d: %s", self, code, reason)
        self._queue.clear()
        self._queued_bytes = 0
        self._wakeup.set()
        for scope in (self._receive_scope, self._sending_scope):
            if scope is not None:
                scope.cancel()

    def start_soon(self, task: Callable[[], Awaitable[None]]) -> None:
        """Run `task` for as long as this connection lives."""
        if self._task_group is None:
            raise RuntimeError(f"{self} is not running")
        self._task_group.start_soon(task)

    # ------------------------------------------------------------------ lifetime

    async def run(self, serve: Callable[[PeerConnection], Awaitable[None]]) -> None:
        """Serve this peer with `serve` until either side closes, then send the close frame."""
        async with anyio.create_task_group() as sender:
            sender.start_soon(self._send_loop)
            async with anyio.create_task_group() as helpers:
                self._task_group = helpers
                if self.claims.expires_at is not None:
                    helpers.start_soon(self._close_at_expiry, self.claims.expires_at)
                try:
                    await serve(self)
                finally:
                    self.close(CLOSE_NORMAL, "")
                    self._task_group = None
                    helpers.cancel_scope.cancel()

    async def _receive_frame(self) -> bytes:
        while self.close_code is None:
            with anyio.CancelScope() as scope:
                self._receive_scope = scope
                if self.pace is not None:
                    await self.pace()
                event = await self._receive()
            self._receive_scope = None
            if scope.cancel_called:
                break
            kind = event["type"]
            if kind == "websocket.disconnect":
                self._on_disconnect(event.get("code", CLOSE_NORMAL))
                break
            if kind != "websocket.receive":
                continue
            data = event.get("bytes")
            if data is None:
                self.close(CLOSE_PROTOCOL, "sent a text frame; the Yjs protocol is binary")
                break
            return data
        raise StopAsyncIteration

    def _on_disconnect(self, code: int) -> None:
        self._peer_gone = True
        if self.close_code is None:
            self.close_code, self.close_reason = code, "closed by the peer"
        if code == CLOSE_TOO_BIG:
            log.warning("closed %s with code %d: sent a message over %d bytes", self, code, self._max_message_bytes)
        self._wakeup.set()

    async def _send_loop(self) -> None:
        # One cancel scope for the whole loop (`close` cancels it), not one per message:
        # with 100 peers in a room that is 100 scopes fewer for every token relayed.
        with anyio.CancelScope() as self._sending_scope:
            while self.close_code is None:
                if not self._queue:
                    await self._wakeup.wait()
                    self._wakeup = anyio.Event()
                    continue
                message = self._next_message()
                if not await self._asgi_send({"type": "websocket.send", "bytes": message}):
                    return
        self._sending_scope = None
        if not self._peer_gone:
            with anyio.move_on_after(CLOSE_FRAME_TIMEOUT):
                reason = _fit_close_reason(self.close_reason)
                await self._asgi_send({"type": "websocket.close", "code": self.close_code, "reason": reason})

    def _next_message(self) -> bytes:
        """The next queued message; document updates queued one after another are merged
        into one (up to MAX_MERGED_UPDATES): a peer that fell behind a burst gets what it
        missed in a few messages instead of one per keystroke or token."""
        message = self._queue.popleft()
        self._queued_bytes -= len(message)
        if not (self._queue and _is_update(message) and _is_update(self._queue[0])):
            return message
        updates = [read_message(message[2:])]
        while self._queue and len(updates) < MAX_MERGED_UPDATES and _is_update(self._queue[0]):
            message = self._queue.popleft()
            self._queued_bytes -= len(message)
            updates.append(read_message(message[2:]))
        return create_update_message(merge_updates(*updates))

    async def _asgi_send(self, event: dict[str, Any]) -> bool:
        """Send one ASGI event; False (and the peer marked gone) if the peer is no longer there."""
        try:
            await self._send(event)
        except Exception:  # the ASGI server raises its own "client disconnected" types
            self._peer_gone = True
            if self.close_code is None:
                self.close_code, self.close_reason = CLOSE_GOING_AWAY, "connection lost"
            if self._receive_scope is not None:
                self._receive_scope.cancel()
            return False
        return True

    async def _close_at_expiry(self, expires_at: float) -> None:
        await anyio.sleep(max(0.0, expires_at - time.time()))
        self.close(CLOSE_TOKEN_EXPIRED, "its token expired")


def _is_update(message: bytes) -> bool:
    return message[0] == SYNC and message[1] == SYNC_UPDATE


def _fit_close_reason(reason: str) -> str:
    """`reason` cut to what a close frame can carry (the log keeps it whole)."""
    encoded = reason.encode()
    if len(encoded) <= MAX_CLOSE_REASON_BYTES:
        return reason
    return encoded[: MAX_CLOSE_REASON_BYTES - 3].decode(errors="ignore") + "..."

"""A bare Yjs websocket peer for relay tests, independent of Wayfarer's own client.

Built from the `websockets` library and pycrdt's sync helpers only, so a relay test
fails because of the relay, not because of the peer code under development elsewhere.

    async with RawPeer.connect(link) as peer:
        await peer.synced()
        peer.text("notes").insert(0, "hi")        # sent to the relay as it happens
        state_vector = await peer.ack()            # the relay's ACK_REPLY
        await peer.wait_until(lambda: ..., "what we wait for")
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import websockets
from anyio.streams.memory import MemoryObjectSendStream
from pycrdt import (
    Awareness,
    Doc,
    Text,
    TransactionEvent,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
    read_message,
    write_var_uint,
)
from websockets.asyncio.client import ClientConnection

from wayfarer.sync.protocol import ACK, ack_query, parse_ack

WAIT = 20.0  # seconds: only turns a hang into a failure, never a check on speed
SYNC, AWARENESS, SYNC_STEP2 = 0, 1, 1


def awareness_update(client_id: int, clock: int, state: dict[str, Any] | None) -> bytes:
    """An awareness message for one client, built by hand (so tests can forge one)."""
    text = json.dumps(state).encode()
    body = write_var_uint(1) + write_var_uint(client_id) + write_var_uint(clock) + write_var_uint(len(text)) + text
    return create_awareness_message(body)


class RawPeer:
    """One websocket peer with its own pycrdt `Doc`; local edits are sent as they happen."""

    def __init__(self, websocket: ClientConnection, doc: Doc, outbox: MemoryObjectSendStream[bytes | str]) -> None:
        self.websocket = websocket
        self.doc = doc
        # What this peer heard of everyone's presence, its own echo included (the
        # throwaway Doc keeps our client id out of the Awareness' "local" slot).
        self.awareness = Awareness(Doc())
        self.received: list[bytes] = []
        self.unreadable: list[bytes] = []
        self.acks: dict[int, bytes] = {}
        self.close_code: int | None = None
        self._outbox = outbox
        self._applying_remote = False
        self._synced = anyio.Event()
        self._closed = anyio.Event()
        self._changed = anyio.Event()
        self._next_ack = 1
        doc.observe(self._send_local_update)

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, link: str, *, doc: Doc | None = None, handshake: bool = True, max_queue: int | None = 16
    ) -> AsyncIterator[RawPeer]:
        """Connect to `link`; with `handshake`, send sync step 1 at once (as y-websocket does)."""
        async with websockets.connect(link, max_size=None, max_queue=max_queue, compression=None) as websocket:
            outbox, outgoing = anyio.create_memory_object_stream[bytes | str](math.inf)
            peer = cls(websocket, doc or Doc(), outbox)
            async with anyio.create_task_group() as tg:
                tg.start_soon(peer._receive_forever)
                tg.start_soon(peer._send_forever, outgoing)
                if handshake:
                    await peer.send(create_sync_message(peer.doc))
                try:
                    yield peer
                finally:
                    tg.cancel_scope.cancel()

    # ------------------------------------------------------------------ document

    def text(self, name: str = "notes") -> Text:
        return self.doc.get(name, type=Text)

    async def synced(self, timeout: float = WAIT) -> None:
        """Wait for the relay's sync step 2 (our initial sync is complete)."""
        with anyio.fail_after(timeout):
            await self._synced.wait()

    async def ack(self, timeout: float = WAIT) -> bytes:
        """Ask the relay what it has stored; returns the state vector it acknowledges."""
        request_id, self._next_ack = self._next_ack, self._next_ack + 1
        await self.send(ack_query(request_id))
        await self.wait_until(lambda: request_id in self.acks or self.close_code is not None, "an ACK reply", timeout)
        if request_id not in self.acks:
            raise ConnectionError(f"closed with code {self.close_code} instead of acknowledging")
        return self.acks[request_id]

    # ------------------------------------------------------------------ wire

    async def send(self, message: bytes | str) -> None:
        """Send after everything queued before (local edits are queued as they happen)."""
        self._outbox.send_nowait(message)

    def send_awareness(self, client_id: int, clock: int, state: dict[str, Any] | None) -> None:
        self._outbox.send_nowait(awareness_update(client_id, clock, state))

    def present(self) -> dict[int, dict[str, Any]]:
        """Every awareness state this peer has heard of, by client id (its own echo included)."""
        return {client: state for client, state in self.awareness.states.items() if client != self.awareness.client_id}

    async def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        """Wait until `condition()` holds, re-checking after every message received."""
        try:
            with anyio.fail_after(timeout):
                while not condition():
                    with anyio.move_on_after(0.05):  # also re-check state that no message changes
                        await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None

    async def closed(self, timeout: float = WAIT) -> int | None:
        """Wait until the relay closes the connection; its close code."""
        with anyio.fail_after(timeout):
            await self._closed.wait()
        return self.close_code

    # ------------------------------------------------------------------ internals

    def _send_local_update(self, event: TransactionEvent) -> None:
        if not self._applying_remote:
            self._outbox.send_nowait(create_update_message(event.update))

    async def _send_forever(self, outgoing: Any) -> None:
        async with outgoing:
            async for message in outgoing:
                try:
                    await self.websocket.send(message)
                except websockets.ConnectionClosed:
                    return

    async def _receive_forever(self) -> None:
        try:
            async for message in self.websocket:
                if isinstance(message, bytes):
                    self._handle(message)
                self._notify()
        except websockets.ConnectionClosed:
            pass
        self.close_code = self.websocket.close_code
        self._closed.set()
        self._notify()

    def _handle(self, message: bytes) -> None:
        self.received.append(message)
        kind = message[0]
        if kind == SYNC:
            self._applying_remote = True
            try:
                reply = handle_sync_message(message[1:], self.doc)
            finally:
                self._applying_remote = False
            if reply is not None:
                self._outbox.send_nowait(reply)
            if message[1] == SYNC_STEP2:
                self._synced.set()
        elif kind == AWARENESS:
            try:
                self.awareness.apply_awareness_update(read_message(message[1:]), "relay")
            except Exception:  # what a real client would choke on: keep it for the test to see
                self.unreadable.append(message)
        elif kind == ACK:
            request_id, state_vector = parse_ack(message)
            if state_vector is not None:
                self.acks[request_id] = state_vector

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

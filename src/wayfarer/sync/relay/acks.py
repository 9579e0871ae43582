"""`AckResponder`: tells a peer which of its changes the relay has safely stored."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Final

import anyio
from pycrdt import Doc

from wayfarer.sync.protocol import ACK, CLOSE_TRY_AGAIN, ack_reply
from wayfarer.sync.relay.frames import Frame
from wayfarer.sync.relay.peer import CloseConnection, PeerConnection
from wayfarer.sync.relay.storage import RoomStore, StoreFailed

# The relay could not store the peer's changes: reconnect later and send them again.
CLOSE_STORE_FAILED: Final = 1011
MAX_UNANSWERED_QUERIES: Final = 256

log = logging.getLogger("wayfarer.relay")


class AckResponder:
    """Answers each ACK_QUERY with the room's state vector, only once every update that
    reached the room before the query (from this peer or any other) is on disk.

    Prevents: a peer counting a change as safe while it sits only in the relay's memory
    (pycrdt-websocket acknowledges nothing, and its store drops failed writes silently).
    The state vector is taken when the query arrives, with the sequence number of the
    last update the room had then, so it names exactly what that wait made durable. If
    the store fails, the query is never answered: the connection is closed with
    CLOSE_STORE_FAILED and the failure logged, so the peer keeps its changes and sends
    them again after reconnecting. With `durable=False` (the library's behaviour, for
    the regression test only) the reply goes out at once.

    The task that answers starts with the first query: a JavaScript client never sends
    one, and a thousand idle peers need not hold a thousand waiting tasks.
    """

    def __init__(
        self,
        connection: PeerConnection,
        doc: Doc,
        store: RoomStore,
        durable: bool = True,
        settle: Callable[[], None] = lambda: None,
    ) -> None:
        self._connection = connection
        self._settle = settle
        self._doc = doc
        self._store = store
        self._durable = durable
        # Made with the first query, with the task that answers.
        self._queries: deque[tuple[int, int, bytes]] | None = None
        self._wakeup: anyio.Event | None = None

    def admit(self, frame: Frame) -> Frame | None:
        if frame.kind != ACK:
            return frame
        assert frame.request_id is not None
        self._settle()  # the room applies every edit it holds back, so the reply covers them
        state_vector = self._doc.get_state()
        if not self._durable:
            self._connection.enqueue(ack_reply(frame.request_id, state_vector))
            return None
        if self._queries is None or self._wakeup is None:
            self._queries, self._wakeup = deque(), anyio.Event()
            self._connection.start_soon(self._answer_forever)
        if len(self._queries) >= MAX_UNANSWERED_QUERIES:
            raise CloseConnection(CLOSE_TRY_AGAIN, f"more than {MAX_UNANSWERED_QUERIES} unanswered ACK queries")
        self._queries.append((frame.request_id, self._store.enqueued_seq, state_vector))
        self._wakeup.set()
        return None

    async def _answer_forever(self) -> None:
        """Reply to queries in order, each once its updates are durable."""
        assert self._queries is not None and self._wakeup is not None
        queries = self._queries
        while True:
            while queries:
                request_id, seq, state_vector = queries[0]
                try:
                    await self._store.wait_durable(seq)
                except StoreFailed as exc:
                    self._connection.close(
                        CLOSE_STORE_FAILED, f"its changes could not be stored, so they were not acknowledged ({exc})"
                    )
                    return
                queries.popleft()
                self._connection.enqueue(ack_reply(request_id, state_vector))
            await self._wakeup.wait()
            self._wakeup = anyio.Event()

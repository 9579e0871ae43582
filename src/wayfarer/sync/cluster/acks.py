"""`StreamAckResponder`: a peer's changes count as kept once the trip's stream has them."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

import anyio
from pycrdt import Doc

from wayfarer.sync.cluster.appender import AppendFailed, StreamAppender
from wayfarer.sync.cluster.redis_log import StreamId
from wayfarer.sync.protocol import ACK, CLOSE_TRY_AGAIN, ack_reply
from wayfarer.sync.relay.acks import CLOSE_STORE_FAILED, MAX_UNANSWERED_QUERIES
from wayfarer.sync.relay.frames import Frame
from wayfarer.sync.relay.peer import CloseConnection, PeerConnection

WaitApplied = Callable[[StreamId], Awaitable[None]]


class StreamAckResponder:
    """Answers each ACK_QUERY once every update submitted before it is in the stream and
    has come back through the reader into the room's document.

    The single-process relay answers with the state vector it had when the query came,
    because its document already holds what it acknowledges. A clustered room applies
    nothing before Redis has it, so that state vector would leave out the peer's own
    last edits, and the peer would resend them forever. Waiting until the reader has
    applied the id the appender got makes the reply's state vector name exactly what the
    stream holds (the room's document is the store plus stream entries, nothing else).
    If Redis refuses an update, the query is never answered: the connection is closed
    with CLOSE_STORE_FAILED, so the peer keeps its changes and sends them again.
    """

    def __init__(
        self, connection: PeerConnection, doc: Doc, appender: StreamAppender, wait_applied: WaitApplied
    ) -> None:
        self._connection = connection
        self._doc = doc
        self._appender = appender
        self._wait_applied = wait_applied
        self._queries: deque[tuple[int, int]] = deque()
        self._wakeup = anyio.Event()

    def admit(self, frame: Frame) -> Frame | None:
        if frame.kind != ACK:
            return frame
        assert frame.request_id is not None
        if len(self._queries) >= MAX_UNANSWERED_QUERIES:
            raise CloseConnection(CLOSE_TRY_AGAIN, f"more than {MAX_UNANSWERED_QUERIES} unanswered ACK queries")
        self._queries.append((frame.request_id, self._appender.submitted_seq))
        self._wakeup.set()
        return None

    async def answer_forever(self) -> None:
        while True:
            while self._queries:
                request_id, seq = self._queries[0]
                try:
                    appended = await self._appender.wait_appended(seq)
                except AppendFailed as exc:
                    self._connection.close(
                        CLOSE_STORE_FAILED, f"Redis did not take its changes, so they were not acknowledged ({exc})"
                    )
                    return
                await self._wait_applied(appended)
                self._queries.popleft()
                self._connection.enqueue(ack_reply(request_id, self._doc.get_state()))
            await self._wakeup.wait()
            self._wakeup = anyio.Event()

"""`AckLedger`: which of this peer's changes the relay has durably stored.

A change is only safe once the relay has written it to disk: an agent that claims a run,
or a CLI that exits after posting a message, must know that. The relay answers an
ACK_QUERY (see `protocol.py`) after everything received earlier on that connection is
stored, so a reply to a query sent after change N acknowledges changes 1..N.

Changes are counted as local transactions, not as Yjs clock ticks, because a deletion
does not advance the clock: a peer that only deleted a stop must still wait for it.
Changes made before this peer started (edits made offline in an earlier session) are
unknown by number; they count as one change while the relay's state vector lacks them.
"""

from __future__ import annotations

from typing import Final

from pycrdt import Decoder

MAX_OPEN_QUERIES: Final = 256


def decode_state_vector(state: bytes) -> dict[int, int]:
    """Client id → clock, from Yjs' binary state vector encoding."""
    decoder = Decoder(state)
    count = decoder.read_var_uint()
    vector = {}
    for _ in range(count):
        client = decoder.read_var_uint()
        vector[client] = decoder.read_var_uint()
    return vector


def lacks(relay_state: dict[int, int], ours: dict[int, int]) -> bool:
    """True if the relay's state vector misses something `ours` has."""
    return any(clock > relay_state.get(client, 0) for client, clock in ours.items())


class AckLedger:
    """Counts local changes, the queries sent about them, and the relay's answers."""

    def __init__(self, initial_state: bytes) -> None:
        """`initial_state`: the document's state vector before this peer changed anything."""
        self._initial = decode_state_vector(initial_state)
        self._relay_lacks_initial = False
        self._made = 0
        self._acked = 0
        self._resynced = False
        self._resync_acked = False
        self._queries: dict[int, int] = {}
        self._next_query = 1

    @property
    def made(self) -> int:
        """Local changes made since this ledger started."""
        return self._made

    @property
    def unacked(self) -> int:
        return self._made - self._acked + (1 if self._relay_lacks_initial else 0)

    @property
    def settled(self) -> bool:
        """The relay has stored everything this peer has: what `flush` waits for."""
        return self._resync_acked and self.unacked == 0

    def local_change(self) -> None:
        self._made += 1

    def new_connection(self) -> None:
        """Forget the queries of a lost connection: their replies will never come."""
        self._queries.clear()
        self._resynced = False
        self._resync_acked = False

    def relay_state(self, state_vector: bytes) -> None:
        """The relay told us what it has (its sync step 1, or an ACK reply)."""
        self._relay_lacks_initial = lacks(decode_state_vector(state_vector), self._initial)

    def resync_sent(self) -> None:
        """Everything the relay lacked has been queued on this connection: from now on a
        query acknowledges all changes made before it."""
        self._resynced = True

    def query(self) -> int | None:
        """A fresh query id covering every change made so far, or None before the resync
        (a reply could not vouch for changes that have not been sent)."""
        if not self._resynced:
            return None
        request_id = self._next_query
        self._next_query += 1
        self._queries[request_id] = self._made
        if len(self._queries) > MAX_OPEN_QUERIES:
            # A relay that never answers (not a Wayfarer relay) must not grow this forever;
            # a reply to a newer query covers everything an older one would have.
            del self._queries[min(self._queries)]
        return request_id

    def reply(self, request_id: int, state_vector: bytes) -> None:
        covered = self._queries.pop(request_id, None)
        if covered is None:
            return
        # The relay answers in order: older queries can no longer be answered.
        for older in [q for q in self._queries if q < request_id]:
            del self._queries[older]
        self._acked = max(self._acked, covered)
        self._resync_acked = True
        self.relay_state(state_vector)

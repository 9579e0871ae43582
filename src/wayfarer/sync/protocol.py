"""Wire protocol shared by the relay and Wayfarer's own peers.

The relay speaks the standard Yjs sync and awareness protocol (message types 0 and 1), so
JavaScript `y-websocket` clients work unchanged. Wayfarer peers add one message of their
own, which standard clients never send and so never receive:

    ACK_QUERY  (type 100): [varuint 100][varuint request id]
        "tell me what you have durably stored".
    ACK_REPLY  (type 100): [varuint 100][varuint request id][varbytes state vector]
        sent by the relay after every update received earlier on this connection has
        been written to its store; the state vector is the room's.

A peer compares that state vector with its own local clock to count its changes that
the relay has not acknowledged yet (the "N changes waiting" in the UI), and uses it to
know that a write (for example an agent's claim on a run) has reached the relay.
"""

from __future__ import annotations

from typing import Final

from pycrdt import Decoder, write_var_uint

SYNC: Final = 0
AWARENESS: Final = 1
ACK: Final = 100

# Close codes (RFC 6455 §7.4 and the 4000–4999 private range).
CLOSE_POLICY: Final = 1008  # bad or missing token, or a token for another trip
CLOSE_TOO_BIG: Final = 1009  # a message larger than the relay accepts
CLOSE_TRY_AGAIN: Final = 1013  # a peer too slow to keep up; reconnect and resync
CLOSE_DOC_TOO_BIG: Final = 4009  # the trip's document reached the relay's size limit
CLOSE_PROTOCOL: Final = 1002  # a malformed frame
CLOSE_TOKEN_EXPIRED: Final = 4001


def _var_bytes(data: bytes) -> bytes:
    return write_var_uint(len(data)) + data


def ack_query(request_id: int) -> bytes:
    return write_var_uint(ACK) + write_var_uint(request_id)


def ack_reply(request_id: int, state_vector: bytes) -> bytes:
    return write_var_uint(ACK) + write_var_uint(request_id) + _var_bytes(state_vector)


def parse_ack(message: bytes) -> tuple[int, bytes | None]:
    """(request id, state vector or None for a query) of an ACK message."""
    decoder = Decoder(message)
    kind = decoder.read_var_uint()
    if kind != ACK:
        raise ValueError(f"not an ACK message (type {kind})")
    request_id = decoder.read_var_uint()
    return request_id, decoder.read_message()

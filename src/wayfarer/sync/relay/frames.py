"""Strict parsing of the frames a peer sends, before the library sees them.

pycrdt's `Decoder` reads past the end of a short buffer (IndexError) or returns a
truncated slice without complaint, and `YRoom.serve` swallows what fails, so a garbage
frame is silently half-applied or ignored. Everything here either returns the exact
parts of a well-formed message or raises `MalformedFrame` saying what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from wayfarer.sync.protocol import ACK, AWARENESS, SYNC

SYNC_STEP1 = 0
SYNC_STEP2 = 1
SYNC_UPDATE = 2
QUERY_AWARENESS = 3  # y-websocket's "send me everyone's presence"
MAX_VAR_UINT_BYTES = 8  # client ids are 53-bit at most (JavaScript numbers)


class MalformedFrame(ValueError):
    """A frame that is not a well-formed Yjs, awareness or ACK message."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def var_uint(self) -> int:
        value = shift = 0
        for _ in range(MAX_VAR_UINT_BYTES):
            if self.pos >= len(self.data):
                raise MalformedFrame("the frame ends inside a number")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value
        raise MalformedFrame("a number in the frame is too long")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self.pos + length
        if end > len(self.data):
            raise MalformedFrame(f"the frame announces {length} bytes but holds fewer")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedFrame("a text in the frame is not UTF-8") from exc

    def expect_end(self) -> None:
        if self.pos != len(self.data):
            raise MalformedFrame(f"{len(self.data) - self.pos} unexpected bytes at the end of the frame")


@dataclass(frozen=True)
class Frame:
    """A parsed message: its bytes, its type, the sync step (sync messages) and payload."""

    data: bytes
    kind: int
    payload: bytes = b""
    step: int | None = None
    request_id: int | None = None

    @property
    def is_edit(self) -> bool:
        """A sync message that changes the document (what a viewer may not send)."""
        return self.kind == SYNC and self.step in (SYNC_STEP2, SYNC_UPDATE)


def parse_frame(data: bytes) -> Frame:
    """The structure of one binary frame: sync, awareness, query-awareness or ACK.

    Any other type is refused: no standard client sends one to a server, and the
    library would silently ignore it.
    """
    reader = _Reader(data)
    kind = reader.var_uint()
    if kind == SYNC:
        step = reader.var_uint()
        if step not in (SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE):
            raise MalformedFrame(f"unknown sync step {step}")
        payload = reader.var_bytes()
        reader.expect_end()
        return Frame(data, kind, payload, step=step)
    if kind == AWARENESS:
        payload = reader.var_bytes()
        reader.expect_end()
        return Frame(data, kind, payload)
    if kind == ACK:
        request_id = reader.var_uint()
        reader.expect_end()
        return Frame(data, kind, request_id=request_id)
    if kind == QUERY_AWARENESS:
        reader.expect_end()
        return Frame(data, kind)
    raise MalformedFrame(f"unknown message type {kind}")


@dataclass(frozen=True)
class PresenceEntry:
    """One client's entry in an awareness update; `state` None means "remove me"."""

    client_id: int
    clock: int
    state: dict[str, Any] | None


def parse_awareness(payload: bytes) -> list[PresenceEntry]:
    """The entries of an awareness update; raises MalformedFrame on anything off-spec."""
    reader = _Reader(payload)
    entries = []
    for _ in range(reader.var_uint()):
        client_id, clock, text = reader.var_uint(), reader.var_uint(), reader.var_string()
        try:
            state = json.loads(text)
        except ValueError as exc:
            raise MalformedFrame(f"the presence of client {client_id} is not JSON") from exc
        if state is not None and not isinstance(state, dict):
            raise MalformedFrame(f"the presence of client {client_id} is not a JSON object")
        entries.append(PresenceEntry(client_id, clock, state))
    reader.expect_end()
    return entries

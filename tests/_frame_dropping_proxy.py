"""A TCP proxy of our own that forwards a websocket faithfully, except for one frame.

It reads the relay's frames (server frames are never masked) and, once `drop_next_update()`
has armed it, swallows the next binary frame carrying a Yjs sync update: the one way to
make a connected peer miss an update without cutting its connection, which is what
pycrdt's stuck pending updates look like from the outside.
"""

from __future__ import annotations

import anyio
from anyio.abc import ByteStream, SocketAttribute, TaskGroup

SYNC_UPDATE_PREFIX = b"\x00\x02"  # message type SYNC, then step "update"
OPCODE_BINARY = 0x2


class FrameDroppingProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.dropped = 0
        self._armed = False
        self._tg: TaskGroup | None = None

    def drop_next_update(self) -> None:
        self._armed = True

    async def __aenter__(self) -> FrameDroppingProxy:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra(SocketAttribute.local_port)
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(listener.serve, self._handle)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        await self._tg.__aexit__(None, None, None)

    async def _handle(self, client: ByteStream) -> None:
        upstream = await anyio.connect_tcp("127.0.0.1", self.upstream_port)
        async with client, upstream, anyio.create_task_group() as tg:
            tg.start_soon(self._pump_raw, client, upstream, tg)
            tg.start_soon(self._pump_frames, upstream, client, tg)

    async def _pump_raw(self, source: ByteStream, sink: ByteStream, tg: TaskGroup) -> None:
        try:
            while True:
                await sink.send(await source.receive())
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            tg.cancel_scope.cancel()

    async def _pump_frames(self, source: ByteStream, sink: ByteStream, tg: TaskGroup) -> None:
        buffer = b""
        handshake_done = False
        try:
            while True:
                buffer += await source.receive()
                if not handshake_done:
                    end = buffer.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    await sink.send(buffer[: end + 4])
                    buffer, handshake_done = buffer[end + 4 :], True
                while (frame := _split_frame(buffer)) is not None:
                    raw, opcode, payload, buffer = frame
                    if self._armed and opcode == OPCODE_BINARY and payload.startswith(SYNC_UPDATE_PREFIX):
                        self._armed = False
                        self.dropped += 1
                        continue
                    await sink.send(raw)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            tg.cancel_scope.cancel()


def _split_frame(buffer: bytes) -> tuple[bytes, int, bytes, bytes] | None:
    """(whole frame, opcode, payload, rest) for the first complete unmasked frame, or None."""
    if len(buffer) < 2:
        return None
    opcode, length, offset = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
    if length == 126:
        if len(buffer) < 4:
            return None
        length, offset = int.from_bytes(buffer[2:4], "big"), 4
    elif length == 127:
        if len(buffer) < 10:
            return None
        length, offset = int.from_bytes(buffer[2:10], "big"), 10
    end = offset + length
    if len(buffer) < end:
        return None
    return buffer[:end], opcode, buffer[offset:end], buffer[end:]

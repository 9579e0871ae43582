"""A small TCP proxy of our own between peers and a relay that misbehaves on purpose.

Each chunk passing through may be delayed; now and then a connection stalls (no bytes
either way for a while) or is cut (both sides closed mid-stream). `calm()` stops the
mischief so a test can check that everyone converges afterwards. Seeded, so a failing run
can be repeated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import anyio
from anyio.abc import ByteStream, SocketAttribute, TaskGroup


@dataclass
class Mischief:
    max_delay: float = 0.03  # seconds added to a chunk, uniformly
    stall_chance: float = 0.01  # per chunk
    stall_seconds: float = 0.6
    cut_chance: float = 0.01  # per chunk


class ChaosProxy:
    def __init__(self, upstream_port: int, seed: int = 0, mischief: Mischief | None = None) -> None:
        self.upstream_port = upstream_port
        self.mischief = mischief or Mischief()
        self.rng = random.Random(seed)
        self.port = 0
        self.cuts = 0
        self.stalls = 0
        self._calm = False
        self._tg: TaskGroup | None = None

    def calm(self) -> None:
        self._calm = True

    async def __aenter__(self) -> ChaosProxy:
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
        try:
            upstream = await anyio.connect_tcp("127.0.0.1", self.upstream_port)
        except OSError:
            await client.aclose()
            return
        async with client, upstream, anyio.create_task_group() as tg:
            tg.start_soon(self._pump, client, upstream, tg)
            tg.start_soon(self._pump, upstream, client, tg)

    async def _pump(self, source: ByteStream, sink: ByteStream, tg: TaskGroup) -> None:
        try:
            while True:
                chunk = await source.receive()
                if not self._calm:
                    roll = self.rng.random()
                    if roll < self.mischief.cut_chance:
                        self.cuts += 1
                        tg.cancel_scope.cancel()
                        return
                    if roll < self.mischief.cut_chance + self.mischief.stall_chance:
                        self.stalls += 1
                        await anyio.sleep(self.mischief.stall_seconds)
                    await anyio.sleep(self.rng.uniform(0, self.mischief.max_delay))
                await sink.send(chunk)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            tg.cancel_scope.cancel()

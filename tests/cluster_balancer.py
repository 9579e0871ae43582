"""A failover TCP load balancer on 127.0.0.1 in front of a cluster's relays, for tests.

Each new connection goes to the first relay in the list that accepts it, as a load
balancer with health checks does once a relay stops answering: peers keep one URL and
reconnect through it, without knowing which relay they reach. Counts the connections
each relay got.

    async with Balancer([a.port, b.port]) as balancer:
        link = balancer.link(a.link("trip-1"))      # the same trip link, through the balancer
"""

from __future__ import annotations

from collections import Counter
from typing import Self

import anyio
from anyio.abc import ByteStream, SocketAttribute, TaskGroup


class Balancer:
    def __init__(self, upstream_ports: list[int]) -> None:
        self.upstream_ports = upstream_ports
        self.port = 0
        self.connections: Counter[int] = Counter()  # upstream port → connections it got
        self._tg: TaskGroup | None = None

    def link(self, relay_link: str) -> str:
        """`relay_link` (`ws://127.0.0.1:P/<trip>?token=...`) through the balancer instead."""
        _, _, rest = relay_link.partition("://")
        return f"ws://127.0.0.1:{self.port}/{rest.partition('/')[2]}"

    async def __aenter__(self) -> Self:
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
        for port in self.upstream_ports:
            try:
                upstream = await anyio.connect_tcp("127.0.0.1", port)
            except OSError:
                continue
            self.connections[port] += 1
            break
        else:
            await client.aclose()
            return
        async with client, upstream, anyio.create_task_group() as tg:
            tg.start_soon(_pump, client, upstream, tg)
            tg.start_soon(_pump, upstream, client, tg)


async def _pump(source: ByteStream, sink: ByteStream, tg: TaskGroup) -> None:
    try:
        while True:
            await sink.send(await source.receive())
    except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        tg.cancel_scope.cancel()

"""`ClusterRelay`: one relay of many, sharing every trip through Redis streams."""

from __future__ import annotations

from wayfarer.sync.cluster.server import ClusterServer
from wayfarer.sync.relay import Relay, RelayConfig
from wayfarer.sync.relay.server import TripServer


class ClusterRelay(Relay):
    """A `Relay` (same token gate, websocket server and shutdown) whose rooms live in
    Redis: `async with ClusterRelay(config, "redis://host:6379/0")`. Raises
    `ClusterError` on entering if Redis cannot be reached or is unsafe for trips."""

    def __init__(self, config: RelayConfig, redis_url: str) -> None:
        super().__init__(config)
        self.redis_url = redis_url

    def _make_server(self) -> TripServer:
        return ClusterServer(self.config, self.redis_url)

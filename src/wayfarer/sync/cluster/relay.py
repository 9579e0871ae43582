"""`ClusterRelay`: one relay of many, sharing every trip through Redis streams."""

from __future__ import annotations

from wayfarer.sync.cluster.options import ClusterOptions
from wayfarer.sync.cluster.server import ClusterServer
from wayfarer.sync.cluster.redis_log import safe_url
from wayfarer.sync.cluster.store import TripStore, redact
from wayfarer.sync.relay import Relay, RelayConfig
from wayfarer.sync.relay.server import TripServer


class ClusterRelay(Relay):
    """A `Relay` (same token gate, websocket server and shutdown) whose rooms live in
    Redis: `async with ClusterRelay(config, "redis://host:6379/0", options)`. Raises
    `ClusterError` on entering if Redis or the durable store cannot be used.

    `options.store` names the durable store; a caller that has opened one itself passes
    it as `store` instead (it stays the caller's to close).
    """

    def __init__(
        self, config: RelayConfig, redis_url: str, options: ClusterOptions | None = None, store: TripStore | None = None
    ) -> None:
        super().__init__(config)
        self.redis_url = redis_url
        self.options = options or ClusterOptions()
        self._store = store

    def where_trips_live(self) -> str:
        if self._store is not None:
            store = self._store.description
        elif self.options.store is not None:
            store = redact(self.options.store)
        else:
            store = f"{self.config.rooms_dir} (this relay's own; nothing compacts into it)"
        return f"Redis {safe_url(self.redis_url)} and {store}"

    def _make_server(self) -> TripServer:
        return ClusterServer(self.config, self.redis_url, self.options, self._store)

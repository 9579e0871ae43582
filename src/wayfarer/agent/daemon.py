"""`AgentDaemon`: the headless agent peer. It joins trips on a relay and serves their runs.

Each trip gets its own in-memory document, kept in sync with the relay room like any other
peer, its own presence (kind "agent") and a `TripAgent`. Trips can be added while it runs
(`add_trip`), which is how the desktop app hands its embedded agent each trip it opens.
"""

from __future__ import annotations

import logging
import secrets
import socket
from dataclasses import dataclass, field
from types import TracebackType

import anyio
from anyio.abc import TaskGroup
from pycrdt import Doc

from wayfarer.sync.connection import LinkRefused, RelayConnection, SyncError, SyncTimeout
from wayfarer.sync.links import TripLink
from wayfarer.sync.presence import Presence
from wayfarer.sync.tokens import make_token
from wayfarer.trip import Person, Trip

from .advisor import Advisor, AdvisorSettings
from .gazetteer import default_gazetteer
from .provider import Provider
from .worker import AgentSettings, TripAgent

log = logging.getLogger(__name__)

AGENT_PRESENCE = Person("wayfarer-agent", "Wayfarer", "#8e5bd8")
FLUSH_TIMEOUT_S = 10.0


@dataclass
class DaemonConfig:
    relay_url: str
    key: str
    settings: AgentSettings = field(default_factory=AgentSettings)
    advisor: AdvisorSettings = field(default_factory=AdvisorSettings)
    name: str = "Wayfarer"


class AgentDaemon:
    """`async with AgentDaemon(config, provider) as daemon: daemon.add_trip(trip_id)`."""

    def __init__(self, config: DaemonConfig, provider: Provider) -> None:
        self.config = config
        self.provider = provider
        # Unique per process: the claim protocol tells agents apart by this id.
        self.person = Person(f"agent-{socket.gethostname()}-{secrets.token_hex(3)}", config.name, AGENT_PRESENCE.color)
        self._trips: set[str] = set()
        self._tg: TaskGroup | None = None

    async def __aenter__(self) -> AgentDaemon:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        # Load the gazetteer (~1 s) in a worker thread now, not in the middle of a first reply.
        self._tg.start_soon(anyio.to_thread.run_sync, default_gazetteer)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        return await self._tg.__aexit__(exc_type, exc, tb)

    @property
    def trips(self) -> frozenset[str]:
        return frozenset(self._trips)

    def add_trip(self, trip_id: str) -> None:
        """Start serving a trip (no-op if already served)."""
        if self._tg is None:
            raise RuntimeError("AgentDaemon is not running: use it as `async with`")
        if trip_id in self._trips:
            return
        self._trips.add(trip_id)
        self._tg.start_soon(self._serve_trip, trip_id, name=f"agent:{trip_id}")

    async def _serve_trip(self, trip_id: str) -> None:
        token = make_token(self.config.key, trip_id, "editor")
        link = str(TripLink(self.config.relay_url, trip_id, token))
        doc: Doc = Doc()
        trip = Trip(doc)
        presence = Presence(doc, AGENT_PRESENCE, kind="agent")
        async with RelayConnection(doc, link, presence=presence) as connection:

            async def flush() -> None:
                try:
                    await connection.flush(timeout=FLUSH_TIMEOUT_S)
                except SyncError:
                    # Offline or slow: the claim still stands locally and syncs later; the
                    # settle time and the watch in execute_run cover a concurrent claim.
                    log.warning("trip %s: relay did not acknowledge the claim in time", trip_id)

            while True:
                try:
                    await connection.wait_synced(timeout=60)
                    break
                except SyncTimeout:
                    log.info("trip %s: still waiting for the relay at %s", trip_id, self.config.relay_url)
                except LinkRefused as exc:
                    log.error("trip %s: the relay refused the agent: %s", trip_id, exc)
                    self._trips.discard(trip_id)
                    return
            log.info("agent %s serving trip %s with %s", self.person.id, trip_id, self.provider.label)
            worker = TripAgent(
                trip, self.provider, self.person, self.config.settings, flush=flush, on_status=presence.set_status
            )
            async with anyio.create_task_group() as tg:
                tg.start_soon(Advisor(trip, self.person, self.config.advisor).watch)
                await worker.serve()

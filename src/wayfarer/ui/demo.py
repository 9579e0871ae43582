"""`wayfarer demo`: a relay, an agent and two windows as two people (Ana and Ben) on one
new trip, all in this process. Each person has their own trip library, as if on two
computers, so the windows share nothing but the relay room."""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication

from wayfarer.agent.daemon import AgentDaemon, DaemonConfig
from wayfarer.agent.providers import make_provider
from wayfarer.sync.library import TripLibrary
from wayfarer.sync.relay import Relay, RelayConfig
from wayfarer.trip import Person

from .main_window import MainWindow
from .relay_host import RelayAccess
from .settings import SettingsStore
from .trip_session import TripSession, open_session, sync_link

ANA = Person("demo-ana", "Ana", "#e8590c")
BEN = Person("demo-ben", "Ben", "#1c7ed6")
SYNC_TIMEOUT_S = 15.0


async def run_demo(qt: QApplication, *, title: str, message: str, data: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="wayfarer-demo-") as scratch:
        home = data or Path(scratch)
        async with Relay(RelayConfig(data_dir=home / "relay")) as relay:
            access = RelayAccess(relay.url, relay.key, embedded=True)
            settings = SettingsStore().load()
            provider = make_provider("auto", api_key=settings.api_key or None, model=settings.model)
            async with AgentDaemon(DaemonConfig(relay.url, relay.key), provider) as agent:
                await _two_windows(qt, home, access, agent, title=title, message=message)


async def _two_windows(
    qt: QApplication, home: Path, access: RelayAccess, agent: AgentDaemon, *, title: str, message: str
) -> None:
    ana_library, ben_library = TripLibrary(_folder(home / "ana")), TripLibrary(_folder(home / "ben"))
    trip_id = ana_library.create(title).id
    link = sync_link(trip_id, None, access)
    agent.add_trip(trip_id)
    async with open_session(ana_library, trip_id, ANA, access) as ana, open_session(
        ben_library, trip_id, BEN, access, joined=link
    ) as ben:
        screen = qt.primaryScreen().availableGeometry()
        half = screen.width() // 2
        label = agent.provider.label
        closed = [
            _show(ana, QRect(screen.left(), screen.top(), half, screen.height()), agent_label=label),
            _show(ben, QRect(screen.left() + half, screen.top(), half, screen.height()), agent_label=label),
        ]
        if message:
            assert ana.connection is not None
            await ana.connection.wait_synced(SYNC_TIMEOUT_S)
            ana.model.apply(lambda trip: trip.post_user_message(message, ANA))
        for event in closed:
            await event.wait()


def _show(session: TripSession, area: QRect, *, agent_label: str) -> anyio.Event:
    window: MainWindow = session.window(agent_label=agent_label)
    window.setGeometry(area)
    closed = anyio.Event()
    window.closed.connect(closed.set)
    window.quit_requested.connect(window.close)
    window.show()
    return closed


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path

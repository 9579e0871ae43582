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

from .app import close_provider
from .event_loop import quit_on_signals
from .main_window import MainWindow
from .relay_host import RelayAccess
from .settings import SettingsStore
from .trip_session import open_session, sync_link

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
            try:
                config = DaemonConfig(relay.url, relay.key)
                async with AgentDaemon(config, provider) as agent, anyio.create_task_group() as signals:
                    signals.start_soon(quit_on_signals, _close_windows)
                    await _two_windows(qt, home, access, agent, title=title, message=message)
                    signals.cancel_scope.cancel()
            finally:
                await close_provider(provider)


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
        label = agent.provider.label
        windows = [ana.window(agent_label=label), ben.window(agent_label=label)]
        for window, area in zip(windows, side_by_side(qt.primaryScreen().availableGeometry(), windows[0])):
            window.setGeometry(area)
        closed = [_show(window) for window in windows]
        if message:
            assert ana.connection is not None
            await ana.connection.wait_synced(SYNC_TIMEOUT_S)
            ana.model.apply(lambda trip: trip.post_user_message(message, ANA))
        for event in closed:
            await event.wait()


def side_by_side(screen: QRect, window: MainWindow) -> tuple[QRect, QRect]:
    """Ana's window on the left half of the screen, Ben's on the right; on a screen too
    narrow for two windows side by side, each as narrow as a window can be and the second
    over the first's right edge, rather than cut off."""
    width = max(screen.width() // 2, window.minimumSizeHint().width())
    left = QRect(screen.left(), screen.top(), width, screen.height())
    right = QRect(max(screen.left(), screen.right() + 1 - width), screen.top(), width, screen.height())
    return left, right


def _show(window: MainWindow) -> anyio.Event:
    closed = anyio.Event()
    window.closed.connect(closed.set)
    window.quit_requested.connect(window.close)
    window.show()
    return closed


def _close_windows() -> None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow):
            widget.close()


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path

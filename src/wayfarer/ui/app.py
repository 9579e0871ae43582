"""The desktop app's process: Qt, the event loop, the relay and agent, and its windows.

`run_app()` is `wayfarer` / `wayfarer app`. Everything runs on one loop (see
`event_loop`): with no relay configured, the embedded relay (shared by every `wayfarer`
process of this user, see `relay_host`) and an embedded agent on it; each opened trip is
a task that lives as long as its window. Quitting closes the windows first, so every
session leaves its room cleanly, then stops the agent, then the relay (which stores
everything before it stops).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup
from PySide6.QtCore import QPoint, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from wayfarer import paths
from wayfarer.agent.daemon import AgentDaemon, DaemonConfig
from wayfarer.agent.providers import ProviderUnavailable, make_provider
from wayfarer.sync.library import InvalidTripId, TripLibrary
from wayfarer.sync.links import TripLink
from wayfarer.sync.updatelog import StoreError

from .event_loop import quit_on_signals, run_with_qt
from .main_window import MainWindow
from .relay_host import EmbeddedRelay, RelayAccess, RelayUnavailable
from .settings import Settings, SettingsDialog, SettingsStore
from .settings_watch import SettingsWatcher
from .start_screen import StartScreen
from .theme import apply_theme
from .trip_session import TripSession, open_session

log = logging.getLogger(__name__)

CASCADE = QPoint(32, 32)


@asynccontextmanager
async def relay_access(settings: Settings, services: TaskGroup) -> AsyncIterator[RelayAccess]:
    """The configured relay, or the embedded one (hosted by `services` when it is our turn)."""
    if settings.relay_url:
        yield RelayAccess(settings.relay_url, settings.relay_key or None, embedded=False)
        return
    embedded = EmbeddedRelay(paths.embedded_relay_dir())
    services.start_soon(embedded.serve, name="embedded relay")
    yield await embedded.access()


@asynccontextmanager
async def embedded_agent(settings: Settings, access: RelayAccess) -> AsyncIterator[AgentDaemon | None]:
    """An agent on this computer, for a relay whose key we hold (else: none here)."""
    if access.key is None:
        yield None
        return
    try:
        provider = make_provider("auto", api_key=settings.api_key or None, model=settings.model)
    except ProviderUnavailable as exc:
        log.warning("no agent on this computer: %s", exc)
        yield None
        return
    try:
        async with AgentDaemon(DaemonConfig(access.url, access.key), provider) as daemon:
            yield daemon
    finally:
        await close_provider(provider)


async def close_provider(provider: object) -> None:
    """A provider with a connection pool (Anthropic's) closes it while the loop still runs:
    left to the garbage collector, its streams are finalized after the loop is gone."""
    aclose = getattr(provider, "aclose", None)
    if aclose is not None:
        await aclose()


class WayfarerApp:
    """The windows of this process and the trips behind them."""

    def __init__(self, qt: QApplication, store: SettingsStore, library: TripLibrary) -> None:
        self.qt = qt
        self.store = store
        self.library = library
        self.settings = store.load()
        # Another `wayfarer` process of this person may save new settings at any time.
        self.settings_watcher = SettingsWatcher(store, self.settings)
        self.settings_watcher.changed.connect(self._adopt)
        self.windows: dict[str, MainWindow] = {}
        self.sessions: dict[str, TripSession] = {}
        self.start: StartScreen | None = None
        self.access: RelayAccess | None = None
        self.agent: AgentDaemon | None = None
        self._opening: set[str] = set()
        self._sessions: TaskGroup | None = None
        self._quit = anyio.Event()

    async def run(self, trip: str | None = None) -> None:
        async with anyio.create_task_group() as services:
            services.start_soon(quit_on_signals, self.quit, name="quit on signals")
            async with relay_access(self.settings, services) as access, embedded_agent(self.settings, access) as agent:
                self.access, self.agent = access, agent
                async with anyio.create_task_group() as sessions:
                    self._sessions = sessions
                    self._open_first(trip)
                    await self._quit.wait()
                    self._close_all()
                # Every session has left its room: now the agent, then the relay, may stop.
            services.cancel_scope.cancel()

    @property
    def agent_label(self) -> str:
        return self.agent.provider.label if self.agent is not None else ""

    # ------------------------------------------------------------------ opening trips

    def open_trip(self, trip_id: str) -> None:
        self._open(trip_id, None)

    def join(self, link: TripLink) -> None:
        self._open(link.trip_id, link)

    def open_argument(self, text: str) -> None:
        """`--trip`: a link to join, or the id of a trip kept here."""
        if "://" in text:
            try:
                self.join(TripLink.parse(text))
            except ValueError as exc:
                self.show_start(f"That is not a usable trip link: {exc}")
        else:
            self.open_trip(text)

    def _open_first(self, trip: str | None) -> None:
        if trip:
            self.open_argument(trip)
        elif self.settings.last_trip and self._exists(self.settings.last_trip):
            self.open_trip(self.settings.last_trip)
        else:
            self.show_start()

    def _open(self, trip_id: str, link: TripLink | None) -> None:
        window = self.windows.get(trip_id)
        if window is not None:
            window.raise_()
            window.activateWindow()
            return
        if trip_id in self._opening or self._sessions is None:
            return
        self._opening.add(trip_id)
        self._sessions.start_soon(self._session, trip_id, link, name=f"trip {trip_id}")

    async def _session(self, trip_id: str, link: TripLink | None) -> None:
        window: MainWindow | None = None
        try:
            async with open_session(self.library, trip_id, self.settings.person, self.access, joined=link) as session:
                self.sessions[trip_id] = session
                if session.people.me != self.settings.person:  # Settings were saved while it opened
                    session.set_person(self.settings.person)
                window = session.window(agent_label=self.agent_label)
                closed = anyio.Event()
                window.closed.connect(closed.set)
                window.start_screen_requested.connect(lambda: self.show_start())
                window.settings_requested.connect(lambda: self.edit_settings(window))
                window.quit_requested.connect(self.quit)
                self._place(window)
                self.windows[trip_id] = window
                self._opening.discard(trip_id)
                window.show()
                if self.start is not None:
                    self.start.hide()
                self._hand_to_agent(session.link)
                self._saved(self.store.update(last_trip=trip_id))
                await closed.wait()
        except (StoreError, InvalidTripId, ValueError) as exc:
            self.show_start(f"Could not open the trip: {exc}")
        finally:
            self._opening.discard(trip_id)
            self.windows.pop(trip_id, None)
            self.sessions.pop(trip_id, None)
            if window is not None:
                # Only now: until the session ended, its sync status still reached the window.
                window.deleteLater()
            self._maybe_quit()

    def _hand_to_agent(self, link: TripLink | None) -> None:
        """Our agent serves trips on our relay; elsewhere, that relay's agents do."""
        if link is not None and self.agent is not None and self.access is not None and link.relay_url == self.access.url:
            self.agent.add_trip(link.trip_id)

    def _place(self, window: MainWindow) -> None:
        screen = self.qt.primaryScreen().availableGeometry()
        window.resize(min(1400, screen.width()), min(900, screen.height()))
        offset = CASCADE * len(self.windows)
        window.move(screen.topLeft() + offset)

    def _exists(self, trip_id: str) -> bool:
        try:
            return self.library.exists(trip_id)
        except InvalidTripId:
            return False

    # ------------------------------------------------------------------ start screen, settings

    def show_start(self, error: str = "") -> None:
        if self.start is None:
            self.start = StartScreen(self.library, is_open=lambda trip_id: trip_id in self.windows)
            self.start.resize(860, 640)
            self.start.open_requested.connect(self.open_trip)
            self.start.join_requested.connect(self.join)
            self.start.settings_requested.connect(lambda: self.edit_settings(self.start))
            # Checked once the close is done: during closeEvent the screen is still visible.
            self.start.closed.connect(lambda: QTimer.singleShot(0, self._maybe_quit))
        self.start.refresh()
        self.start.show_error(error)
        self.start.show()
        self.start.raise_()

    def edit_settings(self, parent: QWidget | None) -> None:
        dialog = SettingsDialog(self.settings, parent)
        dialog.accepted.connect(lambda: self._save_settings(dialog.settings()))
        dialog.open()

    def _save_settings(self, settings: Settings) -> None:
        self.store.save(settings)
        self._saved(settings)

    def _saved(self, settings: Settings) -> None:
        """This process wrote `settings` (read back from disk, they may also carry what
        another process saved before)."""
        self.settings_watcher.saved_here(settings)
        self._adopt(settings)

    def _adopt(self, settings: Settings) -> None:
        """Use `settings` from now on; a new name or colour reaches every open trip at once
        (the next start picks up relay, keys and model)."""
        renamed = settings.person != self.settings.person
        self.settings = settings
        if renamed:
            for session in self.sessions.values():
                session.set_person(settings.person)

    # ------------------------------------------------------------------ quitting

    def quit(self) -> None:
        self._quit.set()

    def _maybe_quit(self) -> None:
        start_visible = self.start is not None and self.start.isVisible()
        if not self.windows and not self._opening and not start_visible:
            self._quit.set()

    def _close_all(self) -> None:
        for window in list(self.windows.values()):
            window.close()
        if self.start is not None:
            self.start.close()


def qt_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Wayfarer")
    app.setOrganizationName("Wayfarer")
    apply_theme(app)
    return app


def run_app(trip: str | None = None) -> int:
    qt = qt_application()
    app = WayfarerApp(qt, SettingsStore(), TripLibrary())
    failure = ""
    try:
        run_with_qt(qt, lambda: app.run(trip))
    except* RelayUnavailable as group:
        failure = "; ".join(str(exc) for exc in group.exceptions)
    if failure:
        log.error("could not start: %s", failure)
        QMessageBox.critical(None, "Wayfarer could not start", f"Wayfarer could not start: {failure}.")
        return 1
    return 0

"""The app process: embedded relay and agent, a second process on the same relay, the demo."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

from anthropic_server import AnthropicTestServer, text_turn
from wayfarer import paths
from wayfarer.sync.connection import RelayConnection
from wayfarer.sync.library import TripLibrary
from wayfarer.sync.links import TripLink
from wayfarer.sync.tokens import make_token
from wayfarer.trip import Trip
from wayfarer.ui.app import WayfarerApp
from wayfarer.ui.demo import run_demo
from wayfarer.ui.event_loop import run_with_qt
from wayfarer.ui.main_window import MainWindow
from wayfarer.ui.relay_host import EmbeddedRelay
from wayfarer.ui.settings import SettingsDialog, SettingsStore

SRC = Path(__file__).resolve().parent.parent / "src"
RUN_TIMEOUT_S = 90.0  # the offline planner writes at reading speed: a two-day plan takes seconds
WAIT_S = 20.0


async def until(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.05)


def test_the_app_plans_two_days_in_lisbon_with_its_embedded_relay_and_agent(qapp: QApplication, qtbot: QtBot) -> None:
    library = TripLibrary()
    trip_id = library.create("Lisbon weekend").id
    app = WayfarerApp(qapp, SettingsStore(), library)
    seen: dict[str, object] = {}

    async def drive() -> None:
        await until(lambda: trip_id in app.windows)
        window = app.windows[trip_id]
        await until(lambda: window.sync.text.text() == "synced")
        qtbot.keyClicks(window.chat.composer, "Plan 2 days in Lisbon")
        qtbot.keyClick(window.chat.composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        trip = window.model.trip
        await until(lambda: bool(trip.runs()) and not trip.runs()[0].is_live, RUN_TIMEOUT_S)
        await until(lambda: window.board.summary.text().startswith("2 days"))
        reply = trip.snapshot().chat[-1]
        view = window.chat.message_view(reply.id)
        assert view is not None
        await until(lambda: view.text == reply.text)
        seen.update(
            run=trip.runs()[0],
            stops=len(trip.stops()),
            summary=window.board.summary.text(),
            tool_lines=view.tool_lines(),
            agent=window.chat.agent_label.text(),
            people=[(p.name, p.kind) for p in window.people.people],
        )
        window.close()

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(app.run, trip_id)
            await drive()

    run_with_qt(qapp, main)
    run = seen["run"]
    assert (run.status, run.model) == ("completed", "offline planner")  # type: ignore[attr-defined]
    assert seen["stops"] >= 4 and f"{seen['stops']} stops" in seen["summary"]  # type: ignore[operator]
    assert any(line.startswith("✓ Added") and "Day 1" in line for line in seen["tool_lines"])  # type: ignore[union-attr]
    assert seen["agent"] == "✦ offline planner"
    assert ("Wayfarer", "agent") in seen["people"]  # type: ignore[operator]
    with library.open(trip_id) as local:  # the plan is on this computer's disk too
        assert len(local.trip.stops()) == seen["stops"]


def test_new_settings_apply_to_the_trips_already_open(qapp: QApplication, qtbot: QtBot) -> None:
    library = TripLibrary()
    trip_id = library.create("Lisbon weekend").id
    store = SettingsStore()
    store.update(display_name="Ana", color="#e8590c")
    app = WayfarerApp(qapp, store, library)
    seen: dict[str, object] = {}

    async def drive() -> None:
        await until(lambda: trip_id in app.windows)
        window = app.windows[trip_id]
        await until(lambda: window.sync.text.text() == "synced")
        trip, me = window.model.trip, window.people.me.id
        earlier, _ = trip.post_user_message("Hello from Ana", window.people.me, ask_agent=False)
        await until(lambda: window.chat.message_view(earlier) is not None)

        app.edit_settings(window)
        dialog = window.findChild(SettingsDialog)
        assert dialog is not None
        dialog.name.setText("Ana Sousa")
        dialog.color.set_color("#2b8a3e")
        dialog.accept()

        qtbot.keyClicks(window.chat.composer, "Now with my full name")
        qtbot.keyClick(window.chat.composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        await until(lambda: any(p.id == me and p.name == "Ana Sousa" for p in window.people.people))
        seen.update(
            author=trip.snapshot().chat[-1].author_name,
            presence=window.people.presence.state["user"],  # type: ignore[union-attr]
            avatar=next(a for a in window.presence.avatars() if a.toolTip().endswith("(you)")).toolTip(),
            earlier_color=window.chat.message_view(earlier).color.name(),  # type: ignore[union-attr]
            saved=SettingsStore().load().display_name,
        )
        window.close()

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(app.run, trip_id)
            await drive()

    run_with_qt(qapp, main)
    assert seen["author"] == "Ana Sousa"  # new messages carry the new name
    assert seen["presence"] == {"id": app.settings.person_id, "name": "Ana Sousa", "color": "#2b8a3e"}
    assert seen["avatar"] == "Ana Sousa (you)"
    assert seen["earlier_color"] == "#2b8a3e"  # my messages wear my new colour
    assert seen["saved"] == "Ana Sousa"


def test_the_api_key_in_settings_reaches_the_agent_and_is_never_shown_or_logged(
    qapp: QApplication,
    anthropic_server: AnthropicTestServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "sk-ant-api03-wayfarer-test-secret"
    caplog.set_level(logging.DEBUG)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic_server.base_url)
    anthropic_server.script(text_turn("Lisbon it is!", chunks=3))
    store = SettingsStore()
    store.update(api_key=secret)
    library = TripLibrary()
    trip_id = library.create("Lisbon weekend").id
    app = WayfarerApp(qapp, store, library)
    seen: dict[str, object] = {}

    async def drive() -> None:
        await until(lambda: trip_id in app.windows)
        window = app.windows[trip_id]
        await until(lambda: window.sync.text.text() == "synced")
        window.chat.composer.setPlainText("Plan 2 days in Lisbon")
        window.chat.send()
        trip = window.model.trip
        await until(lambda: bool(trip.runs()) and not trip.runs()[0].is_live, RUN_TIMEOUT_S)
        app.edit_settings(window)
        dialog = window.findChild(SettingsDialog)
        assert dialog is not None
        seen.update(
            run=trip.runs()[0].status,
            reply=trip.snapshot().chat[-1].text,
            echo=dialog.api_key.echoMode(),
            shown=dialog.api_key.displayText(),
        )
        dialog.reject()
        window.close()

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(app.run, trip_id)
            await drive()

    run_with_qt(qapp, main)
    assert (seen["run"], seen["reply"]) == ("completed", "Lisbon it is!")
    assert anthropic_server.requests[0].api_key == secret  # the agent used the key from Settings
    assert seen["echo"] == QLineEdit.EchoMode.Password and secret not in str(seen["shown"])
    assert caplog.records and not any(secret in record.getMessage() for record in caplog.records)


def test_settings_saved_by_another_wayfarer_process_reach_the_trips_open_here(
    qapp: QApplication, wayfarer_home: Path
) -> None:
    library = TripLibrary()
    trip_id = library.create("Lisbon weekend").id
    store = SettingsStore()
    store.update(display_name="Ana", color="#e8590c")
    app = WayfarerApp(qapp, store, library)
    seen: dict[str, object] = {}

    async def drive() -> None:
        await until(lambda: trip_id in app.windows)
        window = app.windows[trip_id]
        await until(lambda: window.sync.text.text() == "synced")
        me = window.people.me.id
        earlier, _ = window.model.trip.post_user_message("Hello from Ana", window.people.me, ask_agent=False)
        await until(lambda: window.chat.message_view(earlier) is not None)

        # Ana renames herself in the Settings of her other Wayfarer window (another process).
        await anyio.to_thread.run_sync(_save_settings_in_another_process, wayfarer_home)
        await until(lambda: any(p.id == me and p.name == "Ana Sousa" for p in window.people.people))
        seen.update(
            presence=window.people.presence.state["user"],  # type: ignore[union-attr]
            avatar=next(a for a in window.presence.avatars() if a.toolTip().endswith("(you)")).toolTip(),
            earlier_color=window.chat.message_view(earlier).color.name(),  # type: ignore[union-attr]
            settings=(app.settings.display_name, app.settings.person_id),
        )
        window.chat.composer.setPlainText("Now with my full name")
        window.chat.send()
        seen["author"] = window.model.trip.snapshot().chat[-1].author_name
        window.close()

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(app.run, trip_id)
            await drive()

    run_with_qt(qapp, main)
    person_id = store.load().person_id
    assert seen["presence"] == {"id": person_id, "name": "Ana Sousa", "color": "#2b8a3e"}
    assert seen["avatar"] == "Ana Sousa (you)"
    assert seen["earlier_color"] == "#2b8a3e"
    assert seen["settings"] == ("Ana Sousa", person_id)
    assert seen["author"] == "Ana Sousa"


def _save_settings_in_another_process(home: Path) -> None:
    """What the Settings dialog of another `wayfarer` process of this user does on Save."""
    code = (
        "import dataclasses\n"
        "from wayfarer.ui.settings import SettingsStore\n"
        "store = SettingsStore()\n"
        "store.save(dataclasses.replace(store.load(), display_name='Ana Sousa', color='#2b8a3e'))\n"
    )
    env = dict(os.environ, WAYFARER_HOME=str(home))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


def test_a_second_wayfarer_process_joins_the_same_room(qapp: QApplication, wayfarer_home: Path) -> None:
    library = TripLibrary()
    trip_id = library.create("Lisbon weekend").id
    app = WayfarerApp(qapp, SettingsStore(), library)
    windows: list[int] = []
    exits: list[int | None] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(app.run, trip_id)
            await until(lambda: trip_id in app.windows)
            window = app.windows[trip_id]
            me = window.people.me.id
            child = _start_app_process(wayfarer_home, trip_id)
            try:
                await until(lambda: any(p.id == me and p.windows == 2 for p in window.people.people), 60)
                windows.append(len(window.presence.avatars()))
                child.send_signal(signal.SIGINT)  # Ctrl+C in the terminal that started it
                # It quits as on Ctrl+Q: leaves the room at once (not after the presence timeout).
                await until(lambda: any(p.id == me and p.windows == 1 for p in window.people.people), 10)
                exits.append(await anyio.to_thread.run_sync(lambda: child.wait(20)))
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            window.close()

    run_with_qt(qapp, main)
    assert windows == [2]  # me (two windows, two processes) and the agent
    assert exits == [0]


def _start_app_process(home: Path, trip_id: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, WAYFARER_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "wayfarer", "app", "--trip", trip_id],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_the_embedded_relay_is_hosted_once_and_taken_over_on_the_same_address(qapp: QApplication) -> None:
    data = paths.embedded_relay_dir()

    async def main() -> tuple[bool, bool, str, str, bool]:
        first, second = EmbeddedRelay(data), EmbeddedRelay(data)
        async with anyio.create_task_group() as tg:
            host_scope = anyio.CancelScope()

            async def host() -> None:
                with host_scope:
                    await first.serve()

            tg.start_soon(host)
            url = (await first.access()).url
            tg.start_soon(second.serve)
            joined = (await second.access()).url
            roles = (first.hosting, second.hosting)
            host_scope.cancel()  # the hosting process quits
            await until(lambda: second.hosting)
            link = TripLink(joined, "t1", make_token(second.key, "t1", "editor"))
            trip = Trip()
            async with RelayConnection(trip.doc, link) as connection:
                await connection.wait_synced(WAIT_S)
                synced = connection.status.state == "synced"
            tg.cancel_scope.cancel()
        return roles[0], roles[1], url, joined, synced

    first_hosts, second_hosts, url, joined, synced = run_with_qt(qapp, main)
    assert (first_hosts, second_hosts) == (True, False)
    assert joined == url and synced


def test_the_embedded_relay_keeps_its_address_across_restarts(qapp: QApplication) -> None:
    data = paths.embedded_relay_dir()

    async def host_once() -> str:
        relay = EmbeddedRelay(data)
        async with anyio.create_task_group() as tg:
            tg.start_soon(relay.serve)
            url = (await relay.access()).url
            tg.cancel_scope.cancel()
        return url

    first = run_with_qt(qapp, host_once)
    assert run_with_qt(qapp, host_once) == first  # so links handed out earlier keep working


def test_wayfarer_reopens_the_last_trip_else_shows_the_start_screen(qapp: QApplication) -> None:
    library = TripLibrary()
    shown: list[tuple[list[str], bool]] = []

    async def start_once() -> None:
        app = WayfarerApp(qapp, SettingsStore(), library)
        async with anyio.create_task_group() as tg:
            tg.start_soon(app.run)
            await until(lambda: bool(app.windows) or (app.start is not None and app.start.isVisible()))
            shown.append((list(app.windows), app.start is not None and app.start.isVisible()))
            app.quit()

    run_with_qt(qapp, start_once)  # first start: nothing to reopen
    trip_id = library.create("Lisbon weekend").id
    SettingsStore().update(last_trip=trip_id)
    run_with_qt(qapp, start_once)
    assert shown == [([], True), ([trip_id], False)]


def test_a_bad_link_on_the_command_line_opens_the_start_screen_with_the_reason(qapp: QApplication) -> None:
    app = WayfarerApp(qapp, SettingsStore(), TripLibrary())
    shown: list[str] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(app.run, "ws://127.0.0.1:1/trip")
            await until(lambda: app.start is not None and app.start.isVisible())
            assert app.start is not None
            shown.append(app.start.error.text())
            app.start.close()

    run_with_qt(qapp, main)
    assert shown == ["That is not a usable trip link: the trip link has no token (expected ...?token=...)"]


def test_the_demo_opens_two_people_on_one_trip(qapp: QApplication, tmp_path: Path) -> None:
    seen: list[list[str]] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: run_demo(qapp, title="Demo trip", message="", data=tmp_path))
            await until(lambda: len(_trip_windows()) == 2)
            for window in _trip_windows():
                await until(lambda w=window: len(w.people.people) == 3)  # type: ignore[misc]
                seen.append(sorted(p.name for p in window.people.people))
            for window in _trip_windows():
                window.close()

    run_with_qt(qapp, main)
    assert seen == [["Ana", "Ben", "Wayfarer"]] * 2


def _trip_windows() -> list[MainWindow]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]


@pytest.fixture(autouse=True)
def _close_leftover_windows(qapp: QApplication) -> None:
    yield
    for widget in QApplication.topLevelWidgets():
        widget.close()
        widget.deleteLater()

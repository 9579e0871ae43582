"""The trip window, presence and sync in the header, the start screen and settings."""

from __future__ import annotations

import os
from collections.abc import Callable
import stat
from pathlib import Path

import anyio
import pytest
from pycrdt import Doc
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from wayfarer.sync.connection import RelayConnection
from wayfarer.sync.library import TripLibrary
from wayfarer.sync.links import TripLink
from wayfarer.sync.presence import Presence
from wayfarer.sync.relay import Relay, RelayConfig
from wayfarer.sync.status import SyncStatus
from wayfarer.sync.tokens import make_token
from wayfarer.trip import Person, Trip
from wayfarer.ui.demo import side_by_side
from wayfarer.ui.event_loop import run_with_qt
from wayfarer.ui.main_window import MainWindow, ShareLinks
from wayfarer.ui.people import PeopleModel
from wayfarer.ui.presence_bar import PresenceBar
from wayfarer.ui.settings import Settings, SettingsDialog, SettingsStore
from wayfarer.ui.start_screen import StartScreen
from wayfarer.ui.trip_model import TripModel
from wayfarer.ui.trip_session import kept_link, open_session

ANA = Person("p-ana", "Ana", "#e8590c")
BEN = Person("p-ben", "Ben", "#1c7ed6")
WAIT_S = 10.0


def open_window(qtbot: QtBot, trip: Trip, me: Person = ANA, *, read_only: bool = False, links: ShareLinks = ShareLinks()) -> MainWindow:
    window = MainWindow(TripModel(trip, me, read_only=read_only), PeopleModel(me), links=links)
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.fixture
def trip() -> Trip:
    trip = Trip(Doc())
    trip.create("Lisbon weekend")
    return trip


# ---------------------------------------------------------------------- presence


async def _until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(WAIT_S):
        while not condition():
            await anyio.sleep(0.02)


def test_two_windows_of_one_person_show_one_avatar_and_others_typing(qapp: QApplication, qtbot: QtBot, tmp_path: Path) -> None:
    async def main() -> tuple[list[str], str]:
        async with Relay(RelayConfig(data_dir=tmp_path)) as relay:
            link = TripLink(relay.url, "lisbon", make_token(relay.key, "lisbon", "editor"))
            docs = [Doc(), Doc(), Doc()]
            presences = [Presence(docs[0], ANA, device="laptop"), Presence(docs[1], ANA, device="desktop"),
                         Presence(docs[2], BEN)]  # fmt: skip
            people = PeopleModel(ANA, presences[0])
            bar = PresenceBar(people)
            qtbot.addWidget(bar)
            async with RelayConnection(docs[0], link, presence=presences[0]), RelayConnection(
                docs[1], link, presence=presences[1]
            ), RelayConnection(docs[2], link, presence=presences[2]):
                await _until(lambda: sum(p.windows for p in people.people) == 3)
                tooltips = [a.toolTip() for a in bar.avatars()]
                presences[2].set_status("typing")
                await _until(lambda: bar.status.text() == "Ben is typing…")
                return tooltips, bar.status.text()

    tooltips, status = run_with_qt(qapp, main)
    assert tooltips == ["Ana (you) · 2 windows on 2 devices", "Ben"]
    assert status == "Ben is typing…"


def test_the_agent_shows_what_it_is_doing_in_the_header(qapp: QApplication, qtbot: QtBot, tmp_path: Path) -> None:
    agent = Person("agent-1", "Wayfarer", "#8e5bd8")

    async def main() -> list[tuple[str, list[str]]]:
        async with Relay(RelayConfig(data_dir=tmp_path)) as relay:
            link = TripLink(relay.url, "lisbon", make_token(relay.key, "lisbon", "editor"))
            docs = [Doc(), Doc()]
            mine, theirs = Presence(docs[0], ANA), Presence(docs[1], agent, kind="agent")
            people = PeopleModel(ANA, mine)
            bar = PresenceBar(people)
            qtbot.addWidget(bar)
            seen = []
            async with RelayConnection(docs[0], link, presence=mine), RelayConnection(docs[1], link, presence=theirs):
                for status in ("idle", "thinking", "streaming", "idle"):
                    theirs.set_status(status)  # type: ignore[arg-type]
                    await _until(lambda s=status: people.agent is not None and people.agent.status == s)  # type: ignore[misc]
                    seen.append((bar.status.text(), [a.toolTip() for a in bar.avatars()]))
            return seen

    seen = run_with_qt(qapp, main)
    assert seen == [
        ("", ["Ana (you)", "Wayfarer · ready"]),
        ("Wayfarer is thinking…", ["Ana (you)", "Wayfarer · thinking…"]),
        ("Wayfarer is writing…", ["Ana (you)", "Wayfarer · writing…"]),
        ("", ["Ana (you)", "Wayfarer · ready"]),
    ]


# ---------------------------------------------------------------------- window


def test_the_window_composes_every_panel(qtbot: QtBot, trip: Trip) -> None:
    window = open_window(qtbot, trip)
    assert window.windowTitle() == "Lisbon weekend — Wayfarer"
    assert window.title.text() == "Lisbon weekend"
    names = {type(w).__name__ for w in (window.chat, window.board, window.map, window.budget)}
    assert names == {"ChatPanel", "ItineraryBoard", "MapView", "BudgetPanel"}


def test_two_windows_fit_side_by_side_on_a_full_hd_screen(qtbot: QtBot, trip: Trip) -> None:
    """As `wayfarer demo` shows Ana and Ben: 960 px each, even with a long plan and a live reply."""
    day = trip.add_day("Avenidas Novas & Baixa, then the whole riverside to Belém")
    trip.add_stop("Calouste Gulbenkian Museum", 38.7375, -9.1545, day=day, cost=14)
    trip.post_user_message("Plan 2 days in Lisbon", ANA)
    window = open_window(qtbot, trip)
    qtbot.waitUntil(window.chat.stop_button.isVisible)
    assert window.minimumSizeHint().width() <= 960

    left, right = side_by_side(QRect(0, 0, 1920, 1080), window)
    assert (left, right) == (QRect(0, 0, 960, 1080), QRect(960, 0, 960, 1080))
    narrow = QRect(0, 0, 1600, 900)
    left, right = side_by_side(narrow, window)
    assert left.width() >= window.minimumSizeHint().width() and narrow.contains(left) and narrow.contains(right)


def test_renaming_the_trip_in_the_header_writes_the_document(qtbot: QtBot, trip: Trip) -> None:
    window = open_window(qtbot, trip)
    window.title.setFocus()
    window.title.selectAll()
    qtbot.keyClicks(window.title, "Lisbon & Sintra")
    qtbot.keyClick(window.title, Qt.Key.Key_Return)
    assert trip.meta().title == "Lisbon & Sintra"
    assert window.windowTitle() == "Lisbon & Sintra — Wayfarer"


def test_a_rename_by_someone_else_shows_up(qtbot: QtBot, trip: Trip) -> None:
    window = open_window(qtbot, trip)
    other = Trip(Doc())
    other.doc.apply_update(trip.doc.get_update())
    other.set_title("Porto instead")
    trip.doc.apply_update(other.doc.get_update(trip.doc.get_state()))
    qtbot.waitUntil(lambda: window.title.text() == "Porto instead")


def test_a_viewer_sees_everything_but_cannot_edit(qtbot: QtBot, trip: Trip) -> None:
    trip.add_stop("Belém Tower", 38.6916, -9.2160, day=trip.add_day("Belém"))
    window = open_window(qtbot, trip, read_only=True)
    assert window.viewer_banner.isVisible()
    assert window.title.isReadOnly()
    assert not window.chat.composer.isEnabled() and not window.chat.send_button.isEnabled()
    assert not window.board.add_stop_button.isEnabled()
    assert "1 stop" in window.board.summary.text()
    before = trip.snapshot()
    window.title.setText("Mine now")
    window.title.editingFinished.emit()
    assert trip.snapshot() == before


def test_a_refused_edit_is_shown_as_a_banner(qtbot: QtBot, trip: Trip) -> None:
    window = open_window(qtbot, trip, read_only=True)
    window.model.apply(lambda t: t.set_title("x"))
    assert window.error_banner.isVisible()
    assert "view-only" in window.error_text.text()


def test_the_sync_indicator_shows_waiting_changes(qtbot: QtBot, trip: Trip) -> None:
    window = open_window(qtbot, trip)
    assert window.sync.text.text() == "local only · not shared"
    window.show_sync(SyncStatus(state="offline", unacked=3))
    assert window.sync.text.text() == "offline · 3 changes waiting"
    window.show_sync(SyncStatus(state="synced"))
    assert window.sync.text.text() == "synced"


def test_share_copies_the_links(qtbot: QtBot, trip: Trip) -> None:
    links = ShareLinks(editor="ws://127.0.0.1:1/t?token=e", viewer="ws://127.0.0.1:1/t?token=v")
    window = open_window(qtbot, trip, links=links)
    window.copy_viewer.trigger()
    assert QGuiApplication.clipboard().text() == links.viewer
    window.copy_editor.trigger()
    assert QGuiApplication.clipboard().text() == links.editor


def test_a_local_only_trip_has_nothing_to_share(qtbot: QtBot, trip: Trip) -> None:
    window = open_window(qtbot, trip)
    assert not window.share.isEnabled()


# ---------------------------------------------------------------------- start screen


@pytest.fixture
def library(tmp_path: Path) -> TripLibrary:
    return TripLibrary(tmp_path / "trips")


def open_start(qtbot: QtBot, library: TripLibrary) -> StartScreen:
    screen = StartScreen(library)
    qtbot.addWidget(screen)
    screen.show()
    return screen


def test_the_start_screen_lists_local_trips(qtbot: QtBot, library: TripLibrary) -> None:
    library.root.mkdir(parents=True)
    library.create("Kyoto in autumn", "JPY")
    screen = open_start(qtbot, library)
    assert screen.titles() == ["Kyoto in autumn"]
    assert not screen.empty.isVisible()


def test_an_empty_library_says_what_to_do(qtbot: QtBot, library: TripLibrary) -> None:
    library.root.mkdir(parents=True)
    screen = open_start(qtbot, library)
    assert screen.empty.isVisible() and "Create one" in screen.empty.text()


def test_creating_a_trip_stores_it_and_opens_it(qtbot: QtBot, library: TripLibrary) -> None:
    library.root.mkdir(parents=True)
    screen = open_start(qtbot, library)
    qtbot.keyClicks(screen.new_title, "Porto and the Douro")
    screen.currency.setCurrentText("GBP")
    with qtbot.waitSignal(screen.open_requested) as opened:
        qtbot.mouseClick(screen.create_button, Qt.MouseButton.LeftButton)
    (trip_id,) = opened.args
    assert screen.titles() == ["Porto and the Douro"]
    with library.open(trip_id) as local:
        assert local.trip.meta().currency == "GBP"


def test_open_asks_to_open_the_chosen_trip(qtbot: QtBot, library: TripLibrary) -> None:
    library.root.mkdir(parents=True)
    kyoto = library.create("Kyoto in autumn").id
    screen = open_start(qtbot, library)
    with qtbot.waitSignal(screen.open_requested) as opened:
        qtbot.mouseClick(screen.open_button, Qt.MouseButton.LeftButton)
    assert opened.args == [kyoto]


def test_deleting_asks_first(qtbot: QtBot, library: TripLibrary, monkeypatch: pytest.MonkeyPatch) -> None:
    library.root.mkdir(parents=True)
    library.create("Kyoto in autumn")
    screen = open_start(qtbot, library)
    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Cancel)
    screen.delete_selected()
    assert screen.titles() == ["Kyoto in autumn"]
    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes)
    screen.delete_selected()
    assert screen.titles() == [] and library.list() == []


def test_joining_with_a_bad_link_explains_why(qtbot: QtBot, library: TripLibrary) -> None:
    library.root.mkdir(parents=True)
    screen = open_start(qtbot, library)
    qtbot.keyClicks(screen.link, "https://example.com/not-a-trip")
    with qtbot.assertNotEmitted(screen.join_requested):
        qtbot.mouseClick(screen.join_button, Qt.MouseButton.LeftButton)
    assert screen.join_error.isVisible() and "not a trip link" in screen.join_error.text()


def test_joining_with_a_link_asks_to_join_it(qtbot: QtBot, library: TripLibrary) -> None:
    library.root.mkdir(parents=True)
    screen = open_start(qtbot, library)
    link = TripLink("ws://127.0.0.1:9", "abc", make_token("k", "abc", "viewer"))
    qtbot.keyClicks(screen.link, str(link))
    with qtbot.waitSignal(screen.join_requested) as joined:
        qtbot.keyClick(screen.link, Qt.Key.Key_Return)
    assert joined.args == [link]


def test_joining_a_bad_link_keeps_what_was_pasted_to_fix_it(qtbot: QtBot, library: TripLibrary) -> None:
    library.root.mkdir(parents=True)
    screen = open_start(qtbot, library)
    pasted = "ws://127.0.0.1:8765/kyoto"  # the token got lost on the way
    qtbot.keyClicks(screen.link, pasted)
    qtbot.keyClick(screen.link, Qt.Key.Key_Return)
    assert screen.join_error.text() == "That is not a usable trip link: the trip link has no token (expected ...?token=...)"
    assert screen.link.text() == pasted


def test_a_viewer_link_never_replaces_the_editor_link_kept_here(qapp: QApplication, library: TripLibrary) -> None:
    library.root.mkdir(parents=True)
    trip_id = library.create("Kyoto in autumn").id
    editor = TripLink("ws://127.0.0.1:9", trip_id, make_token("k", trip_id, "editor"))
    viewer = TripLink("ws://127.0.0.1:9", trip_id, make_token("k", trip_id, "viewer"))
    library.set_link(trip_id, str(editor))

    async def join(link: TripLink) -> tuple[bool, str]:
        async with open_session(library, trip_id, ANA, None, joined=link) as session:
            return session.model.read_only, str(session.link)

    assert run_with_qt(qapp, lambda: join(viewer)) == (False, str(editor))  # still an editor
    assert library.info(trip_id).link == str(editor)
    other = TripLink("ws://127.0.0.1:9", "lisbon", make_token("k", "lisbon", "viewer"))
    assert kept_link(None, other) == str(other) and kept_link(str(editor), other) == str(other)


def test_deleting_a_trip_open_in_a_window_is_refused(qtbot: QtBot, library: TripLibrary, monkeypatch: pytest.MonkeyPatch) -> None:
    library.root.mkdir(parents=True)
    trip_id = library.create("Kyoto in autumn").id
    screen = StartScreen(library, is_open=lambda tid: tid == trip_id)
    qtbot.addWidget(screen)
    screen.show()
    monkeypatch.setattr(QMessageBox, "question", lambda *args: pytest.fail("must not even ask"))
    screen.delete_selected()
    assert screen.titles() == ["Kyoto in autumn"]
    assert screen.list_error.text() == "“Kyoto in autumn” is open in a window: close it first."


# ---------------------------------------------------------------------- settings


def test_the_person_id_is_made_once_and_kept(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    first = store.load()
    assert first.person_id.startswith("p-")
    assert SettingsStore(tmp_path / "settings.json").load().person_id == first.person_id


def test_settings_holding_the_api_key_are_private_and_never_printed(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.update(api_key="sk-ant-secret", display_name="Ana")
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    loaded = store.load()
    assert loaded.api_key == "sk-ant-secret" and loaded.display_name == "Ana"
    assert "sk-ant-secret" not in repr(loaded)


def test_a_damaged_settings_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    assert SettingsStore(path).load().display_name
    assert (tmp_path / "settings.json.damaged").exists()


def test_the_settings_dialog_refuses_an_empty_name(qtbot: QtBot) -> None:
    settings = Settings(person_id="p-1", display_name="Ana", color="#e8590c")
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.name.setText("  ")
    dialog.accept()
    assert dialog.error.isVisibleTo(dialog) and dialog.settings() == settings
    dialog.name.setText("Ana Sousa")
    dialog.relay_url.setText("ws://relay.example:8765/")
    dialog.accept()
    assert dialog.settings().display_name == "Ana Sousa"
    assert dialog.settings().relay_url == "ws://relay.example:8765"
    assert dialog.settings().person_id == "p-1"


def test_an_edit_that_cannot_be_saved_to_disk_shows_a_readable_error_not_a_traceback(qtbot, tmp_path) -> None:
    from test_local_store import refuse_inserts
    from wayfarer.sync.local import LocalTrip
    from wayfarer.trip import Person
    from wayfarer.ui.trip_model import TripModel

    path = tmp_path / "t.wayfarer"
    with LocalTrip.open(path, create=True) as local:
        local.trip.create("Rome")
        model = TripModel(local.trip, Person("p-ana", "Ana"))
        refuse_inserts(path)
        with qtbot.waitSignal(model.error, timeout=5000) as shown:
            assert model.apply(lambda trip: trip.add_day("Day one")) is None
        assert shown.args[0].startswith("Could not save this change:") and "simulated disk failure" in shown.args[0]

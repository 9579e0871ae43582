"""The chat panel over a real trip document: streaming, tool lines, Stop, queueing, viewers."""

from __future__ import annotations

import datetime as _dt
import json

import pytest
from pycrdt import Doc
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QAccessible, QColor, QDesktopServices, QFont, QGuiApplication, QImage, QMouseEvent, QPainter
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from wayfarer.sync.presence import Presence
from wayfarer.trip import Person, Run, Trip
from wayfarer.ui import chat_markdown
from wayfarer.ui.chat_message import MessageBlock
from wayfarer.ui.chat_panel import ChatPanel
from wayfarer.ui.people import PeopleModel
from wayfarer.ui import run_status as run_status_module
from wayfarer.ui.run_status import local_clock, run_status
from wayfarer.ui.trip_model import TripModel

ANA = Person("p-ana", "Ana", "#e8590c")
BEN = Person("p-ben", "Ben", "#1c7ed6")
AGENT = Person("agent-1", "Wayfarer", "#8e5bd8")


@pytest.fixture
def trip() -> Trip:
    trip = Trip(Doc())
    trip.create("Lisbon weekend")
    return trip


def open_panel(qtbot: QtBot, trip: Trip, me: Person = ANA, *, read_only: bool = False, presence: Presence | None = None) -> ChatPanel:
    panel = ChatPanel(TripModel(trip, me, read_only=read_only), PeopleModel(me, presence))
    qtbot.addWidget(panel)
    panel.resize(420, 700)
    panel.show()
    return panel


def start_reply(trip: Trip, text: str = "Plan 2 days in Lisbon", asker: Person = ANA) -> tuple[str, str]:
    """Ana asks; the agent claims the run and opens its (empty) reply. Returns (run, reply)."""
    _, run_id = trip.post_user_message(text, asker)
    trip.claim_run(run_id, AGENT, model="offline planner")
    return run_id, trip.start_assistant_message(run_id, AGENT)


def test_a_streamed_token_appears_and_only_its_message_redraws(qtbot: QtBot, trip: Trip, monkeypatch: pytest.MonkeyPatch) -> None:
    trip.post_user_message("Hello Ben", ANA, ask_agent=False)
    run_id, reply_id = start_reply(trip)
    panel = open_panel(qtbot, trip)
    qtbot.waitExposed(panel)
    relaid: list[str] = []
    original = MessageBlock._layout

    def layout(self: MessageBlock, width: float) -> object:
        if self._geometry is None or self._geometry.width != width:  # not the cached layout
            relaid.append(self.message_id)
        return original(self, width)

    monkeypatch.setattr(MessageBlock, "_layout", layout)

    trip.stream(reply_id, text="Here is **day one**")
    trip.stream(reply_id, text=": Belém")

    view = panel.message_view(reply_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.text == "Here is **day one**: Belém")
    qtbot.waitUntil(lambda: bool(relaid))
    body = view.document("body")
    assert body.toPlainText() == "Here is day one: Belém"  # Markdown, rendered
    assert body.find("day one").charFormat().fontWeight() >= QFont.Weight.Bold
    assert view.status_text == "Streaming…"
    assert set(relaid) == {reply_id}  # the other messages kept their layout


def test_markdown_lists_have_bullets_clear_of_their_text_and_a_modest_indent(qtbot: QtBot, trip: Trip) -> None:
    _, reply_id = start_reply(trip)
    panel = open_panel(qtbot, trip)
    trip.stream(reply_id, text="Day one:\n\n- Belém Tower\n- Jerónimos\n\n```\nexport --format ics\n```")
    qtbot.waitUntil(lambda: "ics" in panel.message_view(reply_id).text)  # type: ignore[union-attr]
    block = panel.message_view(reply_id)
    assert block is not None
    body = block.document("body")
    item = body.findBlockByNumber(1)
    line = item.layout().lineAt(0)
    text_x = item.layout().position().x() + line.naturalTextRect().x()
    assert text_x == chat_markdown.INDENT  # not Qt's 40 px
    assert item.blockFormat().topMargin() + body.findBlockByNumber(0).blockFormat().bottomMargin() > 0  # air

    whole, rect = panel.view.block_rect(reply_id), panel.view.rect_of(reply_id, "body")
    assert whole is not None and rect is not None
    image = QImage(int(whole.width()), int(whole.height()), QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    block.paint(painter, whole.width(), QRectF(image.rect()))  # as the view paints it, at the origin
    painter.end()
    top = rect.top() - whole.top() + item.layout().position().y() + line.y()
    row = range(int(top), int(top + line.height()))
    x0 = int(rect.left() - whole.left() + text_x)

    def inked(xs: range) -> bool:
        return any(QColor(image.pixel(x, y)).lightness() < 200 for x in xs for y in row)

    assert inked(range(x0 - chat_markdown.MARKER_GAP - int(chat_markdown.BULLET) - 1, x0 - chat_markdown.MARKER_GAP + 1))
    assert not inked(range(x0 - chat_markdown.MARKER_GAP + 2, x0 - 1))  # the gap between bullet and text
    code = chat_markdown.finish(body).code_runs  # the code block gets its shaded box
    assert code == ((3, 3),)


def test_reasoning_is_collapsed_until_opened(qtbot: QtBot, trip: Trip) -> None:
    _, reply_id = start_reply(trip)
    panel = open_panel(qtbot, trip)
    view = panel.message_view(reply_id)
    assert view is not None and panel.view.rect_of(reply_id, "toggle") is None
    before = panel.view.block_rect(reply_id)

    trip.stream(reply_id, reasoning="Two days: Belém first, then Alfama.")
    qtbot.waitUntil(lambda: panel.view.rect_of(reply_id, "toggle") is not None)
    assert not view.reasoning_open
    closed = panel.view.block_rect(reply_id)
    toggle = panel.view.rect_of(reply_id, "toggle")
    assert before is not None and closed is not None and toggle is not None
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=toggle.center().toPoint())
    opened = panel.view.block_rect(reply_id)
    assert view.reasoning_open and "Alfama" in view.document("reasoning").toPlainText()
    assert opened is not None and opened.height() > closed.height() > before.height()
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=toggle.center().toPoint())
    assert not view.reasoning_open and panel.view.block_rect(reply_id).height() == closed.height()  # type: ignore[union-attr]


def test_the_view_follows_a_streaming_reply_unless_scrolled_up(qtbot: QtBot, trip: Trip) -> None:
    for n in range(20):
        trip.post_user_message(f"Message {n}: what about the tiles, the trams and the custard tarts?", BEN, ask_agent=False)
    _, reply_id = start_reply(trip)
    panel = open_panel(qtbot, trip)
    bar = panel.view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    assert bar.value() == bar.maximum()

    trip.stream(reply_id, text="Day one: Belém. " * 40)
    qtbot.waitUntil(lambda: panel.message_view(reply_id).text.count("Belém") == 40)  # type: ignore[union-attr]
    assert bar.value() == bar.maximum()  # stuck to the bottom as it grew

    bar.setValue(0)  # the person scrolls up to read
    before = bar.maximum()
    trip.stream(reply_id, text="Day two: Alfama. " * 40)
    qtbot.waitUntil(lambda: bar.maximum() > before)
    assert bar.value() == 0  # left where they read

    bar.setValue(bar.maximum())  # back at the bottom: it follows again
    before = bar.maximum()
    trip.stream(reply_id, text="Day three: Sintra. " * 40)
    qtbot.waitUntil(lambda: bar.maximum() > before)
    assert bar.value() == bar.maximum()


def test_the_empty_chat_suggests_what_to_ask(qtbot: QtBot, trip: Trip) -> None:
    panel = open_panel(qtbot, trip)
    assert panel.empty.isVisible() and not panel.view.isVisible()
    suggestion = next(b for b in panel.empty.findChildren(QPushButton) if b.text() == "Plan 2 days in Lisbon")
    qtbot.mouseClick(suggestion, Qt.MouseButton.LeftButton)
    assert panel.composer.toPlainText() == "Plan 2 days in Lisbon"

    trip.post_user_message("Hello Ben", ANA, ask_agent=False)
    qtbot.waitUntil(panel.view.isVisible)
    assert not panel.empty.isVisible()


def test_message_text_can_be_selected_and_copied(qtbot: QtBot, trip: Trip) -> None:
    message_id, _ = trip.post_user_message("Start at **Belém Tower**, then lunch", ANA, ask_agent=False)
    panel = open_panel(qtbot, trip)
    qtbot.waitUntil(lambda: panel.view.rect_of(message_id, "body") is not None)
    body = panel.view.rect_of(message_id, "body")
    assert body is not None
    viewport = panel.view.viewport()
    start, end = QPoint(int(body.left()) + 1, int(body.center().y())), QPoint(int(body.right()) - 1, int(body.center().y()))

    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseMove, QPointF(end), QPointF(viewport.mapToGlobal(end)),
                                                 Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))  # fmt: skip
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    assert panel.view.selected_text() == "Start at Belém Tower, then lunch"  # as shown, not the Markdown

    qtbot.keyClick(panel.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "Start at Belém Tower, then lunch"


def test_a_link_in_a_message_opens_in_the_browser(qtbot: QtBot, trip: Trip, monkeypatch: pytest.MonkeyPatch) -> None:
    message_id, _ = trip.post_user_message("[Visit Lisboa](https://www.visitlisboa.com/)", ANA, ask_agent=False)
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()) or True)
    panel = open_panel(qtbot, trip)
    qtbot.waitUntil(lambda: panel.view.rect_of(message_id, "body") is not None)
    body = panel.view.rect_of(message_id, "body")
    assert body is not None
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(int(body.left()) + 10, int(body.center().y())))
    assert opened == ["https://www.visitlisboa.com/"]


def test_my_messages_wear_my_new_colour(qtbot: QtBot, trip: Trip) -> None:
    message_id, _ = trip.post_user_message("Hello Ben", ANA, ask_agent=False)
    panel = open_panel(qtbot, trip)
    qtbot.waitUntil(lambda: panel.message_view(message_id) is not None)
    panel.people.set_me(Person(ANA.id, "Ana Sousa", "#2b8a3e"))
    assert panel.message_view(message_id).color.name() == "#2b8a3e"  # type: ignore[union-attr]
    panel.composer.setPlainText("And hello again")
    panel.send()
    assert trip.snapshot().chat[-1].author_name == "Ana Sousa"


def test_tool_calls_show_as_one_line_each(qtbot: QtBot, trip: Trip) -> None:
    _, reply_id = start_reply(trip)
    panel = open_panel(qtbot, trip)
    day = trip.add_day("Belém")
    call = trip.add_tool_call(reply_id, "add_stop", json.dumps({"name": "Belém Tower", "day": 1}))
    view = panel.message_view(reply_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.tool_lines() == ["… Adding Belém Tower…"])

    trip.add_stop("Belém Tower", 38.6916, -9.2160, day=day)
    trip.finish_tool_call(reply_id, call, ok=True, result_json=json.dumps({"name": "Belém Tower", "day": 1}))
    qtbot.waitUntil(lambda: view.tool_lines() == ["✓ Added Belém Tower to Day 1"])


def test_stop_writes_the_cancel_request(qtbot: QtBot, trip: Trip) -> None:
    run_id, _ = start_reply(trip)
    panel = open_panel(qtbot, trip)
    assert panel.stop_button.isVisible()

    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)

    assert trip.run(run_id).cancel_requested_by == ANA.id  # type: ignore[union-attr]


def test_escape_in_the_message_box_stops_the_reply(qtbot: QtBot, trip: Trip) -> None:
    run_id, _ = start_reply(trip)
    panel = open_panel(qtbot, trip)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)  # Esc is a shortcut of the active window
    qtbot.keyClick(panel.composer, Qt.Key.Key_Escape)
    assert trip.run(run_id).cancel_requested_by == ANA.id  # type: ignore[union-attr]


def test_ctrl_enter_posts_a_message_with_a_queued_run(qtbot: QtBot, trip: Trip) -> None:
    panel = open_panel(qtbot, trip)
    qtbot.keyClicks(panel.composer, "Plan 2 days in Lisbon")
    qtbot.keyClick(panel.composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    snapshot = trip.snapshot()
    assert [(m.role, m.text, m.author) for m in snapshot.chat] == [("user", "Plan 2 days in Lisbon", ANA.id)]
    assert [(r.status, r.trigger) for r in snapshot.runs] == [("queued", snapshot.chat[0].id)]
    assert panel.composer.toPlainText() == ""
    qtbot.waitUntil(lambda: panel.message_view(snapshot.chat[0].id) is not None)
    view = panel.message_view(snapshot.chat[0].id)
    assert view is not None and view.status_text == "Queued"


def test_enter_alone_does_not_send(qtbot: QtBot, trip: Trip) -> None:
    panel = open_panel(qtbot, trip)
    qtbot.keyClicks(panel.composer, "first line")
    qtbot.keyClick(panel.composer, Qt.Key.Key_Return)
    assert trip.snapshot().chat == ()
    assert panel.composer.toPlainText() == "first line\n"


def test_sending_while_the_agent_replies_queues_the_message(qtbot: QtBot, trip: Trip) -> None:
    first, _ = start_reply(trip)
    panel = open_panel(qtbot, trip)
    qtbot.keyClicks(panel.composer, "Also add a food stop")
    assert panel.queue_bar.isVisible()

    qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton)

    runs = {r.id: r for r in trip.runs()}
    assert runs[first].status == "running" and not runs[first].cancel_requested_by
    queued = [r for r in runs.values() if r.id != first]
    assert [r.status for r in queued] == ["queued"]


def test_stop_and_send_cancels_the_live_run_then_posts(qtbot: QtBot, trip: Trip) -> None:
    first, _ = start_reply(trip)
    panel = open_panel(qtbot, trip)
    qtbot.keyClicks(panel.composer, "Actually, make it Porto")
    qtbot.mouseClick(panel.stop_and_send_button, Qt.MouseButton.LeftButton)

    snapshot = trip.snapshot()
    assert snapshot.run(first).cancel_requested_by == ANA.id  # type: ignore[union-attr]
    assert snapshot.chat[-1].text == "Actually, make it Porto"
    newest = next(r for r in snapshot.runs if r.trigger == snapshot.chat[-1].id)
    assert newest.status == "queued" and not newest.cancel_requested_by


def test_a_claimed_run_thinks_until_its_first_token_then_streams(qtbot: QtBot, trip: Trip) -> None:
    _, reply_id = start_reply(trip)
    panel = open_panel(qtbot, trip)
    view = panel.message_view(reply_id)
    assert view is not None and view.status_text == "Thinking…"
    trip.stream(reply_id, text="Day one")
    qtbot.waitUntil(lambda: view.status_text == "Streaming…")


def test_a_question_nobody_answers_says_the_agent_is_offline(
    qtbot: QtBot, trip: Trip, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_status_module, "AGENT_OFFLINE_AFTER_S", 0.3)  # the tick notices it
    asked, _ = trip.post_user_message("Plan 2 days in Lisbon", ANA)
    panel = open_panel(qtbot, trip)  # no agent in this trip's presence
    view = panel.message_view(asked)
    assert view is not None and view.status_text == "Queued"
    qtbot.waitUntil(lambda: view.status_text == "Agent offline · it answers when an agent joins", timeout=3000)
    assert panel.stop_button.isVisible()  # a queued question can still be withdrawn


def test_a_cancelled_reply_names_who_stopped_it(qtbot: QtBot, trip: Trip) -> None:
    run_id, reply_id = start_reply(trip, asker=BEN)
    panel = open_panel(qtbot, trip)
    trip.request_cancel(run_id, BEN)
    trip.end_run(run_id, "cancelled", "Stopped by Ben")
    view = panel.message_view(reply_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.status_text == "Cancelled by Ben")
    assert not panel.stop_button.isVisible()


def test_a_failed_reply_says_why(qtbot: QtBot, trip: Trip) -> None:
    run_id, reply_id = start_reply(trip)
    panel = open_panel(qtbot, trip)
    trip.end_run(run_id, "failed", "The model is overloaded; try again in a minute")
    view = panel.message_view(reply_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.status_text == "Failed: The model is overloaded; try again in a minute")


def test_typing_sets_presence_to_typing(qtbot: QtBot, trip: Trip) -> None:
    presence = Presence(trip.doc, ANA)
    panel = open_panel(qtbot, trip, presence=presence)
    qtbot.keyClicks(panel.composer, "Hi")
    assert presence.status == "typing"
    qtbot.keyClick(panel.composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert presence.status == "idle"


def test_a_viewer_cannot_write(qtbot: QtBot, trip: Trip) -> None:
    start_reply(trip)
    panel = open_panel(qtbot, trip, read_only=True)
    assert not panel.composer.isEnabled() and not panel.send_button.isEnabled()
    assert not panel.stop_button.isVisible()
    before = trip.snapshot()
    panel.composer.setPlainText("sneaky")
    panel.send()
    panel.stop()
    assert trip.snapshot() == before


def _run(**fields: str) -> Run:
    return Run(id="r-1", trigger="m-1", requested_by=ANA.id, **fields)  # type: ignore[arg-type]


def test_run_status_wording() -> None:
    names = {ANA.id: "Ana"}.get
    now = _dt.datetime(2026, 11, 25, 12, 0, tzinfo=_dt.timezone.utc)
    fresh = "2026-11-25T11:59:58.000Z"

    def line(run: Run, *, output: bool = False, absent: float = 0.0) -> str | None:
        status = run_status(run, has_output=output, agent_absent_for=absent, name_of=names, now=now)
        return status.text if status else None

    assert line(_run(status="queued")) == "Queued"
    assert line(_run(status="queued"), absent=30).startswith("Agent offline")
    assert line(_run(status="running", heartbeat_at=fresh)) == "Thinking…"
    assert line(_run(status="running", heartbeat_at=fresh), output=True) == "Streaming…"
    assert line(_run(status="running", heartbeat_at="2026-11-25T11:50:00.000Z")).startswith("Stalled")
    assert line(_run(status="cancelled", cancel_requested_by=ANA.id)) == "Cancelled by Ana"
    assert line(_run(status="interrupted", end_reason="The agent shut down")) == "Interrupted · The agent shut down"
    assert line(_run(status="completed")) is None


def test_screen_readers_find_every_message_in_the_painted_chat(qtbot: QtBot, trip: Trip) -> None:
    asked, _ = trip.post_user_message("Plan 2 days in **Lisbon**", ANA, ask_agent=False)
    _, reply_id = start_reply(trip)
    panel = open_panel(qtbot, trip)
    trip.stream(reply_id, text="Day one:\n\n- **Belém Tower**\n- Jerónimos\n\n1. Tram 15\n2. Walk")
    qtbot.waitUntil(lambda: "Walk" in panel.message_view(reply_id).text)  # type: ignore[union-attr]

    chat = QAccessible.queryAccessibleInterface(panel.view)
    assert chat is not None and chat.role() == QAccessible.Role.List
    assert chat.text(QAccessible.Text.Name) == "Messages" and chat.childCount() == 3
    question, reply = chat.child(0), chat.child(2)
    when = local_clock(trip.message(asked).created_at)  # type: ignore[union-attr]
    assert question.role() == QAccessible.Role.ListItem and question.parent() is chat
    assert question.text(QAccessible.Text.Name) == f"Ana, {when}: Plan 2 days in Lisbon"  # as shown, not Markdown
    assert reply.text(QAccessible.Text.Name).endswith("Day one:\n• Belém Tower\n• Jerónimos\n1. Tram 15\n2. Walk")
    assert reply.text(QAccessible.Text.Description) == "Streaming…; offline planner"
    assert chat.indexOfChild(reply) == 2 and reply.state().readOnly

    shown = panel.view.block_rect(reply_id)
    assert shown is not None
    centre = panel.view.viewport().mapToGlobal(shown.center().toPoint())
    assert reply.rect().contains(centre) and chat.childAt(centre.x(), centre.y()) is reply

    QAccessible.setActive(True)  # as when a screen reader runs: changes are announced too
    try:
        trip.post_user_message("Thanks!", BEN, ask_agent=False)
        trip.stream(reply_id, text="\n\nEnjoy!")
        qtbot.waitUntil(lambda: chat.childCount() == 4)  # the same interface follows the chat
        qtbot.waitUntil(lambda: reply.text(QAccessible.Text.Name).endswith("Enjoy!"))
    finally:
        QAccessible.setActive(False)
    assert chat.child(3).text(QAccessible.Text.Name).endswith(": Thanks!")

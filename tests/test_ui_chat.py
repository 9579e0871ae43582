"""The chat panel over a real trip document: streaming, tool lines, Stop, queueing, viewers."""

from __future__ import annotations

import datetime as _dt
import json

import pytest
from pycrdt import Doc
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from wayfarer.sync.presence import Presence
from wayfarer.trip import Person, Run, Trip
from wayfarer.ui.chat_panel import ChatPanel, MessageView
from wayfarer.ui.people import PeopleModel
from wayfarer.ui.run_status import run_status
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
    redrawn: list[str] = []
    original = MessageView.show_message
    monkeypatch.setattr(MessageView, "show_message", lambda self, m: (redrawn.append(self.message_id), original(self, m))[1])

    trip.stream(reply_id, text="Here is **day one**")
    trip.stream(reply_id, text=": Belém")

    view = panel.message_view(reply_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.text == "Here is **day one**: Belém")
    assert "day one" in view.body.text() and view.body.textFormat() == Qt.TextFormat.MarkdownText
    assert set(redrawn) == {reply_id}
    assert view.status.text() == "Streaming…"


def test_reasoning_is_collapsed_until_opened(qtbot: QtBot, trip: Trip) -> None:
    _, reply_id = start_reply(trip)
    panel = open_panel(qtbot, trip)
    view = panel.message_view(reply_id)
    assert view is not None and not view.reasoning_toggle.isVisible()

    trip.stream(reply_id, reasoning="Two days: Belém first, then Alfama.")
    qtbot.waitUntil(view.reasoning_toggle.isVisible)
    assert not view.reasoning.isVisible()
    view.reasoning_toggle.click()
    assert view.reasoning.isVisible() and "Alfama" in view.reasoning.text()


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
    assert view is not None and view.status.text() == "Queued" and view.status.isVisible()


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


def test_a_cancelled_reply_names_who_stopped_it(qtbot: QtBot, trip: Trip) -> None:
    run_id, reply_id = start_reply(trip, asker=BEN)
    panel = open_panel(qtbot, trip)
    trip.request_cancel(run_id, BEN)
    trip.end_run(run_id, "cancelled", "Stopped by Ben")
    view = panel.message_view(reply_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.status.text() == "Cancelled by Ben")
    assert not panel.stop_button.isVisible()


def test_a_failed_reply_says_why(qtbot: QtBot, trip: Trip) -> None:
    run_id, reply_id = start_reply(trip)
    panel = open_panel(qtbot, trip)
    trip.end_run(run_id, "failed", "The model is overloaded; try again in a minute")
    view = panel.message_view(reply_id)
    assert view is not None
    qtbot.waitUntil(lambda: view.status.text() == "Failed: The model is overloaded; try again in a minute")


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

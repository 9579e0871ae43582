"""Window-wide keys: Esc stops the agent's reply, Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y undo and redo
one's own plan edits wherever the focus is, and text fields and dialogs keep these keys."""

from __future__ import annotations

import pytest
from pycrdt import Doc
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from pytestqt.qtbot import QtBot

from wayfarer.trip import Person, Trip
from wayfarer.ui.main_window import MainWindow
from wayfarer.ui.people import PeopleModel
from wayfarer.ui.trip_model import TripModel

ANA = Person("p-ana", "Ana", "#e8590c")
AGENT = Person("agent-1", "Wayfarer", "#8e5bd8")
CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def trip() -> Trip:
    trip = Trip(Doc())
    trip.create("Lisbon weekend")
    return trip


def open_window(qtbot: QtBot, trip: Trip, *, read_only: bool = False) -> MainWindow:
    window = MainWindow(TripModel(trip, ANA, read_only=read_only), PeopleModel(ANA))
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # shortcuts belong to the active window
    return window


def focus(qtbot: QtBot, widget: QWidget) -> QWidget:
    widget.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget)
    return widget


def start_reply(trip: Trip) -> str:
    _, run_id = trip.post_user_message("Plan 2 days in Lisbon", ANA)
    trip.claim_run(run_id, AGENT, model="offline planner")
    trip.start_assistant_message(run_id, AGENT)
    return run_id


def cancel_requested(trip: Trip, run_id: str) -> str:
    run = trip.run(run_id)
    assert run is not None
    return run.cancel_requested_by


# ---------------------------------------------------------------------- Esc


@pytest.mark.parametrize("where", ["board", "map", "chat"])
def test_escape_stops_the_reply_wherever_the_focus_is(qtbot: QtBot, trip: Trip, where: str) -> None:
    run_id = start_reply(trip)
    window = open_window(qtbot, trip)
    target = {"board": window.board.tree, "map": window.map, "chat": window.chat.view}[where]
    qtbot.keyClick(focus(qtbot, target), Qt.Key.Key_Escape)
    assert cancel_requested(trip, run_id) == ANA.id


def test_escape_in_an_open_stop_form_cancels_the_form_not_the_reply(qtbot: QtBot, trip: Trip) -> None:
    stop = trip.add_stop("Belém Tower", 38.6916, -9.2160, day=trip.add_day("Belém"))
    run_id = start_reply(trip)
    window = open_window(qtbot, trip)
    form = window.board.edit_stop_details(stop)
    assert form is not None
    qtbot.waitUntil(form.isActiveWindow)
    qtbot.keyClicks(focus(qtbot, form.name), " (inside)")

    qtbot.keyClick(form.name, Qt.Key.Key_Escape)

    qtbot.waitUntil(lambda: not form.isVisible())
    assert cancel_requested(trip, run_id) == ""
    assert trip.snapshot().stop(stop).name == "Belém Tower"  # type: ignore[union-attr]


def test_escape_in_a_card_being_edited_closes_it_not_the_reply(qtbot: QtBot, trip: Trip) -> None:
    stop = trip.add_stop("Belém Tower", 38.6916, -9.2160, day=trip.add_day("Belém"))
    run_id = start_reply(trip)
    window = open_window(qtbot, trip)
    editor = window.board.edit_stop(stop)
    assert editor is not None
    qtbot.keyClicks(focus(qtbot, editor.name), " (inside)")

    qtbot.keyClick(editor.name, Qt.Key.Key_Escape)

    assert window.board.delegate.editor is None
    assert cancel_requested(trip, run_id) == ""
    assert trip.snapshot().stop(stop).name == "Belém Tower"  # type: ignore[union-attr]


def test_leaving_a_card_being_edited_for_another_panel_saves_it(qtbot: QtBot, trip: Trip) -> None:
    stop = trip.add_stop("Belem Tower", 38.6916, -9.2160, day=trip.add_day("Belém"))
    window = open_window(qtbot, trip)
    editor = window.board.edit_stop(stop)
    assert editor is not None
    editor.name.setText("Torre de Belém")
    editor.category.showPopup()  # choosing from the list is not leaving
    assert window.board.delegate.editor is editor
    editor.category.hidePopup()

    focus(qtbot, window.chat.composer)

    assert window.board.delegate.editor is None
    assert trip.snapshot().stop(stop).name == "Torre de Belém"  # type: ignore[union-attr]


def test_escape_in_the_inline_budget_limit_closes_it_not_the_reply(qtbot: QtBot, trip: Trip) -> None:
    run_id = start_reply(trip)
    window = open_window(qtbot, trip)
    qtbot.mouseClick(window.budget.set_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.budget.limit_input)
    qtbot.keyClicks(window.budget.limit_input, "900")

    qtbot.keyClick(window.budget.limit_input, Qt.Key.Key_Escape)

    assert not window.budget.limit_input.isVisible()
    assert cancel_requested(trip, run_id) == ""
    assert trip.snapshot().budget.limit == 0


def test_escape_is_only_armed_while_an_editor_has_a_live_run(qtbot: QtBot, trip: Trip) -> None:
    window = open_window(qtbot, trip)
    assert not window.chat.stop_action.isEnabled()
    run_id = start_reply(trip)
    qtbot.waitUntil(window.chat.stop_action.isEnabled)
    trip.end_run(run_id, "completed")
    qtbot.waitUntil(lambda: not window.chat.stop_action.isEnabled())


def test_a_viewer_cannot_stop_the_reply_with_escape(qtbot: QtBot, trip: Trip) -> None:
    run_id = start_reply(trip)
    window = open_window(qtbot, trip, read_only=True)
    assert not window.chat.stop_action.isEnabled()
    qtbot.keyClick(focus(qtbot, window.board.tree), Qt.Key.Key_Escape)
    assert cancel_requested(trip, run_id) == ""


# ---------------------------------------------------------------------- undo and redo


def test_undo_and_redo_work_from_anywhere_in_the_window(qtbot: QtBot, trip: Trip) -> None:
    trip.post_user_message("Hello Ben", ANA, ask_agent=False)
    window = open_window(qtbot, trip)
    window.board.add_day()
    assert len(trip.days()) == 1
    qtbot.waitUntil(window.board.undo_action.isEnabled)

    qtbot.keyClick(focus(qtbot, window.map), Qt.Key.Key_Z, CTRL)
    assert not trip.days()
    qtbot.waitUntil(window.board.redo_action.isEnabled)
    qtbot.keyClick(focus(qtbot, window.chat.view), Qt.Key.Key_Y, CTRL)
    assert len(trip.days()) == 1
    qtbot.waitUntil(window.board.undo_action.isEnabled)
    qtbot.keyClick(focus(qtbot, window.board.tree), Qt.Key.Key_Z, CTRL)
    assert not trip.days()
    qtbot.waitUntil(window.board.redo_action.isEnabled)
    qtbot.keyClick(window.board.tree, Qt.Key.Key_Z, CTRL_SHIFT)
    assert len(trip.days()) == 1


def test_a_text_field_keeps_undo_and_redo_for_its_own_text(qtbot: QtBot, trip: Trip) -> None:
    window = open_window(qtbot, trip)
    window.board.add_day()
    qtbot.waitUntil(window.board.undo_action.isEnabled)
    composer = focus(qtbot, window.chat.composer)
    qtbot.keyClicks(composer, "Hello")

    qtbot.keyClick(composer, Qt.Key.Key_Z, CTRL)
    assert window.chat.composer.toPlainText() == ""
    assert len(trip.days()) == 1  # the board edit stays

    qtbot.keyClick(composer, Qt.Key.Key_Z, CTRL_SHIFT)
    assert window.chat.composer.toPlainText() == "Hello"
    window.board.undo()
    qtbot.waitUntil(window.board.redo_action.isEnabled)
    qtbot.keyClick(composer, Qt.Key.Key_Y, CTRL)
    assert not trip.days()  # Ctrl+Y in the message box is not the plan's redo


def test_the_edit_menu_offers_undo_and_redo_when_there_is_something_to_undo(qtbot: QtBot, trip: Trip) -> None:
    window = open_window(qtbot, trip)
    edit = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    assert isinstance(edit, QMenu)
    undo, redo = (next(a for a in edit.actions() if a.text() == name) for name in ("Undo", "Redo"))
    assert not undo.isEnabled() and not redo.isEnabled()
    assert undo.shortcut().toString() == "Ctrl+Z"

    window.title.setText("Lisbon & Sintra")
    window.title.editingFinished.emit()  # a rename is one's own edit too
    qtbot.waitUntil(undo.isEnabled)
    assert not redo.isEnabled()

    undo.trigger()
    assert trip.meta().title == "Lisbon weekend"
    qtbot.waitUntil(redo.isEnabled)
    assert not undo.isEnabled()
    redo.trigger()
    assert trip.meta().title == "Lisbon & Sintra"


def test_a_viewer_has_nothing_to_undo(qtbot: QtBot, trip: Trip) -> None:
    window = open_window(qtbot, trip, read_only=True)
    assert not window.board.undo_action.isEnabled() and not window.board.redo_action.isEnabled()

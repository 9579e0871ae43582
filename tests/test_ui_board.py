"""The itinerary board on real trip documents: what it shows, how it follows other peers,
and that every gesture becomes the right call on the trip."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from wayfarer.trip import Trip
from wayfarer.ui.board import ItineraryBoard
from wayfarer.ui.board_editor import StopCardEditor
from wayfarer.ui.board_items import Role
from wayfarer.ui.selection import StopSelection
from wayfarer.ui.stop_editor import StopForm
from wayfarer.ui.trip_model import TripModel

from _ui_trips import ANA, Lisbon, names_in, new_trip, peer_of, plan_lisbon, sync


@pytest.fixture
def trip() -> Trip:
    return new_trip()


@pytest.fixture
def plan(trip: Trip) -> Lisbon:
    return plan_lisbon(trip)


@pytest.fixture
def model(trip: Trip, plan: Lisbon) -> Iterator[TripModel]:
    model = TripModel(trip, ANA)
    yield model
    model.close()


@pytest.fixture
def selection() -> StopSelection:
    return StopSelection()


@pytest.fixture
def board(qtbot: QtBot, model: TripModel, selection: StopSelection) -> ItineraryBoard:
    board = ItineraryBoard(model, selection)
    qtbot.addWidget(board)
    board.resize(440, 900)
    board.show()
    return board


def shown(board: ItineraryBoard, day_id: str) -> list[str]:
    """The names the board shows under a day ("" = Unscheduled), top to bottom."""
    section = board.items.index_of_day(day_id)
    return [board.items.index(r, 0, section).data() for r in range(board.items.rowCount(section))]


def sections(board: ItineraryBoard) -> list[str]:
    return [board.items.index(r, 0).data() for r in range(board.items.rowCount())]


class Spy:
    """Counts the item model's structural signals, to tell a patch from a rebuild."""

    def __init__(self, board: ItineraryBoard) -> None:
        self.resets = self.inserted = self.removed = self.moved = 0
        self.changed: list[str] = []
        items = board.items
        items.modelReset.connect(lambda: self._add("resets"))
        items.rowsInserted.connect(lambda *_: self._add("inserted"))
        items.rowsRemoved.connect(lambda *_: self._add("removed"))
        items.rowsMoved.connect(lambda *_: self._add("moved"))
        items.dataChanged.connect(lambda top, _bottom, _roles: self.changed.append(top.data(Role.ID)))

    def _add(self, name: str) -> None:
        setattr(self, name, getattr(self, name) + 1)


# ---------------------------------------------------------------------- showing the trip


def test_shows_days_in_order_with_their_stops_then_unscheduled(board: ItineraryBoard, plan: Lisbon) -> None:
    assert sections(board) == ["Alfama & Baixa", "Belém", "Unscheduled"]
    assert shown(board, plan.day1) == ["Castelo de São Jorge", "Lisbon Cathedral", "Time Out Market"]
    assert shown(board, plan.day2) == ["Jerónimos Monastery", "Belém Tower"]
    assert shown(board, "") == ["LX Factory"]
    day1 = board.items.index_of_day(plan.day1)
    assert day1.data(Role.STOP_COUNT) == 3
    assert day1.data(Role.TOTAL_COST) == 42
    assert board.summary.text() == "2 days · 6 stops · 1 unscheduled"


def test_stop_added_by_another_peer_appears_in_its_day_without_a_rebuild(
    board: ItineraryBoard, trip: Trip, plan: Lisbon
) -> None:
    other = peer_of(trip)
    spy = Spy(board)
    other.add_stop("Pastéis de Belém", 38.69754, -9.20321, day=plan.day2, index=1, cost=8, category="food")
    sync(trip, other)

    assert shown(board, plan.day2) == ["Jerónimos Monastery", "Pastéis de Belém", "Belém Tower"]
    assert (spy.resets, spy.inserted) == (0, 1)
    assert board.items.index_of_day(plan.day2).data(Role.TOTAL_COST) == 30


def test_an_edit_by_another_peer_repaints_only_that_stop_and_its_day(
    board: ItineraryBoard, trip: Trip, plan: Lisbon
) -> None:
    other = peer_of(trip)
    spy = Spy(board)
    other.update_stop(plan.cathedral, cost=7.5, start_time="11:45")
    sync(trip, other)

    stop = board.items.index_of_stop(plan.cathedral).data(Role.STOP)
    assert (stop.cost, stop.start_time) == (7.5, "11:45")
    assert (spy.resets, spy.inserted, spy.removed, spy.moved) == (0, 0, 0, 0)
    assert set(spy.changed) == {plan.cathedral, plan.day1}


def test_a_day_added_by_another_peer_keeps_my_selection(
    board: ItineraryBoard, trip: Trip, plan: Lisbon, selection: StopSelection
) -> None:
    selection.select(plan.tower)
    other = peer_of(trip)
    other.add_day("Sintra", index=0)
    sync(trip, other)

    assert sections(board) == ["Sintra", "Alfama & Baixa", "Belém", "Unscheduled"]
    assert selection.stop_id == plan.tower
    assert board.tree.currentIndex().data(Role.ID) == plan.tower


# ---------------------------------------------------------------------- drag and drop


def drop(board: ItineraryBoard, item: QModelIndex, row: int, parent: QModelIndex) -> bool:
    """What the view does on a drop: encode the dragged row, hand it to the model."""
    data = board.items.mimeData([item])
    return board.items.dropMimeData(data, Qt.DropAction.MoveAction, row, 0, parent)


def test_dropping_a_stop_in_another_day_moves_it_there_at_that_place(
    board: ItineraryBoard, trip: Trip, plan: Lisbon
) -> None:
    items = board.items
    assert drop(board, items.index_of_stop(plan.market), 1, items.index_of_day(plan.day2))

    assert names_in(trip, plan.day2) == ["Jerónimos Monastery", "Time Out Market", "Belém Tower"]
    assert names_in(trip, plan.day1) == ["Castelo de São Jorge", "Lisbon Cathedral"]
    assert shown(board, plan.day2) == names_in(trip, plan.day2)


def test_dropping_a_stop_lower_in_its_own_day_counts_the_gap_it_leaves(
    board: ItineraryBoard, trip: Trip, plan: Lisbon
) -> None:
    items = board.items
    spy = Spy(board)
    rows = {s: QPersistentModelIndex(items.index_of_stop(s)) for s in (plan.castle, plan.cathedral, plan.market)}
    # The drop indicator sits between the cathedral and the market (row 2).
    assert drop(board, items.index_of_stop(plan.castle), 2, items.index_of_day(plan.day1))

    assert names_in(trip, plan.day1) == ["Lisbon Cathedral", "Castelo de São Jorge", "Time Out Market"]
    assert shown(board, plan.day1) == names_in(trip, plan.day1)
    assert (spy.resets, spy.moved) == (0, 1)
    # Rows moved rather than being rebuilt: what the view holds on to follows its stop.
    assert {s: index.data(Role.ID) for s, index in rows.items()} == {s: s for s in rows}
    assert [rows[s].row() for s in (plan.cathedral, plan.castle, plan.market)] == [0, 1, 2]


def test_one_drop_is_one_write(board: ItineraryBoard, trip: Trip, plan: Lisbon) -> None:
    writes: list[bytes] = []
    subscription = trip.doc.observe(lambda event: writes.append(event.update))
    items = board.items
    drop(board, items.index_of_stop(plan.tower), 0, items.index_of_day(plan.day1))
    trip.doc.unobserve(subscription)
    assert len(writes) == 1
    assert trip.snapshot().stop(plan.tower).day == plan.day1  # type: ignore[union-attr]


def test_dropping_a_stop_on_unscheduled_takes_it_off_its_day(board: ItineraryBoard, trip: Trip, plan: Lisbon) -> None:
    items = board.items
    assert drop(board, items.index_of_stop(plan.tower), -1, items.index_of_day(""))
    assert names_in(trip, "") == ["LX Factory", "Belém Tower"]


def test_dragging_a_day_between_others_reorders_the_days(board: ItineraryBoard, trip: Trip, plan: Lisbon) -> None:
    items = board.items
    assert drop(board, items.index_of_day(plan.day2), 0, QModelIndex())
    assert [d.title for d in trip.days()] == ["Belém", "Alfama & Baixa"]
    assert sections(board) == ["Belém", "Alfama & Baixa", "Unscheduled"]


def test_a_drop_through_the_view_lands_where_the_indicator_was(
    board: ItineraryBoard, trip: Trip, plan: Lisbon
) -> None:
    """The whole path of a real drop: view position → drop indicator → model → trip."""
    tree = board.tree
    items = board.items
    data = items.mimeData([items.index_of_stop(plan.castle)])
    jeronimos = tree.visualRect(items.index_of_stop(plan.jeronimos))
    below_jeronimos = QPoint(jeronimos.center().x(), jeronimos.bottom() - 3)

    viewport = tree.viewport()
    actions, button, keys = Qt.DropAction.MoveAction, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(viewport, QDragEnterEvent(below_jeronimos, actions, data, button, keys))
    QApplication.sendEvent(viewport, QDragMoveEvent(below_jeronimos, actions, data, button, keys))
    QApplication.sendEvent(viewport, QDropEvent(QPointF(below_jeronimos), actions, data, button, keys))

    assert names_in(trip, plan.day2) == ["Jerónimos Monastery", "Castelo de São Jorge", "Belém Tower"]


# ---------------------------------------------------------------------- editing


def open_form(board: ItineraryBoard, stop_id: str) -> StopForm:
    form = board.edit_stop_details(stop_id)
    assert isinstance(form, StopForm) and form.isVisible()
    return form


def open_card(qtbot: QtBot, board: ItineraryBoard, stop_id: str) -> StopCardEditor:
    """Double-click a stop's card, as a person does: its fields open in place."""
    tree = board.tree
    card = tree.visualRect(board.items.index_of_stop(stop_id))
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=card.center())  # a double-click's first click
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=card.center())
    editor = board.delegate.editor
    assert isinstance(editor, StopCardEditor) and editor.isVisible() and editor.stop_id == stop_id
    qtbot.waitUntil(lambda: QApplication.focusWidget() is editor.name)
    return editor


def test_a_stop_is_edited_in_place_on_its_card(qtbot: QtBot, board: ItineraryBoard, trip: Trip, plan: Lisbon) -> None:
    card = board.tree.visualRect(board.items.index_of_stop(plan.cathedral))
    editor = open_card(qtbot, board, plan.cathedral)
    qtbot.waitUntil(lambda: editor.height() > card.height())  # the card's row makes room for its fields
    assert editor.geometry().top() == card.top()

    editor.name.selectAll()
    editor.name.insert("Sé de Lisboa")  # typed (QTest types ASCII only)
    editor.start_time.setText("12:15")
    editor.duration.setValue(60)
    editor.cost.setValue(6.5)
    editor.category.setCurrentIndex(editor.category.findData("activity"))
    editor.notes.setText("Cloister ticket at the side door")
    qtbot.keyClick(editor.name, Qt.Key.Key_Return)

    stop = trip.snapshot().stop(plan.cathedral)
    assert stop is not None
    assert (stop.name, stop.start_time, stop.duration_min, stop.cost, stop.category, stop.notes) == (
        "Sé de Lisboa", "12:15", 60, 6.5, "activity", "Cloister ticket at the side door",
    )  # fmt: skip
    assert board.delegate.editor is None and not editor.isVisible()
    qtbot.waitUntil(board.undo_action.isEnabled)
    board.undo()  # one edit, one undo
    assert trip.snapshot().stop(plan.cathedral).name == "Lisbon Cathedral"  # type: ignore[union-attr]
    assert trip.snapshot().stop(plan.cathedral).cost == 5  # type: ignore[union-attr]


def test_the_card_follows_what_someone_else_changes_and_keeps_what_i_typed(
    qtbot: QtBot, board: ItineraryBoard, trip: Trip, plan: Lisbon
) -> None:
    editor = open_card(qtbot, board, plan.cathedral)
    editor.name.setText("Sé de Lisboa")
    other = peer_of(trip)
    other.update_stop(plan.cathedral, name="Sé Catedral", notes="Closed on Mondays")
    sync(trip, other)
    assert (editor.name.text(), editor.notes.text()) == ("Sé de Lisboa", "Closed on Mondays")

    qtbot.keyClick(editor.notes, Qt.Key.Key_Enter)
    stop = trip.snapshot().stop(plan.cathedral)
    assert stop is not None and (stop.name, stop.notes) == ("Sé de Lisboa", "Closed on Mondays")


def test_a_refused_value_keeps_the_card_open_with_everything_typed(
    qtbot: QtBot, board: ItineraryBoard, trip: Trip, plan: Lisbon
) -> None:
    before = trip.doc.get_state()
    editor = open_card(qtbot, board, plan.cathedral)
    editor.name.setText("Sé de Lisboa")
    editor.start_time.setText("25:99")
    qtbot.keyClick(editor.name, Qt.Key.Key_Return)

    assert board.delegate.editor is editor and editor.isVisible()
    assert editor.error.text().startswith("Start time: must be HH:MM")
    assert editor.start_time.property("refused") is True and QApplication.focusWidget() is editor.start_time
    assert (editor.name.text(), editor.start_time.text()) == ("Sé de Lisboa", "25:99")
    assert trip.doc.get_state() == before  # not one write

    editor.start_time.setText("12:15")
    qtbot.keyClick(editor.start_time, Qt.Key.Key_Return)
    assert board.delegate.editor is None
    assert trip.snapshot().stop(plan.cathedral).start_time == "12:15"  # type: ignore[union-attr]


def test_escape_closes_the_card_and_writes_nothing(qtbot: QtBot, board: ItineraryBoard, trip: Trip, plan: Lisbon) -> None:
    before = trip.doc.get_state()
    editor = open_card(qtbot, board, plan.cathedral)
    qtbot.keyClicks(editor.name, " (closed)")
    qtbot.keyClick(editor.name, Qt.Key.Key_Escape)
    assert board.delegate.editor is None
    assert trip.doc.get_state() == before


def test_delete_in_a_card_field_edits_the_text_not_the_plan(
    qtbot: QtBot, board: ItineraryBoard, trip: Trip, plan: Lisbon
) -> None:
    editor = open_card(qtbot, board, plan.cathedral)
    editor.name.setCursorPosition(0)
    qtbot.keyClick(editor.name, Qt.Key.Key_Delete)
    assert editor.name.text() == "isbon Cathedral"
    assert trip.snapshot().stop(plan.cathedral) is not None


def test_moving_on_to_another_stop_saves_the_card(qtbot: QtBot, board: ItineraryBoard, trip: Trip, plan: Lisbon) -> None:
    editor = open_card(qtbot, board, plan.cathedral)
    editor.cost.setValue(6)
    board.tree.setCurrentIndex(board.items.index_of_stop(plan.tower))
    assert board.delegate.editor is None
    assert trip.snapshot().stop(plan.cathedral).cost == 6  # type: ignore[union-attr]


def test_location_opens_the_full_form_for_that_stop(qtbot: QtBot, board: ItineraryBoard, plan: Lisbon) -> None:
    editor = open_card(qtbot, board, plan.cathedral)
    editor.details.click()
    form = board.findChild(StopForm)
    assert board.delegate.editor is None
    assert form is not None and form.isVisible() and form.location.text() == "38.70974, -9.13351"


def test_the_form_writes_the_fields_that_were_changed(board: ItineraryBoard, trip: Trip, plan: Lisbon) -> None:
    form = open_form(board, plan.cathedral)
    form.name.setText("Sé de Lisboa")
    form.start_time.setText("12:15")
    form.duration.setValue(60)
    form.cost.setValue(6.5)
    form.category.setCurrentIndex(form.category.findData("activity"))
    form.notes.setPlainText("Cloister ticket at the side door")
    form.save()

    stop = trip.snapshot().stop(plan.cathedral)
    assert stop is not None
    assert (stop.name, stop.start_time, stop.duration_min, stop.cost, stop.category, stop.notes) == (
        "Sé de Lisboa", "12:15", 60, 6.5, "activity", "Cloister ticket at the side door",
    )  # fmt: skip
    assert not form.isVisible()


def test_the_form_keeps_what_someone_else_changed_meanwhile(board: ItineraryBoard, trip: Trip, plan: Lisbon) -> None:
    form = open_form(board, plan.cathedral)
    other = peer_of(trip)
    other.update_stop(plan.cathedral, notes="Closed on Mondays")
    sync(trip, other)
    form.name.setText("Sé de Lisboa")
    form.save()

    stop = trip.snapshot().stop(plan.cathedral)
    assert stop is not None and (stop.name, stop.notes) == ("Sé de Lisboa", "Closed on Mondays")


def test_a_refused_value_is_explained_and_nothing_is_lost(board: ItineraryBoard, trip: Trip, plan: Lisbon) -> None:
    before = trip.doc.get_state()
    form = open_form(board, plan.cathedral)
    form.name.setText("Sé de Lisboa")
    form.start_time.setText("25:99")
    form.save()

    assert form.isVisible()
    assert form.error.isVisible()
    assert form.error.text().startswith("Start time: must be HH:MM")
    assert form.start_time.property("refused") is True
    assert (form.name.text(), form.start_time.text()) == ("Sé de Lisboa", "25:99")
    assert trip.doc.get_state() == before  # not one write
    assert trip.snapshot().stop(plan.cathedral).name == "Lisbon Cathedral"  # type: ignore[union-attr]

    form.start_time.setText("12:15")
    form.save()
    assert not form.isVisible()
    assert trip.snapshot().stop(plan.cathedral).start_time == "12:15"  # type: ignore[union-attr]


def test_saving_a_stop_someone_deleted_meanwhile_says_so(board: ItineraryBoard, trip: Trip, plan: Lisbon) -> None:
    form = open_form(board, plan.cathedral)
    other = peer_of(trip)
    other.delete_stop(plan.cathedral)
    sync(trip, other)
    form.name.setText("Sé de Lisboa")
    form.save()
    assert form.isVisible()
    assert form.error.text() == "This stop no longer exists: someone deleted it while you were editing."
    assert form.name.text() == "Sé de Lisboa"


def test_a_new_stop_goes_to_the_selected_day_near_its_stops(
    board: ItineraryBoard, trip: Trip, plan: Lisbon, selection: StopSelection
) -> None:
    board.tree.setCurrentIndex(board.items.index_of_day(plan.day2))
    form = board.add_stop()
    assert isinstance(form, StopForm)
    lat, lon = (float(part) for part in form.location.text().split(","))
    assert abs(lat - 38.6947) < 0.01 and abs(lon + 9.2112) < 0.01  # between Jerónimos and the tower
    form.name.setText("Pastéis de Belém")
    form.location.setText("38.69754, -9.20321")
    form.cost.setValue(8)
    form.save()

    assert names_in(trip, plan.day2) == ["Jerónimos Monastery", "Belém Tower", "Pastéis de Belém"]
    added = trip.snapshot().stops_in(plan.day2)[-1]
    assert (added.lat, added.lon, added.cost, added.added_by) == (38.69754, -9.20321, 8.0, "ana")
    assert selection.stop_id == added.id


def test_find_looks_the_name_up_in_the_offline_atlas(qtbot: QtBot, board: ItineraryBoard, plan: Lisbon) -> None:
    board.tree.setCurrentIndex(board.items.index_of_day(plan.day2))
    form = board.add_stop()
    assert isinstance(form, StopForm)
    form.name.setText("Torre de Belém")
    form.category.setCurrentIndex(form.category.findData("other"))
    form.find.click()
    qtbot.waitUntil(lambda: bool(form.places.actions()), timeout=30_000)  # the atlas loads once

    choices = {action.text(): action for action in form.places.actions()}
    choices["Belém Tower, Lisbon, Portugal"].trigger()
    assert form.location.text() == "38.69160, -9.21600"
    assert form.category.currentData() == "sight"


def test_add_day_appends_the_next_date(board: ItineraryBoard, trip: Trip) -> None:
    board.add_day_button.click()
    assert [d.date for d in trip.days()] == ["2026-05-14", "2026-05-15", "2026-05-16"]
    assert sections(board)[2] == "Day 3"


def test_delete_is_immediate_and_undone_from_the_notice(board: ItineraryBoard, trip: Trip, plan: Lisbon) -> None:
    board.tree.setCurrentIndex(board.items.index_of_stop(plan.tower))
    board.delete_action.trigger()
    assert trip.snapshot().stop(plan.tower) is None
    assert shown(board, plan.day2) == ["Jerónimos Monastery"]
    assert board.notice.text() == "Deleted “Belém Tower”."

    board.notice_undo.click()
    assert names_in(trip, plan.day2) == ["Jerónimos Monastery", "Belém Tower"]


def test_deleting_a_day_leaves_its_stops_unscheduled(board: ItineraryBoard, trip: Trip, plan: Lisbon) -> None:
    board.tree.setCurrentIndex(board.items.index_of_day(plan.day2))
    board.delete_selected()
    assert sections(board) == ["Alfama & Baixa", "Unscheduled"]
    assert sorted(shown(board, "")) == ["Belém Tower", "Jerónimos Monastery", "LX Factory"]
    assert "2 stops are now unscheduled" in board.notice.text()


# ---------------------------------------------------------------------- undo


def test_undo_reverts_my_edit_but_not_another_peers(
    qtbot: QtBot, board: ItineraryBoard, trip: Trip, plan: Lisbon
) -> None:
    other = peer_of(trip)
    form = open_form(board, plan.castle)
    form.cost.setValue(20)
    form.save()
    other.update_stop(plan.tower, name="Torre de Belém")
    sync(trip, other)
    qtbot.waitUntil(board.undo_action.isEnabled)

    board.undo_action.trigger()
    snapshot = trip.snapshot()
    assert snapshot.stop(plan.castle).cost == 15  # type: ignore[union-attr]
    assert snapshot.stop(plan.tower).name == "Torre de Belém"  # type: ignore[union-attr]
    assert board.items.index_of_stop(plan.castle).data(Role.STOP).cost == 15

    qtbot.waitUntil(board.redo_action.isEnabled)
    board.redo_action.trigger()
    assert trip.snapshot().stop(plan.castle).cost == 20  # type: ignore[union-attr]


def test_undo_has_nothing_to_undo_when_only_others_edited(
    qtbot: QtBot, board: ItineraryBoard, trip: Trip, plan: Lisbon
) -> None:
    other = peer_of(trip)
    other.delete_stop(plan.tower)
    sync(trip, other)
    qtbot.wait(10)
    assert not board.undo_action.isEnabled()
    board.undo()
    assert trip.snapshot().stop(plan.tower) is None


def test_undo_shortcuts_are_ctrl_z_and_ctrl_shift_z(board: ItineraryBoard) -> None:
    assert board.undo_action.shortcut().toString() == "Ctrl+Z"
    assert "Ctrl+Shift+Z" in [key.toString() for key in board.redo_action.shortcuts()]


# ---------------------------------------------------------------------- selection


def test_choosing_a_row_selects_the_stop_and_a_selection_shows_its_row(
    board: ItineraryBoard, plan: Lisbon, selection: StopSelection
) -> None:
    board.tree.setCurrentIndex(board.items.index_of_stop(plan.market))
    assert selection.stop_id == plan.market

    selection.select(plan.tower)
    assert board.tree.currentIndex().data(Role.ID) == plan.tower
    assert board.tree.selectionModel().isSelected(board.items.index_of_stop(plan.tower))

    board.tree.setCurrentIndex(board.items.index_of_day(plan.day1))
    assert selection.stop_id == ""


def test_selection_scrolls_a_far_stop_into_view(
    qtbot: QtBot, board: ItineraryBoard, plan: Lisbon, selection: StopSelection
) -> None:
    board.resize(440, 260)
    qtbot.wait(10)
    far = board.items.index_of_stop(plan.lx_factory)
    assert not board.tree.viewport().rect().contains(board.tree.visualRect(far).center())
    selection.select(plan.lx_factory)
    assert board.tree.viewport().rect().contains(board.tree.visualRect(far).center())


def test_the_selected_stop_stays_highlighted_when_another_peer_moves_it(
    board: ItineraryBoard, trip: Trip, plan: Lisbon, selection: StopSelection
) -> None:
    selection.select(plan.market)
    other = peer_of(trip)
    other.move_stop(plan.market, plan.day2, 0)
    sync(trip, other)
    assert selection.stop_id == plan.market
    current = board.tree.currentIndex()
    assert current.data(Role.ID) == plan.market
    assert current.parent().data(Role.ID) == plan.day2


# ---------------------------------------------------------------------- viewer


def test_a_viewer_can_look_but_not_edit(qtbot: QtBot, trip: Trip, plan: Lisbon) -> None:
    viewer = TripModel(trip, ANA, read_only=True)
    board = ItineraryBoard(viewer, StopSelection())
    qtbot.addWidget(board)
    before = trip.doc.get_state()
    items = board.items

    assert shown(board, plan.day1) == ["Castelo de São Jorge", "Lisbon Cathedral", "Time Out Market"]
    assert board.tree.dragDropMode() == board.tree.DragDropMode.NoDragDrop
    flags = items.flags(items.index_of_stop(plan.castle))
    assert not flags & (Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled | Qt.ItemFlag.ItemIsEditable)
    assert not drop(board, items.index_of_stop(plan.castle), 0, items.index_of_day(plan.day2))
    assert board.edit_stop(plan.castle) is None and board.edit_stop_details(plan.castle) is None
    board.show()
    castle = board.tree.visualRect(items.index_of_stop(plan.castle)).center()
    qtbot.mouseClick(board.tree.viewport(), Qt.MouseButton.LeftButton, pos=castle)
    qtbot.mouseDClick(board.tree.viewport(), Qt.MouseButton.LeftButton, pos=castle)
    qtbot.keyClick(board.tree, Qt.Key.Key_F2)
    qtbot.keyClick(board.tree, Qt.Key.Key_Delete)
    assert board.delegate.editor is None and board.findChild(StopForm) is None
    board._context_menu(castle)  # no menu with Edit, Move to or Delete for a viewer
    assert board.findChild(QMenu) is None
    assert board.add_stop() is None
    assert not board.add_day_button.isEnabled() and not board.add_stop_button.isEnabled()
    assert not board.delete_action.isEnabled() and not board.undo_action.isEnabled()
    with qtbot.waitSignal(viewer.error):
        assert viewer.apply(lambda t: t.delete_stop(plan.castle)) is None
    assert trip.doc.get_state() == before
    viewer.close()

"""The map on real trip documents: pins and routes follow the trip, pan/zoom/fit, and the
selection is shared with the board."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QPainterPath, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from wayfarer.trip import Trip
from wayfarer.ui import style
from wayfarer.ui.board import ItineraryBoard
from wayfarer.ui.board_items import Role
from wayfarer.ui.map_view import MapView, PinItem
from wayfarer.ui.selection import StopSelection
from wayfarer.ui.trip_model import TripModel

from _ui_trips import ANA, Lisbon, new_trip, peer_of, plan_lisbon, sync


@pytest.fixture
def trip() -> Trip:
    return new_trip()


@pytest.fixture
def plan(trip: Trip) -> Lisbon:
    return plan_lisbon(trip)


@pytest.fixture
def model(trip: Trip) -> Iterator[TripModel]:
    model = TripModel(trip, ANA)
    yield model
    model.close()


@pytest.fixture
def selection() -> StopSelection:
    return StopSelection()


def open_map(qtbot: QtBot, model: TripModel, selection: StopSelection) -> MapView:
    view = MapView(model, selection)
    qtbot.addWidget(view)
    view.resize(760, 560)
    view.show()
    qtbot.waitExposed(view)
    return view


@pytest.fixture
def map_view(qtbot: QtBot, model: TripModel, plan: Lisbon, selection: StopSelection) -> MapView:
    return open_map(qtbot, model, selection)


def pin_head(view: MapView, pin: PinItem) -> QPoint:
    """Where a person clicks a pin: its round head, above the point it stands on."""
    return view.mapFromScene(pin.pos()) + QPoint(0, -18)


def on_screen(view: MapView, pin: PinItem) -> bool:
    return view.viewport().rect().contains(view.mapFromScene(pin.pos()))


def points(path: QPainterPath) -> list[QPointF]:
    return [QPointF(path.elementAt(i).x, path.elementAt(i).y) for i in range(path.elementCount())]


# ---------------------------------------------------------------------- pins and routes


def test_every_stop_has_a_pin_coloured_by_day_and_numbered_in_order(map_view: MapView, plan: Lisbon) -> None:
    pins = map_view.pins
    assert len(pins) == 6
    assert [pins[s].number for s in (plan.castle, plan.cathedral, plan.market)] == ["1", "2", "3"]
    assert [pins[s].number for s in (plan.jeronimos, plan.tower)] == ["1", "2"]
    assert pins[plan.castle].color == style.day_color(0)
    assert pins[plan.tower].color == style.day_color(1)
    assert pins[plan.lx_factory].color == style.day_color(-1) and pins[plan.lx_factory].number == ""


def test_a_stop_added_by_another_peer_gets_a_pin_in_its_days_colour(
    map_view: MapView, trip: Trip, plan: Lisbon
) -> None:
    before = map_view.pins
    other = peer_of(trip)
    added = other.add_stop("Pastéis de Belém", 38.69754, -9.20321, day=plan.day2, index=1, cost=8)
    sync(trip, other)

    pins = map_view.pins
    assert len(pins) == 7
    assert pins[added].color == style.day_color(1)
    assert (pins[added].number, pins[plan.tower].number) == ("2", "3")  # the tower moved one down
    assert all(pins[i] is before[i] for i in before)  # no pin was rebuilt
    assert on_screen(map_view, pins[added])


def test_moving_a_stop_to_another_day_recolours_and_renumbers_its_pin(
    map_view: MapView, trip: Trip, plan: Lisbon
) -> None:
    pin = map_view.pins[plan.market]
    trip.move_stop(plan.market, plan.day2, 0)
    assert map_view.pins[plan.market] is pin
    assert (pin.color, pin.number) == (style.day_color(1), "1")
    assert map_view.pins[plan.jeronimos].number == "2"


def test_a_deleted_stop_loses_its_pin(map_view: MapView, trip: Trip, plan: Lisbon) -> None:
    pin = map_view.pins[plan.tower]
    trip.delete_stop(plan.tower)
    assert plan.tower not in map_view.pins
    assert pin.scene() is None


def test_each_day_has_a_route_through_its_stops_in_order(map_view: MapView, trip: Trip, plan: Lisbon) -> None:
    pins = map_view.pins
    day1 = map_view.routes[plan.day1].path()
    assert day1.elementCount() == 3
    assert points(day1) == [pins[s].pos() for s in (plan.castle, plan.cathedral, plan.market)]
    assert map_view.routes[plan.day1].pen().color().rgb() == style.day_color(0).rgb()

    trip.move_stop(plan.castle, plan.day1, 2)
    day1 = map_view.routes[plan.day1].path()
    assert points(day1) == [pins[s].pos() for s in (plan.cathedral, plan.market, plan.castle)]

    trip.delete_day(plan.day2)
    assert set(map_view.routes) == {plan.day1}


# ---------------------------------------------------------------------- fit, pan, zoom


def test_the_map_fits_the_trip_when_its_first_stops_appear(
    qtbot: QtBot, model: TripModel, trip: Trip, selection: StopSelection
) -> None:
    view = open_map(qtbot, model, selection)
    assert view.visible_degrees() > 180  # an empty trip: the world
    assert view.detail == "110m"

    other = peer_of(trip)
    plan = plan_lisbon(other)
    sync(trip, other)

    assert view.visible_degrees() < 1  # Lisbon
    assert view.detail == "50m"
    assert all(on_screen(view, view.pins[s]) for s in (plan.castle, plan.tower, plan.lx_factory))


def test_zoom_buttons_and_fit(qtbot: QtBot, map_view: MapView, plan: Lisbon) -> None:
    fitted = map_view.visible_degrees()
    map_view.zoom_out_button.click()
    assert map_view.visible_degrees() == pytest.approx(fitted * 1.5)
    for _ in range(20):
        map_view.zoom_out_button.click()
    assert map_view.visible_degrees() > 100
    assert map_view.detail == "110m"

    map_view.fit_button.click()
    assert map_view.visible_degrees() == pytest.approx(fitted)
    map_view.zoom_in_button.click()
    assert map_view.visible_degrees() == pytest.approx(fitted / 1.5)


def test_fit_to_trip_keeps_every_pin_clear_of_the_legend_and_the_buttons(
    qtbot: QtBot, model: TripModel, plan: Lisbon, selection: StopSelection
) -> None:
    view = MapView(model, selection)
    qtbot.addWidget(view)
    view.resize(560, 330)  # its size in a 1400 × 900 window
    view.show()
    qtbot.waitExposed(view)
    view.zoom_out_button.click()
    view.fit_button.click()
    overlays = [view.legend.geometry(), view.fit_button.parentWidget().geometry()]
    for pin in view.pins.values():
        point = view.mapFromScene(pin.pos())
        whole_pin = QRect(point.x() - 11, point.y() - 28, 22, 30)
        assert view.viewport().rect().contains(whole_pin)
        assert not any(whole_pin.intersects(overlay) for overlay in overlays), pin.name


def test_a_smaller_window_still_shows_the_whole_trip_until_the_person_takes_the_view(
    map_view: MapView, plan: Lisbon
) -> None:
    map_view.resize(380, 260)
    assert all(on_screen(map_view, pin) for pin in map_view.pins.values())
    map_view.zoom_in_button.click()  # the person's view from now on
    scale = map_view.transform().m11()
    map_view.resize(760, 560)
    assert map_view.transform().m11() == scale


def wheel(view: MapView, at: QPoint, notches: int) -> None:
    event = QWheelEvent(
        QPointF(at), QPointF(view.viewport().mapToGlobal(at)), QPoint(), QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(view.viewport(), event)


def test_the_wheel_zooms_about_the_pointer(map_view: MapView, plan: Lisbon) -> None:
    before = map_view.visible_degrees()
    tower = map_view.mapFromScene(map_view.pins[plan.tower].pos())
    wheel(map_view, tower, 2)
    assert map_view.visible_degrees() == pytest.approx(before / 1.25**2)
    after = map_view.mapFromScene(map_view.pins[plan.tower].pos())
    assert (after - tower).manhattanLength() <= 2  # what was under the pointer stays there

    wheel(map_view, tower, -2)
    assert map_view.visible_degrees() == pytest.approx(before)


def test_dragging_the_map_pans_it(map_view: MapView) -> None:
    center = map_view.viewport().rect().center()
    start = map_view.mapToScene(center)
    grab, drop = QPoint(40, 40), QPoint(160, 100)  # a corner without pins
    viewport = map_view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, grab)
    QTest.mouseMove(viewport, drop)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, drop)
    moved = map_view.mapToScene(center)
    assert moved.x() < start.x() and moved.y() < start.y()  # the map followed the hand


# ---------------------------------------------------------------------- selection


def test_clicking_a_pin_selects_its_stop_and_highlights_it(
    map_view: MapView, plan: Lisbon, selection: StopSelection
) -> None:
    map_view.zoom(4.0)  # the Belém pins apart from each other
    map_view.centerOn(map_view.pins[plan.tower].pos())
    tower = map_view.pins[plan.tower]
    QTest.mouseClick(map_view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pin_head(map_view, tower))

    assert selection.stop_id == plan.tower
    assert tower.selected
    assert [p.stop_id for p in map_view.pins.values() if p.selected] == [plan.tower]


def test_board_and_map_share_the_selection(
    qtbot: QtBot, map_view: MapView, model: TripModel, plan: Lisbon, selection: StopSelection
) -> None:
    board = ItineraryBoard(model, selection)
    qtbot.addWidget(board)
    board.show()

    board.tree.setCurrentIndex(board.items.index_of_stop(plan.cathedral))
    assert [p.stop_id for p in map_view.pins.values() if p.selected] == [plan.cathedral]

    map_view.zoom(4.0)
    map_view.centerOn(map_view.pins[plan.jeronimos].pos())
    jeronimos = map_view.pins[plan.jeronimos]
    QTest.mouseClick(map_view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pin_head(map_view, jeronimos))
    assert board.tree.currentIndex().data(Role.ID) == plan.jeronimos
    assert not map_view.pins[plan.cathedral].selected


def test_selecting_a_stop_off_screen_brings_its_pin_into_view(
    map_view: MapView, plan: Lisbon, selection: StopSelection
) -> None:
    map_view.zoom(8.0)
    map_view.centerOn(map_view.pins[plan.castle].pos())
    assert not on_screen(map_view, map_view.pins[plan.tower])
    scale = map_view.transform().m11()
    selection.select(plan.tower)
    assert on_screen(map_view, map_view.pins[plan.tower])
    assert map_view.transform().m11() == scale  # panned, not zoomed


def test_the_map_follows_the_plan_as_it_grows_until_the_person_takes_the_view(qtbot) -> None:
    from wayfarer.trip import Person, Trip
    from wayfarer.ui.map_view import MapView
    from wayfarer.ui.selection import StopSelection
    from wayfarer.ui.trip_model import TripModel

    trip = Trip()
    trip.create("Growing")
    model = TripModel(trip, Person("p-ana", "Ana"))
    view = MapView(model, StopSelection())
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    trip.add_stop("Belém Tower", 38.6916, -9.2160)
    trip.add_stop("Sintra", 38.7976, -9.3904)
    trip.add_stop("Cascais", 38.6979, -9.4215)

    def visible(stop_id: str) -> bool:
        pin = view.pins[stop_id]
        return view.viewport().rect().contains(view.mapFromScene(pin.pos()))

    assert all(visible(s.id) for s in trip.stops())  # followed every new stop
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent

    centre = QPointF(view.viewport().rect().center())
    wheel = QWheelEvent(centre, centre, QPoint(), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
    view.wheelEvent(wheel)  # the person zooms in: the view is theirs now
    before = view.transform()
    evora = trip.add_stop("Évora", 38.5714, -7.9135)
    assert view.transform() == before and not visible(evora)

"""The budget panel on real trip documents: what it says about limit and spending, and
that its adjustments are PN-counter writes that survive concurrent ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from wayfarer.trip import Trip
from wayfarer.ui.budget_panel import BudgetPanel
from wayfarer.ui.trip_model import TripModel

from _ui_trips import ANA, Lisbon, new_trip, peer_of, plan_lisbon, sync


@pytest.fixture
def trip() -> Trip:
    return new_trip()


@pytest.fixture
def plan(trip: Trip) -> Lisbon:
    return plan_lisbon(trip)  # €64 spent: 42 on day 1, 22 on day 2, nothing unscheduled


@pytest.fixture
def model(trip: Trip, plan: Lisbon) -> Iterator[TripModel]:
    model = TripModel(trip, ANA)
    yield model
    model.close()


def open_panel(qtbot: QtBot, model: TripModel) -> BudgetPanel:
    panel = BudgetPanel(model)
    qtbot.addWidget(panel)
    panel.show()
    return panel


@pytest.fixture
def panel(qtbot: QtBot, model: TripModel) -> BudgetPanel:
    return open_panel(qtbot, model)


def test_without_a_limit_it_invites_setting_one(panel: BudgetPanel) -> None:
    assert panel.limit.text() == "no limit set"
    assert panel.status.text() == "Set a limit to track spending against it."
    assert panel.bar.fraction == 0
    assert not panel.adjust_buttons[-50].isEnabled()  # the limit never goes below zero
    assert panel.adjust_buttons[50].isEnabled()


def test_limit_spent_and_remaining(panel: BudgetPanel, trip: Trip) -> None:
    trip.adjust_budget(100)
    assert "€64" in panel.spent.text()
    assert panel.limit.text() == "of €100"
    assert panel.status.text() == "€36 left · 64% used"
    assert panel.status.property("tone") == "ok"
    assert panel.bar.fraction == pytest.approx(0.64)
    assert panel.currency.text() == "EUR"


def test_spending_past_the_limit_shows_a_warning(panel: BudgetPanel, trip: Trip, plan: Lisbon) -> None:
    trip.adjust_budget(100)
    other = peer_of(trip)
    other.update_stop(plan.tower, cost=60.5)  # someone else books the expensive tour
    sync(trip, other)

    assert panel.status.text() == "⚠ Over budget by €14.50"
    assert panel.status.property("tone") == "over"
    assert panel.bar.fraction == 1.0
    assert panel.bar.color.name() == "#e03131"


def test_plus_and_minus_adjust_the_limit(panel: BudgetPanel, trip: Trip) -> None:
    panel.adjust_buttons[100].click()
    panel.adjust_buttons[100].click()
    panel.adjust_buttons[-50].click()
    assert trip.budget().limit == 150
    assert panel.limit.text() == "of €150"
    assert [b.text() for b in panel.adjust_buttons.values()] == ["−€100", "−€50", "+€50", "+€100"]


def test_set_limit_types_an_exact_amount(qtbot: QtBot, panel: BudgetPanel, trip: Trip) -> None:
    trip.adjust_budget(100)
    panel.set_button.click()
    assert panel.limit_input.isVisible() and panel.limit_input.value() == 100
    panel.limit_input.setValue(420)
    panel.limit_save.click()
    assert trip.budget().limit == 420
    assert not panel.limit_input.isVisible()


def test_two_people_adjusting_at_once_both_count(qtbot: QtBot, model: TripModel, trip: Trip) -> None:
    other_trip = peer_of(trip)
    other_model = TripModel(other_trip, ANA)
    mine, theirs = open_panel(qtbot, model), open_panel(qtbot, other_model)

    mine.adjust_buttons[100].click()  # neither has seen the other's click yet
    theirs.adjust_buttons[50].click()
    theirs.adjust_buttons[50].click()
    sync(trip, other_trip)

    assert trip.budget().limit == other_trip.budget().limit == 200
    assert mine.limit.text() == theirs.limit.text() == "of €200"
    other_model.close()


def test_spent_by_category_and_by_day(panel: BudgetPanel, trip: Trip, plan: Lisbon) -> None:
    assert panel.by_category.labels() == ["Sight: €42", "Food: €22"]
    assert panel.by_day.labels() == ["Day 1 · Alfama & Baixa: €42", "Day 2 · Belém: €22"]

    trip.update_stop(plan.lx_factory, cost=12)
    trip.rename_day(plan.day2, "Belém & LX")
    assert panel.by_category.labels() == ["Sight: €42", "Food: €22", "Activity: €12"]
    assert panel.by_day.labels() == ["Day 1 · Alfama & Baixa: €42", "Day 2 · Belém & LX: €22", "Unscheduled: €12"]


def test_amounts_follow_the_trips_currency(panel: BudgetPanel, trip: Trip) -> None:
    trip.adjust_budget(100)
    trip.set_currency("USD")
    assert panel.currency.text() == "USD"
    assert panel.limit.text() == "of $100"
    assert panel.by_day.labels()[0] == "Day 1 · Alfama & Baixa: $42"


def test_a_viewer_sees_the_budget_but_cannot_adjust_it(qtbot: QtBot, trip: Trip) -> None:
    trip.adjust_budget(300)
    viewer = TripModel(trip, ANA, read_only=True)
    panel = open_panel(qtbot, viewer)
    assert panel.limit.text() == "of €300"
    assert not any(b.isEnabled() for b in panel.adjust_buttons.values())
    assert not panel.set_button.isEnabled()
    panel.adjust(50)
    assert trip.budget().limit == 300
    assert panel.error.isVisible() and "view-only" in panel.error.text()
    viewer.close()

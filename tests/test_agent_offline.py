"""The offline planner: everyday requests understood, real places, the same tools as a model."""

from __future__ import annotations

import datetime as _dt

import pytest

from wayfarer.agent import intents as I
from wayfarer.agent.offline import OfflinePlanner
from wayfarer.agent.provider import ModelRequest, ReasoningDelta, TextBlock, TextDelta, Turn
from wayfarer.agent.run import RunSettings, execute_run
from wayfarer.trip import Person, Trip

pytestmark = pytest.mark.anyio
ANA = Person("p-ana", "Ana")
AGENT = Person("agent-offline", "Wayfarer")
TODAY = _dt.date(2026, 11, 25)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Plan 2 days in Lisbon", I.PlanDays(2, "Lisbon")),
        ("Plan three days in Paris from December 3", I.PlanDays(3, "Paris", "2026-12-03")),
        ("a week in Tokyo starting 2027-01-10", I.PlanDays(7, "Tokyo", "2027-01-10")),
        ("We want a weekend in Rome!", I.PlanDays(2, "Rome")),
        ("Plan a trip to Porto for 4 days", I.PlanDays(4, "Porto")),
        ("Add Belém Tower to day 2", I.AddPlace("Belém Tower", 2)),
        ("move the Louvre to day 1", I.MovePlace("Louvre", 1)),
        ("Remove the Eiffel Tower", I.RemovePlace("Eiffel Tower")),
        ("Set the budget to 1,500", I.SetBudget(1500, relative=False)),
        ("raise the budget by 200", I.SetBudget(200, relative=True)),
        ("lower the budget by 50", I.SetBudget(-50, relative=True)),
        ("What does it cost so far?", I.AskCost()),
        ("switch to USD", I.SetCurrency("USD")),
        ("use pounds please", I.SetCurrency("GBP")),
        ("good morning", I.Unknown("good morning")),
    ],
)
def test_everyday_requests_are_understood(text: str, intent: I.Intent) -> None:
    assert I.parse(text, TODAY) == intent


async def ask(trip: Trip, text: str) -> tuple[str, str]:
    _, run_id = trip.post_user_message(text, ANA)
    trip.claim_run(run_id, AGENT, model="offline planner")
    status = await execute_run(trip, run_id, OfflinePlanner(words_per_second=0, today=lambda: TODAY), AGENT, RunSettings(frame_s=0))
    reply = next(m for m in trip.snapshot().chat if m.run_id == run_id)
    return status, reply.text


def lisbon_trip(currency: str = "EUR") -> Trip:
    trip = Trip()
    trip.create("Winter trip", currency=currency)
    return trip


async def test_planning_two_days_in_a_city_adds_dated_days_with_real_nearby_places_in_time_order() -> None:
    trip = lisbon_trip()
    status, text = await ask(trip, "Plan 2 days in Lisbon from December 3")

    assert status == "completed"
    plan = trip.snapshot()
    assert [d.date for d in plan.days] == ["2026-12-03", "2026-12-04"]
    for day in plan.days:
        stops = plan.stops_in(day.id)
        assert len(stops) >= 3 and day.title
        assert all(abs(s.lat - 38.72) < 0.2 and abs(s.lon + 9.15) < 0.2 for s in stops)
        times = [s.start_time for s in stops]
        assert times == sorted(times) and times[0] == "09:30"
        assert all(s.added_by == AGENT.id for s in stops)
    assert {s.category for s in plan.stops} >= {"sight", "food"}
    assert plan.budget.spent > 0
    assert "Day 1" in text and "Day 2" in text and "EUR" in text


async def test_costs_follow_the_trips_currency() -> None:
    euros, dollars = lisbon_trip("EUR"), lisbon_trip("USD")
    await ask(euros, "Plan 1 day in Lisbon")
    status, text = await ask(dollars, "Plan 1 day in Lisbon")
    assert status == "completed" and "USD" in text and "approximate" in text
    assert dollars.snapshot().budget.spent > euros.snapshot().budget.spent > 0


async def test_an_unknown_city_gets_a_readable_answer_and_no_edits() -> None:
    trip = lisbon_trip()
    status, text = await ask(trip, "Plan 2 days in Xyzzyville")
    assert status == "completed" and "couldn't find" in text
    assert trip.snapshot().days == ()


async def test_add_move_remove_budget_and_cost_questions_work_on_the_plan() -> None:
    trip = lisbon_trip()
    await ask(trip, "Plan 2 days in Lisbon")
    tower = next(s for s in trip.snapshot().stops if s.name == "Belém Tower")

    _, text = await ask(trip, "Move Belém Tower to day 2")
    plan = trip.snapshot()
    assert plan.stop(tower.id).day == plan.days[1].id and "Moved **Belém Tower** to day 2" in text

    _, text = await ask(trip, "Remove the Belém Tower")
    assert trip.snapshot().stop(tower.id) is None and "Removed **Belém Tower**" in text

    _, text = await ask(trip, "Add the Oceanário to day 1")
    plan = trip.snapshot()
    added = [s for s in plan.stops_in(plan.days[0].id) if "Ocean" in s.name]
    assert added and "Added" in text

    _, text = await ask(trip, "Set the budget to 50")
    assert trip.snapshot().budget.limit == 50 and "over" in text

    _, text = await ask(trip, "What does it cost so far?")
    assert "Day 1" in text and "over" in text


async def test_the_reply_and_reasoning_stream_word_by_word() -> None:
    planner = OfflinePlanner(words_per_second=1000)
    request = ModelRequest(system="", turns=(Turn("user", (TextBlock("Ana: Plan 2 days in Lisbon"),)),), tools=(), asker_name="Ana")
    events = [e async for e in planner.stream(request)]
    assert sum(isinstance(e, TextDelta) for e in events) > 3
    assert sum(isinstance(e, ReasoningDelta) for e in events) > 3
    assert planner.label == "offline planner"

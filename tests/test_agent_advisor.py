"""Reacting to others: one short advisory when a person's edit breaks the plan."""

from __future__ import annotations

import anyio
import pytest
from pycrdt import Doc

from _mesh import Mesh
from wayfarer.agent.advisor import Advisor, AdvisorSettings, find_problems
from wayfarer.trip import Person, Trip

pytestmark = pytest.mark.anyio
ANA = Person("p-ana", "Ana")
AGENT = Person("agent-1", "Wayfarer")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def lisbon() -> Trip:
    trip = Trip()
    trip.create("Lisbon")
    day = trip.add_day("Belém")
    trip.add_stop("Belém Tower", 38.6916, -9.2160, day=day, cost=10, duration_min=60)
    trip.add_stop("Jerónimos", 38.6979, -9.2068, day=day, cost=12, duration_min=90)
    trip.add_stop("MAAT", 38.6957, -9.1941, day=day, cost=11, duration_min=90)
    trip.adjust_budget(100)
    return trip


def test_a_sound_plan_has_no_problems() -> None:
    assert find_problems(lisbon().snapshot()) == []


def test_over_budget_overfull_day_and_far_stop_are_each_found() -> None:
    trip = lisbon()
    day = trip.days()[0].id
    trip.add_stop("Porto Cathedral", 41.1429, -8.6110, day=day, cost=200, duration_min=700)
    texts = [p.text for p in find_problems(trip.snapshot())]
    assert any("over the 100 EUR budget" in t for t in texts)
    assert any("Day 1 has" in t and "more than fits" in t for t in texts)
    assert any(t.startswith("Porto Cathedral is about") for t in texts)


async def test_a_persons_edit_that_breaks_the_budget_gets_one_advisory_after_the_debounce() -> None:
    mesh = Mesh()
    agent_trip = Trip(mesh.join(Doc()))
    ana_trip = Trip(mesh.join(Doc()))
    ana_trip.create("Lisbon")
    ana_trip.adjust_budget(50)
    advisor = Advisor(agent_trip, AGENT, AdvisorSettings(debounce_s=0.1, min_interval_s=60))

    async with anyio.create_task_group() as tg:
        tg.start_soon(advisor.watch)
        await anyio.sleep(0.05)
        ana_trip.add_stop("Fado dinner", 38.711, -9.13, cost=40, category="food")
        ana_trip.add_stop("Tram 28", 38.712, -9.13, cost=30, category="transport")
        with anyio.fail_after(5):
            while not [m for m in ana_trip.snapshot().chat if m.role == "assistant"]:
                await anyio.sleep(0.02)
        ana_trip.add_stop("Museum", 38.71, -9.13, cost=30)  # still over: no second message
        await anyio.sleep(0.4)
        tg.cancel_scope.cancel()

    notes = [m for m in ana_trip.snapshot().chat if m.role == "assistant"]
    assert len(notes) == 1
    assert "over the 50 EUR budget" in notes[0].text and notes[0].author == AGENT.id and notes[0].run_id == ""


async def test_the_advisor_can_be_switched_off() -> None:
    trip = lisbon()
    advisor = Advisor(trip, AGENT, AdvisorSettings(enabled=False, debounce_s=0.01))
    with anyio.fail_after(1):
        await advisor.watch()  # returns at once instead of watching
    trip.adjust_budget(-95)
    await anyio.sleep(0.1)
    assert trip.snapshot().chat == ()


def test_advice_waits_while_a_run_is_live_and_respects_the_interval() -> None:
    clock = [1000.0]
    trip = lisbon()
    advisor = Advisor(trip, AGENT, AdvisorSettings(min_interval_s=180), now=lambda: clock[0])
    _, run_id = trip.post_user_message("plan more", ANA)
    trip.adjust_budget(-90)
    assert advisor.advise() is None  # a run is live: its reply will cover it
    trip.end_run(run_id, "completed")
    assert "over the 10 EUR budget" in (advisor.advise() or "")
    day = trip.days()[0].id
    trip.add_stop("Sintra", 38.7976, -9.3904, day=day, duration_min=30)
    trip.add_stop("Évora", 38.5714, -7.9135, day=day, duration_min=30)
    clock[0] += 60
    assert advisor.advise() is None  # too soon after the last one

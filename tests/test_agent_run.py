"""The run protocol as the agent executes it: streaming, tools, Stop, failures, claims."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio
import pytest
from pycrdt import Doc

from _mesh import Mesh
from wayfarer.agent.history import conversation
from wayfarer.agent.provider import (
    Finished,
    ModelError,
    ModelEvent,
    ModelRequest,
    ReasoningDelta,
    TextDelta,
    ToolResultBlock,
    ToolUse,
    ToolUseBlock,
)
from wayfarer.agent.run import RunSettings, execute_run
from wayfarer.agent.worker import AgentSettings, TripAgent
from wayfarer.trip import Person, Trip

pytestmark = pytest.mark.anyio

ANA = Person("p-ana", "Ana")
AGENT = Person("agent-test", "Wayfarer")
FAST = RunSettings(frame_s=0.0, heartbeat_s=0.05)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class ScriptedProvider:
    """A provider that plays one list of events per call and records each request.

    `delay` paces the events so a test can act mid-stream; `closed` counts streams that
    were closed before their end (what Stop must cause).
    """

    calls: list[list[ModelEvent]]
    delay: float = 0.0
    requests: list[ModelRequest] = field(default_factory=list)
    closed_early: int = 0
    label: str = "scripted"

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        self.requests.append(request)
        events = self.calls[min(len(self.requests), len(self.calls)) - 1]
        finished = False
        try:
            for event in events:
                if isinstance(event, Exception):
                    raise event
                yield event
                if self.delay:
                    await anyio.sleep(self.delay)
            finished = True
        finally:
            if not finished:
                self.closed_early += 1


def new_trip() -> Trip:
    trip = Trip()
    trip.create("Lisbon in winter")
    return trip


def reply_of(trip: Trip, run_id: str):
    return next(m for m in trip.snapshot().chat if m.run_id == run_id)


async def claimed(trip: Trip, text: str = "Plan something") -> str:
    _, run_id = trip.post_user_message(text, ANA)
    trip.claim_run(run_id, AGENT, model="scripted")
    return run_id


async def test_reply_and_reasoning_stream_into_the_message_and_the_run_completes() -> None:
    trip = new_trip()
    run_id = await claimed(trip)
    provider = ScriptedProvider([[ReasoningDelta("Thinking "), ReasoningDelta("hard."), TextDelta("Hello "), TextDelta("Ana!"), Finished("end_turn")]])

    status = await execute_run(trip, run_id, provider, AGENT, FAST)

    assert status == "completed"
    reply = reply_of(trip, run_id)
    assert (reply.text, reply.reasoning, reply.role, reply.author) == ("Hello Ana!", "Thinking hard.", "assistant", AGENT.id)
    run = trip.run(run_id)
    assert run.status == "completed" and run.ended_at and run.end_reason == ""


async def test_tool_calls_edit_the_plan_are_recorded_and_their_results_go_back_to_the_model() -> None:
    trip = new_trip()
    run_id = await claimed(trip)
    provider = ScriptedProvider(
        [
            [TextDelta("Adding a day. "), ToolUse("tu1", "add_day", {"title": "Belém"}), Finished("tool_use")],
            [ToolUse("tu2", "add_stop", {"name": "Belém Tower", "lat": 38.6916, "lon": -9.216, "day": 1, "cost": 10}), Finished("tool_use")],
            [TextDelta("Done."), Finished("end_turn")],
        ]
    )

    assert await execute_run(trip, run_id, provider, AGENT, FAST) == "completed"

    snapshot = trip.snapshot()
    assert [d.title for d in snapshot.days] == ["Belém"]
    assert [(s.name, s.day, s.cost, s.added_by) for s in snapshot.stops] == [("Belém Tower", snapshot.days[0].id, 10.0, AGENT.id)]
    reply = reply_of(trip, run_id)
    assert [(c.name, c.status) for c in reply.tool_calls] == [("add_day", "ok"), ("add_stop", "ok")]
    assert reply.text == "Adding a day. Done."
    second = provider.requests[1].turns
    assert isinstance(second[-1].blocks[0], ToolResultBlock) and second[-1].blocks[0].tool_use_id == "tu1"
    assert json.loads(second[-1].blocks[0].content)["day"] == 1


async def test_a_bad_tool_call_is_reported_to_the_model_and_changes_nothing() -> None:
    trip = new_trip()
    run_id = await claimed(trip)
    provider = ScriptedProvider(
        [
            [ToolUse("tu1", "add_stop", {"name": "Nowhere", "lat": 123.0, "lon": 0.0, "day": ""}), Finished("tool_use")],
            [TextDelta("Sorry."), Finished("end_turn")],
        ]
    )
    before = trip.snapshot()

    assert await execute_run(trip, run_id, provider, AGENT, FAST) == "completed"

    after = trip.snapshot()
    assert (after.days, after.stops, after.budget) == (before.days, before.stops, before.budget)
    call = reply_of(trip, run_id).tool_calls[0]
    assert call.status == "error" and "lat" in json.loads(call.result)["error"]
    result = provider.requests[1].turns[-1].blocks[0]
    assert isinstance(result, ToolResultBlock) and result.is_error and "lat" in result.content


async def test_stop_closes_the_model_stream_keeps_the_partial_text_and_ends_cancelled() -> None:
    doc_a, doc_b = Doc(), Doc()
    mesh = Mesh()
    mesh.join(doc_a)
    mesh.join(doc_b)
    agent_trip, ana_trip = Trip(doc_a), Trip(doc_b)
    agent_trip.create("Stop me")
    run_id = await claimed(ana_trip)
    words = [TextDelta(f"word{i} ") for i in range(400)]
    provider = ScriptedProvider([[*words, Finished("end_turn")]], delay=0.01)

    async def press_stop_when_text_appears() -> None:
        while True:
            reply = next((m for m in ana_trip.snapshot().chat if m.run_id == run_id), None)
            if reply is not None and reply.text:
                break
            await anyio.sleep(0.01)
        ana_trip.request_cancel(run_id, ANA)

    async with anyio.create_task_group() as tg:
        tg.start_soon(press_stop_when_text_appears)
        with anyio.fail_after(5):
            status = await execute_run(agent_trip, run_id, provider, AGENT, FAST)

    assert status == "cancelled"
    assert provider.closed_early == 1
    run = ana_trip.run(run_id)
    assert run.status == "cancelled" and run.end_reason == "Stopped by Ana" and run.cancel_requested_by == ANA.id
    text = reply_of(ana_trip, run_id).text
    assert text.startswith("word0 ") and len(text.split()) < 400


async def test_a_model_error_fails_the_run_with_its_readable_reason_and_keeps_partial_text() -> None:
    trip = new_trip()
    run_id = await claimed(trip)
    provider = ScriptedProvider([[TextDelta("Let me "), ModelError("Anthropic is overloaded; try again in a minute", transient=True)]])

    assert await execute_run(trip, run_id, provider, AGENT, FAST) == "failed"

    run = trip.run(run_id)
    assert run.status == "failed" and "overloaded" in run.end_reason
    assert reply_of(trip, run_id).text == "Let me "


async def test_coalescing_writes_one_transaction_per_frame_not_per_token() -> None:
    async def count_updates(frame_s: float) -> int:
        trip = new_trip()
        updates: list[bytes] = []
        trip.doc.observe(lambda event: updates.append(event.update))
        run_id = await claimed(trip)
        updates.clear()
        provider = ScriptedProvider([[*(TextDelta("tok ") for _ in range(60)), Finished("end_turn")]], delay=0.002)
        await execute_run(trip, run_id, provider, AGENT, RunSettings(frame_s=frame_s, heartbeat_s=10))
        assert reply_of(trip, run_id).text == "tok " * 60
        return len(updates)

    per_token, coalesced = await count_updates(0.0), await count_updates(0.05)
    assert per_token >= 60
    assert coalesced < per_token / 3


def test_history_rebuilds_the_conversation_from_the_chat_with_tool_calls() -> None:
    trip = new_trip()
    _, run_id = trip.post_user_message("Plan a day", ANA)
    trip.claim_run(run_id, AGENT, model="x")
    msg = trip.start_assistant_message(run_id, AGENT)
    call = trip.add_tool_call(msg, "add_day", '{"title": "Alfama"}')
    trip.finish_tool_call(msg, call, ok=True, result_json='{"day": 1}')
    trip.stream(msg, text="Day 1 is Alfama.")
    trip.end_run(run_id, "completed")
    question, run2 = trip.post_user_message("And the cost?", ANA)

    turns = conversation(trip.snapshot(), question)

    assert [t.role for t in turns] == ["user", "assistant", "user", "assistant", "user"]
    assert turns[0].blocks[0].text == "Ana: Plan a day"
    assert isinstance(turns[1].blocks[0], ToolUseBlock) and turns[1].blocks[0].input == {"title": "Alfama"}
    assert isinstance(turns[2].blocks[0], ToolResultBlock) and turns[2].blocks[0].content == '{"day": 1}'
    assert turns[3].blocks[0].text == "Day 1 is Alfama."
    assert turns[4].blocks[0].text == "Ana: And the cost?"


async def test_two_agents_on_one_trip_answer_each_run_exactly_once() -> None:
    async with anyio.create_task_group() as tg:
        mesh = Mesh(tg, delay=0.005)
        docs = [mesh.join() for _ in range(3)]
        ana, *agents = [Trip(d) for d in docs]
        ana.create("Two agents")
        settings = AgentSettings(run=FAST, stagger_s=0.05, settle_s=0.05, poll_s=0.05)
        for i, trip in enumerate(agents):
            provider = ScriptedProvider([[TextDelta(f"answer from {i}"), Finished("end_turn")]])
            tg.start_soon(TripAgent(trip, provider, Person(f"agent-{i}", "Wayfarer"), settings).serve)
        run_ids = []
        for n in range(6):
            run_ids.append(ana.post_user_message(f"question {n}", ANA)[1])
            await anyio.sleep(0.02)
        with anyio.fail_after(10):
            while any(ana.run(r).is_live for r in run_ids):
                await anyio.sleep(0.02)
        await anyio.sleep(0.2)  # let any late duplicate show up
        tg.cancel_scope.cancel()

    chat = ana.snapshot().chat
    for run_id in run_ids:
        replies = [m for m in chat if m.run_id == run_id]
        assert len(replies) == 1, f"run {run_id} answered {len(replies)} times"
        assert ana.run(run_id).status == "completed"
        assert replies[0].author == ana.run(run_id).agent


async def test_a_run_left_running_by_a_dead_agent_is_interrupted_by_the_next_agent() -> None:
    trip = new_trip()
    _, run_id = trip.post_user_message("hello", ANA)
    trip.claim_run(run_id, Person("agent-dead", "Wayfarer"), model="x")
    msg = trip.start_assistant_message(run_id, Person("agent-dead", "Wayfarer"))
    trip.stream(msg, text="partial answ")
    survivor = TripAgent(trip, ScriptedProvider([[Finished("end_turn")]]), AGENT, AgentSettings(stale_after_s=0.2, poll_s=0.05))

    async with anyio.create_task_group() as tg:
        tg.start_soon(survivor.serve)
        with anyio.fail_after(5):
            while trip.run(run_id).status == "running":
                await anyio.sleep(0.05)
        tg.cancel_scope.cancel()

    run = trip.run(run_id)
    assert run.status == "interrupted" and "stopped responding" in run.end_reason
    assert reply_of(trip, run_id).text == "partial answ"


async def test_a_run_stopped_while_queued_never_calls_the_model() -> None:
    trip = new_trip()
    _, run_id = trip.post_user_message("never mind", ANA)
    trip.request_cancel(run_id, ANA)
    provider = ScriptedProvider([[TextDelta("no"), Finished("end_turn")]])
    agent = TripAgent(trip, provider, AGENT, AgentSettings(run=FAST, poll_s=0.05))

    async with anyio.create_task_group() as tg:
        tg.start_soon(agent.serve)
        with anyio.fail_after(5):
            while trip.run(run_id).is_live:
                await anyio.sleep(0.02)
        tg.cancel_scope.cancel()

    assert trip.run(run_id).status == "cancelled" and provider.requests == []

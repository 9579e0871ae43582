"""The agent end to end: a real relay process, the agent daemon as a process, and
`wayfarer chat` as the terminal peer — the way a person runs them."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable

import anyio

from agent_process import chat
from anthropic_server import AnthropicTestServer, text_turn, tool_turn
from relay_process import RelayProcess
from wayfarer.sync.remote import create_remote_trip, fetch_snapshot
from wayfarer.trip import TripSnapshot

LISBON = (38.72, -9.14)


def new_trip(relay: RelayProcess, title: str = "Lisbon") -> dict[str, str]:
    return anyio.run(lambda: create_remote_trip(relay.url, relay.key, title))


def snapshot(link: str) -> TripSnapshot:
    return anyio.run(lambda: fetch_snapshot(link, timeout=15))


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def test_a_chat_that_plans_two_days_fills_two_days_with_real_places(relay: RelayProcess, agents) -> None:
    trip = new_trip(relay)
    agents(trip["id"], "--model", "offline")

    proc = chat(trip["link"], "Plan 2 days in Lisbon")
    out, err = proc.communicate(timeout=90)

    assert proc.returncode == 0, err
    assert "Day 1" in out and "→ Added" in out
    plan = snapshot(trip["link"])
    assert len(plan.days) == 2
    for day in plan.days:
        stops = plan.stops_in(day.id)
        assert len(stops) >= 2
        for stop in stops:
            assert abs(stop.lat - LISBON[0]) < 0.3 and abs(stop.lon - LISBON[1]) < 0.4, stop
    [run] = plan.runs
    assert run.status == "completed" and run.model == "offline planner"
    reply = next(m for m in plan.chat if m.run_id == run.id)
    assert reply.text.strip() and "Day 1" in reply.text


def test_ctrl_c_stops_the_run_within_a_second_and_closes_the_model_stream(
    relay: RelayProcess, agents, anthropic_server: AnthropicTestServer
) -> None:
    anthropic_server.script(text_turn("word " * 400, chunks=400, delay=0.05))
    trip = new_trip(relay)
    agents(trip["id"], "--model", "anthropic", ANTHROPIC_API_KEY="test-key", ANTHROPIC_BASE_URL=anthropic_server.base_url)

    proc = chat(trip["link"], "Tell me everything about Lisbon")
    first = proc.stdout.read(10) if proc.stdout else ""
    assert first.strip(), "no reply text streamed"
    pressed = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)

    assert proc.returncode == 130, err
    assert anthropic_server.requests[0].wait_disconnected(timeout=10)
    # the provider's stream was closed, long before the scripted 20 s reply would have ended
    assert anthropic_server.requests[0].disconnected_at - pressed < 10
    plan = snapshot(trip["link"])
    [run] = plan.runs
    assert run.status == "cancelled" and run.end_reason == "Stopped by Ana"
    text = next(m for m in plan.chat if m.run_id == run.id).text
    assert text.startswith("word") and text.count("word") < 400


def test_the_asker_going_away_does_not_stop_the_run(relay: RelayProcess, agents) -> None:
    trip = new_trip(relay)
    agents(trip["id"], "--model", "offline")

    proc = chat(trip["link"], "Plan 2 days in Lisbon")
    first = proc.stdout.read(5) if proc.stdout else ""
    assert first
    proc.kill()  # the requesting peer dies mid-run: no Stop was asked for
    proc.wait(10)

    wait_until(lambda: snapshot(trip["link"]).runs[0].status != "running", 90, "the run to end")
    plan = snapshot(trip["link"])
    assert plan.runs[0].status == "completed"
    assert len(plan.days) == 2 and len(plan.stops) >= 4


def test_a_killed_agent_leaves_the_run_interrupted_and_a_new_agent_serves_the_next(
    relay: RelayProcess, agents, anthropic_server: AnthropicTestServer
) -> None:
    anthropic_server.script(text_turn("slowly " * 300, chunks=300, delay=0.05), text_turn("Hello again, Ana."))
    trip = new_trip(relay)
    env = {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": anthropic_server.base_url}
    first_agent = agents(trip["id"], "--model", "anthropic", **env)

    proc = chat(trip["link"], "Talk to me")
    assert proc.stdout and proc.stdout.read(14)
    first_agent.kill()
    first_agent.wait(10)
    agents(trip["id"], "--model", "anthropic", "--stale-after", "1.5", **env)

    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "interrupted" in err
    plan = snapshot(trip["link"])
    [run] = plan.runs
    assert run.status == "interrupted" and "stopped responding" in run.end_reason
    assert next(m for m in plan.chat if m.run_id == run.id).text.startswith("slowly")

    again = chat(trip["link"], "Are you there?")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert "Hello again, Ana." in out


def test_two_agents_on_one_trip_answer_each_run_once(relay: RelayProcess, agents) -> None:
    trip = new_trip(relay)
    agents(trip["id"], "--model", "offline")
    agents(trip["id"], "--model", "offline")

    for question in ("What does it cost so far?", "Set the budget to 900", "Show me the plan"):
        proc = chat(trip["link"], question)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err

    time.sleep(1.0)  # give a duplicate every chance to show up
    plan = snapshot(trip["link"])
    assert len(plan.runs) == 3
    for run in plan.runs:
        replies = [m for m in plan.chat if m.run_id == run.id]
        assert len(replies) == 1, f"{run.id} answered {len(replies)} times"
        assert run.status == "completed" and replies[0].author == run.agent
    assert plan.budget.limit == 900


def test_a_tool_call_with_bad_input_is_reported_to_the_model_and_changes_nothing(
    relay: RelayProcess, agents, anthropic_server: AnthropicTestServer
) -> None:
    anthropic_server.script(
        tool_turn("add_stop", {"name": "Atlantis", "lat": 123.0, "lon": 0.0, "day": ""}, chunks=3),
        text_turn("Sorry, that place is not on Earth."),
    )
    trip = new_trip(relay)
    agents(trip["id"], "--model", "anthropic", ANTHROPIC_API_KEY="test-key", ANTHROPIC_BASE_URL=anthropic_server.base_url)

    proc = chat(trip["link"], "Add Atlantis")
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 0, err
    assert "add_stop failed" in out
    plan = snapshot(trip["link"])
    assert plan.stops == () and plan.days == ()
    [call] = next(m for m in plan.chat if m.role == "assistant").tool_calls
    assert call.status == "error" and "lat" in json.loads(call.result)["error"]
    second = anthropic_server.requests[1].body["messages"][-1]["content"][0]
    assert second["type"] == "tool_result" and second.get("is_error") is True and "lat" in json.dumps(second)

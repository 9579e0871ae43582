"""One run of the run protocol (DESIGN.md): from a claimed run to its end.

The model's deltas are coalesced into one document transaction per frame (tens of
milliseconds), so peers see smooth streaming without an update per token. A Stop
(`cancel_requested_by` set by any peer) cancels the model call at once — the provider's
stream is closed — keeps the partial text and ends the run `cancelled`. A dropped
connection is not a Stop: the run goes on writing into the local document, which syncs
when the connection comes back.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from contextlib import aclosing
from dataclasses import dataclass

import anyio

from wayfarer.trip import Person, Trip, TripChange

from .history import conversation, system_prompt
from .provider import (
    Finished,
    ModelError,
    ModelRequest,
    Provider,
    ReasoningDelta,
    TextBlock,
    TextDelta,
    ToolResultBlock,
    ToolUse,
    ToolUseBlock,
    Turn,
)
from .tools import TOOL_SPECS, ToolContext, ToolError, run_tool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSettings:
    frame_s: float = 0.04  # coalescing window for streamed text; 0 = one write per delta
    heartbeat_s: float = 2.0
    max_model_calls: int = 12  # tool-use rounds per run, so a confused model cannot loop forever


class _Coalescer:
    """Buffers streamed text and reasoning; `flush` writes them in one transaction."""

    def __init__(self, trip: Trip, message_id: str) -> None:
        self.trip = trip
        self.message_id = message_id
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.wake = anyio.Event()

    def add(self, *, text: str = "", reasoning: str = "") -> None:
        if text:
            self.text.append(text)
        if reasoning:
            self.reasoning.append(reasoning)
        self.wake.set()

    def flush(self) -> None:
        if not self.text and not self.reasoning:
            return
        text, reasoning = "".join(self.text), "".join(self.reasoning)
        self.text.clear()
        self.reasoning.clear()
        self.trip.stream(self.message_id, text=text, reasoning=reasoning)

    async def run(self, frame_s: float) -> None:
        while True:
            await self.wake.wait()
            self.wake = anyio.Event()
            if frame_s > 0:
                await anyio.sleep(frame_s)
            self.flush()


def _who(trip: Trip, person_id: str) -> str:
    """A display name for a person id, from what they wrote in the chat."""
    for message in reversed(trip.snapshot().chat):
        if message.author == person_id and message.author_name:
            return message.author_name
    return person_id


async def execute_run(
    trip: Trip,
    run_id: str,
    provider: Provider,
    agent: Person,
    settings: RunSettings = RunSettings(),
    tool_context: ToolContext | None = None,
) -> str:
    """Serve a run already claimed by `agent`. Returns how it ended: the run's status, or
    "lost" when another agent turned out to own the run."""
    run = trip.run(run_id)
    if run is None:
        raise LookupError(f"unknown run {run_id!r}")
    message_id = trip.start_assistant_message(run_id, agent)
    ctx = tool_context or ToolContext(trip, agent)
    buffer = _Coalescer(trip, message_id)
    outcome = {"status": "completed", "reason": ""}

    async def watch_cancel(scope: anyio.CancelScope) -> None:
        """Ends the model call when someone presses Stop, or when another agent turns out
        to own this run (a lost claim race: stop writing, leave the run to the winner)."""
        decided = anyio.Event()

        def check() -> None:
            current = trip.run(run_id)
            if current is None or current.cancel_requested_by or current.agent != agent.id:
                decided.set()

        def on_change(change: TripChange) -> None:
            if run_id in change.runs:
                check()

        subscription = trip.subscribe(on_change)
        try:
            check()
            await decided.wait()
            current = trip.run(run_id)
            if current is not None and current.agent != agent.id:
                outcome.update(status="lost", reason=f"served by {current.agent}")
            else:
                by = current.cancel_requested_by if current else ""
                outcome.update(status="cancelled", reason=f"Stopped by {_who(trip, by)}")
            scope.cancel()
        finally:
            subscription.close()

    async def heartbeat() -> None:
        while True:
            await anyio.sleep(settings.heartbeat_s)
            trip.heartbeat(run_id)

    async def converse() -> None:
        snapshot = trip.snapshot()
        today = _dt.date.today().isoformat()
        turns = list(conversation(snapshot, run.trigger))
        asker = _who(trip, run.requested_by)
        for _ in range(settings.max_model_calls):
            request = ModelRequest(
                system=system_prompt(trip.plan(), today),
                turns=tuple(turns),
                tools=TOOL_SPECS,
                trip=trip.plan(),
                asker_name=asker,
            )
            said: list[str] = []
            uses: list[ToolUse] = []
            finished: Finished | None = None
            async with aclosing(provider.stream(request)) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        said.append(event.text)
                        buffer.add(text=event.text)
                    elif isinstance(event, ReasoningDelta):
                        buffer.add(reasoning=event.text)
                    elif isinstance(event, ToolUse):
                        buffer.flush()
                        uses.append(event)
                    elif isinstance(event, Finished):
                        finished = event
            buffer.flush()
            if not uses or finished is None or finished.stop_reason != "tool_use":
                return
            results = [_apply_tool(trip, ctx, message_id, use) for use in uses]
            assistant_blocks = ((TextBlock("".join(said)),) if said else ()) + tuple(
                ToolUseBlock(u.id, u.name, u.input) for u in uses
            )
            turns.append(Turn("assistant", assistant_blocks))
            turns.append(Turn("user", tuple(results)))
        outcome.update(status="failed", reason="The agent used too many tool calls in one reply and was stopped.")

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(buffer.run, settings.frame_s)
            tg.start_soon(heartbeat)
            tg.start_soon(watch_cancel, tg.cancel_scope)
            try:
                await converse()
            except ModelError as exc:
                outcome.update(status="failed", reason=str(exc))
            except Exception as exc:  # a bug must end the run readably, not leave it running
                log.exception("run %s failed", run_id)
                outcome.update(status="failed", reason=f"Internal error in the agent: {exc}")
            tg.cancel_scope.cancel()
    except anyio.get_cancelled_exc_class():
        outcome.update(status="interrupted", reason="The agent shut down before finishing this reply")
        raise
    finally:
        if outcome["status"] != "lost":
            buffer.flush()
            trip.end_run(run_id, outcome["status"], outcome["reason"])
    log.info("run %s ended %s %s", run_id, outcome["status"], outcome["reason"])
    return outcome["status"]


def _apply_tool(trip: Trip, ctx: ToolContext, message_id: str, use: ToolUse) -> ToolResultBlock:
    """Record the call, apply it, record its result: the edit and its "ok" in one transaction."""
    call_id = trip.add_tool_call(message_id, use.name, json.dumps(use.input, ensure_ascii=False))
    try:
        with trip.batch():
            result = run_tool(ctx, use.name, use.input)
            result_json = json.dumps(result, ensure_ascii=False)
            trip.finish_tool_call(message_id, call_id, ok=True, result_json=result_json)
    except ToolError as exc:
        result_json = json.dumps({"error": str(exc)}, ensure_ascii=False)
        trip.finish_tool_call(message_id, call_id, ok=False, result_json=result_json)
        return ToolResultBlock(use.id, result_json, is_error=True)
    return ToolResultBlock(use.id, result_json)

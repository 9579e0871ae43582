"""`TripAgent`: serves the runs of one trip, one at a time, as the run protocol says.

Claiming a run exactly once. The document is a CRDT, so two agents that both see a queued
run can both write a claim; Yjs then keeps one of the two values everywhere (the same one
on every peer). So an agent:
  1. waits a random stagger (so agents rarely claim at the same moment),
  2. claims only a run it still sees `queued`,
  3. waits until the relay has durably acknowledged its claim (`flush`), then a short
     settle time in which any concurrent claim reaches it,
  4. serves the run only if the run's `agent` is still itself; otherwise it backs off.
After the settle time every agent agrees on the winner; a loser that still sees the run
change hands later stops writing at once (see `execute_run`).

Runs left `running` by an agent that died (heartbeat older than the timeout) are marked
`interrupted`, keeping their partial text.
"""

from __future__ import annotations

import datetime as _dt
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from wayfarer.trip import Person, Run, Trip, TripChange

from .provider import Provider
from .run import RunSettings, execute_run
from .tools import ToolContext

log = logging.getLogger(__name__)

Flush = Callable[[], Awaitable[None]]
StatusSink = Callable[[str], None]


@dataclass(frozen=True)
class AgentSettings:
    run: RunSettings = RunSettings()
    stale_after_s: float = 30.0  # a running run with an older heartbeat is interrupted
    stagger_s: float = 0.3  # upper bound of the random wait before claiming
    settle_s: float = 0.3  # wait after the relay acknowledged a claim
    poll_s: float = 1.0  # how often to look for stale runs while idle


def _parse_time(value: str) -> _dt.datetime | None:
    try:
        return _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class TripAgent:
    def __init__(
        self,
        trip: Trip,
        provider: Provider,
        agent: Person,
        settings: AgentSettings = AgentSettings(),
        *,
        flush: Flush | None = None,
        on_status: StatusSink | None = None,
        tool_context: ToolContext | None = None,
    ) -> None:
        self.trip = trip
        self.provider = provider
        self.agent = agent
        self.settings = settings
        self.flush = flush
        self.on_status = on_status or (lambda status: None)
        self.tool_context = tool_context
        self._changed = anyio.Event()

    async def serve(self) -> None:
        """Serve runs until cancelled."""

        def on_change(change: TripChange) -> None:
            if change.runs:
                self._changed.set()

        subscription = self.trip.subscribe(on_change)
        try:
            while True:
                self.interrupt_stale_runs()
                run = self.next_queued()
                if run is None:
                    with anyio.move_on_after(self.settings.poll_s):
                        await self._changed.wait()
                    self._changed = anyio.Event()
                    continue
                if await self.claim(run):
                    self.on_status("thinking")
                    try:
                        await execute_run(
                            self.trip, run.id, self.provider, self.agent, self.settings.run, self.tool_context
                        )
                    finally:
                        self.on_status("idle")
        finally:
            subscription.close()

    def next_queued(self) -> Run | None:
        queued = [r for r in self.trip.runs() if r.status == "queued"]
        return min(queued, key=lambda r: (r.created_at, r.id), default=None)

    async def claim(self, run: Run) -> bool:
        if run.cancel_requested_by:
            # Stopped before anyone started it: end it without calling the model.
            self.trip.end_run(run.id, "cancelled", "Stopped before the agent started")
            return False
        await anyio.sleep(random.uniform(0, self.settings.stagger_s))
        current = self.trip.run(run.id)
        if current is None or current.status != "queued":
            return False
        self.trip.claim_run(run.id, self.agent, model=self.provider.label)
        if self.flush is not None:
            await self.flush()
        await anyio.sleep(self.settings.settle_s)
        current = self.trip.run(run.id)
        if current is None or current.agent != self.agent.id:
            log.info("run %s was claimed by %s; backing off", run.id, current.agent if current else "?")
            return False
        return True

    def interrupt_stale_runs(self) -> None:
        now = _dt.datetime.now(_dt.timezone.utc)
        for run in self.trip.runs():
            if run.status != "running" or run.agent == self.agent.id:
                continue
            beat = _parse_time(run.heartbeat_at or run.started_at)
            if beat is None or (now - beat).total_seconds() > self.settings.stale_after_s:
                when = beat.strftime("%H:%M:%S UTC") if beat else "an unknown time"
                self.trip.end_run(
                    run.id, "interrupted", f"The agent serving this reply stopped responding (last seen {when})"
                )
                log.info("run %s marked interrupted (agent %s silent since %s)", run.id, run.agent, when)

"""Reacting to others: a short advisory when a person's edit breaks the plan.

When someone changes the plan while no run is live, and the change leaves a problem the
agent can see — the budget exceeded, a day with more hours of stops than a day has, a
stop far from the rest of its day — the agent posts one short message. It waits for the
edits to settle (debounce), never posts more than one advisory per `min_interval_s`, never
repeats a problem it already pointed out, and can be switched off.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from wayfarer.trip import Person, Trip, TripChange, TripSnapshot

from ..money import money
from .geo import distance_km

DAY_LIMIT_MIN = 12 * 60
FAR_KM = 50.0


@dataclass(frozen=True)
class AdvisorSettings:
    enabled: bool = True
    debounce_s: float = 4.0
    min_interval_s: float = 180.0


@dataclass(frozen=True)
class Problem:
    key: str  # identifies the problem, so it is pointed out once
    text: str


def find_problems(snapshot: TripSnapshot) -> list[Problem]:
    """Problems in the plan, most important first."""
    problems: list[Problem] = []
    b, cur = snapshot.budget, snapshot.meta.currency
    if b.over:
        problems.append(
            Problem(
                f"budget:{b.limit:.0f}",
                f"Heads-up: the plan now costs {money(b.spent, cur)}, which is "
                f"{money(b.spent - b.limit, cur)} over the {money(b.limit, cur)} budget.",
            )
        )
    for number, day in enumerate(snapshot.days, start=1):
        stops = snapshot.stops_in(day.id)
        minutes = sum(s.duration_min for s in stops)
        if minutes > DAY_LIMIT_MIN:
            problems.append(
                Problem(
                    f"long:{day.id}",
                    f"Day {number} has {minutes / 60:.1f} hours of stops, more than fits in a day. "
                    "Move something to another day?",
                )
            )
        if len(stops) >= 3:
            for stop in stops:
                others = [s for s in stops if s.id != stop.id]
                centre = (
                    sorted(s.lat for s in others)[len(others) // 2],
                    sorted(s.lon for s in others)[len(others) // 2],
                )
                distance = distance_km((stop.lat, stop.lon), centre)
                if distance > FAR_KM:
                    problems.append(
                        Problem(
                            f"far:{stop.id}:{day.id}",
                            f"{stop.name} is about {distance:,.0f} km from the rest of day {number}. "
                            "Is it on the right day?",
                        )
                    )
    return problems


class Advisor:
    def __init__(
        self,
        trip: Trip,
        agent: Person,
        settings: AdvisorSettings = AdvisorSettings(),
        *,
        now: Callable[[], float] = lambda: anyio.current_time(),
    ) -> None:
        self.trip = trip
        self.agent = agent
        self.settings = settings
        self._now = now
        self._told: set[str] = set()
        self._last_post = -math.inf
        self._edited = anyio.Event()

    async def watch(self) -> None:
        """Run until cancelled; returns at once when switched off."""
        if not self.settings.enabled:
            return
        self._told.update(p.key for p in find_problems(self.trip.snapshot()))  # known before we came

        def on_change(change: TripChange) -> None:
            if not change.local and (change.itinerary or change.budget_limit):
                self._edited.set()

        subscription = self.trip.subscribe(on_change)
        try:
            while True:
                await self._edited.wait()
                while True:  # debounce: wait until edits pause
                    self._edited = anyio.Event()
                    with anyio.move_on_after(self.settings.debounce_s):
                        await self._edited.wait()
                        continue
                    break
                self.advise()
        finally:
            subscription.close()

    def advise(self) -> str | None:
        """Post one advisory for the first new problem, if allowed now; returns its text."""
        if self.trip.snapshot().live_runs:
            return None  # the agent is working on the plan itself: its run will reply
        if self._now() - self._last_post < self.settings.min_interval_s:
            return None
        snapshot = self.trip.snapshot()
        if _recent_advisory(snapshot, self.settings.min_interval_s):
            return None  # another agent already spoke up
        current = find_problems(snapshot)
        self._told &= {p.key for p in current}  # a fixed problem may be pointed out again later
        fresh = [p for p in current if p.key not in self._told]
        if not fresh:
            return None
        self._told.update(p.key for p in fresh)
        self._last_post = self._now()
        self.trip.post_assistant_note(fresh[0].text, self.agent)
        return fresh[0].text


def _recent_advisory(snapshot: TripSnapshot, window_s: float) -> bool:
    now = _dt.datetime.now(_dt.timezone.utc)
    for message in reversed(snapshot.chat[-20:]):
        if message.role == "assistant" and not message.run_id:
            try:
                when = _dt.datetime.fromisoformat(message.created_at.replace("Z", "+00:00"))
            except ValueError:
                continue
            if (now - when).total_seconds() < window_s:
                return True
    return False

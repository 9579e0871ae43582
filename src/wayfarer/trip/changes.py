"""Typed change notifications: what one transaction changed in a trip.

Built from pycrdt's deep events by `Trip.subscribe`; views and the agent react to these
instead of raw CRDT events.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TripChange:
    """One transaction's effect. Ids name the records touched (added, edited or deleted).

    `local` is True when the change was made through this `Trip` object (not received from
    another peer), which lets a view skip echoing its own edit.
    """

    local: bool
    meta: bool = False
    messages_added: tuple[str, ...] = ()
    messages_changed: frozenset[str] = frozenset()
    runs: frozenset[str] = frozenset()
    days: frozenset[str] = frozenset()
    stops: frozenset[str] = frozenset()
    budget_limit: bool = False

    @property
    def chat(self) -> bool:
        return bool(self.messages_added or self.messages_changed)

    @property
    def itinerary(self) -> bool:
        return bool(self.days or self.stops)

    @property
    def budget(self) -> bool:
        """The limit or the spending (any stop can change what is spent) may have changed."""
        return self.budget_limit or bool(self.stops)

    @property
    def empty(self) -> bool:
        return not (self.meta or self.chat or self.runs or self.itinerary or self.budget_limit)

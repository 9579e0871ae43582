"""How long a peer waits before it tries its relay again.

Exponential, so a relay that is down for an hour is not hammered; capped, so a peer
notices within seconds that the relay is back; jittered, so that when a relay restarts
the hundreds of peers it had do not all reconnect in the same millisecond.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before reconnect attempt number `attempt` (0 = first retry after a failure).

    The delay grows as `first * factor**attempt` up to `cap`, and each actual delay is
    drawn uniformly from its upper half ("equal jitter"): never zero, never above `cap`.
    """

    first: float = 0.5
    factor: float = 2.0
    cap: float = 10.0

    def __post_init__(self) -> None:
        if self.first <= 0 or self.cap < self.first or self.factor < 1:
            raise ValueError(f"backoff needs 0 < first <= cap and factor >= 1, got {self}")

    def ceiling(self, attempt: int) -> float:
        """The largest delay attempt number `attempt` can get."""
        # Bounded exponent: factor**attempt overflows a float long before a peer gives up.
        return min(self.cap, self.first * self.factor ** min(attempt, 64))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = self.ceiling(attempt)
        return (rng or random).uniform(ceiling / 2, ceiling)

"""Helpers for tests of the peer side of sync: waiting for a condition, fast retries."""

from __future__ import annotations

from collections.abc import Callable

import anyio

from wayfarer.sync.backoff import Backoff
from wayfarer.sync.status import SyncStatus

# Reconnect quickly in tests; the policy itself is the same as in real use.
FAST_RETRY = Backoff(first=0.05, cap=0.3)
# Generous: only turns a hang into a failure, never measures speed.
PATIENCE = 30.0


async def eventually(condition: Callable[[], bool], what: str, timeout: float = PATIENCE) -> None:
    """Poll `condition` until it holds; fail naming `what` if it never does."""
    try:
        with anyio.fail_after(timeout):
            while not condition():
                await anyio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"never happened within {timeout:g} s: {what}") from None


def states_of(statuses: list[SyncStatus]) -> list[str]:
    """The sequence of states, without consecutive repeats (unacked changes repeat them)."""
    states: list[str] = []
    for status in statuses:
        if not states or states[-1] != status.state:
            states.append(status.state)
    return states

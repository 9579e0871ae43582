"""`SyncStatus`: what a peer's link to its relay looks like right now, as one plain value.

The UI shows it (a dot, "3 changes waiting", an error to act on), the CLI and the agent
wait on it. It is immutable so that a view can keep the last one it drew and compare;
`StatusFeed` hands out every new value to callbacks and to async iterators.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Literal

import anyio

SyncState = Literal["offline", "connecting", "syncing", "synced"]

StatusCallback = Callable[["SyncStatus"], None]


@dataclass(frozen=True)
class SyncStatus:
    """One moment of a connection to a relay.

    - `state`: "offline" (no connection; retrying unless `stopped`), "connecting" (opening
      the socket), "syncing" (connected, exchanging what each side lacks), "synced" (caught
      up: from now on changes flow both ways as they happen).
    - `unacked`: local changes the relay has not yet confirmed as durably stored.
    - `error`: why the last attempt failed, in words a person can act on ("" if none).
    - `read_only`: a viewer link; local edits stay on this machine.
    - `stopped`: the relay refused the link; the connection will not try again.
    """

    state: SyncState = "offline"
    unacked: int = 0
    error: str = ""
    read_only: bool = False
    stopped: bool = False

    @property
    def summary(self) -> str:
        """A short line for a status bar, e.g. "synced · 3 changes waiting"."""
        if self.stopped:
            return f"disconnected: {self.error}"
        parts = [self.state]
        if self.read_only:
            parts.append("view only: your changes are not shared")
        elif self.unacked:
            noun = "change" if self.unacked == 1 else "changes"
            parts.append(f"{self.unacked} {noun} waiting")
        if self.error and self.state == "offline":
            parts.append(self.error)
        return " · ".join(parts)


class StatusFeed:
    """Holds the current `SyncStatus` and tells observers about each new one.

    Callbacks see every distinct value, in order (a test or a log can check the exact
    sequence of states); `changes()` iterators see only the latest value when they get
    round to it, so a slow reader never makes the connection buffer statuses.
    """

    def __init__(self, initial: SyncStatus | None = None) -> None:
        self._current = initial or SyncStatus()
        self._callbacks: list[StatusCallback] = []
        self._changed: anyio.Event | None = None

    @property
    def current(self) -> SyncStatus:
        return self._current

    def publish(self, status: SyncStatus) -> None:
        """Make `status` current; observers hear of it only if it differs from the last."""
        if status == self._current:
            return
        self._current = status
        for callback in list(self._callbacks):
            callback(status)
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def subscribe(self, callback: StatusCallback) -> Callable[[], None]:
        """Call `callback` with every new status; returns a function that unsubscribes."""
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    async def changes(self) -> AsyncIterator[SyncStatus]:
        """The current status, then the latest one after each change (forever)."""
        while True:
            seen = self._current
            yield seen
            while self._current is seen:
                await self._next_change()

    async def _next_change(self) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

"""`RelayLiveness`: which other relays of the cluster are still running, as far as we heard."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

# Every relay says "alive" this often (on the relays' channel, see `presence_bus`).
HEARTBEAT_SECONDS: Final = 1.0
# A relay not heard from for this long is taken for gone (three missed heartbeats and a half).
GONE_AFTER_SECONDS: Final = 3.5
# A relay silent for this long is forgotten (each restart of a relay is a new one).
FORGET_AFTER_SECONDS: Final = 3600.0


class RelayLiveness:
    """The last time each other relay was heard from, and which of them went silent.

    Presence needs it for one decision only: whether a client id that a peer of another
    relay announced may be taken over by a peer of this relay. While that relay is alive,
    no: a connection may only speak for its own client id, and the one speaking for it
    is there (a forger on this relay must not replace a person shown from another). Once
    that relay is gone (SIGKILL, a crashed machine), yes: its peers reconnect elsewhere
    with the same client id and must be seen at once, not after the awareness timeout.
    The states that relay published are not removed early: they expire with the awareness
    timeout, like those of any peer that stopped renewing.

    A relay first named by a presence state (read from Redis at a room's load) and never
    heard since counts as alive from that moment for `gone_after` seconds: this relay may
    have just started and not heard its heartbeat yet.
    """

    def __init__(self, own: str, gone_after: float = GONE_AFTER_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.own = own
        self._gone_after = gone_after
        self._clock = clock
        self._heard: dict[str, float] = {}
        self._gone: set[str] = set()

    def heard(self, relay: str) -> None:
        if relay != self.own:
            self._heard[relay] = self._clock()
            self._gone.discard(relay)

    def alive(self, relay: str) -> bool:
        if relay == self.own:
            return True
        heard = self._heard.setdefault(relay, self._clock())
        return self._clock() - heard < self._gone_after

    def sweep(self) -> list[str]:
        """The relays that went silent since the last sweep (each reported once)."""
        now = self._clock()
        newly_gone = [
            relay for relay, heard in self._heard.items() if now - heard >= self._gone_after and relay not in self._gone
        ]
        self._gone.update(newly_gone)
        for relay in [relay for relay, heard in self._heard.items() if now - heard >= FORGET_AFTER_SECONDS]:
            del self._heard[relay]
            self._gone.discard(relay)
        return newly_gone

"""`StreamReader`: the one task per relay that reads the streams of all its rooms."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import anyio
from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis.typing import KeyT, StreamIdT

from wayfarer.sync.cluster.poison import PoisonEntry, Quarantine
from wayfarer.sync.cluster.redis_log import (
    StreamEntry,
    StreamId,
    format_stream_id,
    stream_key,
)

# Entries taken per XREAD; a burst in one trip is applied in batches this large.
BATCH: Final = 1000
# How long one XREAD waits for news. Subscribing interrupts it, so this bounds nothing a
# peer waits for; it only sets how often an idle relay asks Redis. Well below redis-py's
# socket timeout (5 s by default in redis-py 8): a block as long as that timeout times out
# the read, and redis-py retries it as a failure (three times, then a warning), every time.
BLOCK_MS: Final = 2000
# Pause before asking again after Redis failed (it restarts, or the network blips).
RETRY_SECONDS: Final = 0.5

log = logging.getLogger("wayfarer.relay")

Apply = Callable[[StreamEntry], None]
Broken = Callable[[Exception], None]


class StreamGap(Exception):
    """A trip's stream was trimmed past entries a room had not read yet.

    Expected, not a failure: a relay slowed or frozen for longer than the trim grace
    period (`--trim-grace`) meets it, and its room catches up from the store and the
    stream into the document its peers hold (`ClusterServer`). The reader ends that
    room's subscription without an error and hands the gap to its `broken`.
    """

    def __init__(self, trip_id: str, missed: int) -> None:
        super().__init__(
            f"trip {trip_id}: its stream was trimmed past {missed} entries this relay had not read yet "
            "(it fell behind by more than the trim grace period)"
        )
        self.trip_id = trip_id
        self.missed = missed


@dataclass
class _Subscription:
    after: StreamId
    apply: Apply
    broken: Broken


class StreamReader:
    """Applies every new entry of every subscribed trip's stream, in stream order.

    One blocking `XREAD` over all subscribed streams, instead of one reader per room:
    a relay with a thousand open trips holds one Redis connection for reading, not a
    thousand. A subscription starts after a given entry id (the last one the room
    loaded), so nothing between the room's load and its first read is missed or
    applied twice. A new subscription interrupts the waiting XREAD at once, so a
    freshly loaded room hears its trip's next update without waiting for the block to
    time out.

    Prevents one trip from stalling the others, or itself: an entry that is not a Yjs
    update (`apply` raises `PoisonEntry`) is handed to the `Quarantine` and skipped, and
    the room goes on with the entries after it (the policy is in `poison`); a room that
    fell behind a trim (`StreamGap`) loses its subscription and is handed to its
    `broken` quietly (it catches up and subscribes again); any other failure of `apply`
    is a broken room: logged, the subscription dropped, `broken` called (the server
    unloads the room; its peers reconnect to a fresh load). Either way the reader reads
    on for every other room. Redis failures are logged and retried, never fatal to the
    relay.
    """

    def __init__(self, client: Redis, quarantine: Quarantine) -> None:
        self._client = client
        self._quarantine = quarantine
        self._subscriptions: dict[str, _Subscription] = {}
        self._changed = anyio.Event()
        self._read_scope: anyio.CancelScope | None = None

    def subscribe(self, trip_id: str, after: StreamId, apply: Apply, broken: Broken) -> None:
        """Hand every entry of `trip_id`'s stream after `after` to `apply`, until unsubscribed."""
        self._subscriptions[trip_id] = _Subscription(after, apply, broken)
        self._interrupt()

    def unsubscribe(self, trip_id: str) -> None:
        self._subscriptions.pop(trip_id, None)

    async def read_forever(self) -> None:
        while True:
            if not self._subscriptions:
                await self._changed.wait()
                self._changed = anyio.Event()
                continue
            streams: dict[KeyT, StreamIdT] = {
                stream_key(trip): format_stream_id(sub.after) for trip, sub in self._subscriptions.items()
            }
            trips = {stream_key(trip): trip for trip in self._subscriptions}
            with anyio.CancelScope() as scope:
                self._read_scope = scope
                try:
                    replies = await self._client.xread(streams, count=BATCH, block=BLOCK_MS)
                except RedisError as exc:
                    log.warning("could not read trip updates from Redis (retrying): %s", exc)
                    await anyio.sleep(RETRY_SECONDS)
                    continue
                finally:
                    self._read_scope = None
            if scope.cancel_called:
                self._changed = anyio.Event()
                continue
            for key, entries in replies or []:
                trip_id = trips[key.decode()]
                self._deliver(trip_id, entries)

    def _deliver(self, trip_id: str, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        subscription = self._subscriptions.get(trip_id)
        for raw_id, fields in entries:
            if subscription is None or self._subscriptions.get(trip_id) is not subscription:
                return  # unsubscribed while the XREAD was under way
            entry = StreamEntry.from_fields(raw_id, fields)
            try:
                subscription.apply(entry)
            except PoisonEntry as poison:
                self._quarantine.hold(poison)
            except StreamGap as gap:
                self.unsubscribe(trip_id)
                subscription.broken(gap)
                return
            except Exception as exc:  # noqa: BLE001 - whatever breaks one room must not stop the others
                log.error("trip %s: stream entry %s cannot be applied: %s", trip_id, raw_id.decode(), exc)
                self.unsubscribe(trip_id)
                subscription.broken(exc)
                return
            subscription.after = entry.entry_id

    def _interrupt(self) -> None:
        self._changed.set()
        if self._read_scope is not None:
            self._read_scope.cancel()

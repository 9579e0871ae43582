"""Poison entries: stream entries that are not Yjs updates, and what every relay does with them.

The policy: an entry whose update does not decode is **skipped and quarantined**, by
every relay, the same way, and the trip goes on. It is not retried and it does not
close the room:

- skipping is safe: decoding is deterministic, so no relay of the cluster ever applies
  that entry and every peer's document stays the same; nothing a peer sent is lost
  either, because a relay never appends an edit that does not decode (`EditToStream`),
  so a poison entry can only come from outside Wayfarer (another program writing to
  Redis, a bug of another version, damage);
- closing the room instead (the first slice did) helps nobody: its peers reconnect,
  the room is loaded again from the same stream, meets the same entry and fails again,
  for as long as the entry stays in the stream;
- the entry's bytes are copied to a Redis hash beside the stream (`quarantine_key`, one
  field per entry id, so all relays writing it at once write the same thing) and logged
  with the entry id, so a person can look at what was refused after the stream is
  trimmed.

An entry that decodes but whose room fails to apply it for another reason is a broken
room, not a poison entry: the reader unloads that room (`StreamReader`).
"""

from __future__ import annotations

import logging
from typing import Final

import anyio
from redis.asyncio import Redis
from redis.exceptions import RedisError

from wayfarer.sync.cluster.redis_log import StreamEntry, format_stream_id

# Entries remembered as already quarantined (so a room loaded again does not log and
# write the same entry again); past this the oldest are forgotten and merely logged again.
REMEMBERED: Final = 10_000
# Pause after Redis refused a quarantine write, before the next try.
RETRY_SECONDS: Final = 1.0

log = logging.getLogger("wayfarer.relay")


def quarantine_key(trip_id: str) -> str:
    return f"wayfarer:trip:{trip_id}:quarantine"


class PoisonEntry(Exception):
    """A stream entry that is not a Yjs update: skip it, quarantine it, carry on."""

    def __init__(self, trip_id: str, entry: StreamEntry, reason: str) -> None:
        super().__init__(f"trip {trip_id}: stream entry {format_stream_id(entry.entry_id)} is not a Yjs update ({reason})")
        self.trip_id = trip_id
        self.entry = entry
        self.reason = reason


class Quarantine:
    """Logs each poison entry once and copies it aside in Redis, from one task per relay.

    `hold` never waits and never raises: it is called from the stream reader and from
    a room's load, neither of which may stall on a write that only serves a person
    reading logs later. A write Redis refuses is retried; one that keeps failing only
    costs the copy, never the skip.
    """

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._pending: dict[tuple[str, str], bytes] = {}
        self._seen: dict[tuple[str, str], None] = {}
        self._wakeup = anyio.Event()

    def hold(self, poison: PoisonEntry) -> None:
        key = (poison.trip_id, format_stream_id(poison.entry.entry_id))
        if key in self._seen:
            log.debug("%s; skipped again", poison)
            return
        self._seen[key] = None
        if len(self._seen) > REMEMBERED:
            del self._seen[next(iter(self._seen))]
        log.error("%s; skipped by every relay, kept under %s for inspection", poison, quarantine_key(poison.trip_id))
        self._pending[key] = poison.entry.update
        self._wakeup.set()

    async def write_forever(self) -> None:
        while True:
            if not self._pending:
                await self._wakeup.wait()
                self._wakeup = anyio.Event()
                continue
            batch = dict(self._pending)
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for (trip_id, entry_id), update in batch.items():
                        pipe.hset(quarantine_key(trip_id), entry_id, update)
                    await pipe.execute()
            except RedisError as exc:
                log.warning("could not quarantine %d poison entries in Redis (retrying): %s", len(batch), exc)
                await anyio.sleep(RETRY_SECONDS)
                continue
            for key in batch:
                self._pending.pop(key, None)

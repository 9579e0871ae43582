"""`Compactor`: moves one trip's stream entries into the durable store, then trims the stream.

The steps, each safe to repeat and safe to stop after:

1. read the trip's whole stream (in batches);
2. `store.compact`: the stored rows and those entries merged into one row, committed,
   only the merged rows deleted (atomically, or idempotently step by step). The row is
   the own encoding of a document built from them when it holds every one of them (a
   reply streamed a token per entry then loads as a few items, not one per token: 10,000
   tokens, 0.4 ms instead of 755 ms), else them merged as bytes, which keeps updates
   still missing a dependency (`updatelog.document_encoding`);
3. trim the stream up to the newest entry that this compaction merged and that is older
   than the grace period, with one Lua script that first adds a trim marker and then runs
   `XTRIM MINID`.

A worker killed before 2 commits has changed nothing; killed between 2 and 3, it leaves
entries in the stream that the store also holds, which the next compaction merges again
(changing nothing: a Yjs update applied twice is applied once) and trims. Two workers on
one trip are serialised by the store.

Why the whole stream and not only the entries after the store's recorded position: the
stream is short (that is the point), and a trim can then only ever take entries this very
compaction merged. Relying on the position would trim, unmerged, any entry whose id sorts
below it, as those of a replacement Redis whose clock runs behind the old one's would.

Why a grace period: a relay whose reader is a little behind still finds the entries it
has not read yet. Why a marker: a relay that fell further behind than the grace period
must learn that it missed entries, or its peers would silently lack them. The marker
carries the stream's entry count at that point (`entries-added`, Redis 7); a room counts
the entries it reads (`ClusterRoom.apply_entry`), and a count short of the marker's means
entries were trimmed before it read them: the room then re-reads store and stream into
its document. The marker is added before the trim, in the same script, so every trim
leaves a marker behind it in the stream.

Entries that are not Yjs updates (poison entries, see `poison`) are left out of the
merge: no relay applies them, and relays quarantine a copy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

import anyio
from pycrdt import merge_updates
from redis.asyncio import Redis

from wayfarer.sync.cluster.redis_log import StreamEntry, StreamId, format_stream_id, parse_stream_id, stream_key
from wayfarer.sync.cluster.store import TripStore, claim_store

# Stream entries merged per store transaction.
BATCH: Final = 10_000

# KEYS[1]: the trip's stream. ARGV[1]: the newest entry id the store holds. ARGV[2]: the
# grace period in ms. Trims through the newest entry that is both stored and older than
# the grace period, after adding a marker naming it with the stream's entry count.
_TRIM = """
local function older(a, b)
  local a_ms, a_seq = string.match(a, '(%d+)%-(%d+)')
  local b_ms, b_seq = string.match(b, '(%d+)%-(%d+)')
  a_ms, a_seq, b_ms, b_seq = tonumber(a_ms), tonumber(a_seq), tonumber(b_ms), tonumber(b_seq)
  return a_ms < b_ms or (a_ms == b_ms and a_seq < b_seq)
end
local now = redis.call('TIME')
local cutoff = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[2])
local aged = redis.call('XREVRANGE', KEYS[1], string.format('(%d-0', cutoff), '-', 'COUNT', 1)
local stored = redis.call('XREVRANGE', KEYS[1], ARGV[1], '-', 'COUNT', 1)
if #aged == 0 or #stored == 0 then
  return false
end
local last = aged[1][1]
if older(stored[1][1], last) then
  last = stored[1][1]
end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local added = 0
for i = 1, #info, 2 do
  if info[i] == 'entries-added' then
    added = info[i + 1]
  end
end
redis.call('XADD', KEYS[1], '*', 't', last, 'n', string.format('%d', added + 1))
local ms, seq = string.match(last, '(%d+)%-(%d+)')
local removed = redis.call('XTRIM', KEYS[1], 'MINID', ms .. '-' .. string.format('%d', tonumber(seq) + 1))
return {last, removed}
"""

log = logging.getLogger("wayfarer.compaction")


@dataclass(frozen=True)
class Compaction:
    """What one compaction of a trip did."""

    merged: int  # stream entries merged into the store
    merged_through: StreamId | None  # the newest stream entry merged (None: the stream was empty)
    trimmed_through: StreamId | None  # the newest entry trimmed (None: none old enough)
    trimmed: int
    skipped: int  # entries left out because they are not Yjs updates


class Compactor:
    """Compacts trips of one store and one Redis (see the module docstring)."""

    def __init__(self, client: Redis, store: TripStore, grace_seconds: float) -> None:
        self._client = client
        self._store = store
        self._grace_ms = max(0, int(grace_seconds * 1000))
        self._trim = client.register_script(_TRIM)
        self._claimed = False

    async def compact(self, trip_id: str) -> Compaction:
        """Merge `trip_id`'s stream into the store, then trim what this merged."""
        if not self._claimed:
            await claim_store(self._client, self._store)  # ClusterError: another store was claimed
            self._claimed = True
        key = stream_key(trip_id)
        merged = skipped = 0
        newest: StreamId | None = None
        while True:
            start = "-" if newest is None else f"({format_stream_id(newest)}"
            raw = await self._client.xrange(key, min=start, count=BATCH)
            if not raw:
                break
            entries = [StreamEntry.from_fields(entry_id, fields) for entry_id, fields in raw]
            updates = await anyio.to_thread.run_sync(_updates, entries)
            newest = entries[-1].entry_id
            await self._store.compact(trip_id, updates, newest)
            merged += len(updates)
            skipped += sum(1 for entry in entries if not entry.is_trim_marker) - len(updates)
            if len(raw) < BATCH:
                break
        result = None
        if newest is not None:
            result = await self._trim(keys=[key], args=[format_stream_id(newest), self._grace_ms])
        trimmed_through = parse_stream_id(result[0]) if result else None
        compaction = Compaction(merged, newest, trimmed_through, int(result[1]) if result else 0, skipped)
        log.info(
            "compacted trip %s: %d stream entries merged into %s (up to %s), %d trimmed from the stream%s",
            trip_id, merged, self._store.description, format_stream_id(newest or (0, 0)), compaction.trimmed,
            f", {skipped} entries that are not Yjs updates left out" if skipped else "",
        )  # fmt: skip
        return compaction


def _updates(entries: list[StreamEntry]) -> list[bytes]:
    """The entries' Yjs updates, without trim markers and without entries that do not decode."""
    updates = [entry.update for entry in entries if not entry.is_trim_marker]
    try:
        if updates:
            merge_updates(*updates)
        return updates
    except ValueError:
        return [update for update in updates if _decodes(update)]


def _decodes(update: bytes) -> bool:
    try:
        merge_updates(update)
    except ValueError:
        return False
    return True

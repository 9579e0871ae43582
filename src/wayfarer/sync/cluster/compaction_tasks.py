"""`CompactionQueue`: which trips need compacting, handed out to workers by a Redis consumer group.

Relays ask (`request`) when a trip's stream has grown past a threshold
(`request_compaction_when_long`); any number of workers, in relay processes or on their
own (`worker`), claim the tasks. Why a consumer group: each task goes to one worker,
and a task whose worker died (SIGKILL, a lost machine) stays pending in the group until
another worker claims it after `reclaim_after` (XAUTOCLAIM). Nothing is lost if a task
is done twice or never finished: compaction is idempotent, and the next growth of the
stream asks again.

A request also sets a short-lived flag per trip, in the same script, so that relays
streaming the same trip ask once, not once per relay per check. A finished task leaves
the flag set for a cooldown (a quarter of the trim grace period): entries younger than
the grace period stay in the stream anyway, so a trip streaming faster than
`threshold / grace` would otherwise be compacted back to back for nothing.

Every worker joins the group as a consumer of its own (`host:pid:n`), so each restart
of a relay or worker leaves one behind. Workers remove those that have been idle for
long and hold no task (`forget_idle_consumers`), in one script: deleting a consumer
deletes its pending tasks with it, so one that still holds a task is kept until another
worker has reclaimed it (XAUTOCLAIM), and a consumer that claims a task meanwhile is
not deleted either (the check and the deletion are one step). A running worker that had
no task for that long may be removed too (Redis 7.0 counts idleness from the last task
it got): harmless, as it holds nothing, and the next task it reads makes it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from wayfarer.sync.cluster.appender import AppendFailed, StreamAppender
from wayfarer.sync.cluster.redis_log import stream_key
from wayfarer.sync.links import is_valid_trip_id

TASKS_KEY: Final = "wayfarer:compaction:tasks"
GROUP: Final = "wayfarer-compactors"
TRIP_FIELD: Final = b"trip"
# A trip asked for is not asked for again for this long, unless a worker finished it.
REQUEST_TTL_SECONDS: Final = 60
# A relay checks the stream's length this many times per threshold's worth of appends.
# A trip just compacted is not compacted again for this part of the trim grace period.
COOLDOWN_PART_OF_GRACE: Final = 0.25
CHECKS_PER_THRESHOLD: Final = 4

# The task stream keeps about this many tasks: with no worker running, relays still ask
# (once per trip per REQUEST_TTL_SECONDS), and the oldest asks go first.
MAX_TASKS: Final = 100_000

# KEYS[1]: the task stream. ARGV[1]: the group, ARGV[2]: idle ms. Deletes each consumer idle
# that long that holds no pending task; returns their names.
_FORGET = """
local forgotten = {}
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local fields = {}
  for i = 1, #consumer, 2 do
    fields[consumer[i]] = consumer[i + 1]
  end
  if fields['pending'] == 0 and fields['idle'] >= tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], fields['name'])
    table.insert(forgotten, fields['name'])
  end
end
return forgotten
"""

# KEYS[1]: the trip's request flag; KEYS[2]: the task stream. ARGV: trip id, flag TTL, cap.
_REQUEST = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'trip', ARGV[1])
  return 1
end
return 0
"""

log = logging.getLogger("wayfarer.compaction")


def requested_key(trip_id: str) -> str:
    return f"wayfarer:trip:{trip_id}:compaction-requested"


@dataclass(frozen=True)
class CompactionTask:
    task_id: bytes
    trip_id: str


class CompactionQueue:
    """The task stream and its consumer group (see the module docstring)."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self._request = client.register_script(_REQUEST)
        self._forget = client.register_script(_FORGET)

    async def request(self, trip_id: str) -> bool:
        """Ask for `trip_id` to be compacted; False if it was asked for recently."""
        keys = [requested_key(trip_id), TASKS_KEY]
        return bool(await self._request(keys=keys, args=[trip_id, REQUEST_TTL_SECONDS, MAX_TASKS]))

    async def ensure_group(self) -> None:
        """Create the consumer group (from the first task ever queued) unless it exists."""
        try:
            await self.client.xgroup_create(TASKS_KEY, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def claim(self, consumer: str, reclaim_after_ms: int, block_ms: int) -> CompactionTask | None:
        """A task another worker abandoned more than `reclaim_after_ms` ago, else a new one
        (waiting up to `block_ms`); None if there is none."""
        try:
            _, claimed, *_ = await self.client.xautoclaim(TASKS_KEY, GROUP, consumer, reclaim_after_ms, "0-0", count=1)
            if not claimed:
                replies = await self.client.xreadgroup(GROUP, consumer, {TASKS_KEY: ">"}, count=1, block=block_ms)
                claimed = replies[0][1] if replies else []
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()  # Redis lost the group (a flush): make it again
            return None
        for task_id, fields in claimed:
            trip_id = (fields or {}).get(TRIP_FIELD, b"").decode(errors="replace")
            if is_valid_trip_id(trip_id):
                return CompactionTask(task_id, trip_id)
            log.warning("dropping compaction task %s: it names no valid trip (%r)", task_id.decode(), trip_id)
            await self.finish(CompactionTask(task_id, ""))
        return None

    async def forget_idle_consumers(self, idle_seconds: float) -> list[str]:
        """Delete the consumers idle for `idle_seconds` or more that hold no task; their names."""
        try:
            names = await self._forget(keys=[TASKS_KEY], args=[GROUP, max(1, int(idle_seconds * 1000))])
        except ResponseError as exc:
            if "NOGROUP" in str(exc) or "no such key" in str(exc):
                return []  # no worker ever joined
            raise
        return [name.decode(errors="replace") for name in names]

    async def finish(self, task: CompactionTask, cooldown_seconds: float = 0) -> None:
        """Done: the task leaves the group and the stream, and the trip may be asked for
        again after `cooldown_seconds`."""
        cooldown_ms = int(cooldown_seconds * 1000)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xack(TASKS_KEY, GROUP, task.task_id)
            pipe.xdel(TASKS_KEY, task.task_id)
            if task.trip_id and cooldown_ms > 0:
                pipe.set(requested_key(task.trip_id), "1", px=cooldown_ms)
            elif task.trip_id:
                pipe.delete(requested_key(task.trip_id))
            await pipe.execute()


async def request_compaction_when_long(
    appender: StreamAppender, queue: CompactionQueue, threshold: int, stream_length: int
) -> None:
    """A room's task: ask for compaction whenever its trip's stream is `threshold` entries
    or longer, checking (XLEN, one cheap round trip) every `threshold / 4` appends.

    Only relays whose peers write check, as only writing makes a stream grow; the stream's
    length counts every relay's entries. `stream_length` is what the room's load read.
    """
    trip_id = appender.trip_id
    check_every = max(1, threshold // CHECKS_PER_THRESHOLD)
    length = stream_length
    while True:
        try:
            if length >= threshold and await queue.request(trip_id):
                log.debug("trip %s: its stream holds %d entries; compaction requested", trip_id, length)
        except RedisError as exc:
            log.warning("trip %s: could not request compaction (will ask again): %s", trip_id, exc)
        try:
            await appender.wait_appended(appender.appended_seq + check_every)
        except AppendFailed:
            return  # the room is closing its peers; it will be loaded again
        try:
            length = await queue.client.xlen(stream_key(trip_id))
        except RedisError as exc:
            log.warning("trip %s: could not read its stream's length: %s", trip_id, exc)
            length = 0

"""Compaction workers: claim a trip's task, compact it, finish the task; any number at once.

They run inside each relay (`ClusterOptions.compaction_workers`) or on their own
(`wayfarer relay --role worker`, `CompactionService`). A worker that fails on a task
(the store or Redis unreachable) leaves it pending: another worker, or itself, claims it
again after `reclaim_after_seconds`. A worker that finds this Redis' trips compacted into
another store stops (`ClusterError`): compacting into its own would scatter the trips'
history over two stores. Each process's workers also remove the consumers that stopped
workers left in the task group (`forget_idle_consumers_forever`).
"""

from __future__ import annotations

import logging
import os
import socket
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Final, Self

import anyio
from redis.asyncio import Redis
from redis.exceptions import RedisError

from wayfarer.sync.cluster.compaction import Compactor
from wayfarer.sync.cluster.compaction_tasks import COOLDOWN_PART_OF_GRACE, CompactionQueue
from wayfarer.sync.cluster.options import ClusterOptions
from wayfarer.sync.cluster.redis_log import ClusterError, check_redis_settings, connect
from wayfarer.sync.cluster.store import TripStore, TripStoreError, check_store, open_trip_store

# How long one wait for a new task blocks (it only sets how often an idle worker also
# looks for abandoned tasks).
BLOCK_MS: Final = 1000
# Pause after Redis failed before asking again.
RETRY_SECONDS: Final = 0.5
# How often a process looks for consumers to forget, at most.
FORGET_EVERY_SECONDS: Final = 300.0

log = logging.getLogger("wayfarer.compaction")


class CompactionWorker:
    """One worker's loop (see the module docstring)."""

    def __init__(self, client: Redis, store: TripStore, options: ClusterOptions, name: str) -> None:
        self.name = name
        self._queue = CompactionQueue(client)
        self._compactor = Compactor(client, store, options.trim_grace_seconds)
        self._reclaim_after_ms = max(1, int(options.reclaim_after_seconds * 1000))
        self._cooldown_seconds = options.trim_grace_seconds * COOLDOWN_PART_OF_GRACE

    async def run_forever(self) -> None:
        """Compact trips as they are asked for; ClusterError if the store is not this cluster's."""
        while True:
            try:
                task = await self._queue.claim(self.name, self._reclaim_after_ms, BLOCK_MS)
            except RedisError as exc:
                log.warning("compaction worker %s: cannot read tasks from Redis (retrying): %s", self.name, exc)
                await anyio.sleep(RETRY_SECONDS)
                continue
            if task is None:
                continue
            try:
                await self._compactor.compact(task.trip_id)
            except (RedisError, TripStoreError) as exc:
                log.warning(
                    "compaction worker %s: could not compact trip %s (it will be tried again): %s",
                    self.name, task.trip_id, exc,
                )  # fmt: skip
                continue
            try:
                await self._queue.finish(task, self._cooldown_seconds)
            except RedisError as exc:
                log.warning(
                    "compaction worker %s: compacted trip %s but could not say so: %s", self.name, task.trip_id, exc
                )


async def run_compaction_workers(client: Redis, store: TripStore, options: ClusterOptions, count: int) -> None:
    """Run `count` workers until cancelled; ClusterError once they stop over a store mismatch."""
    await CompactionQueue(client).ensure_group()
    failure: ClusterError | None = None
    prefix = f"{socket.gethostname()}:{os.getpid()}"

    async def work(worker: CompactionWorker, scope: anyio.CancelScope) -> None:
        nonlocal failure
        try:
            await worker.run_forever()
        except ClusterError as exc:
            failure = exc
            scope.cancel()

    async with anyio.create_task_group() as tg:
        for n in range(count):
            tg.start_soon(work, CompactionWorker(client, store, options, f"{prefix}:{n}"), tg.cancel_scope)
        tg.start_soon(forget_idle_consumers_forever, CompactionQueue(client), options.forget_consumers_after_seconds)
    if failure is not None:
        raise failure


async def forget_idle_consumers_forever(queue: CompactionQueue, idle_seconds: float) -> None:
    """Remove the task group's consumers idle for `idle_seconds` that hold no task, now and
    then (see `compaction_tasks`); any number of processes may do this at once."""
    while True:
        try:
            forgotten = await queue.forget_idle_consumers(idle_seconds)
        except RedisError as exc:
            log.warning("could not look for idle compaction consumers in Redis (will look again): %s", exc)
        else:
            if forgotten:
                log.info(
                    "forgot %d compaction consumers that held no task for over %g s (of workers that stopped, "
                    "or had nothing to do): %s",
                    len(forgotten), idle_seconds, ", ".join(forgotten),
                )  # fmt: skip
        await anyio.sleep(min(FORGET_EVERY_SECONDS, idle_seconds))


class CompactionService:
    """Compaction workers without a relay (`wayfarer relay --role worker`), as one `async with`.

    Entering checks Redis' settings and that the store is this cluster's (`ClusterError`);
    `run` works until cancelled.
    """

    def __init__(self, redis_url: str, store_spec: str, options: ClusterOptions) -> None:
        self._redis_url = redis_url
        self._store_spec = store_spec
        self._options = options
        self._stack = AsyncExitStack()
        self._client: Redis | None = None
        self.store: TripStore | None = None

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            client = connect(self._redis_url)
            stack.push_async_callback(client.aclose)
            await check_redis_settings(client, self._redis_url)
            store = await stack.enter_async_context(open_trip_store(self._store_spec))
            try:
                await check_store(client, store)
            except RedisError as exc:
                raise ClusterError(f"cannot use Redis: {exc}") from exc
            self._client, self.store = client, store
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with anyio.CancelScope(shield=True):
            await self._stack.__aexit__(exc_type, exc, tb)

    async def run(self) -> None:
        assert self._client is not None and self.store is not None
        count = 1 if self._options.compaction_workers is None else max(1, self._options.compaction_workers)
        await run_compaction_workers(self._client, self.store, self._options, count)


async def run_relay_compaction(client: Redis, store: TripStore, options: ClusterOptions) -> None:
    """The compaction workers of a relay process, for as long as it runs.

    Unlike a worker process, a relay does not stop over a store mismatch (it logs it; its
    trips are still served from the stream), and waits out a Redis that is not there yet.
    """
    while True:
        try:
            await run_compaction_workers(client, store, options, options.relay_workers)
        except ClusterError as exc:
            log.error("this relay compacts no trips: %s", exc)
            return
        except RedisError as exc:
            log.warning("compaction workers cannot reach Redis (retrying): %s", exc)
            await anyio.sleep(RETRY_SECONDS)

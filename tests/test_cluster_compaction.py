"""Compaction workers move each trip's stream into the durable store and trim it: a worker
killed before or after its commit loses nothing and duplicates nothing, two workers on one
trip lose nothing, a stream stays short while a trip streams, and the consumers stopped
workers leave in the task group are removed once they hold no task."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest
from cluster_store_helpers import (
    RedisProbe,
    closing_relays,
    eventually,
    start_relays,
    stored_rows,
    stored_text,
    text_of,
    trip_locked,
    workers_waiting_for_a_trip_lock,
    write_tokens,
)
from postgres_process import PostgresProcess, postgres_server  # noqa: F401
from pycrdt import Doc, Text, merge_updates
from redis.asyncio import Redis
from redis_process import RedisProcess, redis_factory, redis_server  # noqa: F401
from relay_client import RawPeer
from worker_process import WorkerProcess, worker_factory  # noqa: F401

from wayfarer.sync.cluster.compaction import Compactor
from wayfarer.sync.cluster.compaction_tasks import GROUP, TASKS_KEY, CompactionQueue
from wayfarer.sync.cluster.options import ClusterOptions
from wayfarer.sync.cluster.redis_log import TripStreams, connect
from wayfarer.sync.cluster.store import open_trip_store
from wayfarer.sync.cluster.worker import run_compaction_workers

pytestmark = pytest.mark.anyio

Workers = Callable[..., WorkerProcess]
TOKENS = [f"{n};" for n in range(40)]
EXPECTED = "".join(TOKENS)


async def write_trip(relay_link: str) -> None:
    """One peer writes TOKENS and waits until the relay acknowledges them all (Redis has them)."""
    async with RawPeer.connect(relay_link) as writer:
        await writer.synced()
        await write_tokens(writer, TOKENS)
        await writer.ack()


async def read_trip(relay_link: str) -> str:
    async with RawPeer.connect(relay_link) as reader:
        await reader.synced()
        return str(reader.text())


@pytest.fixture
def probe(redis_server: RedisProcess) -> RedisProbe:  # noqa: F811
    return RedisProbe(redis_server.url)


@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_worker_killed_before_or_after_its_commit_loses_and_duplicates_nothing(
    when: str,
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
    postgres_server: PostgresProcess,  # noqa: F811
    worker_factory: Workers,  # noqa: F811
    probe: RedisProbe,
) -> None:
    store = postgres_server.url
    relays = start_relays(tmp_path, redis_server.url, store, "--compaction-workers", "0", names=("a",))
    with closing_relays(relays) as [relay]:
        await write_trip(relay.link("trip-kill"))
        assert await probe.updates_in_stream("trip-kill") == len(TOKENS)

        with trip_locked(store, "trip-kill"):
            doomed = worker_factory(redis_server.url, store, "--reclaim-after", "1", "--trim-grace", "0")
            await probe.request_compaction("trip-kill")
            await eventually(_true(lambda: workers_waiting_for_a_trip_lock(store) == 1), "the worker inside its commit")
            if when == "before":
                doomed.kill()
            else:
                # Redis writes (the worker's trim, a Lua script) now wait; reads go on.
                await probe.client.execute_command("CLIENT", "PAUSE", "20000", "WRITE")
        if when == "after":
            await eventually(_true(lambda: stored_rows(store, "trip-kill") == 1), "the worker's commit")
            doomed.kill()
            await probe.client.execute_command("CLIENT", "UNPAUSE")

        if when == "before":
            assert stored_rows(store, "trip-kill") == 0, "a transaction cut before its commit leaves nothing"
        else:
            assert (await stored_text(store, "trip-kill"))[0] == EXPECTED
        assert await probe.updates_in_stream("trip-kill") == len(TOKENS), "nothing is trimmed that was not stored"
        assert await probe.pending_tasks() == 1, "the killed worker's task is still pending"

        successor = worker_factory(redis_server.url, store, "--reclaim-after", "1", "--trim-grace", "0")
        successor.wait_for_log(r"compacted trip trip-kill")
        await eventually(lambda: _equals(probe.updates_in_stream("trip-kill"), 0), "the stream to be trimmed")
        await eventually(lambda: _equals(probe.pending_tasks(), 0), "the task to be finished")
        assert await stored_text(store, "trip-kill") == (EXPECTED, 1)
        assert await read_trip(relay.link("trip-kill")) == EXPECTED, "a peer loading the trip sees it once"


async def test_two_workers_compacting_one_trip_at_once_lose_nothing(
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
    postgres_server: PostgresProcess,  # noqa: F811
    worker_factory: Workers,  # noqa: F811
    probe: RedisProbe,
) -> None:
    store = postgres_server.url
    relays = start_relays(tmp_path, redis_server.url, store, "--compaction-workers", "0", names=("a",))
    with closing_relays(relays) as [relay]:
        await write_trip(relay.link("trip-both"))
        with trip_locked(store, "trip-both"):
            workers = [worker_factory(redis_server.url, store, "--trim-grace", "0") for _ in range(2)]
            await probe.request_compaction("trip-both")
            await probe.request_compaction("trip-both")
            # Both have read the stream and wait inside their transactions: released together.
            await eventually(_true(lambda: workers_waiting_for_a_trip_lock(store) == 2), "both workers in a commit")
        for worker in workers:
            worker.wait_for_log(r"compacted trip trip-both")
        await eventually(lambda: _equals(probe.pending_tasks(), 0), "both tasks to be finished")
        assert await stored_text(store, "trip-both") == (EXPECTED, 1)
        assert await probe.updates_in_stream("trip-both") == 0
        async with RawPeer.connect(relay.link("trip-both")) as writer:
            await writer.synced()
            assert str(writer.text()) == EXPECTED
            writer.text().insert(len(writer.text()), "after;")
            await writer.ack()
        assert await read_trip(relay.link("trip-both")) == EXPECTED + "after;"


@pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"])
async def test_a_streaming_trip_keeps_a_short_stream_while_workers_compact_it(
    store_kind: str,
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
    worker_factory: Workers,  # noqa: F811
    probe: RedisProbe,
    request: pytest.FixtureRequest,
) -> None:
    store = f"sqlite:{tmp_path / 'trips'}" if store_kind == "sqlite" else request.getfixturevalue("postgres_server").url
    threshold, grace = 50, 0.5
    settings = ("--compact-after", str(threshold), "--trim-grace", str(grace), "--reclaim-after", "2")
    tokens = [f"{n};" for n in range(1500)]
    with closing_relays(start_relays(tmp_path, redis_server.url, store, "--compaction-workers", "0", *settings)) as [
        a,
        b,
    ]:
        for _ in range(2):
            worker_factory(redis_server.url, store, *settings)
        longest = 0

        async def watch_length(scope: anyio.CancelScope) -> None:
            nonlocal longest
            while not scope.cancel_called:
                longest = max(longest, await probe.stream_length("trip-long"))
                await anyio.sleep(0.02)

        started = time.monotonic()
        async with (
            RawPeer.connect(a.link("trip-long")) as writer,
            RawPeer.connect(b.link("trip-long")) as watcher,
            anyio.create_task_group() as tg,
        ):
            await writer.synced()
            await watcher.synced()
            tg.start_soon(watch_length, tg.cancel_scope)
            await write_tokens(writer, tokens, pause=0.003)
            await writer.ack()
            expected = "".join(tokens)
            await watcher.wait_until(lambda: str(watcher.text()) == expected, "the watcher to hold the whole text")
            tg.cancel_scope.cancel()
        rate = len(tokens) / (time.monotonic() - started)
        # The threshold, a quarter of it between two length checks, and what arrives during
        # the grace period and one compaction's round trips: far below 1,500.
        bound = threshold * 2 + rate * (grace + 0.5)
        assert longest <= bound, f"the stream grew to {longest} entries (bound {bound:.0f} at {rate:.0f} tokens/s)"
        stored, _ = await stored_text(store, "trip-long")
        assert expected.startswith(stored) and len(stored) > len(expected) // 2, "most of the trip is in the store"
        assert await read_trip(b.link("trip-long")) == expected


def _true(check: Callable[[], bool]) -> Callable[[], object]:
    async def run() -> bool:
        return await anyio.to_thread.run_sync(check)

    return run


async def _equals(value: object, expected: int) -> bool:
    return await value == expected  # type: ignore[misc]


async def test_entries_whose_ids_sort_below_what_the_store_holds_are_merged_before_any_trim(
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
) -> None:
    """A replacement Redis whose clock runs behind the old one's gives new entries ids below
    the position the store recorded; a worker must still merge them before trimming them."""
    doc, updates = Doc(), []
    doc.observe(lambda event: updates.append(event.update))
    text = doc.get("notes", type=Text)
    for n in range(20):
        text.insert(len(text), f"{n};")
    client = connect(redis_server.url)
    async with open_trip_store(f"sqlite:{tmp_path / 'trips'}") as store:
        far_future = (int(time.time() * 1000) + 10**9, 0)
        await store.compact("trip-skew", updates[:5], far_future)  # what the old Redis left
        await TripStreams(client).append("trip-skew", updates[5:])
        await anyio.sleep(0.01)
        compaction = await Compactor(client, store, grace_seconds=0).compact("trip-skew")
        assert compaction.trimmed >= len(updates[5:]) - 1
        assert text_of((await store.load("trip-skew")).update) == str(text)
    await client.aclose()


async def consumers(client: Redis) -> dict[str, int]:
    """The compaction task group's consumers and the tasks each holds."""
    return {c["name"].decode(): int(c["pending"]) for c in await client.xinfo_consumers(TASKS_KEY, GROUP)}


async def test_consumers_of_stopped_workers_are_forgotten_but_never_one_holding_a_task(
    redis_server: RedisProcess,  # noqa: F811
    probe: RedisProbe,
) -> None:
    queue, idle = CompactionQueue(probe.client), 0.3
    assert await queue.forget_idle_consumers(idle) == [], "no group yet: nothing to forget"
    await queue.ensure_group()
    await probe.request_compaction("trip-done")
    await probe.request_compaction("trip-held")
    done = await queue.claim("gone-idle", 60_000, 10)
    assert done is not None
    await queue.finish(done)
    held = await queue.claim("gone-holding", 60_000, 10)  # killed while compacting: its task stays pending
    assert held is not None and held.trip_id == "trip-held"

    await anyio.sleep(idle + 0.1)
    assert await queue.forget_idle_consumers(idle) == ["gone-idle"]
    assert await consumers(probe.client) == {"gone-holding": 1}, "kept until its task is reclaimed"

    taken = await queue.claim("successor", 1, 10)
    assert taken is not None and taken.trip_id == "trip-held"
    await queue.finish(taken)
    await anyio.sleep(idle + 0.1)
    assert sorted(await queue.forget_idle_consumers(idle)) == ["gone-holding", "successor"]
    assert await consumers(probe.client) == {}

    # A running worker forgotten while it had nothing to do holds nothing, and comes back
    # with its next task.
    await probe.request_compaction("trip-next")
    assert await queue.claim("successor", 60_000, 10) is not None
    assert await consumers(probe.client) == {"successor": 1}


async def test_running_workers_forget_the_consumers_that_stopped_workers_left(
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
    probe: RedisProbe,
) -> None:
    queue = CompactionQueue(probe.client)
    await queue.ensure_group()
    await probe.request_compaction("trip-left")
    assert await queue.claim("host:1234:0", 60_000, 10) is not None  # a worker killed mid-task
    client = connect(redis_server.url)
    options = ClusterOptions(reclaim_after_seconds=0.2, forget_consumers_after_seconds=0.5, trim_grace_seconds=0)
    async with open_trip_store(f"sqlite:{tmp_path / 'trips'}") as store, anyio.create_task_group() as tg:
        tg.start_soon(run_compaction_workers, client, store, options, 1)
        await eventually(lambda: _without(consumers(probe.client), "host:1234:0"), "the stopped worker's consumer to go")
        await eventually(lambda: _equals(probe.pending_tasks(), 0), "its task, reclaimed, to be done")
        tg.cancel_scope.cancel()
    await client.aclose()


async def _without(named: Awaitable[dict[str, int]], name: str) -> bool:
    return name not in await named


@pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"])
async def test_a_trip_streamed_token_by_token_is_compacted_to_a_documents_own_encoding(
    store_kind: str,
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    """Merged as bytes, a reply streamed a token per update keeps an item per token, which
    yrs loads in quadratic time: compaction stores the document's own encoding instead,
    unless an update still misses a dependency, which it then keeps (merged as bytes)."""
    spec = f"sqlite:{tmp_path / 'trips'}" if store_kind == "sqlite" else request.getfixturevalue("postgres_server").url
    doc, updates = Doc(), []
    doc.observe(lambda event: updates.append(event.update))
    text = doc.get("notes", type=Text)
    for n in range(3000):
        text.insert(len(text), f"{n};")
    client = connect(redis_server.url)
    async with open_trip_store(spec) as store:
        compactor = Compactor(client, store, grace_seconds=0)
        await TripStreams(client).append("trip-tokens", updates)
        assert (await compactor.compact("trip-tokens")).merged == len(updates)
        stored = await store.load("trip-tokens")
        assert stored.rows == 1 and stored.update is not None
        assert text_of(stored.update) == str(text)
        merged = merge_updates(*updates)
        assert len(stored.update) < len(merged) / 2, (len(stored.update), len(merged))

        # updates[1] never reached the stream (yet): the later ones wait for it.
        await TripStreams(client).append("trip-gap", [updates[0], *updates[2:10]])
        await compactor.compact("trip-gap")
        await TripStreams(client).append("trip-gap", [updates[1]])
        await compactor.compact("trip-gap")
        stored = await store.load("trip-gap")
        assert stored.rows == 1
        assert text_of(stored.update) == "".join(f"{n};" for n in range(10))
    await client.aclose()

"""The cluster's durable stores (SQLite folder, PostgreSQL) pass one acceptance suite:
a trip round-trips, compaction keeps everything and stores it once, two compactions at once
lose nothing, and the store knows which stream entries it holds."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import anyio
import psycopg
import pytest
from postgres_process import PostgresProcess, postgres_server  # noqa: F401
from pycrdt import Doc, Text, merge_updates

from wayfarer.sync.cluster.redis_log import ClusterError
from wayfarer.sync.cluster.store import TripStore, open_trip_store

pytestmark = pytest.mark.anyio

OpenStore = Callable[[], AbstractAsyncContextManager[TripStore]]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> OpenStore:
    """Opens the same store (a new handle each call), as separate processes would."""
    if request.param == "sqlite":
        spec = f"sqlite:{tmp_path / 'trips'}"
    else:
        spec = request.getfixturevalue("postgres_server").url
    return lambda: open_trip_store(spec)


def edits(count: int, prefix: str = "") -> tuple[list[bytes], str]:
    """`count` updates, each inserting one token at the end of `notes`, and the final text."""
    doc, updates = Doc(), []
    doc.observe(lambda event: updates.append(event.update))
    text = doc.get("notes", type=Text)
    for n in range(count):
        text.insert(len(text), f"{prefix}{n};")
    return updates, str(text)


def text_of(update: bytes | None) -> str:
    doc = Doc()
    text = doc.get("notes", type=Text)
    if update is not None:
        doc.apply_update(update)
    return str(text)


async def test_a_trip_never_compacted_is_empty(open_store: OpenStore) -> None:
    async with open_store() as store:
        stored = await store.load("trip-new")
        assert (stored.update, stored.stream_upto, stored.rows) == (None, (0, 0), 0)


async def test_a_trip_round_trips_and_compacts_into_one_row(open_store: OpenStore) -> None:
    updates, expected = edits(40)
    async with open_store() as store:
        assert await store.compact("trip-a", updates[:25], (100, 0)) == (100, 0)
        assert await store.compact("trip-a", updates[25:], (200, 3)) == (200, 3)
    async with open_store() as store:  # what a relay opening the store later reads
        stored = await store.load("trip-a")
        assert text_of(stored.update) == expected
        assert stored.rows == 1
        assert stored.stream_upto == (200, 3)
        assert (await store.load("trip-b")).update is None, "trips are kept apart"


async def test_compacting_entries_again_stores_them_once(open_store: OpenStore) -> None:
    """A worker killed after its commit and before its trim leaves the entries in the
    stream: the next worker merges them again. Nothing may appear twice."""
    updates, expected = edits(30)
    async with open_store() as store:
        await store.compact("trip-again", updates, (50, 0))
        await store.compact("trip-again", updates[10:], (50, 0))
        await store.compact("trip-again", [], (60, 0))  # only a trim marker was new
        stored = await store.load("trip-again")
        assert text_of(stored.update) == expected
        assert stored.stream_upto == (60, 0)


async def test_the_stream_position_never_goes_back(open_store: OpenStore) -> None:
    updates, _ = edits(4)
    async with open_store() as store:
        await store.compact("trip-pos", updates[:2], (90, 0))
        assert await store.compact("trip-pos", updates[2:], (80, 0)) == (90, 0), "a late, slower worker"
        assert (await store.load("trip-pos")).stream_upto == (90, 0)


async def test_two_compactions_of_one_trip_at_once_lose_nothing(open_store: OpenStore) -> None:
    first, first_text = edits(30, "a")
    second, second_text = edits(30, "b")
    async with open_store() as one, open_store() as other, anyio.create_task_group() as tg:
        tg.start_soon(one.compact, "trip-both", first, (10, 0))
        tg.start_soon(other.compact, "trip-both", second, (20, 0))
    async with open_store() as store:
        text = text_of((await store.load("trip-both")).update)
        assert sorted(text.split(";")) == sorted((first_text + second_text).split(";"))
        assert (await store.load("trip-both")).stream_upto == (20, 0)


async def test_every_handle_on_one_store_has_its_identity_and_other_stores_another(
    open_store: OpenStore, tmp_path: Path
) -> None:
    async with open_store() as one, open_store() as again:
        assert one.identity == again.identity
    async with open_trip_store(f"sqlite:{tmp_path / 'elsewhere'}") as other:
        assert other.identity != one.identity


async def test_postgresql_keeps_trips_as_bytea_rows(postgres_server: PostgresProcess) -> None:  # noqa: F811
    updates, _ = edits(3)
    async with open_trip_store(postgres_server.url) as store:
        await store.compact("trip-rows", updates, (1, 0))
    with psycopg.connect(postgres_server.url) as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'wayfarer_trip_updates'"
            ).fetchall()
        )
        assert types["data"] == "bytea"
        (data,) = conn.execute("SELECT data FROM wayfarer_trip_updates WHERE trip_id = 'trip-rows'").fetchone()
        assert isinstance(data, bytes)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("mysql://db/trips", "expected sqlite:FOLDER or postgresql://"),
        ("sqlite:", "needs a folder"),
        ("postgresql://nobody:secret@127.0.0.1:1/none", "cannot use PostgreSQL at postgresql://nobody:***@127.0.0.1:1"),
    ],
)
async def test_a_store_that_cannot_be_used_is_refused_readably(spec: str, says: str) -> None:
    with pytest.raises(ClusterError) as refused:
        async with open_trip_store(spec):
            pass
    assert says in str(refused.value)
    assert "secret" not in str(refused.value)


async def test_a_trip_streamed_token_by_token_is_stored_as_a_documents_own_encoding(open_store: OpenStore) -> None:
    """Merged as bytes, a reply streamed a token per update keeps an item per token, which
    yrs loads in quadratic time; the compacted row is the document's own encoding."""
    updates, expected = edits(3000)
    async with open_store() as store:
        await store.compact("trip-stream", updates[:1000], (10, 0))
        await store.compact("trip-stream", updates[1000:], (20, 0))
        stored = await store.load("trip-stream")
    assert stored.rows == 1
    assert text_of(stored.update) == expected
    assert stored.update is not None
    merged = merge_updates(*updates)
    assert len(stored.update) < len(merged) / 2, (len(stored.update), len(merged))
    doc = Doc()
    for update in updates:
        doc.apply_update(update)
    assert len(stored.update) == len(doc.get_update())


async def test_an_update_missing_its_dependency_is_kept_by_compaction(open_store: OpenStore) -> None:
    """A document leaves pending updates out of its encoding: a compaction whose updates
    lack a dependency keeps them (merged as bytes), and they apply once it arrives."""
    updates, expected = edits(6)
    deleting = Doc()
    for update in updates:
        deleting.apply_update(update)
    before = deleting.get_state()
    text = deleting.get("notes", type=Text)
    del text[1:4]  # ";1;": part of a stored token and all of the missing update's
    deletion = deleting.get_update(before)
    async with open_store() as store:
        await store.compact("trip-gap", [updates[0], updates[2], updates[3]], (10, 0))  # updates[1] missing
        await store.compact("trip-gap", [deletion], (20, 0))
        await store.compact("trip-gap", [], (30, 0))
        stored = await store.load("trip-gap")
        assert stored.rows == 1
        assert text_of(stored.update) == "0", "only what does not depend on the missing update"
        await store.compact("trip-gap", [updates[1], *updates[4:]], (40, 0))
        stored = await store.load("trip-gap")
    assert stored.rows == 1
    assert text_of(stored.update) == "0" + expected[4:]

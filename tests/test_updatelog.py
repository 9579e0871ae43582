"""The update log keeps every Yjs update it reported saved, and refuses damaged files loudly."""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from pathlib import Path

import pytest
from _children import run_and_kill, saved_numbers
from hypothesis import given
from hypothesis import strategies as st
from pycrdt import Doc, Map, Text, merge_updates

from wayfarer.sync.updatelog import StoreCorrupted, StoreError, UpdateLog


def recording_doc() -> tuple[Doc, list[bytes]]:
    doc = Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    return doc, updates


def load(updates: list[bytes]) -> Doc:
    doc = Doc()
    with doc.transaction():
        for update in updates:
            doc.apply_update(update)
    return doc


def text_of(doc: Doc, name: str = "numbers") -> str:
    return str(doc.get(name, type=Text))


def numbers_in(path: Path) -> set[int]:
    with UpdateLog(path, create=False) as log:
        text = text_of(load(log.read()))
    return {int(n) for n in text.split(";") if n}


def write_rows(path: Path, count: int) -> bytes:
    """A log of `count` one-character inserts; returns the document's full state."""
    doc, updates = recording_doc()
    text = doc.get("numbers", type=Text)
    for n in range(count):
        text.insert(len(text), f"{n};")
    with UpdateLog(path) as log:
        log.append_many(updates)
    return doc.get_update()


def test_updates_read_back_in_order_after_reopen(tmp_path: Path) -> None:
    path = tmp_path / "trip.wayfarer"
    doc, updates = recording_doc()
    with UpdateLog(path) as log:
        doc.observe(lambda event: log.append(event.update))
        text = doc.get("numbers", type=Text)
        for n in range(20):
            text.insert(len(text), f"{n};")
        assert log.last_seq() == 20
    with UpdateLog(path, create=False) as log:
        assert log.read() == updates
        assert log.row_count() == 20
        assert log.byte_size() == sum(len(u) for u in updates)
        assert text_of(load(log.read())) == "".join(f"{n};" for n in range(20))


def test_append_returns_increasing_row_numbers(tmp_path: Path) -> None:
    with UpdateLog(tmp_path / "t.wayfarer") as log:
        first = log.append(b"\x00\x00")
        last = log.append_many([b"\x00\x00", b"\x00\x00", b"\x00\x00"])
        assert (first, last) == (1, 4)
        assert log.row_count() == 4


def test_info_is_kept_beside_the_updates(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    with UpdateLog(path) as log:
        assert log.get_info("title") is None
        log.set_info("title", "Lisbon in May")
        log.set_info("title", "Porto in June")
        log.set_info("link", "ws://127.0.0.1:1/x?token=t")
        log.delete_info("link")
    with UpdateLog(path, create=False) as log:
        assert log.get_info("title") == "Porto in June"
        assert log.get_info("link") is None


def test_opening_a_missing_file_without_create_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.wayfarer"
    with pytest.raises(StoreError, match="no such trip file") as caught:
        UpdateLog(path, create=False)
    assert str(path) in str(caught.value)
    assert not path.exists()


def test_a_damaged_row_is_named_not_skipped(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    write_rows(path, 5)
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE updates SET data = X'0000' WHERE seq = 3")
    with UpdateLog(path, create=False) as log, pytest.raises(StoreCorrupted) as caught:
        log.read()
    message = str(caught.value)
    assert str(path) in message and "row 3" in message and "checksum" in message


@pytest.mark.parametrize("keep", [0, 100, 4096, 0.5, -4096])
def test_a_truncated_file_is_corrupted_not_an_empty_trip(tmp_path: Path, keep: float) -> None:
    whole = tmp_path / "whole.wayfarer"
    write_rows(whole, 2000)
    data = whole.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    damaged = tmp_path / "damaged.wayfarer"
    damaged.write_bytes(data[:cut])
    with pytest.raises(StoreCorrupted) as caught:
        with UpdateLog(damaged) as log:
            log.read()
    assert str(damaged) in str(caught.value)
    assert damaged.stat().st_size == cut, "opening a damaged file must not write to it"


def test_garbage_and_foreign_files_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.wayfarer"
    garbage.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(StoreCorrupted, match="damaged"):
        UpdateLog(garbage)
    foreign = tmp_path / "foreign.wayfarer"
    with sqlite3.connect(foreign) as raw:
        raw.execute("CREATE TABLE notes (x)")
    with pytest.raises(StoreCorrupted, match="not a Wayfarer trip file"):
        UpdateLog(foreign)


def test_a_write_the_database_refuses_raises_and_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    with UpdateLog(path) as log:
        log.append(b"\x00\x00")
        with sqlite3.connect(path) as raw:
            raw.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON updates "
                "BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END"
            )
        with pytest.raises(StoreError, match="simulated disk failure") as caught:
            log.append(b"\x00\x00")
        assert str(path) in str(caught.value)
        with pytest.raises(StoreError):
            log.append_many([b"\x00\x00", b"\x00\x00"])
        assert log.row_count() == 1


def test_a_file_locked_by_another_program_raises_a_readable_error(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    UpdateLog(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with UpdateLog(path, busy_timeout=0.2) as log:
            with pytest.raises(StoreError, match="another program is holding the file"):
                log.append(b"\x00\x00")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with UpdateLog(path) as log:
        assert log.row_count() == 0


def test_compaction_keeps_the_content_in_one_row(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    doc, updates = recording_doc()
    plan = doc.get("plan", type=Map)
    for n in range(50):
        plan[f"k{n}"] = Text(f"value {n}")
    for n in range(0, 50, 3):
        del plan[f"k{n}"]
    plan["k1"].insert(0, "edited ")
    with UpdateLog(path) as log:
        log.append_many(updates)
        log.compact()
        assert log.row_count() == 1
    with UpdateLog(path, create=False) as log:
        assert load(log.read()).get("plan", type=Map).to_py() == plan.to_py()


def test_partial_compaction_merges_only_the_rows_in_its_range(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    state = write_rows(path, 30)
    with UpdateLog(path) as log:
        log.compact(upto_seq=20, after_seq=10)
        assert log.row_count() == 10 + 1 + 10
        log.compact(upto_seq=20)
        assert log.row_count() == 1 + 10
        assert log.last_seq() == 30
        assert log.append(b"\x00\x00") == 31
        assert text_of(load(log.read())) == text_of(load([state]))


def test_compaction_keeps_updates_that_wait_for_a_missing_one(tmp_path: Path) -> None:
    """A log may lack an update (a failed write, later repaired): merging what it has must
    not drop the updates that depend on the missing one."""
    doc, updates = recording_doc()
    text = doc.get("numbers", type=Text)
    text.insert(0, "hello world")
    del text[0:6]
    text.insert(len(text), "!")
    first, *later = updates
    with UpdateLog(tmp_path / "t.wayfarer") as log:
        log.append_many(later)
        log.compact()
        log.append(first)
        assert text_of(load(log.read())) == "world!"


EDITS = st.lists(
    st.tuples(st.booleans(), st.sampled_from(["insert", "delete", "set", "sync"]), st.integers(0, 1_000)),
    max_size=80,
)


def edited_by_two_people(edits: list[tuple[bool, str, int]]) -> tuple[Doc, list[bytes]]:
    """Two documents editing a text and a map, syncing now and then; the updates the
    first one made or received, in order, and that document once fully synced."""
    doc, updates = recording_doc()
    other = Doc()
    for step, (mine, action, at) in enumerate(edits):
        editor = doc if mine else other
        text, plan = editor.get("numbers", type=Text), editor.get("plan", type=Map)
        if action == "sync":
            doc.apply_update(other.get_update(doc.get_state()))
            other.apply_update(doc.get_update(other.get_state()))
        elif action == "delete" and len(text) > 2:
            start = at % (len(text) - 1)
            del text[start : start + 2]
        elif action == "set":
            plan[f"k{at % 7}"] = step
        else:
            text.insert(at % (len(text) + 1), f"{step};")
    doc.apply_update(other.get_update(doc.get_state()))
    return doc, updates


@given(EDITS)
def test_compacting_to_the_document_keeps_every_update(edits: list[tuple[bool, str, int]]) -> None:
    doc, updates = edited_by_two_people(edits)
    with tempfile.TemporaryDirectory() as folder, UpdateLog(Path(folder) / "t.wayfarer") as log:
        log.append_many([*updates, b"\x00\x00"])
        assert log.compact_to(doc.get_update())
        assert log.row_count() == 1
        reloaded = load(log.read())
    assert text_of(reloaded) == text_of(doc)
    assert reloaded.get("plan", type=Map).to_py() == doc.get("plan", type=Map).to_py()


def test_a_streamed_reply_compacted_to_the_document_is_a_fraction_of_its_merge(tmp_path: Path) -> None:
    """Why `compact_to` exists: merged bytes keep one item per token (and load in
    quadratic time); the document's own encoding joins them."""
    doc, updates = recording_doc()
    text = doc.get("numbers", type=Text)
    for n in range(2_000):
        text.insert(len(text), f" {n}")
    with UpdateLog(tmp_path / "t.wayfarer") as log:
        log.append_many(updates)
        assert log.compact_to(doc.get_update())
        assert log.byte_size() < len(merge_updates(*updates)) / 2
        assert text_of(load(log.read())) == str(text)


def test_partial_compaction_to_the_document_leaves_later_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    doc, updates = recording_doc()
    text = doc.get("numbers", type=Text)
    for n in range(30):
        text.insert(len(text), f"{n};")
        if n == 19:
            document = doc.get_update()
    with UpdateLog(path) as log:
        log.append_many(updates)
        assert log.compact_to(document, upto_seq=20)
        assert log.row_count() == 1 + 10
        assert log.last_seq() == 30
        assert text_of(load(log.read())) == str(text)


def test_a_document_holding_an_update_pending_is_not_compacted_to(tmp_path: Path) -> None:
    """A document that got an update before the one it depends on holds it pending and
    leaves it out of its encoding: the rows must stay as they are."""
    doc, updates = recording_doc()
    text = doc.get("numbers", type=Text)
    text.insert(0, "hello")
    text.insert(5, " world")
    first, second = updates
    relay_copy = Doc()
    relay_copy.apply_update(second)  # pending: it builds on `first`
    with UpdateLog(tmp_path / "t.wayfarer") as log:
        log.append(second)
        assert not log.compact_to(relay_copy.get_update())
        assert log.read() == [second]
        log.append(first)
        assert log.compact_to(load(log.read()).get_update())
        assert text_of(load(log.read())) == "hello world"


def test_a_document_lacking_a_deletion_of_the_rows_is_not_compacted_to(tmp_path: Path) -> None:
    doc, updates = recording_doc()
    text = doc.get("numbers", type=Text)
    text.insert(0, "hello world")
    del text[0:6]
    with UpdateLog(tmp_path / "t.wayfarer") as log:
        log.append_many(updates)
        assert not log.compact_to(load(updates[:1]).get_update())
        deletion_pending = Doc()
        deletion_pending.apply_update(updates[1])  # a deletion of text it has never seen
        assert not log.compact_to(deletion_pending.get_update())
        assert log.read() == updates
        assert log.compact_to(doc.get_update())
        assert text_of(load(log.read())) == "world"


def test_compacting_to_the_document_checks_only_the_rows_it_is_told_to(tmp_path: Path) -> None:
    """The relay's rows after the ones it loaded are its document's own updates: it
    skips checking them (decoding a large trip several times over) with `check_through`."""
    doc, updates = recording_doc()
    text = doc.get("numbers", type=Text)
    text.insert(0, "from the file;")
    text.insert(len(text), "from the room;")
    stale = load(updates[:1]).get_update()  # does not hold the second row
    with UpdateLog(tmp_path / "t.wayfarer") as log:
        log.append_many(updates)
        assert not log.compact_to(stale, check_through=2)
        assert log.compact_to(stale, check_through=1), "the second row is taken as held"
        assert log.row_count() == 1


def test_one_log_can_be_shared_by_threads(tmp_path: Path) -> None:
    """The relay hands appends to worker threads: concurrent calls must not interleave."""
    path = tmp_path / "t.wayfarer"
    with UpdateLog(path) as log:
        workers = [threading.Thread(target=lambda: [log.append(b"\x00\x00") for _ in range(25)]) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert log.row_count() == 100


def test_a_killed_writer_loses_nothing_it_reported_saved(tmp_path: Path) -> None:
    path = tmp_path / "t.wayfarer"
    lines = run_and_kill("append", path, lambda lines: len(lines) >= 300)
    reported = saved_numbers(lines)
    assert len(reported) >= 300
    assert reported <= numbers_in(path)


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.045, 0.1])
def test_a_compaction_killed_midway_keeps_everything(tmp_path: Path, delay: float) -> None:
    """Killed at moments before, inside and after the compaction's commit (~45 ms here)."""
    path = tmp_path / "t.wayfarer"
    lines = run_and_kill("compact", path, lambda lines: "compacting" in lines, delay=delay)
    reported = saved_numbers(lines)
    assert len(reported) >= 3050
    assert reported <= numbers_in(path)

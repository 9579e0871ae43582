"""How the relay hands updates on: once to every other peer, acknowledged only once on
disk, merged for a peer that fell behind, and compacted on disk without losing any."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import anyio
import pytest
from pycrdt import Doc, Text, create_awareness_message, create_update_message, read_message
from relay_client import RawPeer
from relay_process import RelayProcess

from wayfarer.sync.protocol import ack_reply
from wayfarer.sync.relay import Relay, RelayConfig
from wayfarer.sync.relay.peer import PeerConnection
from wayfarer.sync.tokens import TokenClaims, make_token
from wayfarer.sync.updatelog import UpdateLog

pytestmark = pytest.mark.anyio

SYNC_UPDATE_PREFIX = b"\x00\x02"


def link(relay: Relay, trip_id: str) -> str:
    return f"{relay.url}/{trip_id}?token={make_token(relay.key, trip_id, 'editor')}"


def stored_rows(data_dir: Path, trip_id: str) -> list[bytes]:
    with UpdateLog(data_dir / "rooms" / f"{trip_id}.sqlite", create=False) as log:
        return log.read()


def text_of(updates: list[bytes], name: str = "notes") -> str:
    doc = Doc()
    for update in updates:
        doc.apply_update(update)
    return str(doc.get(name, type=Text))


async def test_an_edit_reaches_the_others_and_is_not_sent_back_to_its_writer(relay: RelayProcess) -> None:
    link = relay.link("trip-echo")
    async with RawPeer.connect(link) as writer, RawPeer.connect(link) as reader:
        await writer.synced()
        await reader.synced()
        for n in range(20):
            writer.text().insert(len(writer.text()), f"{n};")
        await reader.wait_until(lambda: str(reader.text()) == str(writer.text()), "the writer's edits")
        await writer.ack()
        assert not [message for message in writer.received if message.startswith(SYNC_UPDATE_PREFIX)]


async def test_an_edit_is_acknowledged_only_once_it_is_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = threading.Event()  # the relay's disk stalls until this is set
    append_many = UpdateLog.append_many

    def stalled_append_many(self: UpdateLog, updates: list[bytes]) -> int:
        disk.wait(30)
        return append_many(self, updates)

    monkeypatch.setattr(UpdateLog, "append_many", stalled_append_many)
    try:
        async with (
            Relay(RelayConfig(data_dir=tmp_path)) as relay,
            RawPeer.connect(link(relay, "trip-durable")) as writer,
            RawPeer.connect(link(relay, "trip-durable")) as reader,
        ):
            await writer.synced()
            await reader.synced()
            writer.text().insert(0, "kept")
            await reader.wait_until(lambda: str(reader.text()) == "kept", "the edit relayed before it is stored")
            with pytest.raises(AssertionError, match="timed out"):
                await writer.ack(timeout=0.5)
            disk.set()
            acknowledged = await writer.ack()
            assert writer.doc.get_update(acknowledged) == b"\x00\x00", "the ACK covers the edit"
    finally:
        disk.set()
    assert text_of(stored_rows(tmp_path, "trip-durable")) == "kept"


async def test_a_burst_of_edits_is_applied_in_batches_and_acknowledged_whole(relay: RelayProcess) -> None:
    link = relay.link("trip-burst")
    async with RawPeer.connect(link) as writer, RawPeer.connect(link) as reader:
        await writer.synced()
        await reader.synced()
        for n in range(500):  # one transaction each, sent as fast as the socket takes them
            writer.text().insert(len(writer.text()), f"{n};")
        acknowledged = await writer.ack()
        assert writer.doc.get_update(acknowledged) == b"\x00\x00", "the ACK covers the whole burst"
        await reader.wait_until(lambda: str(reader.text()) == str(writer.text()), "the whole burst at the reader")
        with UpdateLog(relay.data_dir / "rooms" / "trip-burst.sqlite", create=False) as log:
            assert log.row_count() < 250, "edits read together are stored together"


async def test_a_long_log_is_compacted_to_the_document_itself(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wayfarer.relay")
    async with (
        Relay(RelayConfig(data_dir=tmp_path, compact_after_rows=50)) as relay,
        RawPeer.connect(link(relay, "trip-long")) as writer,
    ):
        await writer.synced()
        for n in range(120):
            writer.text().insert(len(writer.text()), f" {n}")
            await writer.ack()  # one row each
        expected = str(writer.text())
    assert "compacted trip trip-long: 50 rows replaced by the document's encoding" in caplog.text
    rows = stored_rows(tmp_path, "trip-long")
    assert len(rows) == 1, "an unloaded room leaves its log as one row"
    assert text_of(rows) == expected


async def test_a_stored_update_waiting_for_a_missing_one_survives_compaction(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A trip file may hold an update whose dependency never reached it (the relay's
    document then holds it pending): compaction must keep it, so that it still counts
    once the missing update arrives."""
    caplog.set_level(logging.INFO, logger="wayfarer.relay")
    origin = Doc()
    updates: list[bytes] = []
    origin.observe(lambda event: updates.append(event.update))
    origin.get("notes", type=Text).insert(0, "hello")
    origin.get("notes", type=Text).insert(5, " world")
    first, second = updates
    rooms = tmp_path / "rooms"
    rooms.mkdir(parents=True)
    with UpdateLog(rooms / "trip-gap.sqlite") as log:
        log.append(second)
    config = RelayConfig(data_dir=tmp_path, compact_after_rows=20)
    async with Relay(config) as relay, RawPeer.connect(link(relay, "trip-gap")) as writer:
        await writer.synced()
        for n in range(40):
            writer.text("plan").insert(len(writer.text("plan")), f"{n};")
            await writer.ack()  # one row each
    assert "rows replaced by their merge" in caplog.text
    assert "replaced by the document's encoding" not in caplog.text
    late = Doc()
    late.apply_update(first)
    async with Relay(config) as relay:
        async with RawPeer.connect(link(relay, "trip-gap"), doc=late) as peer:
            await peer.synced()
            await peer.ack()
        async with RawPeer.connect(link(relay, "trip-gap")) as reader:
            await reader.synced()
            assert str(reader.text()) == "hello world"
            assert str(reader.text("plan")).startswith("0;1;2;")


async def test_updates_waiting_for_a_slow_reader_are_sent_merged_and_in_order() -> None:
    sent: list[bytes] = []
    reader_ready = anyio.Event()

    async def send(event: dict[str, object]) -> None:
        await reader_ready.wait()
        if event["type"] == "websocket.send":
            sent.append(event["bytes"])  # type: ignore[arg-type]

    async def receive() -> dict[str, object]:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    writer = Doc()
    updates: list[bytes] = []
    writer.observe(lambda event: updates.append(event.update))
    for n in range(7):
        writer.get("notes", type=Text).insert(n, str(n))
    presence = create_awareness_message(b"\x00")
    acknowledgement = ack_reply(1, writer.get_state())
    queued = [
        presence,
        *(create_update_message(update) for update in updates[1:6]),
        acknowledgement,
        create_update_message(updates[6]),
    ]

    async def serve(connection: PeerConnection) -> None:
        connection.enqueue(create_update_message(updates[0]))
        await anyio.sleep(0.05)  # the sender now waits for the reader with the first update
        for message in queued:
            connection.enqueue(message)
        reader_ready.set()
        with anyio.fail_after(5):
            while len(sent) < 5:
                await anyio.sleep(0.01)

    connection = PeerConnection(receive, send, "trip-slow", TokenClaims("trip-slow", "editor"), 1, 1 << 20, 1 << 20)
    await connection.run(serve)
    assert sent[:2] == [create_update_message(updates[0]), presence]
    assert sent[2].startswith(SYNC_UPDATE_PREFIX), "the five updates that waited, as one"
    assert sent[3:] == [acknowledgement, create_update_message(updates[6])]
    reader = Doc()
    for message in [sent[0], sent[2], sent[4]]:
        reader.apply_update(read_message(message[2:]))
    assert str(reader.get("notes", type=Text)) == "0123456"

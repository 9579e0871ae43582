"""Issue 8, items 1 and 2: peers opening a cold trip together all sync, and the room is
loaded from the store exactly once; peers that write and leave at once hurt nobody.

Against pycrdt-websocket as shipped (`WAYFARER_RELAY_STOCK=room-loading` or
`=connection`), these fail: cold-room peers hang or get an empty trip, and
write-and-leave peers crash the server's task group.
"""

from __future__ import annotations

import asyncio
import base64
import os

import anyio
import pytest
from pycrdt import Doc, Text, create_sync_message, create_update_message
from relay_client import RawPeer
from relay_process import RelayProcess

from wayfarer.sync.updatelog import UpdateLog

pytestmark = pytest.mark.anyio

# "Synced within a second" with a wide margin for a loaded 2-core machine: a hung peer
# (the library's behaviour) waits 30 s for its client to give up, far past this.
SYNC_DEADLINE = 5.0


async def store_trip(relay: RelayProcess, trip_id: str, text: str) -> None:
    async with RawPeer.connect(relay.link(trip_id)) as writer:
        await writer.synced()
        writer.text().insert(0, text)
        await writer.ack()


def seed_cold_trip(relay: RelayProcess, trip_id: str, text: str) -> None:
    """Put a trip in the relay's store without the relay loading it (one file per trip)."""
    doc = Doc()
    doc.get("notes", type=Text).insert(0, text)
    with UpdateLog(relay.data_dir / "rooms" / f"{trip_id}.sqlite") as log:
        log.append(doc.get_update())


async def open_together(relay: RelayProcess, trips: list[str], peers_per_trip: int) -> dict[str, list[str]]:
    """Connect every peer at the same moment; the text each one saw once synced
    ("(not synced)" for a peer that heard nothing by the deadline)."""
    seen: dict[str, list[str]] = {trip: [] for trip in trips}
    start = anyio.Event()

    async def one_peer(trip: str) -> None:
        await start.wait()
        async with RawPeer.connect(relay.link(trip)) as peer:
            try:
                await peer.synced(timeout=SYNC_DEADLINE)
            except TimeoutError:
                seen[trip].append("(not synced)")
                return
            seen[trip].append(str(peer.text()))

    async with anyio.create_task_group() as tg:
        for trip in trips:
            for _ in range(peers_per_trip):
                tg.start_soon(one_peer, trip)
        await anyio.sleep(0.1)
        start.set()
    return seen


async def test_ten_peers_opening_a_cold_trip_together_all_sync(relay: RelayProcess) -> None:
    seed_cold_trip(relay, "trip-cold", "stored plan")
    seen = await open_together(relay, ["trip-cold"], 10)
    assert seen["trip-cold"] == ["stored plan"] * 10
    assert relay.count_log(r"loaded trip trip-cold from its store") == 1


async def test_ten_cold_trips_with_ten_peers_each_all_sync_and_load_once(relay: RelayProcess) -> None:
    trips = [f"trip-many-{n}" for n in range(10)]
    for trip in trips:
        seed_cold_trip(relay, trip, f"plan of {trip}")
    seen = await open_together(relay, trips, 10)
    synced = sum(text == f"plan of {trip}" for trip in trips for text in seen[trip])
    assert synced == 100, f"only {synced} of 100 peers synced the stored trip: {seen}"
    for trip in trips:
        assert relay.count_log(rf"loaded trip {trip} from its store") == 1


async def write_and_leave(relay: RelayProcess, trip_id: str, number: int) -> None:
    """Sync, send one update, close the socket at once without waiting for anything."""
    edit = Doc()
    edit.get("notes", type=Text).insert(0, f"{number};")
    async with RawPeer.connect(relay.link(trip_id)) as peer:
        await peer.synced()
        await peer.websocket.send(create_update_message(edit.get_update()))
        await peer.websocket.close()


def numbers_in(peer: RawPeer) -> set[int]:
    return {int(number) for number in str(peer.text()).split(";") if number}


async def raw_handshake(relay: RelayProcess, trip_id: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A websocket opened by hand on a plain TCP socket, so frames can be cut short."""
    reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
    key = base64.b64encode(os.urandom(16)).decode()
    path = relay.link(trip_id).split(f":{relay.port}", 1)[1]
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101"), response
    return reader, writer


def masked_frame(payload: bytes) -> bytes:
    """A client's binary frame (payload < 126 bytes), masked with a zero key."""
    return bytes([0x82, 0x80 | len(payload)]) + b"\x00\x00\x00\x00" + payload


async def test_fifty_peers_that_write_and_leave_at_once_lose_nothing(relay: RelayProcess) -> None:
    async with RawPeer.connect(relay.link("trip-leave")) as watcher:
        await watcher.synced()
        for number in range(50):
            await write_and_leave(relay, "trip-leave", number)
        # Closing in the middle of a frame: a header announcing 100 bytes, then 10, then EOF.
        reader, writer = await raw_handshake(relay, "trip-leave")
        writer.write(bytes([0x82, 0x80 | 100]) + b"\x00\x00\x00\x00" + b"\x00\x02" + b"x" * 8)
        writer.close()
        # Closing during the initial sync: send step 1 and leave before the answer.
        reader, writer = await raw_handshake(relay, "trip-leave")
        writer.write(masked_frame(create_sync_message(Doc())))
        writer.close()
        await watcher.wait_until(lambda: numbers_in(watcher) == set(range(50)), "all 50 updates at the watcher")
        await watcher.ack()
    assert relay.running
    relay.restart()
    async with RawPeer.connect(relay.link("trip-leave")) as reader_peer:
        await reader_peer.synced()
        assert numbers_in(reader_peer) == set(range(50))
    for failure in ("Traceback", "WebsocketServer exception", "Exception in ASGI application"):
        assert failure not in relay.logs()


async def test_peers_leaving_a_trip_that_is_still_loading_hurt_nobody(relay: RelayProcess) -> None:
    seed_cold_trip(relay, "trip-early", "kept")
    for _ in range(5):
        reader, writer = await raw_handshake(relay, "trip-early")
        writer.close()
    async with RawPeer.connect(relay.link("trip-early")) as peer:
        await peer.synced(timeout=SYNC_DEADLINE)
        assert str(peer.text()) == "kept"
    assert "Traceback" not in relay.logs()


async def test_an_idle_room_is_unloaded_and_loads_again_with_everything(relay_factory) -> None:
    relay = relay_factory(idle_seconds=0.5)
    await store_trip(relay, "trip-idle", "survives unloading")
    relay.wait_for_log("unloaded trip trip-idle; everything it received is stored")
    async with RawPeer.connect(relay.link("trip-idle")) as peer:
        await peer.synced()
        assert str(peer.text()) == "survives unloading"
    assert relay.count_log("loaded trip trip-idle from its store") == 2


async def test_a_growing_log_is_compacted_without_losing_anything(relay: RelayProcess) -> None:
    async with RawPeer.connect(relay.link("trip-long")) as writer:
        await writer.synced()
        for n in range(600):
            writer.text().insert(len(writer.text()), f"{n},")
            await writer.ack()  # one row each: edits that arrive together are stored as one
        expected = str(writer.text())
    relay.wait_for_log("compacted trip trip-long")
    relay.kill()
    relay.restart()
    async with RawPeer.connect(relay.link("trip-long")) as reader:
        await reader.synced()
        assert str(reader.text()) == expected

"""Issue 8, item 6 (relay side): a change the relay failed to store is never acknowledged.

The relay's disk is made to fail for real: the relay process may not grow any file past
a limit (RLIMIT_FSIZE), so SQLite's writes fail once the trip outgrows it. Against the
behaviour as shipped (`WAYFARER_RELAY_STOCK=durable-ack`: acknowledge what is in memory),
the peer is told that changes are safe which the relay then loses.
"""

from __future__ import annotations

import os

import pytest
from relay_client import RawPeer
from relay_process import RelayProcess

from wayfarer.sync.relay import CLOSE_STORE_FAILED

pytestmark = pytest.mark.anyio

FILE_SIZE_LIMIT = 256 * 1024
CHUNK = 8 * 1024


async def test_a_change_the_store_could_not_keep_is_not_acknowledged(relay_factory) -> None:
    relay: RelayProcess = relay_factory(file_size_limit=FILE_SIZE_LIMIT)
    acknowledged = ""
    async with RawPeer.connect(relay.link("trip-disk-full")) as writer:
        await writer.synced()
        for n in range(4 * FILE_SIZE_LIMIT // CHUNK):
            writer.text().insert(len(acknowledged), f"[{n}:{os.urandom(CHUNK // 2).hex()}]")
            try:
                await writer.ack()
            except ConnectionError:
                break
            acknowledged = str(writer.text())
        else:
            pytest.fail("the relay acknowledged more than its disk could hold")
        assert writer.close_code == CLOSE_STORE_FAILED
    assert acknowledged, "the first changes fit on disk and must have been acknowledged"
    relay.wait_for_log("could not store an update of trip trip-disk-full")
    relay.file_size_limit = None
    relay.restart()
    async with RawPeer.connect(relay.link("trip-disk-full")) as reader:
        await reader.synced()
        assert str(reader.text()).startswith(acknowledged), "every acknowledged change survives"


async def test_a_damaged_trip_file_is_refused_loudly_and_other_trips_carry_on(relay: RelayProcess) -> None:
    rooms = relay.data_dir / "rooms"
    rooms.mkdir(parents=True, exist_ok=True)
    (rooms / "trip-damaged.sqlite").write_bytes(b"this is not a trip" * 100)
    async with RawPeer.connect(relay.link("trip-damaged")) as peer:
        assert await peer.closed() == CLOSE_STORE_FAILED
        assert str(peer.text()) == ""
    relay.wait_for_log("could not load trip trip-damaged: .*the file is damaged")
    assert (rooms / "trip-damaged.sqlite").read_bytes() == b"this is not a trip" * 100
    async with RawPeer.connect(relay.link("trip-healthy")) as peer:
        await peer.synced()
        peer.text().insert(0, "fine")
        await peer.ack()

"""Issue 8, item 5: a reader that never reads costs bounded memory, is closed with
CLOSE_TRY_AGAIN, and everyone else keeps receiving.

Against pycrdt-websocket as shipped (`WAYFARER_RELAY_STOCK=connection`) the stuck reader
is never closed: the relay keeps one task and one message per update for it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import websockets
from pycrdt import Doc, Map, create_sync_message
from relay_client import RawPeer
from relay_process import RelayProcess

from wayfarer.sync.protocol import CLOSE_TRY_AGAIN

pytestmark = pytest.mark.anyio

UPDATES = 10_000
UPDATE_BYTES = 4096  # 40 MB streamed in all, many times what loopback socket buffers absorb
KEYS = 64
# Presence is relayed, never stored, so the relay's memory growth during a presence flood
# is what it buffers: with no bound, the stuck reader's share of the whole 40 MB.
MEMORY_BOUND = 24 * 1024 * 1024
STUCK_CLOSED = r"closing peer #\d+ \(editor\) of trip {trip} with code 1013: too slow"


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for the relay")


def tiny_receive_buffer_socket(port: int) -> socket.socket:
    """A client socket that buffers almost nothing, so not reading stalls the relay quickly."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


@asynccontextmanager
async def stuck_reader(relay: RelayProcess, link: str) -> AsyncIterator[websockets.ClientConnection]:
    """A peer that joins properly and then never reads again."""
    sock = tiny_receive_buffer_socket(relay.port)
    async with websockets.connect(link, sock=sock, max_queue=1, compression=None) as stuck:
        await stuck.send(create_sync_message(Doc()))
        yield stuck


async def assert_closed_with_try_again(stuck: websockets.ClientConnection) -> None:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await stuck.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_TRY_AGAIN


async def test_a_reader_that_never_reads_is_closed_while_others_get_every_update(relay_factory) -> None:
    relay: RelayProcess = relay_factory(send_queue_mib=1)
    link = relay.link("trip-stream")
    async with RawPeer.connect(link) as writer, RawPeer.connect(link) as reader, stuck_reader(relay, link) as stuck:
        await writer.synced()
        await reader.synced()
        ticks = writer.doc.get("ticks", type=Map)
        for n in range(UPDATES):
            # Over KEYS keys, not one: the relay applies the edits of a burst in one
            # transaction, where overwrites of a single key would leave only the last.
            ticks[f"k{n % KEYS}"] = f"{n}:" + os.urandom(UPDATE_BYTES // 2).hex()
        await relay.await_log(STUCK_CLOSED.format(trip="trip-stream"), timeout=60)
        latest = reader.doc.get("ticks", type=Map)
        await reader.wait_until(
            lambda: str(latest.get(f"k{(UPDATES - 1) % KEYS}", "")).startswith(f"{UPDATES - 1}:"),
            "every update at the reader",
            60,
        )
        await writer.ack(timeout=60)
        await assert_closed_with_try_again(stuck)


async def test_what_a_stuck_reader_costs_the_relay_is_bounded(relay_factory) -> None:
    relay: RelayProcess = relay_factory(send_queue_mib=1)
    link = relay.link("trip-flood")
    async with RawPeer.connect(link) as talker, RawPeer.connect(link) as listener, stuck_reader(relay, link) as stuck:
        await talker.synced()
        await listener.synced()
        rss_before = resident_bytes(relay.pid)
        client_id = talker.doc.client_id
        for clock in range(1, UPDATES + 1):
            state = {"user": {"id": "talker"}, "blob": os.urandom(UPDATE_BYTES // 2).hex()}
            talker.send_awareness(client_id, clock, state)
        await relay.await_log(STUCK_CLOSED.format(trip="trip-flood"), timeout=60)
        await listener.wait_until(
            lambda: listener.awareness.meta.get(client_id, {}).get("clock") == UPDATES, "the last presence update", 60
        )
        rss_growth = resident_bytes(relay.pid) - rss_before
        await assert_closed_with_try_again(stuck)
    print(f"the relay grew by {rss_growth / 1e6:.0f} MB")
    assert rss_growth < MEMORY_BOUND, f"the relay grew by {rss_growth / 1e6:.0f} MB"


async def test_a_trip_larger_than_the_send_queue_still_reaches_a_newcomer(relay_factory) -> None:
    relay: RelayProcess = relay_factory(send_queue_mib=0.25)
    link = relay.link("trip-large")
    async with RawPeer.connect(link) as writer:
        await writer.synced()
        writer.text().insert(0, os.urandom(1024 * 1024).hex())  # one 2 MB update
        await writer.ack()
        expected = str(writer.text())
        async with RawPeer.connect(link) as newcomer:
            await newcomer.synced()
            assert str(newcomer.text()) == expected

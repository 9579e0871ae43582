"""A peer that sends too much or sends garbage is closed; everyone else carries on."""

from __future__ import annotations

import os
import random

import pytest
from pycrdt import write_var_uint
from relay_client import RawPeer
from relay_process import RelayProcess

from wayfarer.sync.protocol import CLOSE_DOC_TOO_BIG, CLOSE_PROTOCOL, CLOSE_TOO_BIG

pytestmark = pytest.mark.anyio

GARBAGE = [
    b"",  # an empty frame
    b"\xff\xff\xff",  # a number that never ends
    b"\x00\x07\x01a",  # an unknown sync step
    b"\x00\x02\x10abc",  # a sync update announcing more bytes than it holds
    b"\x00\x02\x03abc",  # a well-framed update that is not a Yjs update
    b"\x00\x00\x03\xff\xff\xff",  # sync step 1 with a state vector that is not one
    b"\x01\x05\x01\x02",  # awareness framing that lies about its length
]


async def assert_others_unaffected(relay: RelayProcess, trip: str) -> None:
    async with RawPeer.connect(relay.link(trip)) as alice, RawPeer.connect(relay.link(trip)) as bob:
        await alice.synced()
        await bob.synced()
        alice.text().insert(0, "still here")
        await bob.wait_until(lambda: "still here" in str(bob.text()), "a normal edit after the garbage")


async def test_a_message_over_the_size_limit_closes_only_that_connection(relay_factory) -> None:
    relay = relay_factory(max_message_mib=0.0625)  # 64 KiB
    async with RawPeer.connect(relay.link("trip-big")) as bystander:
        await bystander.synced()
        async with RawPeer.connect(relay.link("trip-big")) as sender:
            await sender.synced()
            sender.text().insert(0, "x" * 100_000)
            assert await sender.closed() == CLOSE_TOO_BIG
        bystander.text().insert(0, "small")
        await bystander.ack()
    relay.wait_for_log(r"closed peer #\d+ \(editor\) of trip trip-big with code 1009: sent a message over 65536 bytes")
    await assert_others_unaffected(relay, "trip-big")


async def test_an_edit_past_the_document_limit_is_refused(relay_factory) -> None:
    relay = relay_factory(max_document_mib=0.03)  # ~31 KB
    async with RawPeer.connect(relay.link("trip-full")) as writer:
        await writer.synced()
        for _ in range(5):
            writer.text().insert(0, os.urandom(5_000).hex())  # 10 KB a time
        assert await writer.closed() == CLOSE_DOC_TOO_BIG
    relay.wait_for_log("trip-full with code 4009: its edit would grow the trip")
    async with RawPeer.connect(relay.link("trip-full")) as reader:
        await reader.synced()
        assert 0 < len(str(reader.text())) <= 31_457


@pytest.mark.parametrize("garbage", GARBAGE, ids=lambda frame: frame.hex() or "empty")
async def test_a_malformed_frame_closes_only_that_connection(relay: RelayProcess, garbage: bytes) -> None:
    async with RawPeer.connect(relay.link("trip-garbage")) as bystander:
        await bystander.synced()
        async with RawPeer.connect(relay.link("trip-garbage")) as sender:
            await sender.synced()
            await sender.send(garbage)
            assert await sender.closed() == CLOSE_PROTOCOL
        bystander.text().insert(0, "unharmed")
        await bystander.ack()
    relay.wait_for_log(r"trip-garbage with code 1002: sent a (malformed frame|message the relay could not apply)")
    await assert_others_unaffected(relay, "trip-garbage")


async def test_random_bytes_close_the_connection_and_are_logged(relay: RelayProcess) -> None:
    for seed in range(20):
        noise = random.Random(seed)
        frame = write_var_uint(seed % 4) + noise.randbytes(noise.randrange(1, 200))
        async with RawPeer.connect(relay.link("trip-noise"), handshake=False) as sender:
            await sender.send(frame)
            assert await sender.closed() == CLOSE_PROTOCOL
    await relay.await_log("trip-noise with code 1002", count=20)  # the log reaches us after the close
    assert relay.count_log("trip-noise with code 1002") == 20
    await assert_others_unaffected(relay, "trip-noise")


async def test_a_text_frame_closes_only_that_connection(relay: RelayProcess) -> None:
    async with RawPeer.connect(relay.link("trip-text")) as sender:
        await sender.synced()
        await sender.send("hello")
        assert await sender.closed() == CLOSE_PROTOCOL
    relay.wait_for_log("trip-text with code 1002: sent a text frame")
    await assert_others_unaffected(relay, "trip-text")

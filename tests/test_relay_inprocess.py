"""The relay embedded in the caller's event loop (as the desktop app runs it)."""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.abc
import pytest
from relay_client import RawPeer

from wayfarer.sync.relay import Relay, RelayConfig
from wayfarer.sync.tokens import make_token

pytestmark = pytest.mark.anyio


def link(relay: Relay, trip_id: str) -> str:
    return f"{relay.url}/{trip_id}?token={make_token(relay.key, trip_id, 'editor')}"


async def test_an_embedded_relay_serves_and_stores_everything_before_its_block_ends(tmp_path: Path) -> None:
    config = RelayConfig(data_dir=tmp_path / "relay")
    async with Relay(config) as relay:
        assert relay.url == f"ws://127.0.0.1:{relay.port}" and relay.port > 0
        async with RawPeer.connect(link(relay, "trip-embedded")) as peer:
            await peer.synced()
            peer.text().insert(0, "embedded")
            await peer.ack()
        key = relay.key
    assert (tmp_path / "relay" / "relay.key").read_text().strip() == key
    async with Relay(config) as relay:
        async with RawPeer.connect(link(relay, "trip-embedded")) as peer:
            await peer.synced()
            assert str(peer.text()) == "embedded"
        assert relay.server is not None and relay.server.loads == 1


async def test_leaving_the_block_closes_every_peer_as_a_restart(tmp_path: Path) -> None:
    stop = anyio.Event()

    async def run_relay(*, task_status: anyio.abc.TaskStatus[Relay]) -> None:
        async with Relay(RelayConfig(data_dir=tmp_path)) as relay:
            task_status.started(relay)
            await stop.wait()

    async with anyio.create_task_group() as tg:
        relay = await tg.start(run_relay)
        async with RawPeer.connect(link(relay, "trip-bye")) as peer:
            await peer.synced()
            stop.set()
            assert await peer.closed() == 1012  # "service restart": y-websocket reconnects

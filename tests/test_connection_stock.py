"""`RelayConnection` against a plain pycrdt-websocket server, which knows nothing of
Wayfarer's ACK message: live sync still works, but nothing is ever confirmed as stored,
and `flush` must say so instead of pretending."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import anyio
import pytest
import uvicorn
from pycrdt import Doc
from pycrdt.websocket import ASGIServer, WebsocketServer

from wayfarer.sync.connection import RelayConnection, SyncTimeout
from wayfarer.sync.links import TripLink
from wayfarer.sync.tokens import make_token
from wayfarer.trip import Trip

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def stock_server_url() -> AsyncIterator[str]:
    """A pycrdt-websocket server as shipped (auto_clean_rooms off: see NOTES.md)."""
    port = _free_port()
    async with WebsocketServer(auto_clean_rooms=False) as rooms:
        config = uvicorn.Config(ASGIServer(rooms), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve)
            with anyio.fail_after(10):
                while not server.started:
                    await anyio.sleep(0.01)
            yield f"ws://127.0.0.1:{port}"
            server.should_exit = True


def _link(url: str) -> TripLink:
    return TripLink(url, "stock-trip", make_token("any key: this server checks nothing", "stock-trip", "editor"))


async def test_flush_times_out_readably_when_the_server_never_confirms(stock_server_url: str) -> None:
    writer = Trip(Doc())
    writer.create("Lisbon")
    reader = Trip(Doc())
    async with RelayConnection(writer.doc, _link(stock_server_url)) as connection:
        await connection.wait_synced(10)
        stop_id = writer.add_stop("Belém Tower", 38.6916, -9.216)
        # The stock server cannot be trusted with two peers opening a cold room at once
        # (NOTES.md), so the reader joins a room that is already running.
        async with RelayConnection(reader.doc, _link(stock_server_url)) as reading:
            await reading.wait_synced(10)
            with anyio.fail_after(10):
                while reader.snapshot().stop(stop_id) is None:
                    await anyio.sleep(0.02)
        with pytest.raises(SyncTimeout, match="not confirmed as stored.*is it a Wayfarer relay"):
            await connection.flush(0.5)
        assert connection.status.state == "synced"
        assert connection.status.unacked == 2  # the trip created before connecting, and the stop

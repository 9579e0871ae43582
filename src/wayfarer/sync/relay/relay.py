"""`Relay`: the whole relay (rooms, token gate, websocket server) as one `async with`."""

from __future__ import annotations

import logging
import socket
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self

import anyio
import uvicorn

from wayfarer.sync.relay.app import RelayApp
from wayfarer.sync.relay.auth import TokenGate
from wayfarer.sync.relay.config import RelayConfig
from wayfarer.sync.relay.server import TripServer
from wayfarer.sync.tokens import load_or_create_key

log = logging.getLogger("wayfarer.relay")


class Relay:
    """A running relay: `async with Relay(config) as relay:` serves until the block ends.

    It runs inside the caller's asyncio event loop (the desktop app embeds it in its Qt
    loop through qasync), installs no signal handlers (the `wayfarer relay` command
    handles SIGTERM/SIGINT itself), and on exit closes every connection, writes out and
    closes every trip's store, then stops. uvicorn is used with websockets' sans-I/O
    implementation, which NOTES.md measured several times faster than hypercorn.
    """

    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self.key = config.key or load_or_create_key(config.data_dir)
        self._stack = AsyncExitStack()
        self._socket: socket.socket | None = None
        self._http: uvicorn.Server | None = None
        self.server: TripServer | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the relay is not running")
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        """The address peers use, e.g. `ws://127.0.0.1:8765` (trip links add `/<trip>?token=`)."""
        host = self.config.host
        return f"ws://[{host}]:{self.port}" if ":" in host else f"ws://{host}:{self.port}"

    async def __aenter__(self) -> Self:
        self.config.rooms_dir.mkdir(parents=True, exist_ok=True)
        async with AsyncExitStack() as stack:
            self._socket = stack.enter_context(_listening_socket(self.config.host, self.config.port))
            self.server = await stack.enter_async_context(self._make_server())
            self._http = _http_server(self.config, TokenGate(RelayApp(self.server, self.config), self.key))
            await self._http.startup(sockets=[self._socket])
            tg = await stack.enter_async_context(anyio.create_task_group())
            tg.start_soon(self._http.main_loop)
            stack.push_async_callback(self._stop_http)
            self._stack = stack.pop_all()
        log.info("relay listening on %s, keeping trips in %s", self.url, self.where_trips_live())
        return self

    def where_trips_live(self) -> str:
        """Where this relay keeps trips, for its start-up line (no password)."""
        return str(self.config.rooms_dir)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)
        log.info("relay stopped; every trip is stored")

    def _make_server(self) -> TripServer:
        """The rooms this relay serves (a subclass hook: the cluster relay's rooms use Redis)."""
        return TripServer(self.config)

    async def _stop_http(self) -> None:
        """Stop accepting, close every connection (code 1012), wait for their handlers."""
        assert self._http is not None
        self._http.should_exit = True
        with anyio.CancelScope(shield=True):
            await self._http.shutdown(sockets=[self._socket] if self._socket else None)


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on host:port; OSError naming the address if that is impossible."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        # create_server sets SO_REUSEADDR, so a restarted relay gets its old port back at once.
        sock = socket.create_server((host, port), family=family)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {host}:{port} ({exc.strerror or exc})") from exc
    sock.setblocking(False)
    return sock


def _http_server(config: RelayConfig, app: TokenGate) -> uvicorn.Server:
    http_config = uvicorn.Config(
        app,
        lifespan="off",
        ws="websockets-sansio",
        ws_max_size=config.max_message_bytes,
        ws_per_message_deflate=config.per_message_deflate,
        timeout_graceful_shutdown=config.shutdown_grace_seconds,
        log_config=None,
        access_log=False,
    )
    http_config.load()
    server = uvicorn.Server(http_config)
    server.lifespan = http_config.lifespan_class(http_config)
    # uvicorn logs every accepted websocket at INFO; the relay logs its own line per peer.
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    return server

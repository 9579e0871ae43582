"""`RelayApp`: the ASGI application that turns each accepted websocket into a room peer."""

from __future__ import annotations

import itertools
import logging
from typing import Any

from pycrdt.websocket import ASGIServer

from wayfarer.sync.relay.auth import CLAIMS_SCOPE_KEY
from wayfarer.sync.relay.config import Fix, RelayConfig
from wayfarer.sync.relay.peer import ASGIReceive, ASGISend, PeerConnection
from wayfarer.sync.relay.server import TripServer

log = logging.getLogger("wayfarer.relay")

NOT_FOUND = b"Not found: this is a Wayfarer relay; open a trip link in Wayfarer.\n"


class RelayApp:
    """Serves each websocket (already admitted by `TokenGate`) as a `PeerConnection` in
    its trip's room, logging one line when it joins and one when it leaves.

    Replaces pycrdt-websocket's `ASGIServer`, which hands rooms a channel that raises
    `KeyError: 'bytes'` on a text frame and blocks the room on a slow peer, and answers a
    plain HTTP request with nothing (uvicorn then logs an error). Any HTTP request gets
    a 404 that lists nothing, so trip ids cannot be discovered.
    """

    def __init__(self, server: TripServer, config: RelayConfig) -> None:
        self._server = server
        self._config = config
        self._numbers = itertools.count(1)
        self._stock = ASGIServer(server)

    async def __call__(self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] == "http":
            await _not_found(send)
            return
        if scope["type"] != "websocket":
            return
        claims = scope[CLAIMS_SCOPE_KEY]
        client = scope.get("client") or ("?", 0)
        if not self._config.uses_fix(Fix.CONNECTION):
            log.info("peer (%s) of trip %s joined from %s:%s", claims.role, claims.trip_id, *client)
            await self._stock(scope, receive, send)
            return
        event = await receive()
        if event["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        connection = PeerConnection(
            receive,
            send,
            claims.trip_id,
            claims,
            next(self._numbers),
            send_queue_bytes=self._config.send_queue_bytes,
            max_message_bytes=self._config.max_message_bytes,
        )
        log.info("%s joined from %s:%s", connection, *client)
        try:
            await connection.run(self._server.serve)
        finally:
            log.info("%s left (code %s%s)", connection, connection.close_code, _reason(connection.close_reason))


def _reason(reason: str) -> str:
    return f": {reason}" if reason else ""


async def _not_found(send: ASGISend) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(NOT_FOUND)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": NOT_FOUND})

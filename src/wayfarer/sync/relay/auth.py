"""`TokenGate`: no websocket is accepted without a token for its trip."""

from __future__ import annotations

import logging
from typing import Any, Final
from urllib.parse import parse_qs

from wayfarer.sync.links import is_valid_trip_id
from wayfarer.sync.relay.peer import ASGIReceive, ASGISend
from wayfarer.sync.tokens import TokenError, verify_token

ASGIApp = Any
# Where the gate leaves the verified `TokenClaims` for the application.
CLAIMS_SCOPE_KEY: Final = "wayfarer.claims"

log = logging.getLogger("wayfarer.relay")


class TokenGate:
    """ASGI middleware: refuses a websocket (HTTP 403, close 1008) before accepting it
    unless `?token=` is signed by the relay key for the trip named by the path and has
    not expired.

    Prevents: pycrdt-websocket has no auth hook in `WebsocketServer`, and rejecting in
    `ASGIServer(on_connect=...)` answers HTTP 500 and logs an ASGI error. Refusing here
    sends no document byte to a stranger. The token is removed from the scope before
    anything downstream can log the URL, and the gate's own log line names the trip and
    the reason, never the token.
    """

    def __init__(self, app: ASGIApp, key: str) -> None:
        self._app = app
        self._key = key

    async def __call__(self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] != "websocket":
            await self._app(scope, receive, send)
            return
        tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
        scope["query_string"] = b""
        trip_id = scope["path"].strip("/")
        try:
            if not is_valid_trip_id(trip_id):
                raise TokenError("the address names no valid trip")
            if len(tokens) != 1:
                raise TokenError("no token (expected ?token=...)")
            claims = verify_token(self._key, tokens[0], trip_id)
        except TokenError as exc:
            client = scope.get("client") or ("?", 0)
            shown = trip_id if is_valid_trip_id(trip_id) else "(none)"
            log.warning("refused a peer from %s:%s for trip %s: %s", client[0], client[1], shown, exc)
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})
            return
        scope[CLAIMS_SCOPE_KEY] = claims
        await self._app(scope, receive, send)

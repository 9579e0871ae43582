"""Trip links: `ws://H:P/<trip-id>?token=<token>`, the one string a person shares.

A link is a plain websocket URL on purpose: a JavaScript `y-websocket` client joins with
`new WebsocketProvider("ws://H:P", tripId, doc, {params: {token}})` and ends up on exactly
this URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, quote, urlsplit

from wayfarer.sync.tokens import TokenError, decode_claims

SCHEMES: Final = ("ws", "wss")
TRIP_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")


def is_valid_trip_id(trip_id: str) -> bool:
    """Trip ids are URL-path-safe names, so a link never needs escaping."""
    return TRIP_ID_PATTERN.fullmatch(trip_id) is not None


@dataclass(frozen=True)
class TripLink:
    """A relay address, a trip id and a token for that trip."""

    relay_url: str
    trip_id: str
    token: str

    @classmethod
    def parse(cls, text: str) -> TripLink:
        """The link in `text`; a ValueError says what is wrong with it."""
        text = text.strip()
        parts = urlsplit(text)
        if parts.scheme not in SCHEMES or not parts.netloc:
            raise ValueError(f"not a trip link (expected ws://HOST:PORT/TRIP?token=...): {text!r}")
        trip_id = parts.path.strip("/")
        if not is_valid_trip_id(trip_id):
            raise ValueError(f"the trip link has no valid trip id after the address: {text!r}")
        tokens = parse_qs(parts.query).get("token", [])
        if len(tokens) != 1 or not tokens[0]:
            raise ValueError("the trip link has no token (expected ...?token=...)")
        return cls(relay_url=f"{parts.scheme}://{parts.netloc}", trip_id=trip_id, token=tokens[0])

    def __str__(self) -> str:
        return f"{self.relay_url.rstrip('/')}/{self.trip_id}?token={quote(self.token, safe='')}"

    @property
    def role(self) -> str:
        """"editor" or "viewer" as the token states it (unverified: for the UI, not for access)."""
        try:
            return decode_claims(self.token).role
        except TokenError as exc:
            raise ValueError(f"the trip link's token is unreadable: {exc}") from exc

"""Trip tokens: who may join which trip, as what, until when — signed by the relay key.

A token is `<payload>.<signature>`, both base64url without padding, so it can sit in a
URL query (`?token=...`) unescaped. The payload is compact JSON
`{"v": 1, "trip": ID, "role": "editor"|"viewer", "exp": UNIX_TIME}` (`exp` only when the
token expires); the signature is HMAC-SHA256 of the payload's base64 text under the
relay key. The relay needs no database of tokens: anyone holding the key can mint one,
and the relay checks one with the key alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROLES: Final = ("editor", "viewer")
TOKEN_VERSION: Final = 1
KEY_FILE_NAME: Final = "relay.key"


class TokenError(Exception):
    """A token was refused; the message says why in words a person can act on."""


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token grants."""

    trip_id: str
    role: str
    expires_at: float | None = None

    @property
    def can_edit(self) -> bool:
        return self.role == "editor"


def make_token(key: str, trip_id: str, role: str, expires_at: float | None = None) -> str:
    """A token granting `role` on `trip_id`, valid until `expires_at` (unix time) if given."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not trip_id:
        raise ValueError("a token needs a trip id")
    claims: dict[str, object] = {"v": TOKEN_VERSION, "trip": trip_id, "role": role}
    if expires_at is not None:
        claims["exp"] = expires_at
    payload = _b64encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_sign(key, payload)}"


def verify_token(key: str, token: str, trip_id: str, now: float | None = None) -> TokenClaims:
    """The claims of `token` if the relay key signed it for `trip_id` and it has not expired."""
    payload, _, signature = token.partition(".")
    if not payload or not signature:
        raise TokenError("the token is malformed (expected two parts separated by '.')")
    if not hmac.compare_digest(signature.encode(), _sign(key, payload).encode()):
        raise TokenError("the token's signature does not match this relay's key")
    claims = decode_claims(token)
    if claims.trip_id != trip_id:
        raise TokenError("the token was issued for another trip")
    if claims.expires_at is not None and claims.expires_at <= (time.time() if now is None else now):
        raise TokenError("the token has expired; ask the trip's owner for a new link")
    return claims


def decode_claims(token: str) -> TokenClaims:
    """The claims a token states, WITHOUT checking its signature (for display only)."""
    payload = token.partition(".")[0]
    try:
        raw = json.loads(_b64decode(payload))
    except (ValueError, binascii.Error) as exc:
        raise TokenError("the token is malformed (its payload is not readable)") from exc
    if not isinstance(raw, dict) or raw.get("v") != TOKEN_VERSION:
        raise TokenError("the token is malformed or from an incompatible Wayfarer version")
    trip_id, role, expires_at = raw.get("trip"), raw.get("role"), raw.get("exp")
    if not isinstance(trip_id, str) or role not in ROLES:
        raise TokenError("the token is malformed (no trip id or an unknown role)")
    if expires_at is not None and not isinstance(expires_at, (int, float)):
        raise TokenError("the token is malformed (its expiry is not a time)")
    return TokenClaims(trip_id=trip_id, role=str(role), expires_at=expires_at)


def load_or_create_key(data_dir: Path) -> str:
    """The relay key kept in `data_dir/relay.key`, made (readable by the owner only) on first use."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="utf-8").strip()
        if not key:
            raise TokenError(f"{path} is empty: delete it to make a new key (old links stop working)")
        return key
    # Hex, not base64: a key starting with "-" would be read as an option by `--key K`.
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(key + "\n")
        file.flush()
        os.fsync(file.fileno())
    return key


def _sign(key: str, payload: str) -> str:
    return _b64encode(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest())


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

"""Trip tokens and links: signed, bound to one trip and role, readable by a person when refused."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wayfarer.sync.links import TripLink
from wayfarer.sync.tokens import TokenClaims, TokenError, load_or_create_key, make_token, verify_token

KEY = "relay-key"
trip_ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)


@given(trip_id=trip_ids, role=st.sampled_from(["editor", "viewer"]))
def test_a_token_verifies_for_its_own_trip_with_its_role(trip_id: str, role: str) -> None:
    assert verify_token(KEY, make_token(KEY, trip_id, role), trip_id) == TokenClaims(trip_id, role)


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(TokenError, match="signature does not match"):
        verify_token(KEY, make_token("another-key", "trip-1", "editor"), "trip-1")


def test_a_token_for_another_trip_is_refused() -> None:
    with pytest.raises(TokenError, match="another trip"):
        verify_token(KEY, make_token(KEY, "trip-1", "editor"), "trip-2")


def test_an_expired_token_is_refused_and_a_live_one_carries_its_expiry() -> None:
    with pytest.raises(TokenError, match="expired"):
        verify_token(KEY, make_token(KEY, "trip-1", "viewer", expires_at=time.time() - 1), "trip-1")
    later = time.time() + 60
    assert verify_token(KEY, make_token(KEY, "trip-1", "viewer", expires_at=later), "trip-1").expires_at == later


@pytest.mark.parametrize("token", ["", "abc", "abc.def", ".", "x" * 300, "ééé.ààà"])
def test_garbage_is_refused_with_a_reason(token: str) -> None:
    with pytest.raises(TokenError):
        verify_token(KEY, token, "trip-1")


def test_a_tampered_payload_is_refused() -> None:
    payload, signature = make_token(KEY, "trip-1", "viewer").split(".")
    editor_payload = make_token(KEY, "trip-1", "editor").split(".")[0]
    with pytest.raises(TokenError, match="signature"):
        verify_token(KEY, f"{editor_payload}.{signature}", "trip-1")


def test_unknown_roles_cannot_be_minted() -> None:
    with pytest.raises(ValueError, match="role"):
        make_token(KEY, "trip-1", "admin")


def test_the_relay_key_is_created_once_and_private(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "relay")
    assert load_or_create_key(tmp_path / "relay") == key
    mode = stat.S_IMODE(os.stat(tmp_path / "relay" / "relay.key").st_mode)
    assert mode == 0o600
    assert len(key) >= 32


@given(trip_id=trip_ids, role=st.sampled_from(["editor", "viewer"]), port=st.integers(1, 65535))
def test_a_link_round_trips_through_its_text(trip_id: str, role: str, port: int) -> None:
    link = TripLink(f"ws://127.0.0.1:{port}", trip_id, make_token(KEY, trip_id, role))
    assert TripLink.parse(str(link)) == link
    assert str(link) == f"ws://127.0.0.1:{port}/{trip_id}?token={link.token}"
    assert link.role == role


def test_a_link_is_what_y_websocket_builds_from_url_room_and_params() -> None:
    link = TripLink.parse(f"ws://relay.example:8765/trip-9?token={make_token(KEY, 'trip-9', 'viewer')}")
    assert (link.relay_url, link.trip_id, link.role) == ("ws://relay.example:8765", "trip-9", "viewer")


@pytest.mark.parametrize(
    "text, problem",
    [
        ("http://h:1/trip?token=t", "not a trip link"),
        ("ws:///trip?token=t", "not a trip link"),
        ("ws://h:1/?token=t", "no valid trip id"),
        ("ws://h:1/a/b?token=t", "no valid trip id"),
        ("ws://h:1/trip", "no token"),
        ("ws://h:1/trip?token=", "no token"),
        ("trip-1", "not a trip link"),
    ],
)
def test_a_bad_link_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        TripLink.parse(text)

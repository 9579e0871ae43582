"""Only a token signed for a trip opens it; viewers see everything and change nothing."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest
import websockets
from relay_client import RawPeer
from relay_process import RelayProcess

from wayfarer.sync.protocol import CLOSE_TOKEN_EXPIRED
from wayfarer.sync.tokens import make_token

pytestmark = pytest.mark.anyio


async def refused_status(url: str) -> int:
    """The HTTP status with which the relay refuses a websocket at `url` (fails if accepted)."""
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, open_timeout=20):
            pass
    return refused.value.response.status_code


@pytest.mark.parametrize(
    "query, reason",
    [
        ("", "no token"),
        ("?token=", "no token"),
        ("?token=garbage", "malformed"),
        ("?token={other_key}", "signature does not match"),
        ("?token={foreign_trip}", "issued for another trip"),
        ("?token={expired}", "expired"),
    ],
)
async def test_a_bad_token_is_refused_before_any_byte(relay: RelayProcess, query: str, reason: str) -> None:
    tokens = {
        "other_key": make_token("not-the-relay-key", "trip-a", "editor"),
        "foreign_trip": make_token(relay.key, "trip-b", "editor"),
        "expired": make_token(relay.key, "trip-a", "editor", expires_at=time.time() - 1),
    }
    assert await refused_status(f"{relay.url}/trip-a{query.format(**tokens)}") == 403
    relay.wait_for_log(f"refused a peer from 127.0.0.1:\\d+ for trip trip-a: .*{reason}")


async def test_a_token_cannot_open_a_path_that_is_not_a_trip(relay: RelayProcess) -> None:
    token = make_token(relay.key, "trip-a", "editor")
    assert await refused_status(f"{relay.url}/trip-a/../other?token={token}") == 403
    assert await refused_status(f"{relay.url}/?token={token}") == 403


async def test_room_names_cannot_be_listed_over_http(relay: RelayProcess) -> None:
    async with RawPeer.connect(relay.link("trip-secret")) as peer:
        await peer.synced()
        for path in ("/", "/trip-secret", "/rooms"):
            with pytest.raises(urllib.error.HTTPError) as answer:
                urllib.request.urlopen(f"http://127.0.0.1:{relay.port}{path}", timeout=20)
            assert answer.value.code == 404
            assert b"trip-secret" not in answer.value.read()


async def test_a_viewer_receives_everything_and_its_edits_are_dropped(relay: RelayProcess) -> None:
    async with RawPeer.connect(relay.link("trip-view")) as editor:
        await editor.synced()
        editor.text().insert(0, "plan")
        async with RawPeer.connect(relay.link("trip-view", role="viewer")) as viewer:
            await viewer.synced()
            assert str(viewer.text()) == "plan"
            viewer.text().insert(0, "vandal ")
            editor.text().insert(4, "!")
            await viewer.wait_until(lambda: str(viewer.text()).endswith("plan!"), "the editor's later edit")
            await viewer.ack()  # answered after the viewer's edit was dropped
            viewer.send_awareness(viewer.doc.client_id, 1, {"user": {"id": "v", "name": "Viewer"}})
            await editor.wait_until(lambda: viewer.doc.client_id in editor.present(), "the viewer's presence")
        assert "vandal" not in str(editor.text())
    async with RawPeer.connect(relay.link("trip-view")) as later:
        await later.synced()
        assert str(later.text()) == "plan!"
    assert "dropping edits from peer" in relay.logs()


async def test_a_connection_is_closed_when_its_token_expires(relay: RelayProcess) -> None:
    link = relay.link("trip-expiring", expires_at=time.time() + 1.5)
    async with RawPeer.connect(link) as peer:
        await peer.synced()
        assert await peer.closed() == CLOSE_TOKEN_EXPIRED
    relay.wait_for_log("trip-expiring .*token expired")

"""Access on a cluster (issue 9): every relay checks trip tokens with the shared key alone,
refuses what a single relay refuses, keeps viewers read-only, and closes a connection
whose token expires."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import websockets
from cluster_process import cluster_factory  # noqa: F401
from pycrdt import Doc, Text
from redis.asyncio import Redis
from redis_process import RedisProcess, redis_factory, redis_server  # noqa: F401
from relay_client import RawPeer
from relay_process import RelayProcess

from wayfarer.sync.cluster.redis_log import UPDATE_FIELD, stream_key
from wayfarer.sync.protocol import CLOSE_TOKEN_EXPIRED
from wayfarer.sync.tokens import make_token

pytestmark = pytest.mark.anyio

Cluster = Callable[..., list[RelayProcess]]
PROMPTLY = 5.0


async def refused(url: str) -> int:
    """The HTTP status a relay answers a websocket handshake for `url` with."""
    with pytest.raises(websockets.InvalidStatus) as refusal:
        async with websockets.connect(url, open_timeout=20):
            pass
    return refusal.value.response.status_code


async def streamed_text(redis_url: str, trip_id: str) -> str:
    """The trip's notes as the stream holds them (what any relay would load)."""
    doc = Doc()
    async with Redis.from_url(redis_url) as client:
        for _, fields in await client.xrange(stream_key(trip_id)):
            doc.apply_update(fields[UPDATE_FIELD])
    return str(doc.get("notes", type=Text))


@pytest.mark.parametrize(
    "token",
    [
        lambda key: make_token(key, "trip-gate", "editor", expires_at=time.time() - 1),
        lambda key: make_token(key, "another-trip", "editor"),
        lambda key: make_token("not-the-cluster-key", "trip-gate", "editor"),
    ],
    ids=["expired", "for-another-trip", "signed-with-another-key"],
)
async def test_every_relay_refuses_a_token_that_one_relay_would_refuse(
    cluster_factory: Cluster,  # noqa: F811
    token: Callable[[str], str],
) -> None:
    relays = cluster_factory(2)
    for relay in relays:
        assert await refused(f"{relay.url}/trip-gate?token={token(relay.key)}") == 403
        relay.wait_for_log(r"refused a peer from \S+ for trip trip-gate")


async def test_a_token_minted_for_one_relay_opens_the_trip_on_every_relay(cluster_factory: Cluster) -> None:  # noqa: F811
    a, b = cluster_factory(2)
    token = make_token(a.key, "trip-shared", "editor")
    async with RawPeer.connect(f"{b.url}/trip-shared?token={token}") as peer:
        await peer.synced()


async def test_viewers_on_every_relay_watch_but_their_edits_reach_no_stream(
    cluster_factory: Cluster,  # noqa: F811
    redis_server: RedisProcess,  # noqa: F811
) -> None:
    a, b = cluster_factory(2)
    async with (
        RawPeer.connect(a.link("trip-view")) as editor,
        RawPeer.connect(a.link("trip-view", role="viewer")) as viewer_a,
        RawPeer.connect(b.link("trip-view", role="viewer")) as viewer_b,
    ):
        for peer in (editor, viewer_a, viewer_b):
            await peer.synced()
        viewer_a.text().insert(0, "vandal-a;")
        viewer_b.text().insert(0, "vandal-b;")
        await viewer_a.ack()
        await viewer_b.ack()
        editor.text().insert(len(editor.text()), "plan;")
        await editor.ack()
        for viewer in (viewer_a, viewer_b):
            await viewer.wait_until(lambda v=viewer: "plan;" in str(v.text()), "the editor's edit at the viewer")  # type: ignore[misc]
        assert str(editor.text()) == "plan;"
    assert await streamed_text(redis_server.url, "trip-view") == "plan;"
    async with RawPeer.connect(b.link("trip-view")) as late:
        await late.synced()
        assert str(late.text()) == "plan;"
    for relay in (a, b):
        relay.wait_for_log(r"dropping edits from peer #\d+ \(viewer\) of trip trip-view")


async def test_every_relay_closes_a_connection_when_its_token_expires(cluster_factory: Cluster) -> None:  # noqa: F811
    a, b = cluster_factory(2)
    expires_at = time.time() + 3
    async with (
        RawPeer.connect(a.link("trip-expiry", expires_at=expires_at)) as on_a,
        RawPeer.connect(b.link("trip-expiry", expires_at=expires_at)) as on_b,
        RawPeer.connect(b.link("trip-expiry")) as watcher,
    ):
        for peer in (on_a, on_b, watcher):
            await peer.synced()
        client_id = on_a.doc.client_id
        on_a.send_awareness(client_id, 1, {"user": {"id": "temp", "name": "Temp", "color": "#000000"}})
        await watcher.wait_until(lambda: client_id in watcher.present(), "the expiring peer's presence", PROMPTLY)
        for peer in (on_a, on_b):
            assert await peer.closed(timeout=3 + PROMPTLY) == CLOSE_TOKEN_EXPIRED
        assert time.time() >= expires_at
        await watcher.wait_until(lambda: client_id not in watcher.present(), "its presence gone with it", PROMPTLY)
        assert watcher.close_code is None
    for relay in (a, b):
        relay.wait_for_log(r"closing peer #\d+ \(editor\) of trip trip-expiry with code 4001: its token expired")

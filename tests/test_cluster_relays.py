"""Two relay processes share one trip through a real Redis: peers on either converge,
what one relay acknowledged the other serves, and a killed relay's peers carry on elsewhere."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest
import websockets
from pycrdt import Doc
from redis_process import RedisProcess, redis_factory, redis_server  # noqa: F401
from relay_client import RawPeer
from relay_process import SRC, RelayProcess

from wayfarer.cli import main
from wayfarer.sync.relay import CLOSE_STORE_FAILED
from wayfarer.sync.tokens import make_token

pytestmark = pytest.mark.anyio


def reopened(doc: Doc) -> Doc:
    """The same client's document as it would reload it from its disk, for a new connection."""
    copy = Doc(client_id=doc.client_id)
    copy.apply_update(doc.get_update())
    return copy


@pytest.fixture
def cluster(tmp_path: Path, redis_server: RedisProcess) -> Iterator[tuple[RelayProcess, RelayProcess]]:  # noqa: F811
    """Relays A and B on one Redis, each with its own data folder, both signing with one key."""
    key = secrets.token_hex(32)
    relays = [
        RelayProcess(tmp_path / name, key=key, args=("--redis", redis_server.url)) for name in ("relay-a", "relay-b")
    ]
    try:
        for relay in relays:
            relay.start()
        yield relays[0], relays[1]
    finally:
        for relay in relays:
            relay.close()
            print(f"--- logs of the relay in {relay.data_dir} ---\n{relay.logs()}")


async def test_peers_on_two_relays_writing_at_once_converge(
    cluster: tuple[RelayProcess, RelayProcess],
) -> None:
    a, b = cluster
    async with RawPeer.connect(a.link("trip-two")) as alice, RawPeer.connect(b.link("trip-two")) as bob:
        await alice.synced()
        await bob.synced()
        for n in range(30):
            alice.text().insert(len(alice.text()), f"a{n};")
            bob.text().insert(len(bob.text()), f"b{n};")
            await anyio.sleep(0.002)
        expected_parts = {f"a{n};" for n in range(30)} | {f"b{n};" for n in range(30)}
        await alice.wait_until(lambda: all(p in str(alice.text()) for p in expected_parts), "bob's edits at alice")
        await bob.wait_until(lambda: str(bob.text()) == str(alice.text()), "bob to match alice")
        assert len(str(alice.text())) == sum(map(len, expected_parts)), "no edit may arrive twice"
    # each relay says where the trips live: Redis, and its own folder as nothing compacts
    assert a.count_log(r"keeping trips in Redis redis://\S+ and .*relay-a.*nothing compacts into it") == 1, a.logs()


async def test_an_update_acknowledged_by_one_relay_is_served_by_the_other_after_it_dies(
    cluster: tuple[RelayProcess, RelayProcess],
) -> None:
    a, b = cluster
    async with RawPeer.connect(a.link("trip-ack")) as writer:
        await writer.synced()
        writer.text().insert(0, "kept by Redis")
        acknowledged = await writer.ack()
        assert writer.doc.get_update(acknowledged) == b"\x00\x00", "the ACK must cover the edit sent before it"
        a.kill()
    async with RawPeer.connect(b.link("trip-ack")) as reader:
        await reader.synced()
        assert str(reader.text()) == "kept by Redis"
        assert b.terminate() == 0, "a cluster relay stops cleanly on SIGTERM, its reader waiting in XREAD"
        assert await reader.closed() == 1012


async def test_peers_of_a_killed_relay_reconnect_to_the_other_and_end_with_exactly_the_writers_text(
    cluster: tuple[RelayProcess, RelayProcess],
) -> None:
    a, b = cluster
    writer_doc, follower_doc = Doc(), Doc()
    tokens = [f"{n};" for n in range(200)]
    sent = 0

    async def stream(peer: RawPeer, until: int) -> None:
        nonlocal sent
        while sent < until:
            peer.text().insert(len(peer.text()), tokens[sent])
            sent += 1
            await anyio.sleep(0.002)

    async with RawPeer.connect(b.link("trip-kill")) as watcher:
        await watcher.synced()
        async with (
            RawPeer.connect(a.link("trip-kill"), doc=writer_doc) as writer,
            RawPeer.connect(a.link("trip-kill"), doc=follower_doc) as follower,
        ):
            await writer.synced()
            await follower.synced()
            await stream(writer, 100)
            await follower.wait_until(lambda: "50;" in str(follower.text()), "the stream to reach the follower")
            a.kill()
            assert await writer.closed() is not None
        async with (
            RawPeer.connect(b.link("trip-kill"), doc=reopened(writer_doc)) as writer,
            RawPeer.connect(b.link("trip-kill"), doc=reopened(follower_doc)) as follower,
        ):
            await writer.synced()
            await follower.synced()
            await stream(writer, len(tokens))
            expected = "".join(tokens)
            assert str(writer.text()) == expected
            await follower.wait_until(
                lambda: str(follower.text()) == expected, "the follower to hold the writer's text"
            )
            await watcher.wait_until(lambda: str(watcher.text()) == expected, "the watcher to hold the writer's text")


async def test_every_relay_lets_a_viewer_watch_but_not_edit_and_refuses_foreign_tokens(
    cluster: tuple[RelayProcess, RelayProcess],
) -> None:
    a, b = cluster
    async with (
        RawPeer.connect(a.link("trip-roles")) as editor,
        RawPeer.connect(b.link("trip-roles", role="viewer")) as viewer,
    ):
        await editor.synced()
        await viewer.synced()
        viewer.text().insert(0, "vandalism;")
        await viewer.ack()
        editor.text().insert(len(editor.text()), "plan;")
        await viewer.wait_until(lambda: "plan;" in str(viewer.text()), "the editor's edit at the viewer")
        await editor.ack()
        assert str(editor.text()) == "plan;", "a viewer's edit must reach no relay's stream"
    for relay in (a, b):
        foreign = make_token("not-the-cluster-key", "trip-roles", "editor")
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(f"{relay.url}/trip-roles?token={foreign}", open_timeout=20):
                pass


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [("maxmemory_policy", "allkeys-lru", "maxmemory-policy"), ("appendonly", "no", "appendonly")],
)
def test_a_relay_refuses_a_redis_that_could_lose_trip_updates(
    redis_factory: Callable[..., RedisProcess],  # noqa: F811
    tmp_path: Path,
    setting: str,
    value: str,
    named: str,
) -> None:
    unsafe = redis_factory(**{setting: value})
    command = [sys.executable, "-m", "wayfarer", "relay", "--port", "0", "--data", str(tmp_path / "relay")]
    result = subprocess.run(
        [*command, "--redis", unsafe.url],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert result.returncode != 0
    assert "listening" not in result.stdout
    assert f"{named} is '{value}'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


async def test_a_redis_restart_loses_nothing_acknowledged_and_peers_resend_the_rest(
    cluster: tuple[RelayProcess, RelayProcess],
    redis_server: RedisProcess,  # noqa: F811
) -> None:
    a, b = cluster
    writer_doc = Doc()
    async with RawPeer.connect(b.link("trip-restart")) as reader:
        await reader.synced()
        async with RawPeer.connect(a.link("trip-restart"), doc=writer_doc) as writer:
            await writer.synced()
            writer.text().insert(0, "before;")
            await writer.ack()
            redis_server.stop()
            writer.text().insert(len(writer.text()), "during;")
            assert await writer.closed() == CLOSE_STORE_FAILED, "an edit Redis did not take must not be kept"
        redis_server.start()
        async with RawPeer.connect(a.link("trip-restart"), doc=reopened(writer_doc)) as writer:
            await writer.synced()
            writer.text().insert(len(writer.text()), "after;")
            await writer.ack()
        await reader.wait_until(lambda: str(reader.text()) == "before;during;after;", "the reader to catch up")


def test_a_trip_the_wayfarer_cli_created_on_one_relay_is_shown_by_the_other_after_a_kill(
    cluster: tuple[RelayProcess, RelayProcess], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = cluster
    assert main(["trip", "new", "--relay", a.url, "--key", a.key, "--title", "Lisbon", "--currency", "EUR"]) == 0
    created = json.loads(capsys.readouterr().out)
    a.kill()  # `trip new` returned: the Wayfarer peer saw its trip acknowledged, so Redis has it
    assert main(["trip", "show", created["viewer_link"].replace(a.url, b.url), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["meta"]["title"] == "Lisbon"

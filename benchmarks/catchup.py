"""Catch-up: a peer that missed 10,000 streamed tokens reconnects; how long until it is synced.

A writer bursts 10,000 tokens into the reply, each in its own transaction (the most
updates a relay can be asked to keep), while one reader stays connected: the first two
figures are that burst as the live reader sees it. Then, round after round, a peer
holding the trip as it was before the burst connects, and the time from opening its
connection to being in sync with the whole reply (checked) is one sample (the Node
client's first round, in a fresh process, is a warm-up and not counted). Last, the same
from a room the Wayfarer relay has unloaded after it went idle (the next morning's
case): the relay reads the trip back from its store before the peer can sync. Node peers
against both relays; Wayfarer's Python peer (`RelayConnection.wait_synced`) against both.

Run: PYTHONPATH=src python benchmarks/catchup.py
"""

from __future__ import annotations

import anyio
from pycrdt import Doc

from _harness import (
    Bench,
    Figure,
    NodeClient,
    RelayProcess,
    WayfarerRelay,
    b64,
    link,
    now_ms,
    say,
    seed_trip,
    standalone,
    tokens,
)
from _peers import SYNC_TIMEOUT, node_stream, reply_text
from wayfarer.sync.connection import RelayConnection

# The catch-up rounds start once the relay is done with the burst (the Wayfarer relay
# writes it to disk and compacts its log in the background).
AFTER_BURST_SECONDS = 1.0


async def python_catchup(relay: RelayProcess, room: str, seed: bytes, expect: int, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        doc = Doc()
        doc.apply_update(seed)
        start = now_ms()
        async with RelayConnection(doc, link(relay, room)) as connection:
            await connection.wait_synced(SYNC_TIMEOUT)
            elapsed = now_ms() - start
            if len(reply_text(doc)) != expect:
                raise RuntimeError(f"caught up to {len(reply_text(doc))} characters, expected {expect}")
        times.append(elapsed)
        await anyio.sleep(0.05)
    return times


async def cold_catchup(bench: Bench, words: list[str], rounds: int) -> list[float]:
    """Catch-up from a room the Wayfarer relay unloaded: the peer waits for it to be read
    back from the relay's store. A relay of its own, that unloads a room after 1 s idle."""
    expect = sum(len(word) for word in words)
    with WayfarerRelay(bench.workdir / "cold", idle_seconds=1) as relay:
        room = bench.room("cold")
        seed, _ = seed_trip()
        await node_stream(bench, relay, words, rate=0, readers=1, room=room, seed=seed, warmup=False)
        times = []
        for n in range(rounds):
            with anyio.fail_after(60):
                while relay.count_log(rf"unloaded trip {room}\b") <= n:
                    await anyio.sleep(0.1)
            times += await python_catchup(relay, room, seed, expect, 1)
    return times


async def run(bench: Bench) -> list[Figure]:
    o = bench.options
    words = tokens(o.catchup_tokens, seed=31)
    expect = sum(len(word) for word in words)
    burst: dict[str, list[float]] = {"wayfarer": [], "js": []}
    complete: dict[str, list[float]] = {"wayfarer": [], "js": []}
    node: dict[str, list[float]] = {"wayfarer": [], "js": []}
    python: dict[str, list[float]] = {"wayfarer": [], "js": []}
    for _ in range(o.repeats):
        for relay in bench.relays():
            room = bench.room("catchup")
            seed, _ = seed_trip()
            say(f"catch-up: bursting {len(words):,} tokens via {relay.label}")
            streamed = await node_stream(bench, relay, words, rate=0, readers=1, room=room, seed=seed, warmup=False)
            burst[relay.kind] += streamed.latencies
            complete[relay.kind].append(streamed.complete_ms)
            await anyio.sleep(AFTER_BURST_SECONDS)
            say(f"catch-up: {o.catchup_rounds} Node peers catch up via {relay.label}")
            config = {"url": relay.url, "room": room, "token": relay.token(room), "seed": b64(seed)}
            config |= {"rounds": o.catchup_rounds, "expect_len": expect}
            async with NodeClient("catchup", config, bench.workdir) as peer:
                node[relay.kind] += (await peer.event("done", SYNC_TIMEOUT * o.catchup_rounds))["times"]
            say(f"catch-up: {o.catchup_rounds} Python peers catch up via {relay.label}")
            python[relay.kind] += await python_catchup(relay, room, seed, expect, o.catchup_rounds)
    say(f"catch-up: {o.cold_rounds} Python peers catch up from an unloaded room of the Wayfarer relay")
    cold = await cold_catchup(bench, words, o.cold_rounds)
    n = f"{len(words):,}"
    return [
        Figure(f"burst of {n} tokens: latency to a live reader", "Node yjs", "ms", burst["wayfarer"], burst["js"]),
        Figure(f"burst of {n} tokens: until the reader had all", "Node yjs", "ms", complete["wayfarer"], complete["js"]),
        Figure(f"catch-up after missing {n} tokens", "Node yjs", "ms", node["wayfarer"], node["js"]),
        Figure(f"catch-up after missing {n} tokens", "Python peer", "ms", python["wayfarer"], python["js"]),
        Figure(
            f"catch-up after missing {n} tokens, room unloaded (read from disk)",
            "Python peer",
            "ms",
            cold,
            note="@y/websocket-server keeps no document on disk (without YPERSISTENCE): nothing to compare",
        ),
    ]


if __name__ == "__main__":
    standalone(run, __doc__.splitlines()[0])

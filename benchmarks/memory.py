"""Relay memory: resident size with 100 rooms and 1,000 peers, and after they all left.

Each relay is started fresh for this workload (so earlier workloads leave nothing in it).
One Node process connects 10 peers to each of 100 rooms (the first peer of each room
brings a trip with 20 messages, ~27 KB; the others start empty and receive it), in
batches of 100 connections at a time, and stays connected. The relay's RSS (Linux
/proc/PID/status) is read before anyone connects, with everyone connected, and after
everyone left and the rooms went idle: the Wayfarer relay then writes each room out and
drops it from memory (`--idle-seconds`, shortened here so the benchmark does not wait a
minute); @y/websocket-server without persistence keeps every document for good, so it
gets the same wait.

Run: PYTHONPATH=src python benchmarks/memory.py
"""

from __future__ import annotations

import anyio

from _harness import Bench, Figure, JsRelay, NodeClient, RelayProcess, WayfarerRelay, b64, say, seed_trip, standalone

IDLE_TIMEOUT = 120.0  # seconds: only turns rooms that never unload into a figure, not a hang


async def sample_rss(relay: RelayProcess, seconds: float = 2.0, samples: int = 5) -> float:
    """Median RSS over a short while (MiB), once the relay has settled."""
    values = []
    for _ in range(samples):
        await anyio.sleep(seconds / samples)
        values.append(relay.rss_mib())
    return sorted(values)[len(values) // 2]


async def one_relay(bench: Bench, relay: RelayProcess, idle_wait: float | None) -> dict[str, float]:
    o = bench.options
    per_room = max(1, o.memory_peers // o.memory_rooms)
    seed, _ = seed_trip()
    rooms = [f"memory-{n:03d}" for n in range(o.memory_rooms)]
    result = {"start": await sample_rss(relay)}
    config = {
        "url": relay.url,
        "rooms": [{"room": room, "token": relay.token(room)} for room in rooms],
        "per_room": per_room,
        "seed": b64(seed),
        "concurrency": 100,
    }
    async with NodeClient("crowd", config, bench.workdir) as crowd:
        synced = await crowd.event("synced", 60 + o.memory_peers / 5)
        result["connect"] = synced["elapsed_ms"] / 1000
        result["connected"] = await sample_rss(relay)
        await crowd.send("leave")
        await crowd.event("left", 60)
    left = anyio.current_time()
    if isinstance(relay, WayfarerRelay):
        with anyio.move_on_after(IDLE_TIMEOUT):
            while relay.count_log(r"unloaded trip memory-") < len(rooms):
                await anyio.sleep(0.5)
        result["unload wait"] = anyio.current_time() - left
    else:
        await anyio.sleep(idle_wait or 0)
    result["idle"] = await sample_rss(relay)
    result["peers"] = per_room * len(rooms)
    return result


async def run(bench: Bench) -> list[Figure]:
    o = bench.options
    found: dict[str, list[dict[str, float]]] = {"wayfarer": [], "js": []}
    for n in range(o.memory_runs):
        with WayfarerRelay(bench.workdir / f"memory-wayfarer-{n}", idle_seconds=o.memory_idle_seconds) as relay:
            say(f"memory: {o.memory_peers:,} peers in {o.memory_rooms} rooms of {relay.label} (run {n + 1})")
            found["wayfarer"].append(await one_relay(bench, relay, None))
        wait = found["wayfarer"][-1]["unload wait"]
        with JsRelay(bench.workdir / f"memory-js-{n}") as relay:
            say(f"memory: {o.memory_peers:,} peers in {o.memory_rooms} rooms of {relay.label} (run {n + 1})")
            found["js"].append(await one_relay(bench, relay, wait))

    def series(kind: str, key: str, scale: float = 1.0) -> list[float]:
        return [r[key] * scale for r in found[kind]]

    def per_peer(kind: str) -> list[float]:
        return [(r["connected"] - r["start"]) * 1024 / r["peers"] for r in found[kind]]

    peers, rooms = f"{o.memory_peers:,} peers", f"{o.memory_rooms} rooms"
    waited = ", ".join(f"{r['unload wait']:.0f} s" for r in found["wayfarer"])
    return [
        Figure("relay RSS, started, no peer yet", "process", "MiB", series("wayfarer", "start"), series("js", "start")),
        Figure(f"relay RSS, {rooms}, {peers} connected", "Node yjs", "MiB", series("wayfarer", "connected"), series("js", "connected")),
        Figure(f"relay memory per connected peer ({peers})", "Node yjs", "KiB", per_peer("wayfarer"), per_peer("js")),
        Figure(
            "relay RSS after all left and rooms went idle",
            "Node yjs",
            "MiB",
            series("wayfarer", "idle"),
            series("js", "idle"),
            f"Wayfarer unloaded all {o.memory_rooms} rooms {waited} after the last peer left "
            f"(--idle-seconds {o.memory_idle_seconds:g}); @y/websocket-server keeps every document",
        ),
        Figure(f"connect and sync {peers} in {rooms}", "Node yjs", "s", series("wayfarer", "connect"), series("js", "connect")),
    ]


if __name__ == "__main__":
    standalone(run, __doc__.splitlines()[0])

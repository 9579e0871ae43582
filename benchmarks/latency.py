"""Token latency: from a writer's write to a reader's text observer, through the relay.

One writer inserts tokens into the streamed reply, each in its own transaction, spaced
out (20 per second by default) so that every token travels through an idle relay; one
reader in the same room notes when each arrives. Run with the same Node client (yjs +
y-websocket) against the Wayfarer relay and @y/websocket-server, and with Wayfarer's
Python peer (`RelayConnection`) against both.

Run: PYTHONPATH=src python benchmarks/latency.py
"""

from __future__ import annotations

from _harness import Bench, Figure, say, standalone, tokens
from _peers import node_stream, python_stream


async def run(bench: Bench) -> list[Figure]:
    o = bench.options
    words = tokens(o.latency_tokens)
    node: dict[str, list[float]] = {"wayfarer": [], "js": []}
    python: dict[str, list[float]] = {"wayfarer": [], "js": []}
    lost = 0
    for _ in range(o.repeats):
        for relay in bench.relays():  # interleaved, so that a busy moment hits both
            say(f"latency: Node peers via {relay.label}")
            result = await node_stream(bench, relay, words, rate=o.latency_rate, readers=1)
            node[relay.kind] += result.latencies
            lost += result.missing
            say(f"latency: Python peers via {relay.label}")
            result = await python_stream(bench, relay, words, rate=o.latency_rate, readers=1)
            python[relay.kind] += result.latencies
            lost += result.missing
    name = f"token latency, 1 reader, {o.latency_rate:g} tokens/s"
    note = f"{lost} tokens never arrived" if lost else ""
    return [
        Figure(name, "Node yjs", "ms", node["wayfarer"], node["js"], note),
        Figure(name, "Python peer", "ms", python["wayfarer"], python["js"]),
    ]


if __name__ == "__main__":
    standalone(run, __doc__.splitlines()[0])

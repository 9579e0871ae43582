"""Fan-out: one writer streaming 100 tokens/s to 1, 10 and 100 readers in one room.

Each token is its own transaction (the worst case; the agent coalesces them into one per
40 ms frame). Every (token, reader) pair is one sample of the time from the write to that
reader's text observer; "last reader" is, per token, the time until every reader had it.
The Node client drives both relays; Wayfarer's Python peer is measured with 1 and 10
readers (a hundred Python peers in one process would measure the process, not the relay).

Run: PYTHONPATH=src python benchmarks/fanout.py
"""

from __future__ import annotations

from _harness import Bench, Figure, say, standalone, tokens
from _peers import node_stream, python_stream


async def run(bench: Bench) -> list[Figure]:
    o = bench.options
    words = tokens(o.fanout_tokens, seed=23)
    figures = []
    for client, counts, stream in (("Node yjs", o.fanout_readers, node_stream), ("Python peer", o.python_readers, python_stream)):
        for readers in counts:
            every: dict[str, list[float]] = {"wayfarer": [], "js": []}
            last: dict[str, list[float]] = {"wayfarer": [], "js": []}
            missing = {"wayfarer": 0, "js": 0}
            for _ in range(o.repeats):
                for relay in bench.relays():
                    say(f"fan-out: {client}, {readers} readers via {relay.label}")
                    result = await stream(bench, relay, words, rate=o.fanout_rate, readers=readers)
                    every[relay.kind] += result.latencies
                    last[relay.kind] += result.last_reader
                    missing[relay.kind] += result.missing
            name = f"fan-out, {readers} reader{'s' if readers > 1 else ''}, {o.fanout_rate:g} tokens/s"
            lost = ", ".join(f"{n} (token, reader) pairs never arrived via {k}" for k, n in missing.items() if n)
            figures.append(Figure(name, client, "ms", every["wayfarer"], every["js"], lost))
            if readers > 1:
                figures.append(Figure(f"{name}, last reader", client, "ms", last["wayfarer"], last["js"]))
    return figures


if __name__ == "__main__":
    standalone(run, __doc__.splitlines()[0])

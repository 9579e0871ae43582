"""Wire bytes per streamed token, with and without the agent's frame coalescing.

The agent's own run loop (`execute_run`) serves a run whose model is a script streaming
tokens at 100 per second; `RunSettings(frame_s=0)` writes one transaction per token,
`frame_s=0.04` (the default) one per 40 ms frame. The agent and one reader (both
`RelayConnection`s) reach the Wayfarer relay through a TCP proxy that counts every byte:
websocket frames and their headers, ACK queries and replies, heartbeats, the claim and
the end of the run; divided by the number of tokens. The Yjs update bytes the agent's
document produced are given for comparison.

Run: PYTHONPATH=src python benchmarks/wire_bytes.py
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import anyio
from pycrdt import Doc, TransactionEvent

from _harness import AGENT, ANA, Bench, CountingProxy, Figure, link, now_ms, say, standalone, tokens
from _peers import SETTLE_SECONDS, SYNC_TIMEOUT
from wayfarer.agent.provider import Finished, ModelEvent, ModelRequest, TextDelta
from wayfarer.agent.run import RunSettings, execute_run
from wayfarer.agent.tools import ToolContext
from wayfarer.sync.connection import RelayConnection
from wayfarer.trip import Trip, TripChange


class ScriptedModel:
    """A provider that streams the given tokens at `rate` per second, then ends its turn."""

    label = "scripted"

    def __init__(self, words: list[str], rate: float) -> None:
        self.words = words
        self.rate = rate

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        start = now_ms()
        for i, word in enumerate(self.words):
            await anyio.sleep(max(0.0, (start + i * 1000 / self.rate - now_ms()) / 1000))
            yield TextDelta(word)
        yield Finished("end_turn")


async def one_run(bench: Bench, words: list[str], rate: float, frame_s: float) -> tuple[float, float, float]:
    """(agent → relay, relay → reader, Yjs update) bytes per token for one agent run."""
    assert bench.wayfarer is not None
    room = bench.room("wire")
    asker = Trip(Doc())
    asker.create("Wire bytes", currency="EUR")
    _, run_id = asker.post_user_message("Plan two days in Lisbon", ANA)
    seed = asker.doc.get_update()
    agent_doc, reader_doc = Doc(), Doc()
    agent_doc.apply_update(seed)
    reader_doc.apply_update(seed)
    agent_trip, reader_trip = Trip(agent_doc), Trip(reader_doc)
    expect = "".join(words)
    finished = anyio.Event()

    def on_change(change: TripChange) -> None:
        run = reader_trip.run(run_id)
        if run is not None and run.status == "completed":
            finished.set()

    subscription = reader_trip.subscribe(on_change)
    update_bytes = [0]

    def count(event: TransactionEvent) -> None:
        update_bytes[0] += len(event.update)

    trip_link = link(bench.wayfarer, room)
    to_agent, to_reader = CountingProxy(bench.wayfarer_port()), CountingProxy(bench.wayfarer_port())
    async with anyio.create_task_group() as tg:
        await tg.start(to_agent.serve)
        await tg.start(to_reader.serve)
        async with RelayConnection(agent_doc, to_agent.via(trip_link)) as agent, RelayConnection(
            reader_doc, to_reader.via(trip_link)
        ) as reader:
            await agent.wait_synced(SYNC_TIMEOUT)
            await reader.wait_synced(SYNC_TIMEOUT)
            await anyio.sleep(SETTLE_SECONDS)
            up, down = to_agent.up, to_reader.down
            counter = agent_doc.observe(count)
            agent_trip.claim_run(run_id, AGENT, model="scripted")
            status = await execute_run(
                agent_trip, run_id, ScriptedModel(words, rate), AGENT, RunSettings(frame_s=frame_s), ToolContext(agent_trip, AGENT)
            )
            if status != "completed":
                raise RuntimeError(f"the run ended {status}")
            with anyio.fail_after(SYNC_TIMEOUT):
                await finished.wait()
                await agent.flush(SYNC_TIMEOUT)
            agent_doc.unobserve(counter)
            up, down = to_agent.up - up, to_reader.down - down
            message = reader_trip.snapshot().chat[-1]
            if message.text != expect:
                raise RuntimeError("the reader did not get the agent's exact text")
        tg.cancel_scope.cancel()
    subscription.close()
    n = len(words)
    return up / n, down / n, update_bytes[0] / n


async def run(bench: Bench) -> list[Figure]:
    o = bench.options
    bench.relays()
    words = tokens(o.wire_tokens, seed=41)
    figures = []
    for label, frame_s in (("one transaction per token", 0.0), ("one transaction per 40 ms frame", 0.04)):
        up, down, payload = [], [], []
        for _ in range(o.wire_runs):
            say(f"wire bytes: agent run, {label}")
            a, b, c = await one_run(bench, words, o.fanout_rate, frame_s)
            up.append(a)
            down.append(b)
            payload.append(c)
        note = f"the Yjs updates themselves: {sum(payload) / len(payload):.1f} B/token"
        figures.append(Figure(f"wire bytes/token, agent → relay, {label}", "Python agent", "B", up, note=note))
        figures.append(Figure(f"wire bytes/token, relay → reader, {label}", "Python peer", "B", down))
    return figures


if __name__ == "__main__":
    standalone(run, __doc__.splitlines()[0])

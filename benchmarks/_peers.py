"""Streaming one reply through a relay, with Node peers or with Wayfarer's Python peer.

Both helpers do the same thing: readers join the room and sync, one writer inserts each
token into the streamed message's text in its own transaction at a fixed rate, and
every reader's text observer notes when each token arrived. They return, per token and
per reader, the time from the writer's write to the reader's observer (ms).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
import dataclasses
from dataclasses import dataclass

import anyio
from pycrdt import Array, Doc, Text

from _harness import Bench, NodeClient, RelayProcess, b64, link, now_ms, seed_trip
from wayfarer.sync.connection import RelayConnection
from wayfarer.trip import Trip

SYNC_TIMEOUT = 60.0
# Once everyone is synced, the room settles (the newcomers' sync messages are echoed and
# applied, Node compiles its hot paths) before the stream starts; the first WARMUP tokens
# are streamed but not counted.
SETTLE_SECONDS = 0.3
WARMUP = 20


@dataclass
class Streamed:
    latencies: list[float]  # every (token, reader) pair that arrived
    last_reader: list[float]  # per token: until the last reader had it
    missing: int  # (token, reader) pairs that never arrived
    write_seconds: float  # how long the writer took to write them all
    complete_ms: float  # from the first counted write until the last reader had the last token
    sent: list[float] = dataclasses.field(default_factory=list)  # when each counted token was written (ms)


def _collect(sent: list[float], received: list[list[float | None]], skip: int) -> Streamed:
    latencies, last, missing = [], [], 0
    for i, at in enumerate(sent):
        if i < skip:
            continue
        arrivals = [times[i] for times in received]
        got = [t - at for t in arrivals if t is not None]
        missing += len(arrivals) - len(got)
        latencies += got
        if len(got) == len(arrivals):
            last.append(max(got))
    arrivals = [t for times in received for t in times[skip:] if t is not None]
    complete = max(arrivals) - sent[skip] if arrivals and len(sent) > skip else float("nan")
    write_seconds = (sent[-1] - sent[0]) / 1000 if sent else 0.0
    return Streamed(latencies, last, missing, write_seconds, complete, sent[skip:])


def with_warmup(words: list[str]) -> list[str]:
    return words[:WARMUP] + words


async def node_stream(
    bench: Bench,
    relay: RelayProcess,
    words: list[str],
    *,
    rate: float,
    readers: int,
    room: str = "",
    seed: bytes | None = None,
    warmup: bool = True,
) -> Streamed:
    """A Node writer streams `words` at `rate` per second (0: all at once) to `readers`
    Node readers (in a second Node process, so the writer's clock is never held up by the
    readers' work), in `room` (a new one by default) holding `seed` (`seed_trip()`)."""
    words = with_warmup(words) if warmup else words
    room = room or bench.room("stream")
    seed = seed or seed_trip()[0]
    common = {"url": relay.url, "room": room, "token": relay.token(room), "seed": b64(seed), "tokens": words}
    timeout = len(words) / max(rate, 1) + 60
    async with NodeClient("readers", {**common, "count": readers, "timeout_s": timeout}, bench.workdir) as crowd:
        await crowd.event("ready", SYNC_TIMEOUT + readers)
        async with NodeClient("writer", {**common, "rate": rate}, bench.workdir) as writer:
            await writer.event("ready", SYNC_TIMEOUT)
            await anyio.sleep(SETTLE_SECONDS)
            await writer.send("go")
            sent = (await writer.event("sent", timeout))["sent"]
            with anyio.move_on_after(30):
                done = await crowd.event("done", timeout)
                return _collect(sent, done["received"], WARMUP if warmup else 0)
            await crowd.send("finish")
            return _collect(sent, (await crowd.event("done", 30))["received"], WARMUP if warmup else 0)


def reply_text(doc: Doc) -> Text:
    chat = doc.get("chat", type=Array)
    return chat[len(chat) - 1]["text"]


async def python_stream(
    bench: Bench, relay: RelayProcess, words: list[str], *, rate: float, readers: int
) -> Streamed:
    """The same with Wayfarer's Python peers (`RelayConnection`, `Trip.stream`) in this process."""
    words = with_warmup(words)
    room = bench.room("py-stream")
    seed, message_id = seed_trip()
    trip_link = link(relay, room)
    ends, total = [], 0
    for word in words:
        total += len(word)
        ends.append(total)
    received: list[list[float | None]] = []
    subscriptions: list[object] = []  # kept alive for the run
    complete = anyio.Event()
    remaining = [readers]

    def reader_doc() -> Doc:
        doc = Doc()
        doc.apply_update(seed)
        times: list[float | None] = [None] * len(words)
        received.append(times)
        text = reply_text(doc)
        position = [0]

        def on_text(_event: object) -> None:
            at, length = now_ms(), len(text)
            i = position[0]
            while i < len(ends) and ends[i] <= length:
                times[i] = at
                i += 1
            if i == len(ends) and position[0] < len(ends):
                remaining[0] -= 1
                if remaining[0] == 0:
                    complete.set()
            position[0] = i

        subscriptions.append(text.observe(on_text))
        return doc

    async with AsyncExitStack() as stack:
        connections = []
        for _ in range(readers):
            connection = await stack.enter_async_context(RelayConnection(reader_doc(), trip_link))
            connections.append(connection)
        writer_doc = Doc()
        writer_doc.apply_update(seed)
        trip = Trip(writer_doc)
        writer = await stack.enter_async_context(RelayConnection(writer_doc, trip_link))
        for connection in [*connections, writer]:
            await connection.wait_synced(SYNC_TIMEOUT)
        await anyio.sleep(SETTLE_SECONDS)
        sent: list[float] = []
        interval = 1000 / rate if rate > 0 else 0.0
        start = now_ms()
        for i, word in enumerate(words):
            if interval:
                await anyio.sleep(max(0.0, (start + i * interval - now_ms()) / 1000))
            sent.append(now_ms())
            trip.stream(message_id, text=word)
        with anyio.move_on_after(len(words) / max(rate, 1) + 30):
            await complete.wait()
    return _collect(sent, received, WARMUP)

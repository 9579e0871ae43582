"""How long a long trip takes to open from disk, and to read as a snapshot.

Builds a trip of 5,000 chat messages (user questions and assistant replies of realistic
lengths, some with reasoning and tool calls that add stops) in a temporary
WAYFARER_HOME, stores it twice, and times over repeated runs:

- as written: one row per message (each message's updates merged), the log a trip has
  before any compaction;
- compacted: the whole document in one row, what `LocalTrip` keeps after compaction;

plus how long a compaction of the written log takes and how long one streamed token
takes to be saved (the cost every agent token pays).

Run: python benchmarks/open_trip.py [--messages 5000] [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pycrdt import Doc, merge_updates

from wayfarer.sync.library import TripLibrary
from wayfarer.sync.local import LocalTrip
from wayfarer.sync.updatelog import UpdateLog
from wayfarer.trip import Person, Trip

WORDS = (
    "the a museum walk lunch tram river old town viewpoint tickets open closes early "
    "booking recommend station market coffee bridge cathedral tiles port cellar tasting "
    "evening dinner ferry beach sunset budget euros minutes hours morning afternoon near "
    "from to and with but then after before quiet crowded local famous garden castle"
).split()
ANA = Person(id="p-ana", name="Ana")
AGENT = Person(id="agent-bench", name="Planner")
T = TypeVar("T")


def sentence(rng: random.Random, low: int, high: int) -> str:
    """Text of roughly `low`..`high` characters."""
    target, words = rng.randint(low, high), []
    while sum(len(w) + 1 for w in words) < target:
        words.append(rng.choice(WORDS))
    return " ".join(words).capitalize() + "."


def build_rows(messages: int, seed: int = 7) -> list[bytes]:
    """The trip's updates, merged so that each chat message is one row."""
    rng = random.Random(seed)
    trip = Trip(Doc())
    updates: list[bytes] = []
    trip.doc.observe(lambda event: updates.append(event.update))
    rows: list[bytes] = []

    def row(write: Callable[[], T]) -> T:
        result = write()
        rows.append(merge_updates(*updates))
        updates.clear()
        return result

    row(lambda: trip.create("A long trip", currency="EUR"))
    day = row(lambda: trip.add_day("Day one"))
    run_id = ""
    for n in range(messages):
        if n % 2 == 0:
            _, run_id = row(lambda: trip.post_user_message(sentence(rng, 40, 300), ANA))
        else:
            row(lambda: reply(trip, rng, run_id, day, with_tools=n % 7 == 1))
    return rows


def reply(trip: Trip, rng: random.Random, run_id: str, day: str, *, with_tools: bool) -> None:
    trip.claim_run(run_id, AGENT, model="offline")
    message = trip.start_assistant_message(run_id, AGENT)
    trip.stream(message, reasoning=sentence(rng, 100, 600) if rng.random() < 0.3 else "")
    if with_tools:
        name = sentence(rng, 8, 30)
        call = trip.add_tool_call(message, "add_stop", f'{{"name": "{name}", "day": "{day}"}}')
        stop = trip.add_stop(name, rng.uniform(38, 42), rng.uniform(-9, -8), day=day, cost=rng.randint(0, 40))
        trip.finish_tool_call(message, call, ok=True, result_json=f'{{"stop": "{stop}"}}')
    trip.stream(message, text=sentence(rng, 300, 2000))
    trip.end_run(run_id, "completed")


def timings(action: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def measure_open(path: Path, label: str, runs: int) -> list[tuple[str, list[float]]]:
    # Compaction at open is switched off, so the rows are replayed on every run.
    def open_and_close() -> None:
        LocalTrip.open(path, compact_at_open=sys.maxsize).close()

    with UpdateLog(path) as store:
        size, count = store.byte_size(), store.row_count()
    with LocalTrip.open(path, compact_at_open=sys.maxsize) as local:
        snapshot_times = timings(local.trip.snapshot, runs)
    return [
        (f"open, {label} ({count:,} rows, {size / 1e6:.1f} MB)", timings(open_and_close, runs)),
        (f"snapshot, {label}", snapshot_times),
    ]


def measure_token_save(path: Path, runs: int) -> tuple[str, list[float]]:
    with LocalTrip.open(path) as local:
        message = local.trip.post_assistant_note("Streaming:", AGENT)
        return ("save one streamed token (fsync)", timings(lambda: local.trip.stream(message, text=" token"), runs))


def measure(messages: int, runs: int) -> tuple[str, list[tuple[str, list[float]]]]:
    """Build the trip, store it both ways and time everything: (a summary line, the timings)."""
    with tempfile.TemporaryDirectory() as home:
        previous = os.environ.get("WAYFARER_HOME")
        os.environ["WAYFARER_HOME"] = home
        try:
            library = TripLibrary()
            print(f"building a trip of {messages:,} messages ...", file=sys.stderr, flush=True)
            rows = build_rows(messages)
            written, compacted = library.path_for("as-written"), library.path_for("compacted")
            with UpdateLog(written) as store:
                store.append_many(rows)
            with UpdateLog(compacted) as store:
                store.append_many(rows)
                (compaction,) = timings(store.compact, 1)
            with LocalTrip.open(written, compact_at_open=sys.maxsize) as local:
                snapshot = local.trip.snapshot()

            results = measure_open(written, "as written", runs) + measure_open(compacted, "compacted", runs)
            results.append(measure_token_save(compacted, max(runs, 200)))
        finally:
            if previous is None:
                del os.environ["WAYFARER_HOME"]
            else:
                os.environ["WAYFARER_HOME"] = previous
    summary = f"{len(snapshot.chat):,} messages, {len(snapshot.stops):,} stops; compacting them: {compaction * 1e3:.0f} ms"
    return summary, results


def main() -> None:
    parser = argparse.ArgumentParser(description="Time opening a long trip from disk.")
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    summary, results = measure(args.messages, args.runs)
    print(summary)
    print(f"{'operation':50} {'median ms':>10} {'p99 ms':>10} {'runs':>5}")
    for label, samples in results:
        print(f"{label:50} {statistics.median(samples) * 1e3:10.1f} {p99(samples) * 1e3:10.1f} {len(samples):5}")


if __name__ == "__main__":
    main()

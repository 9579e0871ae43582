"""Qt event loop stalls while a reply streams into the chat view at 100 tokens/s.

The desktop app's own set-up, offscreen: a `ChatPanel` over a `TripModel` of a trip with
some history, shown at window size, on the Qt event loop driven through qasync exactly as
`wayfarer app` runs it (`ui.event_loop.run_with_qt`). A precise 1 ms QTimer ticks all the
time; every gap between two ticks is a sample (1 ms when nothing is in the way). An anyio
task writes the tokens into the document, each in its own transaction ("per token") or
four at a time every 40 ms (what the panel receives from an agent that coalesces its
frames). A quiet phase with no writes gives the baseline.

Run: PYTHONPATH=src python benchmarks/qt_stalls.py [--seconds 8] [--json]
(the runner starts it as a child process, with QT_QPA_PLATFORM=offscreen).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RATE = 100.0  # tokens per second
FRAME_S = 0.04


def measure(seconds: float) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from wayfarer.ui.chat_panel import ChatPanel
        from wayfarer.ui.people import PeopleModel
        from wayfarer.ui.trip_model import TripModel
    except ImportError as exc:  # the desktop app's chat view is not there (yet)
        return {"missing": f"wayfarer.ui.chat_panel.ChatPanel cannot be imported: {exc}"}

    import anyio
    from pycrdt import Doc
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from _harness import AGENT, ANA, seed_trip, tokens
    from wayfarer.trip import Trip
    from wayfarer.ui.event_loop import run_with_qt

    try:
        from wayfarer.ui.theme import apply_theme
    except ImportError:
        apply_theme = None

    app = QApplication.instance() or QApplication([])
    if apply_theme is not None:
        apply_theme(app)
    seed, _ = seed_trip(40)
    trip = Trip(Doc())
    trip.doc.apply_update(seed)
    panel = ChatPanel(TripModel(trip, ANA), PeopleModel(ANA))
    panel.resize(440, 820)
    panel.show()
    ticks: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(1)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    words = tokens(int(seconds * RATE) + 10, seed=53)
    results: dict[str, Any] = {}

    def gaps_since(start: int) -> list[float]:
        mark = ticks[start:]
        return [(b - a) * 1000 for a, b in zip(mark, mark[1:])]

    async def phase(name: str, write: Any) -> None:
        start = len(ticks)
        await write()
        results[name] = gaps_since(start)

    async def quiet() -> None:
        await anyio.sleep(seconds / 2)

    def streamer(name: str, per_write: int, interval: float) -> Any:
        async def stream() -> None:
            # A new question and a new reply for each phase, so each starts from an empty
            # reply in a chat of the same size (a refresh lays out the reply, so its cost
            # grows with the reply; it must not grow with the chat).
            _, run_id = trip.post_user_message(f"And the {name} plan?", ANA)
            trip.claim_run(run_id, AGENT, model="offline")
            reply = trip.start_assistant_message(run_id, AGENT)
            await anyio.sleep(0.5)
            began, sent = time.perf_counter(), 0
            for n in range(int(seconds / interval)):
                await anyio.sleep(max(0.0, began + n * interval - time.perf_counter()))
                trip.stream(reply, text="".join(words[sent : sent + per_write]))
                sent += per_write
            await anyio.sleep(0.1)
            view = panel.message_view(reply)
            results[f"{name} reply characters"] = len(view.text) if view is not None else 0

        return stream

    async def main() -> None:
        timer.start()
        await anyio.sleep(1.0)  # first layout and paint
        await phase("idle", quiet)
        await phase("per token", streamer("per token", 1, 1 / RATE))
        await phase("per 40 ms frame", streamer("per 40 ms frame", round(RATE * FRAME_S), FRAME_S))
        timer.stop()
        results["messages"] = trip.message_count()

    run_with_qt(app, main)
    panel.close()
    return results


def run_child(seconds: float) -> dict[str, Any]:
    """`measure` in a child process (its own QApplication, offscreen), as the runner uses it."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    src = str(HERE.parent / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), src, env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(Path(__file__)), "--json", "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        env=env,
        timeout=seconds * 4 + 120,
    )
    if result.returncode != 0:
        return {"failed": f"exit status {result.returncode}: {result.stderr.strip()[-2000:]}"}
    return json.loads(result.stdout.strip().splitlines()[-1])


def figures(seconds: float) -> list[Any]:
    from _harness import Figure

    results = run_child(seconds)
    name = f"Qt event loop gap (1 ms timer), chat view, {RATE:g} tokens/s"
    if "missing" in results or "failed" in results:
        reason = results.get("missing") or results.get("failed")
        return [Figure(name, "PySide6 offscreen", "ms", [], note=f"not measured: {reason}")]
    rows = []
    for phase in ("idle", "per token", "per 40 ms frame"):
        gaps = results[phase]
        label = "no stream (baseline)" if phase == "idle" else f"one transaction {phase}"
        blocked = sum(g - 1 for g in gaps if g > 2) / sum(gaps)
        note = f"max {max(gaps):.1f} ms; {sum(g > 16.7 for g in gaps)} gaps longer than a 60 Hz frame; the loop was blocked {blocked:.0%} of the time"
        if phase != "idle":
            note += f"; a reply of {results[f'{phase} reply characters']:,} characters in a chat of {results['messages']} messages"
        rows.append(Figure(f"{name}: {label}", "PySide6 offscreen", "ms", gaps, note=note))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each streaming phase")
    parser.add_argument("--json", action="store_true", help="measure here and print the raw gaps as JSON")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.seconds)))
        return
    sys.path.insert(0, str(HERE))
    from _harness import table

    print(table(figures(args.seconds)))


if __name__ == "__main__":
    main()

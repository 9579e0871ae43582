#!/usr/bin/env python3
"""Render Wayfarer's windows offscreen and save them as PNGs under docs/screenshots/.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [--out docs/screenshots]

Everything runs in a throwaway WAYFARER_HOME: a relay, the offline planner (slowed down so
that a reply can be caught mid-stream) and two people, Ana and Ben, on one trip. Saves:

- start.png: the start screen with a few trips;
- empty.png: a new trip's window before anyone asked anything;
- main.png: Ana's window while the agent streams "Plan 2 days in Lisbon" (Ben is typing);
- planned.png: the same window once the plan is done;
- editing.png: a stop of that plan edited in place on the board;
- demo-two-windows.png: Ana's and Ben's windows side by side.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import anyio  # noqa: E402
from PySide6.QtCore import QPoint  # noqa: E402
from PySide6.QtGui import QColor, QPainter, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from wayfarer.agent.daemon import AgentDaemon, DaemonConfig  # noqa: E402
from wayfarer.agent.offline import OfflinePlanner  # noqa: E402
from wayfarer.sync.library import SUFFIX, TripLibrary  # noqa: E402
from wayfarer.sync.links import TripLink  # noqa: E402
from wayfarer.sync.relay import Relay, RelayConfig  # noqa: E402
from wayfarer.sync.tokens import make_token  # noqa: E402
from wayfarer.trip import Person  # noqa: E402
from wayfarer.ui.app import qt_application  # noqa: E402
from wayfarer.ui.event_loop import run_with_qt  # noqa: E402
from wayfarer.ui.main_window import MainWindow  # noqa: E402
from wayfarer.ui.relay_host import RelayAccess  # noqa: E402
from wayfarer.ui.start_screen import StartScreen  # noqa: E402
from wayfarer.ui.trip_session import open_session, sync_link  # noqa: E402

ANA = Person("p-ana", "Ana", "#e8590c")
BEN = Person("p-ben", "Ben", "#1c7ed6")
ASK = "Plan 2 days in Lisbon"
WAIT_S = 120.0
HOUR = 3600


async def until(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.05)


async def settle(seconds: float = 0.4) -> None:
    """Let layouts, deferred refreshes and repaints run before a grab."""
    await anyio.sleep(seconds)


def save(widget: QWidget, path: Path) -> None:
    widget.grab().save(str(path))
    print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def start_screen(home: Path, out: Path) -> None:
    library = TripLibrary(home / "start-trips")
    library.root.mkdir(parents=True, exist_ok=True)
    ages = {"Kyoto in autumn": 26 * HOUR, "Porto and the Douro valley": 3 * HOUR, "Lisbon weekend": 0}
    for title, age in ages.items():
        info = library.create(title, "JPY" if "Kyoto" in title else "EUR")
        if title.startswith("Porto"):
            library.set_link(info.id, str(TripLink("ws://192.168.1.20:8765", info.id, make_token("k", info.id, "editor"))))
        stamp = time.time() - age
        for file in info.path.parent.glob(f"{info.id}{SUFFIX}*"):
            os.utime(file, (stamp, stamp))
    screen = StartScreen(library)
    screen.resize(960, 680)
    screen.show()
    QApplication.processEvents()
    save(screen, out / "start.png")
    screen.close()


async def trip_windows(qt: QApplication, home: Path, out: Path) -> None:
    async with Relay(RelayConfig(data_dir=home / "relay")) as relay:
        access = RelayAccess(relay.url, relay.key, embedded=True)
        planner = OfflinePlanner(words_per_second=14)  # slow enough to catch it streaming
        async with AgentDaemon(DaemonConfig(relay.url, relay.key), planner) as agent:
            ana_library, ben_library = TripLibrary(home / "ana"), TripLibrary(home / "ben")
            ana_library.root.mkdir(parents=True)
            ben_library.root.mkdir(parents=True)
            trip_id = ana_library.create("Lisbon with Ben").id
            link = sync_link(trip_id, None, access)
            agent.add_trip(trip_id)
            async with open_session(ana_library, trip_id, ANA, access) as ana, open_session(
                ben_library, trip_id, BEN, access, joined=link
            ) as ben:
                ana_window = ana.window(agent_label=planner.label)
                ben_window = ben.window(agent_label=planner.label)
                ana_window.resize(1400, 900)
                ana_window.show()
                ben_window.resize(1100, 760)
                ben_window.show()
                assert ana.connection is not None and ben.connection is not None
                await ana.connection.wait_synced(WAIT_S)
                await ben.connection.wait_synced(WAIT_S)
                await until(lambda: any(p.kind == "agent" for p in ana.people.people))
                await settle()
                save(ana_window, out / "empty.png")

                ana_window.chat.composer.setPlainText(ASK)
                ana_window.chat.send()
                trip = ana.model.trip
                await until(lambda: len(trip.stops()) >= 4 and _streaming(trip))
                ben_window.chat.composer.setPlainText("Can we fit in a fado eve")
                await until(lambda: ana_window.presence.status.text() == "Ben is typing…")
                await settle()
                save(ana_window, out / "main.png")

                await until(lambda: not trip.runs()[0].is_live)
                ben_window.chat.composer.clear()
                await until(lambda: ana_window.presence.status.text() == "")
                await settle(0.8)
                save(ana_window, out / "planned.png")
                editor = ana_window.board.edit_stop(trip.snapshot().stops[1].id)
                assert editor is not None
                editor.notes.setText("Book the cloister ticket online")
                await settle()
                save(ana_window, out / "editing.png")
                editor.cancel_requested.emit()
                for window in (ana_window, ben_window):
                    window.resize(1100, 760)
                await settle()
                save_side_by_side(ana_window, ben_window, out / "demo-two-windows.png")
                ana_window.close()
                ben_window.close()


def _streaming(trip: object) -> bool:
    runs = trip.runs()  # type: ignore[attr-defined]
    return bool(runs) and runs[0].status == "running" and bool(trip.snapshot().chat[-1].text)  # type: ignore[attr-defined]


def save_side_by_side(left: MainWindow, right: MainWindow, path: Path) -> None:
    a, b = left.grab(), right.grab()
    gap = 16
    canvas = QPixmap(a.width() + b.width() + gap, max(a.height(), b.height()))
    canvas.fill(QColor("#d5d9de"))
    painter = QPainter(canvas)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    painter.drawPixmap(QPoint(0, 0), a)
    painter.drawPixmap(QPoint(a.width() + gap, 0), b)
    painter.end()
    canvas.save(str(path))
    print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wayfarer-shots-") as scratch:
        home = Path(scratch)
        os.environ["WAYFARER_HOME"] = str(home)
        qt = qt_application([sys.argv[0]])
        start_screen(home, args.out)
        run_with_qt(qt, lambda: trip_windows(qt, home, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`wayfarer demo`: relay + agent + two app windows as two people (Ana and Ben) on one trip."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="two windows as two people (Ana and Ben) planning one trip with the agent",
        description="Start a relay and an agent, create a trip and open it in two windows as Ana and "
        "Ben, in this one process. The demo's data is thrown away on exit unless --data is given.",
    )
    parser.add_argument("--title", default="Lisbon with Ben", help="the demo trip's name")
    parser.add_argument(
        "--message", default="Plan 2 days in Lisbon", help="what Ana asks the agent first ('' to ask nothing)"
    )
    parser.add_argument("--data", type=Path, default=None, help="keep the demo's relay and trips in this folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: commands without a window must not need Qt.
    from wayfarer.ui.app import qt_application
    from wayfarer.ui.demo import run_demo
    from wayfarer.ui.event_loop import run_with_qt

    qt = qt_application()
    run_with_qt(qt, lambda: run_demo(qt, title=args.title, message=args.message, data=args.data))
    return 0

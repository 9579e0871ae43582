"""`wayfarer app` (also plain `wayfarer`): the desktop app."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "app",
        help="open the desktop app (the default command)",
        description="Open the desktop app. With no relay configured in Settings it runs an embedded "
        "relay and agent on this computer (shared by every Wayfarer window you open), so it works "
        "offline with one command.",
    )
    parser.add_argument("--trip", metavar="ID|LINK", help="open this trip (a trip id kept here) or join it (a trip link)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: `wayfarer relay` and friends must not need Qt.
    from wayfarer.ui.app import run_app

    return run_app(args.trip)

"""The `wayfarer` console script: dispatches to one module per subcommand."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# Subcommand modules, in the order `--help` lists them. Each has `register(subparsers)`
# that adds its parser and sets `func` (returning the exit status).
COMMANDS = ("app", "demo", "relay", "trip", "chat", "agent")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wayfarer",
        description="Plan trips together with an AI agent; local-first and collaborative.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"wayfarer.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(argv) if argv is not None else sys.argv[1:]
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:  # plain `wayfarer` is `wayfarer app`
        args = parser.parse_args([*argv, "app"])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

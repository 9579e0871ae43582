"""`wayfarer trip new | show | list`: create and look at trips without the desktop app.

One small function per action (`add_*_parser` to declare it, `run_*` to do it), so that
options such as a relay for `trip new` or a link for `trip show` slot in beside the
local behaviour. Every failure a person can cause (unknown trip, damaged file, bad
title) prints one readable line to stderr and exits 1.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio

from wayfarer.export import EXPORTERS, FORMATS
from wayfarer.sync.connection import SyncError
from wayfarer.sync.library import SUFFIX, InvalidTripId, TripInfo, TripLibrary
from wayfarer.sync.local import LocalTrip
from wayfarer.sync.remote import create_remote_trip, fetch_snapshot
from wayfarer.sync.updatelog import StoreError
from wayfarer.trip import Stop, TripError, TripSnapshot, snapshot_to_json_text

Action = Callable[[argparse.Namespace], int]

# What a person can get wrong or run into; anything else is a bug and keeps its traceback.
EXPECTED_ERRORS = (StoreError, TripError, InvalidTripId, SyncError, ValueError)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("trip", help="create, show, list and export trips")
    actions = parser.add_subparsers(dest="trip_action", metavar="ACTION", required=True)
    add_new_parser(actions)
    add_show_parser(actions)
    add_list_parser(actions)
    add_export_parser(actions)


def reports_errors(action: Action) -> Action:
    """Turn an expected failure into `wayfarer trip ACTION: error: ...` and exit status 1."""

    @functools.wraps(action)
    def run(args: argparse.Namespace) -> int:
        try:
            return action(args)
        except EXPECTED_ERRORS as exc:
            print(f"wayfarer trip {args.trip_action}: error: {exc}", file=sys.stderr)
            return 1
        except BaseExceptionGroup as group:  # anyio task groups wrap what a connection raised
            expected, _ = group.split(EXPECTED_ERRORS)
            if expected is None:
                raise
            first = expected.exceptions[0]
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            print(f"wayfarer trip {args.trip_action}: error: {first}", file=sys.stderr)
            return 1

    return run


# ---------------------------------------------------------------------- trip new


def add_new_parser(actions: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = actions.add_parser(
        "new",
        help="create a trip and print it as JSON",
        description="Creates a trip on this computer, or with --relay and --key on a relay, "
        "and prints one JSON object (with a relay: id, link, viewer_link).",
    )
    parser.add_argument("--title", required=True, help="the trip's name")
    parser.add_argument("--currency", default="EUR", help="ISO 4217 code for costs and budget (default EUR)")
    parser.add_argument("--relay", metavar="URL", help="create the trip on this relay (ws://HOST:PORT)")
    parser.add_argument("--key", metavar="K", help="the relay's key, which signs the trip's links")
    parser.add_argument(
        "--expires-in",
        type=duration_seconds,
        metavar="DURATION",
        help="with --relay: the links stop working after DURATION (90s, 30m, 12h, 7d); "
        "relays close connections made with them then (default: links never expire)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S", help="with --relay: give up after S seconds")
    parser.set_defaults(func=run_new)
    return parser


@reports_errors
def run_new(args: argparse.Namespace) -> int:
    if args.relay or args.key:
        if not (args.relay and args.key):
            raise ValueError("--relay and --key go together: the key signs the trip's links")
        expires_at = time.time() + args.expires_in if args.expires_in is not None else None
        created = anyio.run(
            lambda: create_remote_trip(
                args.relay, args.key, args.title, args.currency, timeout=args.timeout, expires_at=expires_at
            )
        )
        expiry = {"expires_at": _iso_utc(expires_at)} if expires_at is not None else {}
        print(json.dumps({**created, "currency": args.currency, **expiry}))
        return 0
    if args.expires_in is not None:
        raise ValueError("--expires-in is for links, which only a trip on a relay has: add --relay and --key")
    info = TripLibrary().create(args.title, currency=args.currency)
    print(json.dumps({"id": info.id, "title": info.title, "currency": args.currency, "path": str(info.path)}))
    return 0


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> float:
    """`90s`, `30m`, `12h`, `7d` or a plain number of seconds, as seconds (> 0)."""
    text = text.strip().lower()
    number, factor = (text[:-1], _UNITS[text[-1]]) if text[-1:] in _UNITS else (text, 1)
    try:
        seconds = float(number) * factor
    except ValueError:
        raise argparse.ArgumentTypeError(f"a duration looks like 90s, 30m, 12h or 7d, not {text!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"a duration must be more than zero, not {text!r}")
    return seconds


def _iso_utc(unix_time: float) -> str:
    return datetime.datetime.fromtimestamp(unix_time, datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------- trip show


def add_show_parser(actions: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = actions.add_parser("show", help="print a trip (plan, budget, chat)")
    parser.add_argument(
        "trip", metavar="TRIP", help=f"a trip link (ws://HOST:PORT/ID?token=...), a local trip id, or a {SUFFIX} file"
    )
    parser.add_argument("--json", action="store_true", help="print the whole trip as one JSON object")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S", help="for a link: give up after S seconds")
    parser.set_defaults(func=run_show)
    return parser


@reports_errors
def run_show(args: argparse.Namespace) -> int:
    snapshot, identity = read_trip(args.trip, args.timeout)
    print(snapshot_to_json_text(snapshot) if args.json else summary(snapshot, identity))
    return 0


def is_link(ref: str) -> bool:
    return ref.startswith(("ws://", "wss://"))


def read_trip(ref: str, timeout: float) -> tuple[TripSnapshot, str]:
    """The trip named by a link (read from its relay) or kept on this computer."""
    if is_link(ref):
        snapshot = anyio.run(lambda: fetch_snapshot(ref, timeout=timeout))
        return snapshot, ref.split("?", 1)[0]
    with open_local(ref) as local:
        local.trip.check_schema()
        return local.trip.snapshot(), f"{ref} ({local.path})"


def open_local(ref: str) -> LocalTrip:
    """A trip kept on this computer, named by its id or by the path of its file."""
    if ref.endswith(SUFFIX) or "/" in ref or "\\" in ref:
        return LocalTrip.open(Path(ref).expanduser())
    return TripLibrary().open(ref)


def summary(snapshot: TripSnapshot, identity: str) -> str:
    """A few lines a person reads at a glance: title, days and their stops, budget, chat."""
    meta, budget, currency = snapshot.meta, snapshot.budget, snapshot.meta.currency
    lines = [f"{meta.title}  [{identity}]"]
    for number, day in enumerate(snapshot.days, start=1):
        heading = " · ".join(part for part in (day.title, day.date) if part)
        lines.append(f"Day {number}" + (f": {heading}" if heading else ""))
        lines.extend(_stop_line(stop, currency) for stop in snapshot.stops_in(day.id))
    if snapshot.unscheduled:
        lines.append("Unscheduled")
        lines.extend(_stop_line(stop, currency) for stop in snapshot.unscheduled)
    if not snapshot.stops and not snapshot.days:
        lines.append("No days or stops yet.")
    lines.append(f"Budget: {budget.spent:,.2f} spent of {budget.limit:,.2f} {currency} ({budget.remaining:,.2f} left)")
    live = len(snapshot.live_runs)
    lines.append(f"Messages: {len(snapshot.chat)}" + (f" ({live} agent run(s) in progress)" if live else ""))
    lines.extend(f"Note: {problem}" for problem in snapshot.problems)
    return "\n".join(lines)


def _stop_line(stop: Stop, currency: str) -> str:
    starts = f"{stop.start_time} " if stop.start_time else ""
    cost = f", {stop.cost:,.2f} {currency}" if stop.cost else ""
    return f"  - {starts}{stop.name} ({stop.category}{cost})"


# ---------------------------------------------------------------------- trip export


def add_export_parser(actions: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = actions.add_parser(
        "export",
        help="write the plan as iCalendar, GPX, GeoJSON or Markdown",
        description="Prints the trip's plan in a format other tools read: ics (calendar events "
        "for stops on dated days), gpx (waypoints and a route per day), geojson, md.",
    )
    parser.add_argument("trip", metavar="LINK", help=f"a trip link, a local trip id, or a {SUFFIX} file")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S", help="for a link: give up after S seconds")
    parser.set_defaults(func=run_export)
    return parser


@reports_errors
def run_export(args: argparse.Namespace) -> int:
    snapshot, _ = read_trip(args.trip, args.timeout)
    text = EXPORTERS[args.format](snapshot)
    if args.output:
        Path(args.output).expanduser().write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


# ---------------------------------------------------------------------- trip list


def add_list_parser(actions: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = actions.add_parser("list", help="list the trips kept on this computer")
    parser.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    parser.set_defaults(func=run_list)
    return parser


@reports_errors
def run_list(args: argparse.Namespace) -> int:
    infos = TripLibrary().list()
    print(json.dumps([_info_json(i) for i in infos], indent=2) if args.json else table(infos))
    return 0


def _info_json(info: TripInfo) -> dict[str, object]:
    return {
        "id": info.id,
        "title": info.title,
        "path": str(info.path),
        "modified": info.modified.isoformat(timespec="seconds"),
        "link": info.link,
        "problem": info.problem,
    }


def table(infos: list[TripInfo]) -> str:
    if not infos:
        return "No trips yet: create one with `wayfarer trip new --title T`."
    rows = [("ID", "TITLE", "MODIFIED (UTC)", "SYNC")]
    for info in infos:
        title = info.title if info.problem is None else f"(unreadable: {info.problem})"
        rows.append((info.id, title, info.modified.strftime("%Y-%m-%d %H:%M"), "relay" if info.link else "local"))
    widths = [max(len(row[col]) for row in rows) for col in range(3)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3] for row in rows)

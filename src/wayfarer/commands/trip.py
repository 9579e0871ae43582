"""`wayfarer trip new | show | list`: create and look at trips without the desktop app.

One small function per action (`add_*_parser` to declare it, `run_*` to do it), so that
options such as a relay for `trip new` or a link for `trip show` slot in beside the
local behaviour. Every failure a person can cause (unknown trip, damaged file, bad
title) prints one readable line to stderr and exits 1.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path

from wayfarer.sync.library import SUFFIX, InvalidTripId, TripInfo, TripLibrary
from wayfarer.sync.local import LocalTrip
from wayfarer.sync.updatelog import StoreError
from wayfarer.trip import Stop, TripError, TripSnapshot, snapshot_to_json_text

Action = Callable[[argparse.Namespace], int]

# What a person can get wrong or run into; anything else is a bug and keeps its traceback.
EXPECTED_ERRORS = (StoreError, TripError, InvalidTripId)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("trip", help="create, show and list trips")
    actions = parser.add_subparsers(dest="trip_action", metavar="ACTION", required=True)
    add_new_parser(actions)
    add_show_parser(actions)
    add_list_parser(actions)


def reports_errors(action: Action) -> Action:
    """Turn an expected failure into `wayfarer trip ACTION: error: ...` and exit status 1."""

    @functools.wraps(action)
    def run(args: argparse.Namespace) -> int:
        try:
            return action(args)
        except EXPECTED_ERRORS as exc:
            print(f"wayfarer trip {args.trip_action}: error: {exc}", file=sys.stderr)
            return 1

    return run


# ---------------------------------------------------------------------- trip new


def add_new_parser(actions: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = actions.add_parser("new", help="create a trip and print it as JSON")
    parser.add_argument("--title", required=True, help="the trip's name")
    parser.add_argument("--currency", default="EUR", help="ISO 4217 code for costs and budget (default EUR)")
    parser.set_defaults(func=run_new)
    return parser


@reports_errors
def run_new(args: argparse.Namespace) -> int:
    info = TripLibrary().create(args.title, currency=args.currency)
    print(json.dumps({"id": info.id, "title": info.title, "currency": args.currency, "path": str(info.path)}))
    return 0


# ---------------------------------------------------------------------- trip show


def add_show_parser(actions: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = actions.add_parser("show", help="print a trip (plan, budget, chat)")
    parser.add_argument("trip", metavar="TRIP", help=f"a trip id, or the path of a {SUFFIX} file")
    parser.add_argument("--json", action="store_true", help="print the whole trip as one JSON object")
    parser.set_defaults(func=run_show)
    return parser


@reports_errors
def run_show(args: argparse.Namespace) -> int:
    with open_local(args.trip) as local:
        local.trip.check_schema()
        snapshot = local.trip.snapshot()
        identity = f"{args.trip} ({local.path})"
    print(snapshot_to_json_text(snapshot) if args.json else summary(snapshot, identity))
    return 0


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

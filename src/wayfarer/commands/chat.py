"""`wayfarer chat LINK "message"`: a terminal peer.

Posts the message (with its queued run), streams the agent's reply to stdout as it
arrives — tool edits as one line each — and exits when the run ends: 0 completed, 130
cancelled, 1 failed or interrupted. Ctrl-C requests Stop (it does not just disconnect:
a dropped peer never stops a run) and waits for the agent to end the run.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import signal
import sys
from typing import TextIO

import anyio
from pycrdt import Doc

from wayfarer.agent.describe import describe_tool_call
from wayfarer.sync.connection import RelayConnection, SyncError
from wayfarer.sync.links import TripLink
from wayfarer.sync.presence import Presence
from wayfarer.trip import Message, Person, Trip, TripError

EXIT = {"completed": 0, "cancelled": 130, "failed": 1, "interrupted": 1}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "chat",
        help="post a message to a trip and stream the agent's reply",
        description="A terminal peer: posts MESSAGE to the trip at LINK and streams the agent's "
        "reply. Ctrl-C asks the agent to stop. Exit status: 0 completed, 130 cancelled, 1 failed.",
    )
    p.add_argument("link", metavar="LINK", help="trip link: ws://HOST:PORT/TRIP?token=...")
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("--name", default=None, help="your display name (default: your login name)")
    p.add_argument("--reasoning", action="store_true", help="also print the agent's reasoning (to stderr)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S", help="give up connecting after S seconds (default %(default)s)")
    p.set_defaults(func=main)


def terminal_person(name: str | None) -> Person:
    name = name or getpass.getuser() or "someone"
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return Person(f"person-{digest}", name)


class _ReplyPrinter:
    """Prints what is new in the reply since the last call: text, then finished tool calls."""

    def __init__(self, out: TextIO, err: TextIO, reasoning: bool) -> None:
        self.out, self.err, self.reasoning = out, err, reasoning
        self.text_done = 0
        self.reasoning_done = 0
        self.calls_done: set[str] = set()

    def update(self, message: Message) -> None:
        if self.reasoning and len(message.reasoning) > self.reasoning_done:
            self.err.write(message.reasoning[self.reasoning_done :])
            self.err.flush()
            self.reasoning_done = len(message.reasoning)
        if len(message.text) > self.text_done:
            self.out.write(message.text[self.text_done :])
            self.text_done = len(message.text)
        for call in message.tool_calls:
            if call.status != "running" and call.id not in self.calls_done:
                self.calls_done.add(call.id)
                if self.text_done and not message.text.endswith("\n"):
                    self.out.write("\n")
                self.out.write(f"  → {describe_tool_call(call)}\n")
        self.out.flush()


async def chat(link: str, text: str, person: Person, *, timeout: float, reasoning: bool) -> int:
    doc: Doc = Doc()
    trip = Trip(doc)
    presence = Presence(doc, person, kind="human", device="terminal")
    printer = _ReplyPrinter(sys.stdout, sys.stderr, reasoning)
    async with RelayConnection(doc, link, presence=presence) as connection:
        try:
            await connection.wait_synced(timeout=timeout)
        except SyncError as exc:
            return _fail(str(exc))
        if connection.status.read_only:
            return _fail("this is a viewer link: it can read the trip but not post to it")
        try:
            trip.check_schema()
            _, run_id = trip.post_user_message(text, person)
        except TripError as exc:
            return _fail(str(exc))
        wake = anyio.Event()

        def on_change(change: object) -> None:
            wake.set()

        subscription = trip.subscribe(on_change)
        stop_requested = False
        with anyio.open_signal_receiver(signal.SIGINT) as signals:

            async def on_sigint() -> None:
                nonlocal stop_requested
                async for _ in signals:
                    if not stop_requested:
                        stop_requested = True
                        print("\n[stopping…]", file=sys.stderr, flush=True)
                        trip.request_cancel(run_id, person)

            async with anyio.create_task_group() as tg:
                tg.start_soon(on_sigint)
                try:
                    while True:
                        run = trip.run(run_id)
                        reply = next((m for m in reversed(trip.snapshot().chat) if m.run_id == run_id), None)
                        if reply is not None:
                            printer.update(reply)
                        if run is not None and not run.is_live:
                            break
                        await wake.wait()
                        wake = anyio.Event()
                finally:
                    subscription.close()
                tg.cancel_scope.cancel()
        # make sure our cancel request (if any) reached the relay before we leave
        try:
            await connection.flush(timeout=5)
        except SyncError as exc:
            print(f"wayfarer chat: {exc}", file=sys.stderr)
    run = trip.run(run_id)
    assert run is not None
    if printer.text_done:
        sys.stdout.write("\n")
    if run.status != "completed":
        print(f"[{run.status}] {run.end_reason}".rstrip(), file=sys.stderr)
    return EXIT.get(run.status, 1)


def _fail(message: str) -> int:
    print(f"wayfarer chat: {message}", file=sys.stderr)
    return 1


def main(args: argparse.Namespace) -> int:
    try:
        TripLink.parse(args.link).role  # also reads the token: a mangled one is caught here
    except ValueError as exc:
        return _fail(str(exc))
    person = terminal_person(args.name)
    return anyio.run(lambda: chat(args.link, args.message, person, timeout=args.timeout, reasoning=args.reasoning))

"""`wayfarer agent`: the headless agent daemon."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

import anyio

from wayfarer.agent.advisor import AdvisorSettings
from wayfarer.agent.daemon import AgentDaemon, DaemonConfig
from wayfarer.agent.providers import DEFAULT_ANTHROPIC_MODEL, ProviderUnavailable, make_provider
from wayfarer.agent.run import RunSettings
from wayfarer.agent.worker import AgentSettings
from wayfarer.sync.links import is_valid_trip_id

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "agent",
        help="run the AI agent as a headless peer of trips on a relay",
        description="Joins the given trips on a relay and answers every queued run: streams "
        "replies and reasoning into the chat and edits the plan through tools. Uses "
        "Anthropic when an API key is set (ANTHROPIC_API_KEY), the offline planner otherwise.",
    )
    p.add_argument("--relay", required=True, metavar="URL", help="relay address, e.g. ws://127.0.0.1:8765")
    p.add_argument("--key", required=True, metavar="K", help="the relay's key (signs the agent's trip tokens)")
    p.add_argument("--trip", action="append", default=[], metavar="ID", help="a trip to serve (repeatable)")
    p.add_argument(
        "--model",
        choices=("auto", "offline", "anthropic"),
        default="auto",
        help="provider: anthropic needs ANTHROPIC_API_KEY; auto picks it when a key is set (default)",
    )
    p.add_argument("--anthropic-model", default=DEFAULT_ANTHROPIC_MODEL, metavar="NAME", help="Anthropic model name (default %(default)s)")
    p.add_argument("--frame-ms", type=float, default=40.0, help="coalesce streamed tokens into one write per frame (default %(default)s ms; 0 = per token)")
    p.add_argument("--heartbeat", type=float, default=2.0, metavar="S", help="seconds between run heartbeats (default %(default)s)")
    p.add_argument("--stale-after", type=float, default=30.0, metavar="S", help="mark a running run interrupted after this many seconds without heartbeat (default %(default)s)")
    p.add_argument("--name", default="Wayfarer", help="the agent's display name (default %(default)s)")
    p.add_argument("--no-advice", action="store_true", help="never post advisories about people's edits (over budget, overfull day, far-away stop)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    bad = [t for t in args.trip if not is_valid_trip_id(t)]
    if bad:
        print(f"wayfarer agent: not a trip id: {', '.join(bad)}", file=sys.stderr)
        return 2
    try:
        provider = make_provider(args.model, model=args.anthropic_model)
    except ProviderUnavailable as exc:
        print(f"wayfarer agent: {exc}", file=sys.stderr)
        return 2
    settings = AgentSettings(
        run=RunSettings(frame_s=args.frame_ms / 1000.0, heartbeat_s=args.heartbeat),
        stale_after_s=args.stale_after,
    )
    config = DaemonConfig(
        relay_url=args.relay.rstrip("/"),
        key=args.key,
        settings=settings,
        advisor=AdvisorSettings(enabled=not args.no_advice),
        name=args.name,
    )

    async def run() -> None:
        async with AgentDaemon(config, provider) as daemon:
            for trip_id in args.trip:
                daemon.add_trip(trip_id)
            print(
                f"Wayfarer agent serving {len(args.trip)} trip(s) on {config.relay_url} with {provider.label}",
                flush=True,
            )
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.info("agent stopping (%s)", signal.Signals(signum).name)
                    break

    anyio.run(run)
    return 0

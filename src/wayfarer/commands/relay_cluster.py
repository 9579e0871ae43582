"""The cluster options of `wayfarer relay` (`--store`, `--role worker`, compaction), and
the worker role: compaction workers without a relay."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

import anyio

from wayfarer.sync.cluster import ClusterError
from wayfarer.sync.cluster.options import ClusterOptions
from wayfarer.sync.cluster.store import default_store_spec
from wayfarer.sync.cluster.worker import CompactionService

log = logging.getLogger("wayfarer.compaction")

DEFAULTS = ClusterOptions()


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """The cluster options, each saying whether relays, workers or both use it."""
    group = parser.add_argument_group(
        "cluster (with --redis)",
        "Relays of a cluster share every trip through Redis. A compaction worker (in a relay, or a process of "
        "its own with --role worker) moves trips from Redis into --store and trims Redis. A worker uses only "
        "--redis, --store (or --data), --compaction-workers, --trim-grace and --reclaim-after.",
    )
    group.add_argument(
        "--redis",
        default=None,
        metavar="URL",
        help="relays and workers: share every trip through this Redis (redis://[:PASSWORD@]HOST:PORT/DB; Redis 7+, "
        "appendonly yes, maxmemory-policy noeviction, else refused); without it, one self-contained relay",
    )
    group.add_argument(
        "--store",
        default=None,
        metavar="SPEC",
        help="relays and workers: where trips are kept beyond Redis, sqlite:FOLDER (every relay and worker on one "
        "machine) or postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE (several machines); default sqlite:DATA/rooms. "
        "Every relay and worker of a cluster must use the same one",
    )
    group.add_argument(
        "--role",
        choices=("relay", "worker"),
        default="relay",
        help="`worker`: only compaction workers, no websocket server (default: relay)",
    )
    group.add_argument(
        "--compaction-workers",
        type=int,
        default=None,
        metavar="N",
        help="relays and workers: compaction workers in this process (default: 1 in a worker; in a relay, 1 when "
        "given --store, else 0; 0 in a relay leaves compaction to worker processes)",
    )
    group.add_argument(
        "--compact-after",
        type=int,
        default=DEFAULTS.compact_after_entries,
        metavar="ENTRIES",
        help=f"relays: ask for a trip's compaction once its stream holds this many entries "
        f"(default {DEFAULTS.compact_after_entries}); workers ignore it",
    )
    group.add_argument(
        "--trim-grace",
        type=float,
        default=DEFAULTS.trim_grace_seconds,
        metavar="SECONDS",
        help=f"compaction workers (a relay's or a worker's): trim only entries older than this, for relays a "
        f"little behind (default {DEFAULTS.trim_grace_seconds:g})",
    )
    group.add_argument(
        "--reclaim-after",
        type=float,
        default=DEFAULTS.reclaim_after_seconds,
        metavar="SECONDS",
        help=f"compaction workers (a relay's or a worker's): take over a task another worker claimed and did not "
        f"finish in this long (default {DEFAULTS.reclaim_after_seconds:g})",
    )


def cluster_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the cluster options, in words for the person who typed them."""
    if args.redis is None:
        if args.store is not None or args.role == "worker":
            return "--store and --role worker need --redis URL (a single relay keeps its trips in --data)"
        return None
    if args.compaction_workers is not None and args.compaction_workers < 0:
        return "--compaction-workers must be 0 or more"
    if args.role == "worker" and args.compaction_workers == 0:
        return "--role worker --compaction-workers 0 would compact nothing: give 1 or more"
    if args.compact_after < 1:
        return "--compact-after must be 1 or more"
    if args.trim_grace < 0 or args.reclaim_after <= 0:
        return "--trim-grace must be 0 or more and --reclaim-after more than 0"
    return None


def cluster_options(args: argparse.Namespace) -> ClusterOptions:
    return ClusterOptions(
        store=args.store,
        compact_after_entries=args.compact_after,
        trim_grace_seconds=args.trim_grace,
        compaction_workers=args.compaction_workers,
        reclaim_after_seconds=args.reclaim_after,
    )


def run_worker(args: argparse.Namespace, data_dir: Path) -> int:
    """`wayfarer relay --role worker`: compact trips until SIGTERM or SIGINT."""
    options = cluster_options(args)
    store = options.store or default_store_spec(data_dir / "rooms")
    try:
        anyio.run(_work_until_signalled, CompactionService(args.redis, store, options))
    except ClusterError as exc:
        print(f"wayfarer relay: {exc}", file=sys.stderr)
        return 1
    return 0


async def _work_until_signalled(service: CompactionService) -> None:
    failure: ClusterError | None = None
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with service, anyio.create_task_group() as tg:
            assert service.store is not None

            async def work() -> None:
                nonlocal failure
                try:
                    await service.run()
                except ClusterError as exc:
                    failure = exc
                tg.cancel_scope.cancel()

            tg.start_soon(work)
            print(f"Wayfarer compaction worker running, compacting into {service.store.description}", flush=True)
            async for signum in signals:
                log.info("received %s: stopping", signal.Signals(signum).name)
                break
            tg.cancel_scope.cancel()
    if failure is not None:
        raise failure

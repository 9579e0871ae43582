"""`wayfarer relay`: run a relay until SIGTERM or SIGINT, then store everything and stop."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

import anyio

from wayfarer.commands.relay_cluster import add_cluster_arguments, cluster_options, cluster_problem, run_worker
from wayfarer.paths import embedded_relay_dir
from wayfarer.sync.cluster import ClusterError, ClusterRelay
from wayfarer.sync.relay import Fix, Relay, RelayConfig
from wayfarer.sync.relay.config import MiB

# Comma-separated `Fix` names to switch off: only for showing that the regression tests
# fail against pycrdt-websocket as shipped.
STOCK_ENV = "WAYFARER_RELAY_STOCK"

log = logging.getLogger("wayfarer.relay")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "relay",
        help="run a relay that stores trips and syncs their peers",
        description="Serve trips to their peers over websockets; prints the URL it listens on first. "
        "With --redis, one relay of a cluster (or, with --role worker, a compaction worker): see the cluster "
        "options below.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on; 0 picks a free one (default 8765)")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="folder for trips and the key (default: app data); with --redis, only the key and the default "
        "--store (DATA/rooms)",
    )
    parser.add_argument(
        "--key", default=None, help="key that signs trip tokens (default: DATA/relay.key); one for every relay of a cluster"
    )
    parser.add_argument("--max-message-mib", type=float, default=8, help="largest message accepted (MiB)")
    parser.add_argument("--max-document-mib", type=float, default=64, help="largest trip document (MiB)")
    parser.add_argument(
        "--send-queue-mib", type=float, default=4, help="bytes waiting for one peer before it is dropped (MiB)"
    )
    parser.add_argument("--idle-seconds", type=float, default=60, help="unload a trip nobody used for this long")
    parser.add_argument(
        "--awareness-timeout", type=float, default=30, help="seconds before an unrenewed presence is removed"
    )
    parser.add_argument(
        "--compression", action="store_true", help="offer per-message deflate (more memory per peer, fewer bytes)"
    )
    add_cluster_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        stock = frozenset(Fix(name.strip()) for name in os.environ.get(STOCK_ENV, "").split(",") if name.strip())
    except ValueError as exc:
        print(f"wayfarer relay: {STOCK_ENV}: {exc}", file=sys.stderr)
        return 2
    problem = cluster_problem(args)
    if problem is not None:
        print(f"wayfarer relay: {problem}", file=sys.stderr)
        return 2
    if args.role == "worker":
        return run_worker(args, args.data or embedded_relay_dir())
    config = RelayConfig(
        data_dir=args.data or embedded_relay_dir(),
        host=args.host,
        port=args.port,
        key=args.key,
        max_message_bytes=int(args.max_message_mib * MiB),
        max_document_bytes=int(args.max_document_mib * MiB),
        send_queue_bytes=int(args.send_queue_mib * MiB),
        idle_room_seconds=args.idle_seconds,
        awareness_timeout_seconds=args.awareness_timeout,
        per_message_deflate=args.compression,
        stock=stock,
    )
    if stock:
        log.warning("running with the library's behaviour for: %s (regression tests only)", ", ".join(sorted(stock)))
    try:
        relay = Relay(config) if args.redis is None else ClusterRelay(config, args.redis, cluster_options(args))
        anyio.run(_serve_until_signalled, relay)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"wayfarer relay: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except ClusterError as exc:
        print(f"wayfarer relay: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve_until_signalled(relay: Relay) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with relay:
            print(f"Wayfarer relay listening on {relay.url}", flush=True)
            async for signum in signals:
                log.info("received %s: storing every trip and stopping", signal.Signals(signum).name)
                break

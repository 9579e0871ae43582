"""Wayfarer's benchmarks: every workload, one table.

    cd <the repository> && PYTHONPATH=src python benchmarks/run.py [--quick | --large]
        [--only latency,fanout,catchup,wire_bytes,open_trip,qt_stalls,memory]
        [--option NAME=VALUE ...] [--markdown] [--save FILE] [--profile-relay DIR]

Starts a Wayfarer relay (`wayfarer relay`, as a person runs it) and @y/websocket-server
0.1.1 (the JavaScript y-websocket server, installed with `npm ci` into benchmarks/js on
first use), both on 127.0.0.1, and drives them with the same Node client (yjs +
y-websocket + ws) and with Wayfarer's own Python peer. Side-by-side figures carry the
ratio Wayfarer / JS: below 1 the Wayfarer relay is faster or smaller. A default run takes
a few minutes; every figure is a median and a 99th percentile over repeated samples.

Figures are noisy: on a shared 2-core machine the loopback floor is ~1 ms and a p99 can
move 2-3x from one run to the next. Compare the two relays within one run (their runs
are interleaved), not figures across runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import anyio

import _profile
from _harness import JS_DIR, LARGE, QUICK, Bench, Figure, Options, ensure_node_modules, say, scratch, table

WORKLOADS = ("latency", "fanout", "catchup", "wire_bytes", "open_trip", "qt_stalls", "memory", "cluster")
# Those that stream through the shared Wayfarer relay (what --profile-relay samples).
USES_SHARED_RELAY = ("latency", "fanout", "catchup", "wire_bytes")


def machine() -> list[str]:
    """The machine and the versions a run measured, for the README."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    ) if Path("/proc/cpuinfo").exists() else platform.processor()  # fmt: skip
    memory = ""
    if Path("/proc/meminfo").exists():
        total_kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {total_kib / 1024 / 1024:.0f} GiB memory"
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()

    def py(name: str) -> str:
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"{name} (not installed)"

    def js(*path: str) -> str:
        manifest = JS_DIR.joinpath("node_modules", *path, "package.json")
        if not manifest.exists():
            return f"{path[-1]} (not installed)"
        data = json.loads(manifest.read_text())
        return f"{data['name']} {data['version']}"

    return [
        f"date: {_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"machine: {os.cpu_count()} cores ({cpu}){memory}; {platform.system()} {platform.release()}",
        f"Python {platform.python_version()}: "
        + ", ".join(py(n) for n in ("pycrdt", "pycrdt-websocket", "uvicorn", "websockets", "anyio", "PySide6-Essentials", "qasync")),
        f"Node {node}: "
        + ", ".join(
            [js("yjs"), js("y-websocket"), js("ws"), js("@y", "websocket-server"), js("@y", "websocket-server", "node_modules", "ws") + " (the server's own)"]
        ),
    ]


async def run_workloads(bench: Bench, names: list[str]) -> list[Figure]:
    figures: list[Figure] = []
    for name in names:
        started = time.monotonic()
        say(f"== {name}")
        if name == "open_trip":
            figures += await anyio.to_thread.run_sync(open_trip_figures, bench.options)
        elif name == "qt_stalls":
            from qt_stalls import figures as qt_figures

            figures += await anyio.to_thread.run_sync(qt_figures, bench.options.qt_seconds)
        else:
            if name == "memory":
                bench.close()  # the memory workload starts fresh relays; give them the CPU
                bench.wayfarer = bench.js = None
            module = importlib.import_module(name)
            if bench.profile_dir is not None and name in USES_SHARED_RELAY:
                bench.relays()
                assert bench.wayfarer is not None
                output = bench.profile_dir / f"{name}.txt"
                with _profile.profiling(bench.wayfarer.pid, output):
                    figures += await module.run(bench)
                say(_profile.summary(output))
            else:
                figures += await module.run(bench)
        say(f"== {name}: {time.monotonic() - started:.0f} s")
    return figures


def open_trip_figures(options: Options) -> list[Figure]:
    """benchmarks/open_trip.py's `measure`, in a child process of its own (a clean heap:
    in this process, after the streaming workloads, its timings came out up to 2x slower)."""
    here = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(here), str(here.parent / "src"), os.environ.get("PYTHONPATH")]))}
    code = f"import json, open_trip; print(json.dumps(open_trip.measure({options.open_messages}, {options.open_runs})))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=1800)
    if result.returncode != 0:
        return [Figure("open a trip", "Python (disk)", "ms", [], note=f"failed: {result.stderr.strip()[-2000:]}")]
    summary, results = json.loads(result.stdout.strip().splitlines()[-1])
    return [
        Figure(label, "Python (disk)", "ms", [s * 1000 for s in samples], note=summary if i == 0 else "")
        for i, (label, samples) in enumerate(results)
    ]


def parse_options(args: argparse.Namespace) -> Options:
    options = Options(**(QUICK if args.quick else LARGE if args.large else {}))
    fields = {f.name: f for f in dataclasses.fields(Options)}
    for item in args.option:
        name, _, raw = item.partition("=")
        name = name.strip().replace("-", "_")
        if name not in fields:
            raise SystemExit(f"unknown option {name!r}; one of: {', '.join(fields)}")
        current = getattr(options, name)
        if isinstance(current, tuple):
            value: object = tuple(int(v) for v in raw.split(",") if v)
        else:
            value = type(current)(raw)
        options = dataclasses.replace(options, **{name: value})
    return options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes: a smoke test of every workload (~1.5 min)")
    size.add_argument("--large", action="store_true", help="more tokens, more repeats, 3 memory runs (~15 min)")
    parser.add_argument("--only", default="", help=f"comma-separated workloads, from: {', '.join(WORKLOADS)}")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE", help="override one size (see Options in _harness.py), e.g. memory_peers=2000")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    parser.add_argument("--save", type=Path, help="also write the machine and the Markdown table to this file")
    parser.add_argument("--profile-relay", type=Path, metavar="DIR", help="sample the Wayfarer relay with py-spy during each streaming workload")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(WORKLOADS)
    unknown = set(names) - set(WORKLOADS)
    if unknown:
        raise SystemExit(f"unknown workload(s): {', '.join(sorted(unknown))}; one of: {', '.join(WORKLOADS)}")
    options = parse_options(args)
    ensure_node_modules()
    started = time.monotonic()
    with scratch() as tmp:
        bench = Bench(options, Path(tmp), profile_dir=args.profile_relay.resolve() if args.profile_relay else None)
        try:
            figures = anyio.run(run_workloads, bench, names)
        finally:
            bench.close()
    about = machine() + [f"took {time.monotonic() - started:.0f} s; sizes: {dataclasses.asdict(options)}"]
    print("\n".join(about) + "\n")
    print(table(figures, markdown=args.markdown))
    if args.save:
        args.save.write_text("\n".join(f"- {line}" for line in about) + "\n\n" + table(figures, markdown=True) + "\n")
        say(f"saved to {args.save}")


if __name__ == "__main__":
    sys.exit(main())

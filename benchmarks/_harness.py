"""What every benchmark workload shares: figures and their table, the two relays as child
processes, the Node client, a byte-counting TCP proxy, and the trip the peers stream into.

Nothing here asserts a time: the benchmarks measure and print, the tests check behaviour.
Every network address is on 127.0.0.1; every loop is bounded in count and in time.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream
from pycrdt import Doc

from wayfarer.sync.tokens import make_token
from wayfarer.trip import Person, Trip

HERE = Path(__file__).resolve().parent
JS_DIR = HERE / "js"
SRC = HERE.parent / "src"
JS_SERVER = JS_DIR / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
NODE_CLIENT = JS_DIR / "client.mjs"
START_TIMEOUT = 30.0
MAX_LINE = 64 * 1024 * 1024  # the Node readers report every token's arrival on one line

ANA = Person(id="p-ana", name="Ana")
AGENT = Person(id="agent-bench", name="Planner")

# Tokens as a model streams them: short words with their leading space (ASCII, so that a
# text's length is the same number in Yjs, in yrs and in Python).
VOCABULARY = (
    " the a museum walk lunch tram river old town viewpoint tickets open closes early booking"
    " recommend station market coffee bridge cathedral tiles port cellar tasting evening dinner"
    " ferry beach sunset budget euros minutes hours morning afternoon near from to and with but"
    " then after before quiet crowded local famous garden castle , . ; day one two three"
).split(" ")[1:]


def tokens(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    return [" " + rng.choice(VOCABULARY) if rng.random() < 0.85 else rng.choice(VOCABULARY) for _ in range(count)]


def now_ms() -> float:
    """CLOCK_MONOTONIC in ms: the clock the Node client's process.hrtime reads too."""
    return time.monotonic_ns() / 1e6


# ---------------------------------------------------------------------- figures


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def p99(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


@dataclass
class Figure:
    """One line of the table: samples against the Wayfarer relay and, side by side, the JS one."""

    name: str
    client: str
    unit: str
    wayfarer: list[float]
    js: list[float] | None = None
    note: str = ""

    def cells(self) -> list[str]:
        w = self.wayfarer
        cells = [self.name, self.client, self.unit, _num(median(w)) if w else "—", _num(p99(w)) if w else "—"]
        if self.js:
            cells += [_num(median(self.js)), _num(p99(self.js))]
            cells += [_ratio(median(w), median(self.js)), _ratio(p99(w), p99(self.js))] if w else ["—", "—"]
        else:
            cells += ["—"] * 4
        cells.append(f"{len(w)}" + (f"/{len(self.js)}" if self.js else ""))
        return cells


HEADER = ["figure", "client", "unit", "Wayfarer median", "Wayfarer p99", "JS median", "JS p99", "ratio median", "ratio p99", "n"]


def _num(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b > 0 else "—"


def table(figures: Sequence[Figure], *, markdown: bool = False) -> str:
    rows = [HEADER] + [figure.cells() for figure in figures]
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(" --- " if i < 3 else " ---: " for i in range(len(HEADER))) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    else:
        widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
        lines = ["  ".join(cell.ljust(widths[i]) if i < 3 else cell.rjust(widths[i]) for i, cell in enumerate(row)) for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"- {figure.name} ({figure.client}): {figure.note}" for figure in figures if figure.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- the trip peers stream into


@functools.lru_cache(maxsize=4)
def seed_trip(prior_messages: int = 20) -> tuple[bytes, str]:
    """A trip with some history and a run whose (empty) assistant message is being streamed.

    Returns the whole document as one update and the streamed message's id. Every peer of
    a workload starts from this same update, so all of them agree on the message to read.
    """
    trip = Trip(Doc())
    trip.create("Benchmark trip", currency="EUR")
    day = trip.add_day("Day one")
    rng = random.Random(5)
    for n in range(prior_messages // 2):
        _, run_id = trip.post_user_message(" ".join(rng.choice(VOCABULARY) for _ in range(30)), ANA)
        trip.claim_run(run_id, AGENT, model="offline")
        message = trip.start_assistant_message(run_id, AGENT)
        trip.stream(message, text="".join(tokens(150, seed=n)))
        trip.add_stop(f"Stop {n}", 38.7 + n / 100, -9.1, day=day, cost=12)
        trip.end_run(run_id, "completed")
    _, run_id = trip.post_user_message("Plan two days in Lisbon", ANA)
    trip.claim_run(run_id, AGENT, model="offline")
    message = trip.start_assistant_message(run_id, AGENT)
    return trip.doc.get_update(), message


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ---------------------------------------------------------------------- the relays


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    """Resident memory of a process (Linux /proc), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class RelayProcess:
    """A relay in a child process on 127.0.0.1 whose first stdout line names its address."""

    kind = ""
    label = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.url = ""
        self._process: subprocess.Popen[str] | None = None
        self._log_path = workdir / f"{self.kind}.log"
        self._log: IO[str] | None = None

    def command(self) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def token(self, room: str) -> str:
        return ""

    def start(self) -> RelayProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        command, env = self.command()
        self._log = self._log_path.open("w")
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._log, text=True, env={**os.environ, **env}, cwd=self.workdir
        )
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(self._process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT)
        if not first or not first[0]:
            self.stop()
            raise RuntimeError(f"{self.label} did not start:\n{self.logs()}")
        self.url = self._parse_url(first[0])
        # Drain what else it prints, so that a full pipe never blocks it.
        threading.Thread(target=lambda: [None for _ in self._process.stdout], daemon=True).start()  # type: ignore[union-attr]
        return self

    def _parse_url(self, line: str) -> str:
        raise NotImplementedError

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def rss_mib(self) -> float:
        return rss_mib(self.pid)

    def logs(self) -> str:
        return self._log_path.read_text() if self._log_path.exists() else ""

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> RelayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class WayfarerRelay(RelayProcess):
    """`wayfarer relay` exactly as a person runs it (the store on disk, fsync and all)."""

    kind = "wayfarer"
    label = "the Wayfarer relay"

    def __init__(self, workdir: Path, *, idle_seconds: float = 60.0, extra: Sequence[str] = ()) -> None:
        super().__init__(workdir)
        self.key = secrets.token_urlsafe(32)
        self.idle_seconds = idle_seconds
        self.extra = tuple(extra)

    def command(self) -> tuple[list[str], dict[str, str]]:
        command = [sys.executable, "-m", "wayfarer", "relay", "--host", "127.0.0.1", "--port", "0"]
        # `--key=K`, not `--key K`: a key that starts with "-" (1 in 64 of token_urlsafe's)
        # would otherwise be read as an option.
        command += [f"--data={self.workdir / 'data'}", f"--key={self.key}", f"--idle-seconds={self.idle_seconds}"]
        pythonpath = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
        return command + list(self.extra), {"PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1"}

    def _parse_url(self, line: str) -> str:
        match = re.search(r"listening on (ws://\S+)", line)
        if match is None:
            raise RuntimeError(f"unexpected first line from the relay: {line!r}")
        return match.group(1)

    def token(self, room: str) -> str:
        return make_token(self.key, room, "editor")

    def count_log(self, pattern: str) -> int:
        return len(re.findall(pattern, self.logs()))


class JsRelay(RelayProcess):
    """@y/websocket-server 0.1.1 (the JavaScript y-websocket server), no persistence."""

    kind = "js"
    label = "@y/websocket-server"

    def command(self) -> tuple[list[str], dict[str, str]]:
        self.port = free_port()
        return ["node", str(JS_SERVER)], {"HOST": "127.0.0.1", "PORT": str(self.port)}

    def token(self, room: str) -> str:
        # Ignored by this server; a well-formed token lets Wayfarer's own peer read its link.
        return make_token("ignored-by-the-js-server", room, "editor")

    def _parse_url(self, line: str) -> str:
        if "running at" not in line:
            raise RuntimeError(f"unexpected first line from @y/websocket-server: {line!r}")
        return f"ws://127.0.0.1:{self.port}"


def link(relay: RelayProcess, room: str) -> str:
    """A trip link for `room` (the JS server ignores the token; it accepts one all the same)."""
    return f"{relay.url}/{room}?token={relay.token(room)}"


def ensure_node_modules() -> None:
    """Install benchmarks/js's pinned packages (npm ci, from package-lock.json) if missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("the benchmarks need Node.js and npm (node 18 or newer)")
    if JS_SERVER.exists() and (JS_DIR / "node_modules" / "y-websocket").is_dir():
        return
    say("installing the JavaScript side (npm ci in benchmarks/js) ...")
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise SystemExit(f"npm ci in {JS_DIR} failed:\n{result.stdout}\n{result.stderr}")


# ---------------------------------------------------------------------- the Node client


class NodeClient:
    """One `node client.mjs MODE CONFIG` process, spoken to in JSON lines."""

    def __init__(self, mode: str, config: dict[str, Any], workdir: Path) -> None:
        self.mode = mode
        self.config = config
        self.workdir = workdir
        self._process: Process | None = None
        self._stdout: BufferedByteReceiveStream | None = None
        self._stderr_path = workdir / f"node-{mode}-{secrets.token_hex(3)}.log"

    async def __aenter__(self) -> NodeClient:
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / f"{self.mode}-{secrets.token_hex(4)}.json"
        path.write_text(json.dumps(self.config))
        self._stderr = self._stderr_path.open("w")
        self._process = await anyio.open_process(
            ["node", str(NODE_CLIENT), self.mode, str(path)], cwd=JS_DIR, stderr=self._stderr
        )
        assert self._process.stdout is not None
        self._stdout = BufferedByteReceiveStream(self._process.stdout)
        return self

    async def event(self, name: str, timeout: float) -> dict[str, Any]:
        """The next event called `name` (earlier other events are skipped); raises on "error"."""
        assert self._stdout is not None
        with anyio.fail_after(timeout):
            while True:
                try:
                    line = await self._stdout.receive_until(b"\n", MAX_LINE)
                except (anyio.EndOfStream, anyio.IncompleteRead):
                    raise RuntimeError(f"the Node {self.mode} client ended:\n{self._stderr_path.read_text()}") from None
                message = json.loads(line)
                if message.get("event") == "error":
                    raise RuntimeError(f"the Node {self.mode} client failed: {message.get('message')}")
                if message.get("event") == name:
                    return message

    async def send(self, command: str) -> None:
        assert self._process is not None and self._process.stdin is not None
        await self._process.stdin.send(command.encode() + b"\n")

    async def __aexit__(self, *exc: object) -> None:
        assert self._process is not None
        with anyio.CancelScope(shield=True):
            if self._process.stdin is not None:
                await self._process.stdin.aclose()
            with anyio.move_on_after(10):
                await self._process.wait()
            if self._process.returncode is None:
                self._process.kill()
                await self._process.wait()
            self._stderr.close()


# ---------------------------------------------------------------------- a byte-counting proxy


@dataclass
class CountingProxy:
    """A TCP proxy on 127.0.0.1 to `target_port` that counts the bytes going each way.

    `up` counts peer → relay, `down` relay → peer, over every connection it carried: the
    websocket frames with their headers (and the one HTTP upgrade of each connection).
    """

    target_port: int
    up: int = 0
    down: int = 0
    port: int = 0
    _listener: Any = field(default=None, repr=False)

    async def serve(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        self._listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = self._listener.extra(anyio.abc.SocketAttribute.local_port)
        task_status.started()
        await self._listener.serve(self._carry)

    async def _carry(self, client: anyio.abc.SocketStream) -> None:
        async with client, await anyio.connect_tcp("127.0.0.1", self.target_port) as relay:
            async with anyio.create_task_group() as tg:

                async def pump(source: anyio.abc.SocketStream, sink: anyio.abc.SocketStream, upstream: bool) -> None:
                    try:
                        async for chunk in source:
                            if upstream:
                                self.up += len(chunk)
                            else:
                                self.down += len(chunk)
                            await sink.send(chunk)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                        pass
                    tg.cancel_scope.cancel()

                tg.start_soon(pump, client, relay, True)
                tg.start_soon(pump, relay, client, False)

    def via(self, url: str) -> str:
        """`url` (ws://127.0.0.1:PORT/...) rerouted through this proxy."""
        return re.sub(r"^ws://127\.0\.0\.1:\d+", f"ws://127.0.0.1:{self.port}", url)


# ---------------------------------------------------------------------- the session


@dataclass
class Options:
    """Sizes of the workloads; `scale()` makes a quick or a big run."""

    latency_tokens: int = 200
    latency_rate: float = 50.0
    fanout_readers: tuple[int, ...] = (1, 10, 100)
    fanout_tokens: int = 300
    fanout_rate: float = 100.0
    python_readers: tuple[int, ...] = (1, 10)
    repeats: int = 2
    catchup_tokens: int = 10_000
    catchup_rounds: int = 15
    cold_rounds: int = 5
    wire_tokens: int = 300
    wire_runs: int = 3
    open_messages: int = 5_000
    open_runs: int = 10
    qt_seconds: float = 8.0
    memory_rooms: int = 100
    memory_peers: int = 1_000
    memory_runs: int = 1
    memory_idle_seconds: float = 5.0


QUICK = dict(
    latency_tokens=60, fanout_tokens=100, repeats=1, catchup_tokens=2_000, catchup_rounds=5, cold_rounds=2, wire_tokens=100,
    wire_runs=1, open_messages=1_000, open_runs=3, qt_seconds=2.0, memory_rooms=20, memory_peers=200,
)  # fmt: skip
LARGE = dict(
    latency_tokens=500, fanout_tokens=1_000, repeats=5, catchup_rounds=50, cold_rounds=15, wire_tokens=1_000, wire_runs=5,
    open_runs=30, qt_seconds=20.0, memory_runs=3,
)  # fmt: skip


@dataclass
class Bench:
    """What a workload gets: the options, a scratch directory and both relays (started lazily)."""

    options: Options
    workdir: Path
    wayfarer: WayfarerRelay | None = None
    js: JsRelay | None = None
    profile_dir: Path | None = None
    _rooms: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**9)))

    def relays(self) -> list[RelayProcess]:
        if self.wayfarer is None:
            self.wayfarer = WayfarerRelay(self.workdir / "wayfarer", idle_seconds=10).start()
        if self.js is None:
            self.js = JsRelay(self.workdir / "js").start()
        return [self.wayfarer, self.js]

    def wayfarer_port(self) -> int:
        self.relays()
        assert self.wayfarer is not None
        return int(self.wayfarer.url.rsplit(":", 1)[1])

    def room(self, prefix: str) -> str:
        return f"{prefix}-{next(self._rooms)}"

    def close(self) -> None:
        for relay in (self.wayfarer, self.js):
            if relay is not None:
                relay.stop()


def scratch() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="wayfarer-bench-")


def finite(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def standalone(workload: Any, description: str) -> None:
    """`python benchmarks/<workload>.py`: run one workload at default size, print its rows."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    ensure_node_modules()
    with scratch() as tmp:
        bench = Bench(Options(), Path(tmp))
        try:
            figures = anyio.run(workload, bench)
        finally:
            bench.close()
    print(table(figures, markdown=args.markdown))

"""Cluster: the latency and fan-out workloads through 1, 2 and 4 relays sharing one Redis,
beside the single-process relay, in one run.

A cluster relay is `wayfarer relay --redis URL`, as a person runs it, all of them on one
redis-server (append-only file on, `noeviction`, as the relay demands) started here in
the scratch directory. Peers are spread over the relays: the writer on the first one,
the readers round-robin from the second, so that with two relays or more every token
crosses relays (writer's relay → Redis stream → reader's relay). The single-process
relay is the same command without `--redis` (its SQLite store, fsync and all).

The workloads are those of latency.py and fanout.py, with the same Node client (yjs +
y-websocket), the same trip and the same counting (`_peers`); each line of the table
puts a cluster in the Wayfarer columns and the single-process relay, from the same run
(interleaved: single, 1, 2, 4, single, ...), in the comparison columns, so the ratio is
cluster / single relay. With `run.py --profile-relay DIR`, py-spy samples the writer's
relay and a reader's relay of the clusters (DIR/cluster-writer-relay.txt, ...).

Run: PYTHONPATH=src python benchmarks/cluster.py
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import _profile
import anyio
import redis
from _harness import (
    Bench,
    Figure,
    NodeClient,
    RelayProcess,
    WayfarerRelay,
    b64,
    free_port,
    say,
    seed_trip,
    standalone,
    tokens,
)
from _peers import SETTLE_SECONDS, SYNC_TIMEOUT, WARMUP, Streamed, _collect, with_warmup

SIZES = (1, 2, 4)  # relays per cluster
# Rooms stay loaded for the whole run: an unload (and the memory it returns) landing in
# another run's streaming window would be counted there.
IDLE_SECONDS = 3600
COMPARED = (
    "in the lines of a cluster (\"N relays + Redis\"), the comparison columns are the single-process "
    "Wayfarer relay from the same run, not the JS server"
)


def cpu_seconds(pid: int) -> float:
    """CPU time the threads of a process have used so far, in ns precision (Linux schedstat;
    /proc/PID/stat counts in 10 ms ticks, too coarse for a few seconds of streaming)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended meanwhile
    return total / 1e9


class RedisServer:
    """redis-server in the scratch directory, on 127.0.0.1, with the settings the relay demands."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("the cluster benchmark needs redis-server (Debian package redis-server)")
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        command = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(workdir), "--save", ""]
        command += ["--appendonly", "yes", "--maxmemory-policy", "noeviction", "--logfile", str(workdir / "redis.log")]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        try:
            while not _answers(client):
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start:\n{(workdir / 'redis.log').read_text()}")
                time.sleep(0.05)
        finally:
            client.close()

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


class Deployment:
    """The relays one workload run talks to: one single-process relay, or a cluster (and its Redis)."""

    def __init__(self, label: str, relays: Sequence[RelayProcess], redis: RedisServer | None = None) -> None:
        self.label = label
        self.relays = list(relays)
        self.redis = redis

    def cpu(self) -> tuple[float, float]:
        """CPU seconds used so far by the relays (together) and by Redis."""
        return sum(cpu_seconds(relay.pid) for relay in self.relays), cpu_seconds(self.redis.pid) if self.redis else 0.0


@contextmanager
def deployments(bench: Bench) -> Iterator[list[Deployment]]:
    """The single-process relay and clusters of `SIZES` relays (prefixes of one set of
    relays on one Redis; relays a run does not use hold no room of it and stay idle)."""
    with ExitStack() as stack:
        workdir = bench.workdir / "cluster"
        single = WayfarerRelay(workdir / "single", idle_seconds=IDLE_SECONDS)
        stack.enter_context(single)
        redis = RedisServer(workdir / "redis")
        stack.callback(redis.stop)
        key = single.key
        members = []
        for n in range(max(SIZES)):
            relay = WayfarerRelay(workdir / f"relay-{n}", idle_seconds=IDLE_SECONDS, extra=("--redis", redis.url))
            relay.key = key  # one key signs for the whole cluster
            members.append(stack.enter_context(relay))
        yield [Deployment("single relay", [single])] + [
            Deployment(f"{n} relay{'s' if n > 1 else ''} + Redis", members[:n], redis) for n in SIZES
        ]


@dataclass
class Measured:
    streamed: Streamed
    relay_cpu_us: float  # per streamed token, the deployment's relays together
    redis_cpu_us: float  # per streamed token


async def spread_stream(bench: Bench, run: Deployment, words: list[str], *, rate: float, readers: int) -> Measured:
    """`_peers.node_stream`, with the writer on the first relay and the readers round-robin
    from the second (one Node readers process per relay); and the CPU time the relays and
    Redis spent from "go" until every reader had every token."""
    relays = run.relays
    words = with_warmup(words)
    room = bench.room("cluster")
    seed = b64(seed_trip()[0])
    placement = Counter((i + 1) % len(relays) for i in range(readers))
    timeout = len(words) / max(rate, 1) + 60

    def config(relay: RelayProcess) -> dict[str, object]:
        return {"url": relay.url, "room": room, "token": relay.token(room), "seed": seed, "tokens": words}

    async with AsyncExitStack() as stack:
        crowds = []
        for index, count in sorted(placement.items()):
            crowd = NodeClient("readers", {**config(relays[index]), "count": count, "timeout_s": timeout}, bench.workdir)
            crowds.append(await stack.enter_async_context(crowd))
        for crowd in crowds:
            await crowd.event("ready", SYNC_TIMEOUT + readers)
        writer = await stack.enter_async_context(NodeClient("writer", {**config(relays[0]), "rate": rate}, bench.workdir))
        await writer.event("ready", SYNC_TIMEOUT)
        await anyio.sleep(SETTLE_SECONDS)
        relays_before, redis_before = run.cpu()
        await writer.send("go")
        sent = (await writer.event("sent", timeout))["sent"]
        received: list[list[float | None]] = []
        for crowd in crowds:
            with anyio.move_on_after(30):
                received += (await crowd.event("done", timeout))["received"]
                continue
            await crowd.send("finish")
            received += (await crowd.event("done", 30))["received"]
        relays_after, redis_after = run.cpu()
        per_token = 1e6 / len(words)
        return Measured(
            _collect(sent, received, WARMUP),
            (relays_after - relays_before) * per_token,
            (redis_after - redis_before) * per_token,
        )


async def measure(bench: Bench, runs: list[Deployment]) -> list[Figure]:
    o = bench.options
    workloads = [
        (f"token latency, 1 reader, {o.latency_rate:g} tokens/s", tokens(o.latency_tokens), o.latency_rate, 1, False)
    ] + [
        (f"fan-out, {n} reader{'s' if n > 1 else ''}, {o.fanout_rate:g} tokens/s", tokens(o.fanout_tokens, seed=23), o.fanout_rate, n, n > 1)
        for n in o.fanout_readers
    ]  # fmt: skip
    figures = []
    # CPU per streamed token (µs), per run: of the relays together, and of Redis.
    relay_cpu: dict[tuple[str, str], list[float]] = {(name, run.label): [] for name, *_ in workloads for run in runs}
    redis_cpu: dict[tuple[str, str], list[float]] = {(name, run.label): [] for name, *_ in workloads for run in runs}
    for name, words, rate, readers, with_last in workloads:
        every: dict[str, list[float]] = {run.label: [] for run in runs}
        last: dict[str, list[float]] = {run.label: [] for run in runs}
        missing: Counter[str] = Counter()
        for _ in range(o.repeats):
            for run in runs:  # interleaved, so that a busy moment hits all of them
                say(f"cluster: {name} via {run.label}")
                measured = await spread_stream(bench, run, words, rate=rate, readers=readers)
                result = measured.streamed
                relay_cpu[name, run.label].append(measured.relay_cpu_us)
                redis_cpu[name, run.label].append(measured.redis_cpu_us)
                every[run.label] += result.latencies
                last[run.label] += result.last_reader
                missing[run.label] += result.missing
        single = runs[0].label
        for run in runs[1:]:
            lost = f"{missing[run.label]} (token, reader) pairs never arrived" if missing[run.label] else ""
            figures.append(Figure(f"{name}: {run.label}", "Node yjs", "ms", every[run.label], every[single], lost))
            if with_last:
                figures.append(Figure(f"{name}, last reader: {run.label}", "Node yjs", "ms", last[run.label], last[single]))
        if missing[single]:
            figures[-1].note += f"; via the single relay {missing[single]} (token, reader) pairs never arrived"
    single = runs[0].label
    for name in (workloads[0][0], workloads[-1][0]):  # one reader, and the most readers
        for run in runs[1:]:
            what = f"CPU per streamed token, {name}"
            figures.append(Figure(f"{what}, the relays together: {run.label}", "process", "µs", relay_cpu[name, run.label], relay_cpu[name, single]))
            figures.append(Figure(f"{what}, Redis: {run.label}", "process", "µs", redis_cpu[name, run.label]))
    if figures:
        figures[0].note = "; ".join(filter(None, [COMPARED, figures[0].note]))
    return figures


async def run(bench: Bench) -> list[Figure]:
    with deployments(bench) as runs:
        if bench.profile_dir is None:
            return await measure(bench, runs)
        # The first two relays are the writer's and a reader's in every cluster of 2 or more.
        writer_relay, reader_relay = runs[-1].relays[:2]
        outputs = [bench.profile_dir / "cluster-writer-relay.txt", bench.profile_dir / "cluster-reader-relay.txt"]
        with _profile.profiling(writer_relay.pid, outputs[0]), _profile.profiling(reader_relay.pid, outputs[1]):
            figures = await measure(bench, runs)
        for output in outputs:
            say(_profile.summary(output))
        return figures


if __name__ == "__main__":
    standalone(run, __doc__.splitlines()[0])

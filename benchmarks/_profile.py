"""Where the Wayfarer relay spends its time during a workload: py-spy, attached by pid.

Only with `run.py --profile-relay DIR`, and only if `py-spy` is installed (it is not a
dependency of the project or of the benchmarks). py-spy samples the relay process from
outside; the raw output (one collapsed stack and its count per line, the format of
flamegraph.pl and speedscope) goes to DIR/<workload>.txt, and `summary()` lists the
functions with the most samples of their own and the most samples under them.
"""

from __future__ import annotations

import collections
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RATE = 250  # samples per second: enough for a few seconds of work, light on the relay


def available() -> str | None:
    """py-spy on PATH or next to this Python (a virtual environment's bin/)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


@contextmanager
def profiling(pid: int, output: Path) -> Iterator[None]:
    """Sample process `pid` for the duration of the block into `output` (raw format)."""
    spy = available()
    if spy is None:
        raise SystemExit("--profile-relay needs py-spy (pip install py-spy); it is not a project dependency")
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [spy, "record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw", "--output", str(output)]
    process = subprocess.Popen(command + ["--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


def _frame(frame: str) -> str:
    return re.sub(r" \((?:/[^()]*/)?(site-packages|src|python3\.\d+)/", " (", frame)


def summary(path: Path, top: int = 15) -> str:
    own: collections.Counter[str] = collections.Counter()
    under: collections.Counter[str] = collections.Counter()
    total = 0
    if not path.exists():
        return f"{path}: no samples"
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            under[frame] += n
    if not total:
        return f"{path}: no samples"
    lines = [f"{path.name}: {total} samples of the relay's busy threads ({RATE}/s)", "  own time:"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines.append("  time under (excluding the event loop's own frames):")
    skip = re.compile(r"runpy|__main__|cli.py|relay.py:\d+\)$|_eventloop|runners|base_events|events.py|asyncio.py:26")
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in under.most_common(top * 3) if not skip.search(f)][:top]
    return "\n".join(lines)

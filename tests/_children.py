"""Run tests/_store_child.py and kill it mid-stream, collecting what it reported saved."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
CHILD = HERE / "_store_child.py"
HANG_GUARD = 60.0  # seconds: only to turn a hung child into a failure, never a timing check


def run_and_kill(
    mode: str, path: Path, kill_when: Callable[[list[str]], bool], *, delay: float = 0.0
) -> list[str]:
    """Start the child, SIGKILL it `delay` seconds after `kill_when(lines so far)` is true,
    and return every complete line it printed (including those still in the pipe)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    child = subprocess.Popen(
        [sys.executable, str(CHILD), mode, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    guard = threading.Timer(HANG_GUARD, child.kill)
    guard.start()
    lines: list[str] = []
    try:
        assert child.stdout is not None
        for raw in child.stdout:
            if not raw.endswith(b"\n"):
                break
            lines.append(raw.decode().rstrip("\n"))
            if kill_when(lines):
                time.sleep(delay)
                os.kill(child.pid, signal.SIGKILL)
                break
        rest, errors = child.communicate()
    finally:
        guard.cancel()
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, f"child ended on its own ({child.returncode}): {errors.decode()}"
    lines.extend(line.decode() for line in rest.split(b"\n")[:-1])  # a torn last line is not a report
    return lines


def saved_numbers(lines: list[str]) -> set[int]:
    """The numbers the child reported saved ("filled N" reports 0..N-1)."""
    numbers: set[int] = set()
    for line in lines:
        word, _, value = line.partition(" ")
        if word == "saved":
            numbers.add(int(value))
        elif word == "filled":
            numbers.update(range(int(value)))
    return numbers

"""A real compaction worker in a child process (`wayfarer relay --role worker`), for tests.

    worker = WorkerProcess(redis_url, store_spec, "--reclaim-after", "1").start()
    worker.wait_for_log(r"compacted trip trip-1")
    worker.kill()          # SIGKILL: no chance to finish anything
    worker.terminate()     # SIGTERM: its exit status

Everything it prints is kept for `logs()`; `worker_factory` starts them and stops them all
at the end (printing their logs, which pytest shows for a failing test).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO

import pytest
from relay_process import SRC

START_TIMEOUT = 30.0  # seconds; only turns a worker that never starts into a failure
RUNNING = "compaction worker running"


class WorkerProcess:
    def __init__(self, redis_url: str, store: str, *args: str) -> None:
        self._command = [sys.executable, "-m", "wayfarer", "relay", "--role", "worker", "--redis", redis_url]
        self._command += ["--store", store, *args]
        self._process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._changed = threading.Condition()

    def start(self) -> WorkerProcess:
        env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for stream in (self._process.stdout, self._process.stderr):
            threading.Thread(target=self._collect, args=(stream,), daemon=True).start()
        try:
            self.wait_for_log(RUNNING, timeout=START_TIMEOUT)
        except AssertionError:
            self.kill()
            raise
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=START_TIMEOUT)

    def terminate(self) -> int:
        assert self._process is not None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
        return self._process.wait(timeout=START_TIMEOUT)

    def logs(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def count_log(self, pattern: str) -> int:
        return len(re.findall(pattern, self.logs()))

    def wait_for_log(self, pattern: str, timeout: float = 30.0, count: int = 1) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matches = list(regex.finditer("".join(self._lines)))
                if len(matches) >= count:
                    return matches[-1].group(0)
                remaining = deadline - time.monotonic()
                exited = self._process is not None and self._process.poll() is not None
                if remaining <= 0 or exited:
                    raise AssertionError(f"no {pattern!r} (x{count}) in the worker's logs:\n{''.join(self._lines)}")
                self._changed.wait(min(remaining, 0.2))

    def _collect(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()


@pytest.fixture
def worker_factory() -> Iterator[Callable[..., WorkerProcess]]:
    """`worker_factory(redis_url, store_spec, *extra_args)`: a started worker process."""
    started: list[WorkerProcess] = []

    def start(redis_url: str, store: str, *args: str) -> WorkerProcess:
        worker = WorkerProcess(redis_url, store, *args)
        started.append(worker)
        return worker.start()

    yield start
    for number, worker in enumerate(started):
        worker.kill()
        print(f"--- logs of compaction worker {number} ---\n{worker.logs()}")

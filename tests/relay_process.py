"""A real Wayfarer relay in a child process on 127.0.0.1, for tests that need one.

The relay runs as `python -m wayfarer relay --host 127.0.0.1 --port 0 --data DIR --key K`
(the same command a person runs); the helper reads the URL it prints first, so tests
never guess ports. Everything the relay logs is captured for `logs()`.

    from relay_process import RelayProcess, anyio_backend, relay, relay_factory  # noqa: F401

    def test_two_peers(relay: RelayProcess) -> None:
        link = relay.link("trip-1")                  # editor link, as a str
        viewer = relay.link("trip-1", role="viewer")
        ...
        relay.kill()                                  # SIGKILL, no chance to flush
        relay.restart()                               # same data dir, key AND port
        relay.wait_for_log(r"loaded trip trip-1")     # regex over the captured logs

    def test_custom(relay_factory) -> None:
        relay = relay_factory(idle_seconds=1, awareness_timeout=2)

`RelayProcess` attributes: `url` ("ws://127.0.0.1:PORT"), `port`, `key`, `data_dir`,
`pid`; methods: `link(trip_id, role="editor", expires_at=None) -> str`, `kill()`,
`terminate() -> exit status`, `restart()`, `logs() -> str`, `wait_for_log(regex)`,
`count_log(regex)`, `close()`; in async tests `await await_log(regex)`.

Extra environment variables (`env=`) reach the child, e.g. `WAYFARER_RELAY_STOCK`.
`file_size_limit=` caps the size of any file the relay writes (RLIMIT_FSIZE), which
makes its store fail for real once a trip outgrows it (set `relay.file_size_limit =
None` before `restart()` to lift it). Fixtures: `relay` (defaults) and `relay_factory`
(options named like the command's flags); on a failing test pytest shows the relay's
logs. `anyio_backend` makes async tests run on asyncio.
"""

from __future__ import annotations

import os
import re
import resource
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import anyio
import pytest

from wayfarer.sync.tokens import make_token

SRC = Path(__file__).resolve().parent.parent / "src"
START_TIMEOUT = 30.0  # seconds; only turns a relay that never starts into a failure
LISTENING = re.compile(r"listening on (ws://\S+)")


class RelayProcess:
    """One relay child process (restartable on the same port, data dir and key)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        key: str | None = None,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        file_size_limit: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.key = key or secrets.token_hex(32)
        self._args = args
        self._env = env or {}
        self.file_size_limit = file_size_limit
        self._port = 0
        self._process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._lines_changed = threading.Condition()
        self.url = ""

    # ------------------------------------------------------------------ lifetime

    def start(self) -> RelayProcess:
        """Start the relay and wait until it prints the URL it listens on."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self._spawn()
            url = self._wait_for_url(deadline)
            if url is not None:
                self.url = url
                self._port = int(url.rsplit(":", 1)[1])
                return self
            if self._port == 0 or time.monotonic() > deadline:
                raise RuntimeError(f"the relay did not start:\n{self.logs()}")
            time.sleep(0.2)  # the old port may still be held for a moment after a kill

    @property
    def port(self) -> int:
        return self._port

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the relay gets no chance to flush or close anything."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=START_TIMEOUT)

    def terminate(self) -> int:
        """SIGTERM (a clean shutdown) and the relay's exit status."""
        assert self._process is not None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
        return self._process.wait(timeout=START_TIMEOUT)

    def restart(self) -> None:
        """Stop it (SIGTERM if still running) and start again on the same port."""
        if self.running:
            self.terminate()
        self.start()

    def close(self) -> None:
        self.kill()

    # ------------------------------------------------------------------ links and logs

    def link(self, trip_id: str, role: str = "editor", expires_at: float | None = None) -> str:
        return f"{self.url}/{trip_id}?token={make_token(self.key, trip_id, role, expires_at)}"

    def logs(self) -> str:
        with self._lines_changed:
            return "".join(self._lines)

    def count_log(self, pattern: str) -> int:
        return len(re.findall(pattern, self.logs()))

    def wait_for_log(self, pattern: str, timeout: float = 30.0, count: int = 1) -> str:
        """Wait until `pattern` (a regex) occurs `count` times in the logs; returns the last match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._lines_changed:
            while True:
                matches = list(regex.finditer("".join(self._lines)))
                if len(matches) >= count:
                    return matches[-1].group(0)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {pattern!r} (x{count}) in the relay's logs:\n{''.join(self._lines)}")
                self._lines_changed.wait(remaining)

    async def await_log(self, pattern: str, timeout: float = 30.0, count: int = 1) -> str:
        """`wait_for_log` for async tests: waits in a thread, so the event loop keeps running."""
        return await anyio.to_thread.run_sync(self.wait_for_log, pattern, timeout, count)

    # ------------------------------------------------------------------ internals

    def _spawn(self) -> None:
        env = dict(os.environ)
        env.update(self._env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        command = [sys.executable, "-m", "wayfarer", "relay", "--host", "127.0.0.1", "--port", str(self._port)]
        command += ["--data", str(self.data_dir), f"--key={self.key}", *self._args]
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=self._limit_file_size if self.file_size_limit else None,
        )
        self._first_stdout_line: list[str] = []
        for stream, first in ((self._process.stdout, self._first_stdout_line), (self._process.stderr, None)):
            threading.Thread(target=self._collect, args=(stream, first), daemon=True).start()

    def _limit_file_size(self) -> None:
        assert self.file_size_limit is not None
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_size_limit, self.file_size_limit))

    def _collect(self, stream: IO[str] | None, first: list[str] | None) -> None:
        assert stream is not None
        for line in stream:
            with self._lines_changed:
                if first is not None and not first:
                    first.append(line)
                self._lines.append(line)
                self._lines_changed.notify_all()
        with self._lines_changed:
            self._lines_changed.notify_all()

    def _wait_for_url(self, deadline: float) -> str | None:
        assert self._process is not None
        with self._lines_changed:
            while not self._first_stdout_line:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    return None
                self._lines_changed.wait(0.1)
        match = LISTENING.search(self._first_stdout_line[0])
        if match is None:
            raise RuntimeError(f"the relay's first line is not its URL: {self._first_stdout_line[0]!r}")
        return match.group(1)


@pytest.fixture
def anyio_backend() -> str:
    """Relay tests run on asyncio: the relay itself needs it (uvicorn)."""
    return "asyncio"


@pytest.fixture
def relay_factory(tmp_path: Path) -> Iterator[Callable[..., RelayProcess]]:
    """Start relays with options: `relay_factory(idle_seconds=1, env={...}, file_size_limit=...)`.

    Keyword options named like `wayfarer relay` flags (`idle_seconds`,
    `awareness_timeout`, `max_message_mib`, `max_document_mib`) become those flags.
    """
    started: list[RelayProcess] = []

    def start(
        *,
        data_dir: Path | None = None,
        env: dict[str, str] | None = None,
        file_size_limit: int | None = None,
        **options: Any,
    ) -> RelayProcess:
        args: list[str] = []
        for name, value in options.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        directory = data_dir or tmp_path / f"relay-{len(started)}"
        relay = RelayProcess(directory, args=tuple(args), env=env, file_size_limit=file_size_limit)
        started.append(relay)
        return relay.start()

    yield start
    for relay in started:
        relay.close()
        # pytest shows captured output only for failing tests: there, the relay's side.
        print(f"--- logs of the relay in {relay.data_dir} ---\n{relay.logs()}")


@pytest.fixture
def relay(relay_factory: Callable[..., RelayProcess]) -> RelayProcess:
    """A relay with default settings and its own data directory."""
    return relay_factory()

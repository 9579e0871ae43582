"""A real redis-server child process on 127.0.0.1, for the relay cluster's tests.

Runs the Debian `redis-server` binary from a temporary directory (its append-only file
and nothing else there), on a free loopback port, and stops it by PID at the end. A
machine without `redis-server` FAILS these tests (scripts/setup.sh installs it): a
cluster test that skips would let a broken cluster pass unnoticed.

    from redis_process import RedisProcess, redis_server, redis_factory  # noqa: F401

    def test_x(redis_server: RedisProcess) -> None:
        redis_server.url                        # "redis://127.0.0.1:PORT/0"
        redis_server.stop(); redis_server.start()   # a restart, keeping its data

    def test_y(redis_factory) -> None:
        unsafe = redis_factory(maxmemory_policy="allkeys-lru")
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

START_TIMEOUT = 10.0  # seconds; only turns a Redis that never starts into a failure


class RedisProcess:
    """One redis-server child: append-only file on and no eviction unless told otherwise."""

    def __init__(self, directory: Path, *, appendonly: str = "yes", maxmemory_policy: str = "noeviction") -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: run scripts/setup.sh (Debian package redis-server)")
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        # Arguments, not a config file: each is named where a failing test shows it.
        self._command = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(directory)]
        self._command += ["--appendonly", appendonly, "--maxmemory-policy", maxmemory_policy, "--save", ""]
        self._command += ["--daemonize", "no", "--logfile", str(directory / "redis.log")]
        self.start()

    def start(self) -> None:
        """Start the server (again, after `stop`: same port, same append-only file)."""
        self._process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._wait_until_ready()

    @property
    def pid(self) -> int:
        return self._process.pid

    def logs(self) -> str:
        log = self.directory / "redis.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        """SIGTERM the server (by its PID) and wait for it; SIGKILL if it lingers."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def _wait_until_ready(self) -> None:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while True:
                if self._process.poll() is not None:
                    stderr = self._process.stderr.read() if self._process.stderr else ""
                    pytest.fail(f"redis-server exited with {self._process.returncode}:\n{stderr}{self.logs()}")
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"redis-server did not answer within {START_TIMEOUT} s:\n{self.logs()}")
                time.sleep(0.02)
        finally:
            client.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Callable[..., RedisProcess]]:
    """Start redis-servers with settings: `redis_factory(maxmemory_policy="allkeys-lru")`."""
    started: list[RedisProcess] = []

    def start(**settings: str) -> RedisProcess:
        server = RedisProcess(tmp_path / f"redis-{len(started)}", **settings)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def redis_server(redis_factory: Callable[..., RedisProcess]) -> RedisProcess:
    """A redis-server safe for trips: append-only file on, `noeviction`."""
    return redis_factory()

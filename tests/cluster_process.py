"""Relay clusters for tests: N `wayfarer relay --redis URL` child processes on one real Redis.

    from cluster_process import cluster_factory  # noqa: F401
    from redis_process import redis_factory, redis_server  # noqa: F401

    def test_x(cluster_factory) -> None:
        a, b = cluster_factory(2, awareness_timeout=3)   # options named like the flags
        a.link("trip-1"); b.link("trip-1", role="viewer")   # one key signs for every relay

Every relay has its own data folder and the same key; the logs of each are printed at
the end (pytest shows them for a failing test).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis_process import RedisProcess
from relay_process import RelayProcess


@pytest.fixture
def cluster_factory(
    tmp_path: Path, redis_server: RedisProcess
) -> Iterator[Callable[..., list[RelayProcess]]]:
    """`cluster_factory(count, **options)`: `count` relays sharing `redis_server` and one key."""
    started: list[RelayProcess] = []

    def start(count: int = 2, **options: Any) -> list[RelayProcess]:
        key = secrets.token_hex(32)
        args = ["--redis", redis_server.url]
        for name, value in options.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        relays = []
        for _ in range(count):
            relay = RelayProcess(tmp_path / f"relay-{len(started)}", key=key, args=tuple(args))
            started.append(relay)
            relays.append(relay.start())
        return relays

    try:
        yield start
    finally:
        for relay in started:
            relay.close()
            print(f"--- logs of the relay in {relay.data_dir} ---\n{relay.logs()}")

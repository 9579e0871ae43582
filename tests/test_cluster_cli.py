"""`wayfarer relay` for a cluster, as a person deploying it meets it: the help says where each
cluster option acts, the README names every Redis key the cluster keeps, and a Redis or
store that cannot be used is refused in one readable line with exit status 1."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from redis_process import RedisProcess, redis_factory, redis_server  # noqa: F401
from relay_process import SRC

from wayfarer.sync.cluster.redis_log import ClusterError, check_redis_settings

pytestmark = pytest.mark.anyio

ROOT = SRC.parent
CLUSTER_SOURCES = SRC / "wayfarer" / "sync" / "cluster"


def wayfarer_relay(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "wayfarer", "relay", "--port", "0", "--data", str(data), *args]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=60, env=env)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refused_in_one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "listening" not in result.stdout and "running" not in result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wayfarer relay: "), result.stderr
    return lines[0]


def test_the_help_says_whether_relays_or_workers_use_each_cluster_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wayfarer", "relay", "--help"],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"},
    )
    helps = dict(re.findall(r"^  (--[a-z-]+)(?: [A-Z{][^ ]*)?\s+(.*)$", result.stdout, re.MULTILINE))
    says = {
        "--redis": "relays and workers",
        "--store": "relays and workers",
        "--compaction-workers": "relays and workers",
        "--compact-after": "relays: ",
        "--trim-grace": "compaction workers (a relay's or a worker's)",
        "--reclaim-after": "compaction workers (a relay's or a worker's)",
        "--role": "`worker`: only compaction workers",
    }
    for flag, where in says.items():
        assert where in helps.get(flag, ""), f"{flag}: {helps.get(flag)!r}"
    assert "workers ignore it" in helps["--compact-after"]


def test_the_readme_names_every_key_the_cluster_keeps_in_redis() -> None:
    """Every `wayfarer:…` name in the cluster's code, with `<id>` for the trip, is in the README."""
    readme = (ROOT / "README.md").read_text()
    names = set()
    for source in CLUSTER_SOURCES.glob("*.py"):
        for name in re.findall(r"""["'](wayfarer:[^"']*)["']""", source.read_text()):
            names.add(re.sub(r"\{[^}]*\}", "<id>", name))
    assert {"wayfarer:trip:<id>:updates", "wayfarer:relays", "wayfarer:compaction:tasks"} <= names
    assert sorted(name for name in names if name not in readme) == []
    assert "wayfarer-compactors" in readme, "the consumer group"


class OldRedis:
    """What INFO says on a Redis 6 that is otherwise set up right."""

    async def info(self, section: str) -> dict[str, Any]:
        return {
            "server": {"redis_version": "6.2.14"},
            "persistence": {"aof_enabled": 1},
            "memory": {"maxmemory_policy": "noeviction"},
        }[section]


async def test_a_redis_older_than_7_is_refused() -> None:
    with pytest.raises(ClusterError) as refused:
        await check_redis_settings(OldRedis(), "redis://old-redis:6379/0")  # type: ignore[arg-type]
    assert "it is version 6.2.14; Wayfarer needs Redis 7 or newer" in str(refused.value)


@pytest.mark.parametrize("role", ["relay", "worker"])
def test_an_unreachable_redis_is_refused_in_one_line(role: str, tmp_path: Path) -> None:
    url = f"redis://:hunter2@127.0.0.1:{closed_port()}/0"
    line = refused_in_one_line(wayfarer_relay(tmp_path, "--role", role, "--redis", url, "--store", f"sqlite:{tmp_path}"))
    assert "cannot use Redis at redis://***@127.0.0.1:" in line
    assert "hunter2" not in line


@pytest.mark.parametrize("role", ["relay", "worker"])
def test_an_unreachable_postgresql_is_refused_in_one_line(
    role: str,
    tmp_path: Path,
    redis_server: RedisProcess,  # noqa: F811
) -> None:
    store = f"postgresql://wayfarer:hunter2@127.0.0.1:{closed_port()}/wayfarer"
    line = refused_in_one_line(wayfarer_relay(tmp_path, "--role", role, "--redis", redis_server.url, "--store", store))
    assert "cannot use PostgreSQL at postgresql://wayfarer:***@127.0.0.1:" in line
    assert "Connection refused" in line
    assert "hunter2" not in line


def test_a_malformed_redis_url_is_refused_in_one_line(tmp_path: Path) -> None:
    line = refused_in_one_line(wayfarer_relay(tmp_path, "--redis", "localhost:6379"))
    assert "--redis 'localhost:6379': Redis URL must specify one of the following schemes" in line

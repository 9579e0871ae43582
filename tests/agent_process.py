"""`wayfarer agent` and `wayfarer chat` as real child processes, for end-to-end tests.

    def test_x(relay, agents):                      # fixtures (registered in conftest.py)
        agents(trip_id, "--model", "offline")       # a started agent process (killed at the end)
        proc = chat(link, "Plan 2 days in Lisbon")  # a running `wayfarer chat` process
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from relay_process import RelayProcess

SRC = Path(__file__).resolve().parent.parent / "src"


def child_env(**extra: str) -> dict[str, str]:
    """The test's environment for a child `wayfarer`, without a real API key."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    env.pop("ANTHROPIC_API_KEY", None)
    env.update(extra)
    return env


@pytest.fixture
def agents(relay: RelayProcess) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Starts `wayfarer agent` processes on the relay; all are killed at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(trip_id: str, *args: str, **env: str) -> subprocess.Popen[str]:
        cmd = [sys.executable, "-m", "wayfarer", "agent", "--relay", relay.url, f"--key={relay.key}",
               "--trip", trip_id, "--heartbeat", "0.3", "--no-advice", *args]  # fmt: skip
        proc = subprocess.Popen(cmd, env=child_env(**env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started.append(proc)
        line = proc.stdout.readline() if proc.stdout else ""
        assert "Wayfarer agent serving" in line, line
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def chat(link: str, message: str, *args: str) -> subprocess.Popen[str]:
    """`wayfarer chat LINK MESSAGE --name Ana` as a running process (stdout/stderr piped)."""
    return subprocess.Popen(
        [sys.executable, "-m", "wayfarer", "chat", link, message, "--name", "Ana", *args],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

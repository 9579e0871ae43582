"""A JavaScript peer (yjs + y-websocket + ws, in Node) shares a trip with a Python peer
through the relay, using nothing but the trip link and the document contract."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import anyio
import pytest
from _sync_peers import PATIENCE, eventually
from anyio.streams.text import TextReceiveStream
from pycrdt import Doc
from relay_process import RelayProcess

from wayfarer.sync.connection import RelayConnection
from wayfarer.sync.presence import Presence
from wayfarer.trip import Person, Trip

pytestmark = pytest.mark.anyio

JS_DIR = Path(__file__).parent / "js"
NPM_TIMEOUT = 600.0


@pytest.fixture(scope="module")
def node_peer() -> Path:
    """The Node script, with its pinned packages installed (from package-lock.json)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed for the JavaScript interop test; install Node.js")
    if not (JS_DIR / "node_modules" / "y-websocket").is_dir():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
        )
        if result.returncode != 0:
            pytest.fail(f"`npm ci` in {JS_DIR} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return JS_DIR / "peer.mjs"


async def test_a_javascript_peer_reads_and_writes_a_trip_by_its_link(relay: RelayProcess, node_peer: Path) -> None:
    link = relay.link("interop")
    trip = Trip(Doc())
    trip.create("Shared with JavaScript")
    day = trip.add_day("Arrival", date="2026-05-01")
    python_stop = trip.add_stop(
        "Sagrada Família", 41.4036, 2.1744, day=day, start_time="09:30", duration_min=90, cost=26.5
    )
    presence = Presence(trip.doc, Person("u-py", "Python peer"))
    js_stop = {
        "id": "s-from-js",
        "day": day,
        "position": "z",
        "name": "Park Güell",
        "lat": 41.4145,
        "lon": 2.1527,
        "start_time": "15:00",
        "duration_min": 120,
        "cost": 10,
        "category": "sight",
        "notes": "written by yjs",
        "added_by": "u-js",
    }
    async with RelayConnection(trip.doc, link, presence=presence) as connection:
        await connection.flush(PATIENCE)
        async with await anyio.open_process(
            ["node", str(node_peer), link, python_stop, json.dumps(js_stop)], cwd=JS_DIR
        ) as node:
            assert node.stdout is not None and node.stdin is not None
            lines = TextReceiveStream(node.stdout)
            with anyio.fail_after(PATIENCE):
                first = json.loads(await _line(lines))
            seen_by_js = first["read"]
            assert seen_by_js["name"] == "Sagrada Família"
            assert (seen_by_js["lat"], seen_by_js["lon"], seen_by_js["cost"]) == (41.4036, 2.1744, 26.5)
            assert (seen_by_js["day"], seen_by_js["start_time"], seen_by_js["duration_min"]) == (day, "09:30", 90)

            await eventually(lambda: trip.snapshot().stop("s-from-js") is not None, "the JavaScript stop arrives")
            await eventually(
                lambda: any(p.id == "u-js" and p.status == "typing" for p in presence.people()),
                "the JavaScript peer's presence arrives",
            )
            await node.stdin.aclose()
            with anyio.fail_after(PATIENCE):
                assert await node.wait() == 0
    stop = trip.snapshot().stop("s-from-js")
    assert stop is not None
    assert (stop.name, stop.day, stop.lat, stop.lon) == ("Park Güell", day, 41.4145, 2.1527)
    assert (stop.start_time, stop.duration_min, stop.cost, stop.notes) == ("15:00", 120, 10.0, "written by yjs")
    assert [s.id for s in trip.snapshot().stops_in(day)] == [python_stop, "s-from-js"]


async def _line(lines: TextReceiveStream) -> str:
    buffer = ""
    async for chunk in lines:
        buffer += chunk
        if "\n" in buffer:
            return buffer.split("\n", 1)[0]
    raise AssertionError(f"the Node peer ended without a line of output (got {buffer!r})")

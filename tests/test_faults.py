"""Fault injection: the promises hold when processes die and the network misbehaves.

Rounds are bounded by default; `--fault-rounds N` (or WAYFARER_FAULT_ROUNDS) runs more.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import anyio
from pycrdt import Doc

from _chaos_proxy import ChaosProxy
from _sync_peers import FAST_RETRY, eventually
from agent_process import child_env
from anthropic_server import AnthropicTestServer, text_turn
from relay_process import RelayProcess
from wayfarer.sync.connection import RelayConnection
from wayfarer.sync.links import TripLink
from wayfarer.sync.local import LocalTrip
from wayfarer.sync.remote import create_remote_trip
from wayfarer.sync.status import SyncStatus
from wayfarer.trip import Person, Trip, snapshot_to_json_text

ANA = Person("p-ana", "Ana")


def reply_text(trip: Trip, run_id: str) -> str:
    reply = next((m for m in trip.snapshot().chat if m.run_id == run_id), None)
    return reply.text if reply else ""


async def test_relay_killed_again_and_again_mid_reply_every_peer_ends_with_exactly_the_agents_text(
    relay: RelayProcess, agents, anthropic_server: AnthropicTestServer, fault_rounds: int
) -> None:
    # Long enough that every kill lands mid-reply even when restarts are slow (loaded machine).
    words = [f"w{i} " for i in range(100 + 200 * fault_rounds)]
    anthropic_server.script(text_turn("".join(words), chunks=len(words), delay=0.02))
    created = await create_remote_trip(relay.url, relay.key, "Kill the relay")
    agents(created["id"], "--model", "anthropic", "--frame-ms", "20",
           ANTHROPIC_API_KEY="test-key", ANTHROPIC_BASE_URL=anthropic_server.base_url)  # fmt: skip
    ana, ben = Trip(Doc()), Trip(Doc())
    async with (
        RelayConnection(ana.doc, created["link"], backoff=FAST_RETRY) as ana_link,
        RelayConnection(ben.doc, created["link"], backoff=FAST_RETRY) as ben_link,
    ):
        await ana_link.wait_synced(30)
        await ben_link.wait_synced(30)
        _, run_id = ana.post_user_message("Stream a long answer", ANA)
        await ana_link.flush(30)
        for round_ in range(fault_rounds):
            seen = len(reply_text(ben, run_id))
            await eventually(lambda: len(reply_text(ben, run_id)) > seen, f"reply grows before kill {round_ + 1}", 60)
            relay.kill()
            await anyio.sleep(random.uniform(0.1, 0.4))
            await anyio.to_thread.run_sync(relay.restart)
        for trip in (ana, ben):
            await eventually(lambda t=trip: t.run(run_id) is not None and t.run(run_id).status == "completed", "run completed", 90)
        await eventually(lambda: reply_text(ana, run_id) == reply_text(ben, run_id) == "".join(words), "both peers have the whole text")

    assert reply_text(ana, run_id) == "".join(words)  # no token duplicated, none missing
    assert reply_text(ana, run_id).count("w0 ") == 1
    assert len(anthropic_server.requests) == 1  # the model never re-ran


async def test_a_peer_killed_right_after_an_offline_edit_has_it_on_restart_and_syncs_it(
    relay: RelayProcess, tmp_path: Path
) -> None:
    created = await create_remote_trip(relay.url, relay.key, "Offline edit")
    trip_file = tmp_path / "trip.wayfarer"
    with LocalTrip.open(trip_file, create=True) as local:  # the peer had the trip, online, before
        async with RelayConnection(local.doc, created["link"], backoff=FAST_RETRY) as connection:
            await connection.wait_synced(30)
    await anyio.to_thread.run_sync(relay.terminate)  # no relay from here on: offline

    editor = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "_offline_editor.py"), str(trip_file), "Tasca do Chico"],
        env=child_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert editor.stdout is not None and editor.stdout.readline().strip() == "saved"
    editor.kill()  # SIGKILL: no chance to flush or close anything
    editor.wait(10)

    with LocalTrip.open(trip_file) as local:
        assert [s.name for s in local.trip.stops()] == ["Tasca do Chico"]
        await anyio.to_thread.run_sync(relay.restart)
        async with RelayConnection(local.doc, created["link"], backoff=FAST_RETRY) as connection:
            await connection.flush(30)
    other = Trip(Doc())
    async with RelayConnection(other.doc, created["link"], backoff=FAST_RETRY) as connection:
        await connection.wait_synced(30)
    plan = other.snapshot()
    assert [s.name for s in plan.stops] == ["Tasca do Chico"]
    assert plan.meta.title == "Offline edit" and [m.text for m in plan.chat] == ["I added Tasca do Chico"]


async def test_peers_behind_a_proxy_that_delays_stalls_and_cuts_still_converge_and_status_tells_the_truth(
    relay: RelayProcess, fault_rounds: int
) -> None:
    created = await create_remote_trip(relay.url, relay.key, "Chaos")
    trip_id = created["id"]
    async with ChaosProxy(relay.port, seed=fault_rounds) as proxy:
        link = TripLink(f"ws://127.0.0.1:{proxy.port}", trip_id, TripLink.parse(created["link"]).token)
        trips = [Trip(Doc()) for _ in range(3)]
        statuses: list[list[SyncStatus]] = [[], [], []]
        async with (
            RelayConnection(trips[0].doc, link, backoff=FAST_RETRY) as c0,
            RelayConnection(trips[1].doc, link, backoff=FAST_RETRY) as c1,
            RelayConnection(trips[2].doc, link, backoff=FAST_RETRY) as c2,
        ):
            connections = [c0, c1, c2]
            for i, connection in enumerate(connections):
                connection.on_status(statuses[i].append)
            rng = random.Random(7)
            adjusted, notes = 0.0, 0
            for step in range(40 * fault_rounds):
                who = trips[step % 3]
                action = rng.random()
                if action < 0.4 or not who.stops():
                    who.add_stop(f"Stop {step}", 38.7 + rng.random() / 10, -9.1 - rng.random() / 10, cost=rng.randint(0, 30))
                elif action < 0.6:
                    who.update_stop(rng.choice(who.stops()).id, cost=float(rng.randint(0, 50)))
                elif action < 0.8:
                    delta = rng.choice([-20, 10, 50])
                    who.adjust_budget(delta)
                    adjusted += delta
                else:
                    who.post_user_message(f"note {step}", ANA, ask_agent=False)
                    notes += 1
                await anyio.sleep(rng.uniform(0, 0.03))
            proxy.calm()
            for connection in connections:
                await connection.flush(60)
            # Compare the peers with each other on every poll: after the flushes each one's own
            # edits are on the relay, but another's may still be on its way from it.
            await eventually(lambda: len({snapshot_to_json_text(t.snapshot()) for t in trips}) == 1, "all peers converge", 60)
            final = [c.status for c in connections]

    assert proxy.cuts > 0, "the proxy never cut a connection: raise the rounds or the cut chance"
    assert all(s.state == "synced" and s.unacked == 0 for s in final)
    # each cut was seen: a peer whose connection dropped reported it before syncing again
    assert any("offline" in [s.state for s in history] or "connecting" in [s.state for s in history[1:]] for history in statuses)
    plan = trips[0].snapshot()
    assert plan.budget.limit == adjusted  # no concurrent adjustment lost
    assert len(plan.chat) == len({m.id for m in plan.chat}) == notes  # no message lost or doubled

"""Peers that edit one trip at the same time end with the same trip, and nothing is lost.

Three to five peers, each a `Trip` over its own Doc seeded from one created trip, apply
random sequences of every operation. Each local write becomes one update, sent to every
other peer; updates arrive in random order, some twice, and peers are cut off from the
others for a while. Once everything has arrived, every peer reads the same trip and the
trip's invariants hold.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrdt import Doc, Map

from wayfarer.trip import Person, Trip, TripSnapshot, snapshot_to_json
from wayfarer.trip.fractional import is_valid

PEOPLE = [Person(f"p{n}", name) for n, name in enumerate(["Ann", "Bob", "Carol", "Dan", "Eve"])]
AGENT = Person("agent", "Wayfarer")
words = st.text(alphabet="abcdé xyz", min_size=1, max_size=6).filter(str.strip)
chunks = st.text(alphabet="abé z.\n", max_size=5)


@dataclass
class Peer:
    trip: Trip
    person: Person
    inbox: list[tuple[int, bytes]] = field(default_factory=list)
    applied: list[bytes] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    open_calls: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Expected:
    """What all peers wrote, all together: the oracle the converged trip is checked against."""

    texts: dict[str, str] = field(default_factory=dict)
    reasoning: dict[str, str] = field(default_factory=dict)
    tool_calls: dict[str, list[str]] = field(default_factory=dict)
    posted_in_order: dict[int, list[str]] = field(default_factory=dict)
    runs: dict[str, str] = field(default_factory=dict)
    days: list[str] = field(default_factory=list)
    deleted_days: set[str] = field(default_factory=set)
    stops: list[str] = field(default_factory=list)
    deleted_stops: set[str] = field(default_factory=set)
    budget: float = 0.0
    titles: set[str] = field(default_factory=set)


class Clock:
    def __init__(self) -> None:
        self.ticks = 0

    def __call__(self) -> str:
        self.ticks += 1
        return f"2026-05-01T10:{self.ticks // 60 % 60:02d}:{self.ticks % 60:02d}.000Z"


class World:
    """The peers and the network between them.

    Everything that decides what happens next is drawn by hypothesis (even the Yjs client
    ids, which break ties between concurrent writes), and targets are picked in the
    order they were created, so that a failing case replays exactly.
    """

    def __init__(self, size: int, data: st.DataObject) -> None:
        self.data = data
        clock = Clock()
        seed = Trip(Doc(client_id=1), clock=clock)
        seed.create("Lisbon")
        client_ids = data.draw(st.lists(st.integers(2, 2**32), min_size=size, max_size=size, unique=True))
        self.peers = []
        for person, client_id in zip(PEOPLE, client_ids):
            doc = Doc(client_id=client_id)
            doc.apply_update(seed.doc.get_update())
            self.peers.append(Peer(Trip(doc, clock=clock), person))
        self.cut_off: set[int] = set()
        self.expected = Expected(titles={"Lisbon"}, posted_in_order={n: [] for n in range(size)})

    def draw(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self.data.draw(strategy)

    # ------------------------------------------------------------ network

    def connected(self, a: int, b: int) -> bool:
        return (a in self.cut_off) == (b in self.cut_off)

    def broadcast(self, sender: int, update: bytes) -> None:
        for n, peer in enumerate(self.peers):
            if n != sender:
                peer.inbox.append((sender, update))

    def deliver_one(self) -> None:
        ready = [(n, i) for n, p in enumerate(self.peers) for i, (s, _) in enumerate(p.inbox) if self.connected(s, n)]
        if not ready:
            return
        n, i = self.draw(st.sampled_from(ready))
        peer = self.peers[n]
        sender, update = peer.inbox[i]
        if not self.draw(st.booleans()):  # else it stays queued and arrives again later
            del peer.inbox[i]
        peer.trip.doc.apply_update(update)
        peer.applied.append(update)

    def redeliver_old(self) -> None:
        candidates = [n for n, p in enumerate(self.peers) if p.applied]
        if candidates:
            peer = self.peers[self.draw(st.sampled_from(candidates))]
            peer.trip.doc.apply_update(self.draw(st.sampled_from(peer.applied)))

    def partition(self) -> None:
        self.cut_off = self.draw(st.sets(st.integers(0, len(self.peers) - 1), min_size=1, max_size=len(self.peers) - 1))

    def heal(self) -> None:
        self.cut_off = set()

    def settle(self, rng: random.Random) -> None:
        """Heal, deliver everything still queued in random order (some of it twice), then
        exchange state vectors once, as every peer does when it (re)connects.

        The exchange is needed: pycrdt can leave an update pending for good when it
        arrived out of order (see the xfail test at the end of this file).
        """
        self.heal()
        for peer in self.peers:
            rng.shuffle(peer.inbox)
            for _, update in peer.inbox:
                peer.trip.doc.apply_update(update)
                if rng.random() < 0.2:
                    peer.trip.doc.apply_update(update)
            peer.inbox.clear()
        for sender in self.peers:
            for receiver in self.peers:
                receiver.trip.doc.apply_update(sender.trip.doc.get_update(receiver.trip.doc.get_state()))

    # ------------------------------------------------------------ edits

    def edit(self) -> None:
        n = self.draw(st.integers(0, len(self.peers) - 1))
        peer = self.peers[n]
        operation = self.draw(st.sampled_from(sorted(OPERATIONS)))
        before = peer.trip.doc.get_state()
        snapshot = peer.trip.snapshot()
        while not OPERATIONS[operation](self, n, peer, snapshot):
            operation = PREREQUISITE[operation]
        self.broadcast(n, peer.trip.doc.get_update(before))

    def pick(self, items: Any) -> Any:
        items = list(items)
        return self.draw(st.sampled_from(items)) if items else None

    def runs(self, s: TripSnapshot, *statuses: str) -> list[str]:
        runs = [s.run(r) for r in self.expected.runs]
        return [r.id for r in runs if r is not None and (r.status in statuses or not statuses)]

    def days(self, s: TripSnapshot) -> list[str]:
        return [d for d in self.expected.days if s.day(d)]

    def stops(self, s: TripSnapshot) -> list[str]:
        return [x for x in self.expected.stops if s.stop(x)]

    def index(self, count: int) -> int | None:
        return self.draw(st.none() | st.integers(0, count + 1))


def post(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    text = w.draw(words)
    message_id, run_id = p.trip.post_user_message(text, p.person, ask_agent=w.draw(st.booleans()))
    w.expected.texts[message_id], w.expected.reasoning[message_id] = text, ""
    w.expected.posted_in_order[n].append(message_id)
    if run_id:
        w.expected.runs[run_id] = message_id
    return True


def note(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    text = w.draw(words)
    message_id = p.trip.post_assistant_note(text, AGENT)
    w.expected.texts[message_id], w.expected.reasoning[message_id] = text, ""
    w.expected.posted_in_order[n].append(message_id)
    return True


def claim(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    run = w.pick(w.runs(s, "queued"))
    if not run:
        return False
    p.trip.claim_run(run, AGENT, model=f"model-{n}")
    return True


def reply(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    run = w.pick(w.runs(s))
    if not run:
        return False
    message_id = p.trip.start_assistant_message(run, AGENT)
    p.replies.append(message_id)
    w.expected.texts[message_id], w.expected.reasoning[message_id] = "", ""
    w.expected.posted_in_order[n].append(message_id)
    return True


def stream(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    message_id = w.pick(p.replies)
    if not message_id:
        return False
    text, reasoning = w.draw(chunks), w.draw(chunks)
    p.trip.stream(message_id, text=text, reasoning=reasoning)
    w.expected.texts[message_id] += text
    w.expected.reasoning[message_id] += reasoning
    return True


def call_tool(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    message_id = w.pick(p.replies)
    if not message_id:
        return False
    call_id = p.trip.add_tool_call(message_id, w.draw(st.sampled_from(["add_stop", "move_stop"])), '{"n": 1}')
    w.expected.tool_calls.setdefault(message_id, []).append(call_id)
    p.open_calls.append((message_id, call_id))
    return True


def finish_tool(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    if not p.open_calls:
        return False
    message_id, call_id = p.open_calls.pop(w.draw(st.integers(0, len(p.open_calls) - 1)))
    p.trip.finish_tool_call(message_id, call_id, ok=w.draw(st.booleans()), result_json='{"ok": true}')
    return True


def heartbeat(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    run = w.pick(w.runs(s))
    if not run:
        return False
    p.trip.heartbeat(run)
    return True


def end_run(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    run = w.pick(w.runs(s, "queued", "running"))
    if not run:
        return False
    p.trip.end_run(run, w.draw(st.sampled_from(["completed", "cancelled", "failed", "interrupted"])), "done")
    return True


def cancel(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    run = w.pick(w.runs(s))
    if not run:
        return False
    p.trip.request_cancel(run, p.person)
    return True


def set_title(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    title = w.draw(words).strip()
    p.trip.set_title(title)
    w.expected.titles.add(title)
    return True


def add_day(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    w.expected.days.append(p.trip.add_day(w.draw(words), index=w.index(len(s.days))))
    return True


def update_day(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    day = w.pick(w.days(s))
    if not day:
        return False
    p.trip.update_day(day, title=w.draw(words), date=w.draw(st.sampled_from(["", "2026-05-01", "2026-05-02"])))
    return True


def move_day(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    day = w.pick(w.days(s))
    if not day:
        return False
    p.trip.move_day(day, w.draw(st.integers(0, len(s.days))))
    return True


def delete_day(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    day = w.pick(w.days(s))
    if not day:
        return False
    p.trip.delete_day(day)
    w.expected.deleted_days.add(day)
    return True


def add_stop(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    day = w.pick(["", *w.days(s)])
    stop_id = p.trip.add_stop(
        w.draw(words), w.draw(st.floats(-90, 90)), w.draw(st.floats(-180, 180)), day=day,
        index=w.index(len(s.stops_in(day))), cost=w.draw(st.integers(0, 100)),
        category=w.draw(st.sampled_from(["sight", "food", "other"])),
    )  # fmt: skip
    w.expected.stops.append(stop_id)
    return True


def update_stop(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    stop = w.pick(w.stops(s))
    if not stop:
        return False
    cost, name, duration = w.draw(st.integers(0, 100)), w.draw(words), w.draw(st.integers(0, 300))
    p.trip.update_stop(stop, cost=cost, name=name, duration_min=duration)
    return True


def move_stop(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    stop = w.pick(w.stops(s))
    if not stop:
        return False
    day = w.pick(["", *w.days(s)])
    p.trip.move_stop(stop, day, w.index(len(s.stops_in(day))))
    return True


def delete_stop(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    stop = w.pick(w.stops(s))
    if not stop:
        return False
    p.trip.delete_stop(stop)
    w.expected.deleted_stops.add(stop)
    return True


def adjust_budget(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    delta = w.draw(st.integers(-500, 1000))
    p.trip.adjust_budget(delta)
    w.expected.budget += delta
    return True


def set_budget_limit(w: World, n: int, p: Peer, s: TripSnapshot) -> bool:
    limit = w.draw(st.integers(0, 3000))
    w.expected.budget += limit - s.budget.limit
    p.trip.set_budget_limit(limit)
    return True


Operation = Callable[[World, int, Peer, TripSnapshot], bool]
OPERATIONS: dict[str, Operation] = {
    f.__name__: f
    for f in (
        post, note, claim, reply, stream, call_tool, finish_tool, heartbeat, end_run, cancel, set_title,
        add_day, update_day, move_day, delete_day, add_stop, update_stop, move_stop, delete_stop,
        adjust_budget, set_budget_limit,
    )
}  # fmt: skip
# An operation with nothing to act on (no run to claim, no stop to move) does what it
# needs first, so that short random sequences still reach streaming, tool calls and moves.
PREREQUISITE = {
    "claim": "post", "reply": "post", "heartbeat": "post", "end_run": "post", "cancel": "post",
    "stream": "reply", "call_tool": "reply", "finish_tool": "call_tool",
    "update_day": "add_day", "move_day": "add_day", "delete_day": "add_day",
    "update_stop": "add_stop", "move_stop": "add_stop", "delete_stop": "add_stop",
}  # fmt: skip

ACTIONS = ["edit"] * 6 + ["deliver"] * 4 + ["redeliver", "partition", "heal"]


@given(st.data())
def test_peers_converge_on_one_trip_that_keeps_every_invariant(data: st.DataObject) -> None:
    """After every update has arrived (any order, duplicated, partitioned) all peers read one trip, losing nothing."""
    world = World(data.draw(st.integers(3, 5), label="peers"), data)
    for _ in range(data.draw(st.integers(10, 80), label="steps")):
        action = data.draw(st.sampled_from(ACTIONS))
        if action == "edit":
            world.edit()
        elif action == "deliver":
            world.deliver_one()
        elif action == "redeliver":
            world.redeliver_old()
        elif action == "partition":
            world.partition()
        else:
            world.heal()
    world.settle(data.draw(st.randoms(use_true_random=False)))

    snapshots = [peer.trip.snapshot() for peer in world.peers]
    forms = [snapshot_to_json(s) for s in snapshots]
    for n, form in enumerate(forms[1:], start=1):
        differ = [key for key in form if form[key] != forms[0][key]]
        assert not differ, f"peer {n} reads {differ} differently:\n{form}\n{forms[0]}"
    for peer, snap in zip(world.peers, snapshots):
        check_invariants(world.expected, peer.trip, snap)


def check_invariants(expected: Expected, trip: Trip, snap: TripSnapshot) -> None:
    assert snap.problems == ()
    assert snap.meta.title in expected.titles

    # days: exactly those added and not deleted, in a strict total order
    assert {d.id for d in snap.days} == set(expected.days) - expected.deleted_days
    day_keys = [(d.position, d.id) for d in snap.days]
    assert day_keys == sorted(set(day_keys))
    assert all(is_valid(d.position) for d in snap.days)

    # stops: none lost, none duplicated, each in at most one day, ordered within it
    stop_ids = [s.id for s in snap.stops]
    assert len(stop_ids) == len(set(stop_ids))
    assert set(stop_ids) == set(expected.stops) - expected.deleted_stops
    day_ids = [d.id for d in snap.days]
    rank = {day: i for i, day in enumerate(day_ids)}
    assert all(s.day == "" or s.day in rank for s in snap.stops)
    day_order = [rank.get(s.day, len(day_ids)) for s in snap.stops]
    assert day_order == sorted(day_order)
    for day in ["", *day_ids]:
        keys = [(s.position, s.id) for s in snap.stops_in(day)]
        assert keys == sorted(set(keys))
        assert all(is_valid(position) for position, _ in keys)
    raw_stops = trip.doc.get("stops", type=Map)
    for stop in snap.stops:
        written_day = raw_stops[stop.id]["day"]
        assert stop.day == (written_day if written_day in rank else "")

    # budget: the limit is the sum of every adjustment made by every peer
    assert snap.budget.limit == expected.budget
    assert snap.budget.spent == sum(s.cost for s in snap.stops)

    # chat: every message once, in each author's order, with all that was streamed into it
    ids = [m.id for m in snap.chat]
    assert sorted(ids) == sorted(expected.texts)
    for posted in expected.posted_in_order.values():
        assert [i for i in ids if i in set(posted)] == posted
    for message in snap.chat:
        assert message.text == expected.texts[message.id]
        assert message.reasoning == expected.reasoning[message.id]
        assert [c.id for c in message.tool_calls] == expected.tool_calls.get(message.id, [])

    # runs: every run once, each triggered by its user message
    assert {r.id: r.trigger for r in snap.runs} == expected.runs
    assert len(snap.runs) == len(expected.runs)


@pytest.mark.xfail(strict=True, reason="pycrdt 0.14: an update that arrived early can stay pending for good")
def test_updates_that_arrive_before_the_ones_they_follow_are_applied_once_those_arrive() -> None:
    """The smallest case the convergence test found, in raw pycrdt.

    One peer sets a key twice, then another key; each write is one update, and each
    update carries the whole delete set. A peer receiving them newest first ends with
    only the oldest: the two updates that had to wait are never applied. Pycrdt
    repairs this on the next state-vector exchange; when this test starts passing,
    the exchange in `World.settle` is no longer needed.
    """
    author = Doc()
    values = author.get("m", type=Map)
    updates = []
    for key, value in [("k", 1.0), ("k", 2.0), ("j", 3.0)]:
        before = author.get_state()
        values[key] = value
        updates.append(author.get_update(before))
    receiver = Doc()
    for update in reversed(updates):
        receiver.apply_update(update)
    assert receiver.get("m", type=Map).to_py() == {"k": 2.0, "j": 3.0}

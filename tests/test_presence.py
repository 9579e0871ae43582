"""The presence reducer: awareness states in, one entry per person out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from _sync_peers import eventually
from pycrdt import Awareness, Doc, create_awareness_message, create_sync_message
from relay_process import RelayProcess
from websockets.asyncio.client import connect
from websockets.protocol import State

from wayfarer.sync.connection import RelayConnection
from wayfarer.sync.presence import Presence, people, presence_state
from wayfarer.trip import Person

ANA = Person("u-ana", "Ana", "#e0457b")
BEN = Person("u-ben", "Ben", "#2a9d8f")
PLANNER = Person("agent-1", "Planner", "#888888")


def state(person: Person, status: str = "idle", device: str = "laptop", kind: str = "human", day: str = "") -> dict[str, Any]:
    result = presence_state(person, kind="human", device=device, focus_day=day)
    result.update(status=status, kind=kind)
    return result


def test_one_person_in_several_windows_is_one_entry_counting_the_windows() -> None:
    states = {
        11: state(ANA, "idle", device="laptop"),
        12: state(ANA, "typing", device="laptop"),
        13: state(ANA, "idle", device="phone"),
        20: state(BEN),
    }
    ana, ben = people(states)
    assert (ana.id, ana.windows, ana.devices) == ("u-ana", 3, ("laptop", "phone"))
    assert (ben.id, ben.windows) == ("u-ben", 1)


@pytest.mark.parametrize(
    "statuses, busiest",
    [
        (["idle", "typing"], "typing"),
        (["typing", "thinking", "idle"], "thinking"),
        (["streaming", "thinking"], "streaming"),
        (["idle", "idle"], "idle"),
    ],
)
def test_the_busiest_window_speaks_for_the_person(statuses: list[str], busiest: str) -> None:
    states = {client: state(ANA, status, day=f"d-{status}") for client, status in enumerate(statuses)}
    (ana,) = people(states)
    assert ana.status == busiest
    assert ana.focus_day == f"d-{busiest}"


def test_states_without_a_user_id_are_left_out_and_odd_fields_get_defaults() -> None:
    states: dict[int, Any] = {
        1: {},
        2: None,
        3: {"user": {"name": "no id"}},
        4: {"user": {"id": ""}},
        5: "not a state",
        6: {"user": {"id": "u-js"}, "status": "dancing", "kind": "robot", "focus": "d-1"},
    }
    (js,) = people(states)
    assert (js.id, js.name, js.status, js.kind, js.focus_day, js.devices) == ("u-js", "u-js", "idle", "human", "", ())


def test_humans_come_before_agents_and_each_is_sorted_by_name() -> None:
    states = {1: state(PLANNER, kind="agent"), 2: state(BEN), 3: state(ANA)}
    assert [p.name for p in people(states)] == ["Ana", "Ben", "Planner"]


def test_presence_announces_the_design_shape_and_refuses_unknown_values() -> None:
    presence = Presence(Doc(), ANA, device="laptop")
    presence.set_status("typing")
    presence.set_focus("d-1")
    assert presence.state == {
        "user": {"id": "u-ana", "name": "Ana", "color": "#e0457b"},
        "kind": "human",
        "device": "laptop",
        "status": "typing",
        "focus": {"day": "d-1"},
    }
    with pytest.raises(ValueError, match="status must be one of"):
        presence.set_status("sleeping")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind must be one of"):
        Presence(Doc(), ANA, kind="robot")  # type: ignore[arg-type]


def test_only_real_changes_are_sent_to_the_others() -> None:
    presence = Presence(Doc(), ANA)
    sent: list[bytes] = []
    presence.on_outgoing(sent.append)
    presence.set_status("typing")
    presence.set_status("typing")
    presence.set_focus("")
    assert len(sent) == 1


# ---------------------------------------------------------------------- through a real relay


@pytest.mark.anyio
async def test_one_person_in_two_windows_shows_once(relay: RelayProcess) -> None:
    link = relay.link("windows")
    observer_doc, first_doc, second_doc = Doc(), Doc(), Doc()
    observer = Presence(observer_doc, BEN, device="phone")
    first = Presence(first_doc, ANA, device="laptop")
    second = Presence(second_doc, ANA, device="laptop")
    async with (
        RelayConnection(observer_doc, link, presence=observer),
        RelayConnection(first_doc, link, presence=first),
        RelayConnection(second_doc, link, presence=second),
    ):
        second.set_status("typing")
        await eventually(
            lambda: [(p.id, p.windows, p.status) for p in observer.people()]
            == [("u-ana", 2, "typing"), ("u-ben", 1, "idle")],
            "Ben sees Ana once, with her two windows, typing",
        )
        await eventually(lambda: [p.windows for p in first.people()] == [2, 1], "Ana's window sees itself and the other")


@pytest.mark.anyio
async def test_a_new_name_and_colour_reach_the_others_under_the_same_person(relay: RelayProcess) -> None:
    link = relay.link("renamed")
    observer_doc, ana_doc = Doc(), Doc()
    observer, ana = Presence(observer_doc, BEN), Presence(ana_doc, ANA)
    async with RelayConnection(observer_doc, link, presence=observer), RelayConnection(ana_doc, link, presence=ana):
        await eventually(lambda: len(observer.people()) == 2, "Ben sees Ana")
        ana.set_person(Person("u-ana", "Ana Sousa", "#123456"))
        await eventually(
            lambda: [(p.id, p.name, p.color) for p in observer.people()][0] == ("u-ana", "Ana Sousa", "#123456"),
            "Ben sees Ana's new name and colour",
        )
        assert len(observer.people()) == 2 and ana.state["kind"] == "human"


@pytest.mark.anyio
async def test_a_peer_that_leaves_disappears_at_once(relay_factory: Callable[..., RelayProcess]) -> None:
    # A relay that does not remove the presence of closed connections by itself: only the
    # removal the leaving peer sends can make it vanish before the (long) timeout.
    relay = relay_factory(env={"WAYFARER_RELAY_STOCK": "presence"})
    link = relay.link("leaving")
    observer_doc, leaver_doc = Doc(), Doc()
    observer = Presence(observer_doc, BEN, outdated_timeout=120)
    changes: list[list[str]] = []
    observer.on_change(lambda everyone: changes.append([p.id for p in everyone]))
    leaver = Presence(leaver_doc, ANA, outdated_timeout=120)
    async with RelayConnection(observer_doc, link, presence=observer):
        async with RelayConnection(leaver_doc, link, presence=leaver):
            await eventually(lambda: len(observer.people()) == 2, "Ben sees Ana arrive")
        await eventually(lambda: [p.id for p in observer.people()] == ["u-ben"], "Ana is gone", timeout=10)
        assert changes[-2:] == [["u-ana", "u-ben"], ["u-ben"]]


@pytest.mark.anyio
async def test_a_peer_that_goes_silent_is_dropped_after_the_timeout(relay: RelayProcess) -> None:
    """A crashed peer whose socket stays open (a frozen machine, a half-open TCP link):
    only the awareness timeout can tell that it is gone."""
    link = relay.link("silent")
    frozen_doc = Doc()
    frozen = Awareness(frozen_doc)
    frozen.set_local_state(presence_state(ANA, kind="human", device="frozen"))
    observer_doc = Doc()
    observer = Presence(observer_doc, BEN, outdated_timeout=1.0)
    async with RelayConnection(observer_doc, link, presence=observer), connect(link) as silent_socket:
        await silent_socket.send(create_sync_message(frozen_doc))
        await silent_socket.send(create_awareness_message(frozen.encode_awareness_update([frozen_doc.client_id])))
        await eventually(lambda: len(observer.people()) == 2, "Ben sees the frozen peer")
        await eventually(lambda: len(observer.people()) == 1, "the frozen peer times out", timeout=10)
        assert silent_socket.state is State.OPEN, "it was dropped by the timeout, not by a disconnection"

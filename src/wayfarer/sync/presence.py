"""Presence: who has the trip open and what they are doing, through Yjs awareness.

Every connection (window, device, CLI, agent) is one awareness client with the state
shape of DESIGN.md. People see one avatar per person, so `people()` merges the
connections of one `user.id` into one `PersonPresence`, showing the busiest of them.

Awareness is not part of the document: it is never stored, and a state lives only while
its peer renews it. A peer that leaves sends a removal (it vanishes at once); a peer that
crashes stops renewing and is dropped by everyone else after `outdated_timeout`.
"""

from __future__ import annotations

import copy
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import anyio
from anyio.abc import TaskStatus
from pycrdt import Awareness, Doc

from wayfarer.trip import Person

log = logging.getLogger(__name__)

Activity = Literal["idle", "typing", "thinking", "streaming"]
PeerKind = Literal["human", "agent"]

ACTIVITIES: tuple[Activity, ...] = get_args(Activity)
KINDS: tuple[PeerKind, ...] = get_args(PeerKind)
# When one person has several windows, the busiest one speaks for them.
_BUSYNESS = {activity: rank for rank, activity in enumerate(ACTIVITIES)}

DEFAULT_OUTDATED_TIMEOUT = 30.0
REMOTE = "remote"
CONNECTION_LOST = "connection-lost"
_LOCAL = "local"  # the origin pycrdt's Awareness gives to this peer's own changes

PeopleCallback = Callable[[list["PersonPresence"]], None]
OutgoingCallback = Callable[[bytes], None]


@dataclass(frozen=True)
class PersonPresence:
    """One person (or agent) as the UI shows them, however many windows they have open."""

    id: str
    name: str
    color: str
    kind: PeerKind
    status: Activity
    windows: int
    devices: tuple[str, ...]
    focus_day: str


@dataclass(frozen=True)
class _Window:
    user_id: str
    name: str
    color: str
    kind: PeerKind
    status: Activity
    device: str
    focus_day: str


def presence_state(
    person: Person, *, kind: PeerKind, device: str, status: Activity = "idle", focus_day: str = ""
) -> dict[str, Any]:
    """An awareness state in the DESIGN.md shape (plain JSON, as JavaScript peers send it)."""
    return {
        "user": {"id": person.id, "name": person.name, "color": person.color},
        "kind": kind,
        "device": device,
        "status": status,
        "focus": {"day": focus_day},
    }


def people(states: Mapping[int, Any]) -> list[PersonPresence]:
    """One entry per `user.id` among awareness `states` (client id → state).

    States that do not carry a user id (a peer that has not said who it is yet, or a
    foreign client) are left out; missing or unknown fields get harmless defaults.
    Humans come first, then agents, each sorted by name.
    """
    by_user: dict[str, list[_Window]] = {}
    for client_id in sorted(states):
        window = _window(states[client_id])
        if window is not None:
            by_user.setdefault(window.user_id, []).append(window)
    merged = [_merge(windows) for windows in by_user.values()]
    return sorted(merged, key=lambda p: (KINDS.index(p.kind), p.name.casefold(), p.id))


def _window(state: Any) -> _Window | None:
    if not isinstance(state, Mapping):
        return None
    user = state.get("user")
    if not isinstance(user, Mapping) or not isinstance(user.get("id"), str) or not user["id"]:
        return None
    focus = state.get("focus")
    focus_day = focus.get("day") if isinstance(focus, Mapping) else ""
    return _Window(
        user_id=user["id"],
        name=_text(user.get("name")) or user["id"],
        color=_text(user.get("color")) or Person.color,
        kind=state["kind"] if state.get("kind") in KINDS else "human",
        status=state["status"] if state.get("status") in ACTIVITIES else "idle",
        device=_text(state.get("device")),
        focus_day=_text(focus_day),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _merge(windows: list[_Window]) -> PersonPresence:
    busiest = max(windows, key=lambda w: _BUSYNESS[w.status])  # first of equals wins
    return PersonPresence(
        id=busiest.user_id,
        name=busiest.name,
        color=busiest.color,
        kind=busiest.kind,
        status=busiest.status,
        windows=len(windows),
        devices=tuple(sorted({w.device for w in windows if w.device})),
        focus_day=busiest.focus_day,
    )


class Presence:
    """This peer's awareness on one trip's document, and everyone else's as heard.

    Give it to a `RelayConnection`, which announces it when connected, renews it, relays
    others' states into it and withdraws it on a clean close. Views call `people()` and
    `on_change`; the UI and the agent call `set_status` / `set_focus`.
    """

    def __init__(
        self,
        doc: Doc,
        person: Person,
        *,
        kind: PeerKind = "human",
        device: str | None = None,
        outdated_timeout: float = DEFAULT_OUTDATED_TIMEOUT,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        self.person = person
        self._awareness = Awareness(doc, outdated_timeout=int(outdated_timeout * 1000))
        self._state = presence_state(person, kind=kind, device=device or socket.gethostname())
        self._people_callbacks: list[PeopleCallback] = []
        self._outgoing_callbacks: list[OutgoingCallback] = []
        self._awareness.set_local_state(copy.deepcopy(self._state))
        self._awareness.observe(self._on_awareness)

    @property
    def client_id(self) -> int:
        """This connection's awareness id (the document's Yjs client id)."""
        return self._awareness.client_id

    @property
    def state(self) -> dict[str, Any]:
        """A copy of the state this peer announces."""
        return copy.deepcopy(self._state)

    @property
    def status(self) -> Activity:
        return self._state["status"]

    def set_status(self, status: Activity) -> None:
        """Tell the others what this peer is doing ("typing", "streaming", ...)."""
        if status not in ACTIVITIES:
            raise ValueError(f"status must be one of {', '.join(ACTIVITIES)}, not {status!r}")
        self._change("status", status)

    def set_person(self, person: Person) -> None:
        """Announce a new name or colour (the person's settings changed) from now on."""
        self.person = person
        self._change("user", presence_state(person, kind="human", device="")["user"])

    def set_focus(self, day_id: str = "") -> None:
        """The day this peer is looking at ("" for none), so others can follow along."""
        if not isinstance(day_id, str):
            raise ValueError(f"focus must be a day id or \"\", not {day_id!r}")
        self._change("focus", {"day": day_id})

    def people(self) -> list[PersonPresence]:
        """Everyone with the trip open, this peer included, one entry per person."""
        return people(self._awareness.states)

    def on_change(self, callback: PeopleCallback) -> Callable[[], None]:
        """Call `callback(people)` whenever someone arrives, leaves or changes state.
        Returns a function that unsubscribes."""
        return _add(self._people_callbacks, callback)

    # ------------------------------------------------------------------ for RelayConnection

    def on_outgoing(self, callback: OutgoingCallback) -> Callable[[], None]:
        """Call `callback(awareness_update)` with each update of this peer's own state
        that the others must hear (changes, renewals, the removal on leaving)."""
        return _add(self._outgoing_callbacks, callback)

    def announce(self) -> None:
        """(Re)state this peer's presence, e.g. to a relay it has just connected to."""
        self._awareness.set_local_state(copy.deepcopy(self._state))

    def withdraw(self) -> None:
        """Remove this peer's state, so others see it leave at once."""
        self._awareness.remove_awareness_states([self.client_id], _LOCAL)

    def apply_remote(self, update: bytes) -> None:
        """Take in an awareness update heard from the relay. A malformed one (from a buggy
        or hostile peer) is logged and ignored: it must not cut this peer's connection."""
        try:
            self._awareness.apply_awareness_update(update, REMOTE)
        except (ValueError, RuntimeError, IndexError, TypeError) as exc:
            log.warning("ignored a malformed awareness update from the relay: %s", exc)

    def forget_others(self) -> None:
        """Drop everyone else's state: without a connection we cannot know who is there,
        and the relay tells us again on reconnect."""
        others = [client for client in self._awareness.states if client != self.client_id]
        self._awareness.remove_awareness_states(others, CONNECTION_LOST)

    async def keep_fresh(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Renew this peer's state and expire silent peers' until cancelled (pycrdt's
        awareness clock: renew after half the timeout, expire after all of it)."""
        async with anyio.create_task_group() as tg:
            await tg.start(self._awareness.start)
            task_status.started()
            try:
                await anyio.sleep_forever()
            finally:
                await self._awareness.stop()

    # ------------------------------------------------------------------ internals

    def _change(self, field: str, value: Any) -> None:
        if self._state[field] == value:
            return  # an unchanged state is not worth a message to every peer
        self._state[field] = value
        if self._awareness.get_local_state() is not None:
            self.announce()

    def _on_awareness(self, topic: str, event: tuple[dict[str, list[int]], Any]) -> None:
        changes, origin = event
        if topic == "change":
            current = self.people()
            for callback in list(self._people_callbacks):
                callback(current)
        elif topic == "update" and origin == _LOCAL:
            clients = changes["added"] + changes["updated"] + changes["removed"]
            update = self._awareness.encode_awareness_update(clients)
            for callback in list(self._outgoing_callbacks):
                callback(update)


def _add(callbacks: list[Any], callback: Any) -> Callable[[], None]:
    callbacks.append(callback)

    def remove() -> None:
        if callback in callbacks:
            callbacks.remove(callback)

    return remove

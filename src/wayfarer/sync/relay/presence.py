"""Presence (Yjs awareness) in a room: who speaks for which client, and who is there."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from pycrdt import Awareness, create_awareness_message

from wayfarer.sync.protocol import AWARENESS
from wayfarer.sync.relay.frames import QUERY_AWARENESS, Frame, MalformedFrame, parse_awareness
from wayfarer.sync.relay.peer import PeerConnection

log = logging.getLogger("wayfarer.relay")

# Origins of removals the relay itself makes and must tell every peer about.
REMOVED_BY_RELAY = ("timeout", "disconnect")


class RoomPresence:
    """The awareness states of one room and the connection that owns each client id.

    Prevents three pycrdt-websocket failures (NOTES.md):
    - a newcomer sees nobody until the others renew their state (~15 s): `greet` sends
      it the room's current states together with its first sync, as the JavaScript
      server does;
    - a peer that leaves stays visible: `farewell` removes its state and tells everyone
      at once; a state the relay expires (a peer that stopped renewing) is broadcast as
      removed too, instead of only disappearing from the relay's own copy;
    - anyone can speak for anyone: each connection is bound to the first client id it
      announces (see `PresenceGuard`), and a client id already bound to a live
      connection cannot be claimed by another.
    """

    def __init__(self, awareness: Awareness, clients: Callable[[], Iterable[Any]], trip_id: str) -> None:
        self._awareness = awareness
        self._clients = clients
        self.trip_id = trip_id
        self._owner: dict[int, PeerConnection] = {}
        self._client_of: dict[PeerConnection, int] = {}
        awareness.observe(self._broadcast_relay_removals)

    def client_of(self, connection: PeerConnection) -> int | None:
        return self._client_of.get(connection)

    def bind(self, connection: PeerConnection, client_id: int) -> bool:
        """Bind `connection` to `client_id` unless another live connection holds it."""
        owner = self._owner.get(client_id)
        if owner is not None and owner is not connection:
            return False
        self._owner[client_id] = connection
        self._client_of[connection] = client_id
        return True

    def greet(self, connection: PeerConnection) -> None:
        """Send `connection` everyone's current state (the relay's own empty one excluded)."""
        present = [client for client in self._awareness.states if client != self._awareness.client_id]
        if present:
            connection.enqueue(create_awareness_message(self._awareness.encode_awareness_update(present)))

    def farewell(self, connection: PeerConnection) -> None:
        """Forget `connection`'s binding and remove its client's state for everyone."""
        client_id = self._client_of.pop(connection, None)
        if client_id is None:
            return
        if self._owner.get(client_id) is connection:
            del self._owner[client_id]
        self._awareness.remove_awareness_states([client_id], "disconnect")

    def _broadcast_relay_removals(self, topic: str, change: tuple[dict[str, Any], Any]) -> None:
        changes, origin = change
        if topic != "update" or origin not in REMOVED_BY_RELAY or not changes["removed"]:
            return
        message = create_awareness_message(self._awareness.encode_awareness_update(changes["removed"]))
        for client in self._clients():
            if isinstance(client, PeerConnection):
                client.enqueue(message)


class PresenceGuard:
    """Checks one connection's awareness messages before the room forwards them.

    Prevents: pycrdt-websocket forwards awareness to every peer before parsing it, and
    for any client id, so one peer could show up as someone else, remove someone else's
    presence, or send garbage that other clients choke on. Here a malformed message is
    dropped (never forwarded) and logged; the connection is bound to the first client id
    it announces a state for; any entry for another id, or a removal before binding, is
    dropped and logged. Also answers y-websocket's "query awareness" with the room's
    states.
    """

    def __init__(self, connection: PeerConnection, presence: RoomPresence) -> None:
        self._connection = connection
        self._presence = presence
        self._reported: set[str] = set()

    def admit(self, frame: Frame) -> Frame | None:
        if frame.kind == QUERY_AWARENESS:
            self._presence.greet(self._connection)
            return None
        if frame.kind != AWARENESS:
            return frame
        try:
            entries = parse_awareness(frame.payload)
        except MalformedFrame as exc:
            self._report("malformed", "dropped malformed presence from %s: %s", self._connection, exc)
            return None
        bound = self._presence.client_of(self._connection)
        for entry in entries:
            if bound is None and entry.state is not None:
                if not self._presence.bind(self._connection, entry.client_id):
                    self._report(
                        "taken",
                        "dropped presence from %s for client %d, which another peer speaks for",
                        self._connection,
                        entry.client_id,
                    )
                    return None
                bound = entry.client_id
            if bound is None:
                self._report(
                    "unbound removal",
                    "dropped a removal of client %d from %s, which has announced no presence of its own",
                    entry.client_id,
                    self._connection,
                )
                return None
            if entry.client_id != bound:
                what = "a removal of" if entry.state is None else "presence for"
                self._report(
                    f"forged {what}",
                    "dropped %s client %d from %s (it speaks for client %d)",
                    what,
                    entry.client_id,
                    self._connection,
                    bound,
                )
                return None
        return frame if entries else None

    def _report(self, kind: str, message: str, *args: object) -> None:
        """Log the first drop of each kind per connection at warning level, later ones at debug."""
        level = logging.DEBUG if kind in self._reported else logging.WARNING
        self._reported.add(kind)
        log.log(level, message, *args)

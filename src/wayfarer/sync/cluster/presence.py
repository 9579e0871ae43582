"""`ClusterPresence`: a room's presence, shared with the same trip's rooms on the other relays."""

from __future__ import annotations

import json
import logging
from typing import Any, Final

from pycrdt import Encoder, create_awareness_message

from wayfarer.sync.cluster.presence_bus import PresenceBus, StoredState, now_ms
from wayfarer.sync.protocol import AWARENESS
from wayfarer.sync.relay.frames import (
    Frame,
    MalformedFrame,
    PresenceEntry,
    parse_awareness,
)
from wayfarer.sync.relay.peer import PeerConnection
from wayfarer.sync.relay.presence import PresenceGuard, RoomPresence
from wayfarer.sync.relay.room import TripRoom

# The origin of awareness changes heard from other relays.
REMOTE: Final = "cluster"

log = logging.getLogger("wayfarer.relay")


class ClusterPresence:
    """Keeps a room's awareness equal to the union of its trip's peers on every relay.

    What this relay's peers say (already checked by the room's `PresenceGuard`: one
    client id per connection, nothing forged, nothing malformed) is published on the
    trip's channel (`PresenceBus`); a peer that leaves is removed by this relay for all
    at once, as on a single relay. What other relays publish is applied to the room's
    awareness with its own clock, so a newcomer's first sync carries everyone present
    on every relay (`RoomPresence.greet`), and states of a relay that died expire here
    with the awareness timeout like those of any peer that stopped renewing.

    The hardening holds across relays: each client id has one owner, a connection of
    this relay or another relay. A publication for a client id a connection here speaks
    for, or that another live relay speaks for, is dropped; a connection here cannot
    take a client id another live relay speaks for (`RemoteClaimGuard` holds its
    presence back). Once that relay is gone (`RelayLiveness`) or removed the state, the
    held presence is admitted: that is how a peer of a killed relay that reconnects
    here with the same client id is seen again within seconds.
    """

    def __init__(self, room: TripRoom, local: RoomPresence, bus: PresenceBus, awareness_timeout_seconds: float) -> None:
        self._room = room
        self._awareness = room.awareness
        self._local = local
        self._bus = bus
        self._timeout_ms = int(awareness_timeout_seconds * 1000)
        self._owner: dict[int, str] = {}  # client id → the other relay speaking for it
        self._held: dict[PeerConnection, tuple[int, Frame]] = {}
        self._reported: set[str] = set()
        self._awareness.observe(self._on_change)

    # ------------------------------------------------------------------ from other relays

    def load(self, states: list[StoredState]) -> None:
        """Take in the states kept in Redis at the room's load, each expiring on its own time."""
        now = now_ms()
        for state in states:
            if state.relay == self._bus.relay or now - state.stamp_ms >= self._timeout_ms:
                continue
            try:
                entries = parse_awareness(state.update)
            except MalformedFrame as exc:
                self._report("malformed", "trip %s: ignored a malformed presence state in Redis: %s", self._room.trip_id, exc)
                continue
            self._take(state.relay, entries, stamp_ms=state.stamp_ms)

    def receive(self, relay: str, update: bytes) -> None:
        try:
            entries = parse_awareness(update)
        except MalformedFrame as exc:
            self._report("malformed", "trip %s: dropped malformed presence from relay %s: %s", self._room.trip_id, relay, exc)
            return
        self._take(relay, entries)

    def relays_gone(self) -> None:
        self._admit_held()

    # ------------------------------------------------------------------ claims of this relay's peers

    def speaks_for(self, connection: PeerConnection) -> int | None:
        return self._local.client_of(connection)

    def remote_owner(self, client_id: int) -> str | None:
        """The live relay that speaks for `client_id`, if another relay does."""
        owner = self._owner.get(client_id)
        return owner if owner is not None and self._bus.liveness.alive(owner) else None

    def hold(self, connection: PeerConnection, client_id: int, owner: str, frame: Frame) -> None:
        """Keep `connection`'s claim of `client_id` (its latest frame) until `owner` lets go."""
        if connection not in self._held:
            log.info(
                "trip %s: holding presence of client %d from %s: relay %s speaks for it "
                "(until it removes it, stops or the state expires)",
                self._room.trip_id,
                client_id,
                connection,
                owner,
            )
        self._held[connection] = (client_id, frame)

    def forget(self, connection: PeerConnection) -> None:
        self._held.pop(connection, None)

    # ------------------------------------------------------------------ internals

    def _take(self, relay: str, entries: list[PresenceEntry], stamp_ms: int | None = None) -> None:
        """Apply the entries `relay` may speak for; drop (and report) the others."""
        local = self._local_clients()
        accepted, released = [], False
        for entry in entries:
            owner = self._owner.get(entry.client_id)
            if entry.client_id in local or entry.client_id == self._awareness.client_id:
                self._report(
                    "local",
                    "trip %s: dropped presence for client %d from relay %s: a peer of this relay speaks for it",
                    self._room.trip_id,
                    entry.client_id,
                    relay,
                )
                continue
            if owner is not None and owner != relay and self._bus.liveness.alive(owner):
                self._report(
                    "taken",
                    "trip %s: dropped presence for client %d from relay %s: relay %s speaks for it",
                    self._room.trip_id,
                    entry.client_id,
                    relay,
                    owner,
                )
                continue
            accepted.append(entry)
            if entry.state is None:
                released |= self._owner.pop(entry.client_id, None) is not None
            else:
                self._owner[entry.client_id] = relay
        if accepted:
            self._awareness.apply_awareness_update(_encode(accepted), REMOTE)
            if stamp_ms is not None:
                self._backdate(accepted, stamp_ms)
        if released:
            self._admit_held()

    def _backdate(self, entries: list[PresenceEntry], stamp_ms: int) -> None:
        """Let states read from Redis expire when they would have on the relay that wrote them."""
        for entry in entries:
            meta = self._awareness.meta.get(entry.client_id)
            if meta is not None and meta["clock"] == entry.clock:
                meta["lastUpdated"] = min(meta["lastUpdated"], stamp_ms)

    def _admit_held(self) -> None:
        """Admit each held claim whose client id nobody else speaks for any more, as the
        room would have admitted the frame: through the `PresenceGuard`, echoed to this
        relay's peers, applied (and so published)."""
        for connection, (client_id, frame) in list(self._held.items()):
            if connection.close_code is not None:
                del self._held[connection]
                continue
            if self.remote_owner(client_id) is not None:
                continue
            del self._held[connection]
            admitted = PresenceGuard(connection, self._local).admit(frame)
            if admitted is None:
                continue
            log.info("trip %s: %s now speaks for client %d", self._room.trip_id, connection, client_id)
            for client in list(self._room.clients):
                if isinstance(client, PeerConnection):
                    client.enqueue(admitted.data)
            self._awareness.apply_awareness_update(admitted.payload, self._room)

    def _on_change(self, topic: str, change: tuple[dict[str, list[int]], Any]) -> None:
        changes, origin = change
        if topic != "update":
            return
        if origin == REMOTE:
            self._forward(changes["added"] + changes["updated"] + changes["removed"])
        elif origin is self._room or origin == "disconnect":
            for client_id in changes["added"] + changes["updated"]:
                self._owner.pop(client_id, None)  # a connection here speaks for it now
                self._publish(client_id, present=True)
            for client_id in changes["removed"]:
                self._publish(client_id, present=False)
        elif origin == "timeout":
            local, released = self._local_clients(), False
            for client_id in changes["removed"]:
                if self._owner.pop(client_id, None) is not None:
                    released = True
                elif client_id in local:
                    self._publish(client_id, present=False)  # a peer of ours that fell silent
            if released:
                self._admit_held()

    def _forward(self, client_ids: list[int]) -> None:
        """Send other relays' changes to this relay's peers (it forwards its own peers' frames)."""
        message = create_awareness_message(self._awareness.encode_awareness_update(client_ids))
        for client in list(self._room.clients):
            if isinstance(client, PeerConnection):
                client.enqueue(message)

    def _publish(self, client_id: int, *, present: bool) -> None:
        update = self._awareness.encode_awareness_update([client_id])
        self._bus.publish(self._room.trip_id, client_id, update, present=present)

    def _local_clients(self) -> set[int]:
        bound = (self._local.client_of(c) for c in self._room.clients if isinstance(c, PeerConnection))
        return {client_id for client_id in bound if client_id is not None}

    def _report(self, kind: str, message: str, *args: object) -> None:
        """Log the first event of each kind per room at warning level, later ones at debug."""
        level = logging.DEBUG if kind in self._reported else logging.WARNING
        self._reported.add(kind)
        log.log(level, message, *args)


class RemoteClaimGuard:
    """Holds back the presence of a connection that claims a client id another live relay
    speaks for (see `ClusterPresence`); lets everything else through to the room's
    `PresenceGuard`, which binds the connection and checks the rest as on one relay."""

    def __init__(self, connection: PeerConnection, presence: ClusterPresence) -> None:
        self._connection = connection
        self._presence = presence

    def admit(self, frame: Frame) -> Frame | None:
        if frame.kind != AWARENESS or self._presence.speaks_for(self._connection) is not None:
            return frame
        try:
            entries = parse_awareness(frame.payload)
        except MalformedFrame:
            return frame  # the PresenceGuard drops and logs it
        claimed = next((entry.client_id for entry in entries if entry.state is not None), None)
        owner = None if claimed is None else self._presence.remote_owner(claimed)
        if claimed is None or owner is None:
            if claimed is not None:
                self._presence.forget(self._connection)  # an id of its own now: no claim to hold
            return frame
        self._presence.hold(self._connection, claimed, owner, frame)
        return None


def _encode(entries: list[PresenceEntry]) -> bytes:
    """An awareness update carrying `entries` (what `parse_awareness` read), re-encoded."""
    encoder = Encoder()
    encoder.write_var_uint(len(entries))
    for entry in entries:
        encoder.write_var_uint(entry.client_id)
        encoder.write_var_uint(entry.clock)
        encoder.write_var_string(json.dumps(entry.state, separators=(",", ":")))
    return encoder.to_bytes()

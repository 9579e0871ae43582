"""`PresenceBus`: presence (Yjs awareness) between the relays of a cluster, through Redis.

Presence is not part of the document and is never acknowledged, so unlike edits it
travels over Redis pub/sub, one channel per trip: a lost message costs at most a state
shown until its peer renews it (every ~15 s) or it expires. Every message starts with
the id of the relay that sent it, which drops its own (Redis delivers a publication to
its publisher's subscription too).

Pub/sub only reaches relays listening at that moment, so a relay that loads a trip
would not know who is present on the others until each of them renews. Beside the
channel, each trip's current states are kept in a Redis hash (client id → relay id,
time, awareness update), written in the same pipeline as the publication: a relay
that subscribes first and reads the hash second misses nothing, and a newcomer sees
everyone with its first sync, as on a single relay. The hash expires when nobody in
the trip renews anything for two awareness timeouts; a state's time lets a loader
leave out those older than the timeout (their relay died without removing them).

The same connection carries the relays' heartbeats (`RelayLiveness`).

One pub/sub connection, two tasks using it (the listener reads, the sender subscribes):
redis-py lets each of them reconnect it, and two reconnecting at once (Redis back after
an outage, a room loading meanwhile) read each other's handshake, which raises a
RuntimeError and took the whole relay down. Every use of it is therefore under one lock,
which the listener holds only for a short read (`LISTEN_SECONDS`), as redis-py's own
`PubSub.run` polls.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final, Protocol

import anyio
from redis.asyncio import Redis
from redis.exceptions import RedisError

from wayfarer.sync.cluster.liveness import HEARTBEAT_SECONDS, RelayLiveness

RELAYS_CHANNEL: Final = "wayfarer:relays"
# How long a room's load waits for Redis to confirm its subscription before going on
# (with Redis down, the load's stream read fails next anyway).
CONFIRM_SECONDS: Final = 2.0
# Pause after Redis failed (it restarts, or the network blips), before trying again.
RETRY_SECONDS: Final = 0.5
# How long a relay that stops tries to get its peers' removals out to the others.
FLUSH_SECONDS: Final = 2.0
# How long the listener reads the pub/sub connection before letting the sender use it:
# what a room's load may wait, at most, before its presence subscription is sent.
LISTEN_SECONDS: Final = 0.05

log = logging.getLogger("wayfarer.relay")


def presence_channel(trip_id: str) -> str:
    return f"wayfarer:trip:{trip_id}:presence"


def presence_states_key(trip_id: str) -> str:
    return f"wayfarer:trip:{trip_id}:presence-states"


def now_ms() -> int:
    """Wall-clock milliseconds: the clock pycrdt's `Awareness` stamps states with."""
    return int(time.time() * 1000)


class PresenceListener(Protocol):
    """A room's side of the bus (`ClusterPresence`)."""

    def receive(self, relay: str, update: bytes) -> None:
        """An awareness update published by another relay for this trip."""

    def relays_gone(self) -> None:
        """Some relays went silent: client ids they spoke for may be taken over now."""


@dataclass(frozen=True)
class StoredState:
    """One client's awareness state as kept in the trip's hash."""

    relay: str
    stamp_ms: int
    update: bytes


@dataclass(frozen=True)
class _Publication:
    update: bytes
    present: bool
    stamp_ms: int


class PresenceBus:
    """The relay's one pub/sub connection for every room's presence, its publisher and
    its heartbeat.

    `run` owns three tasks: the listener (hands each trip's messages to its room's
    `PresenceListener`), the sender (subscriptions in order, then publications, each
    round as one pipeline) and the heartbeat. Redis failures are logged once and
    retried; presence never takes a relay or a room down. Publications wait in a map
    keyed by (trip, client), so a burst of changes of one client's state sends its
    latest only and a Redis outage holds at most one state per present client.
    """

    def __init__(self, client: Redis, awareness_timeout_seconds: float) -> None:
        self.relay = secrets.token_hex(8)
        self.liveness = RelayLiveness(self.relay)
        self._client = client
        self._pubsub = client.pubsub()
        self._pubsub_lock = anyio.Lock()  # see the module docstring
        self._ttl_ms = int(awareness_timeout_seconds * 2000)
        self._listeners: dict[str, PresenceListener] = {}
        self._confirmed: dict[str, anyio.Event] = {}
        self._commands: list[tuple[str, str]] = []
        self._outbox: dict[tuple[str, int], _Publication] = {}
        self._wakeup = anyio.Event()
        self._idle = anyio.Event()
        self._idle.set()
        self._failing: set[str] = set()

    # ------------------------------------------------------------------ rooms

    async def subscribe(self, trip_id: str, listener: PresenceListener) -> None:
        """Hand `trip_id`'s presence messages to `listener`; returns once Redis delivers them
        (or after CONFIRM_SECONDS: a room is not kept from loading for presence)."""
        channel = presence_channel(trip_id)
        self._listeners[trip_id] = listener
        confirmed = self._confirmed[channel] = anyio.Event()
        self._command("subscribe", channel)
        with anyio.move_on_after(CONFIRM_SECONDS):
            await confirmed.wait()
            return
        log.warning("trip %s: Redis did not confirm the presence subscription; going on without it", trip_id)

    def unsubscribe(self, trip_id: str) -> None:
        self._listeners.pop(trip_id, None)
        self._command("unsubscribe", presence_channel(trip_id))

    async def read_states(self, trip_id: str) -> list[StoredState]:
        """The trip's presence states kept in Redis (older than the timeout included)."""
        raw: dict[bytes, bytes] = await self._client.hgetall(presence_states_key(trip_id))  # type: ignore[misc]
        states = []
        for field, value in raw.items():
            relay, _, rest = value.partition(b" ")
            stamp, _, update = rest.partition(b" ")
            if not relay or not stamp.isdigit() or not update:
                log.warning("trip %s: ignored a malformed presence state in Redis (client %r)", trip_id, field)
                continue
            states.append(StoredState(relay.decode(), int(stamp), update))
        return states

    def publish(self, trip_id: str, client_id: int, update: bytes, *, present: bool) -> None:
        """Tell the other relays `update` (one client's awareness update, from this relay's
        peer); `present` False for a removal. Never waits."""
        self._outbox[(trip_id, client_id)] = _Publication(update, present, now_ms())
        self._idle = anyio.Event() if self._idle.is_set() else self._idle
        self._wakeup.set()

    async def flush(self, timeout: float = FLUSH_SECONDS) -> None:
        """Wait (at most `timeout`) until every publication so far has reached Redis."""
        with anyio.move_on_after(timeout):
            await self._idle.wait()

    # ------------------------------------------------------------------ tasks

    async def run(self) -> None:
        await self._ensure(lambda: self._pubsub.subscribe(RELAYS_CHANNEL), "subscribe to the relays' heartbeats")
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._listen_forever)
                tg.start_soon(self._send_forever)
                tg.start_soon(self._beat_forever)
        finally:
            with anyio.CancelScope(shield=True):
                await self._pubsub.aclose()

    async def _listen_forever(self) -> None:
        while True:
            try:
                async with self._pubsub_lock:
                    message = await self._pubsub.get_message(timeout=LISTEN_SECONDS)
            except RedisError as exc:
                self._failed("listen", exc)
                await anyio.sleep(RETRY_SECONDS)
                continue
            self._recovered("listen")
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, channel = message["type"], _text(message["channel"])
        if kind == "subscribe":
            confirmed = self._confirmed.pop(channel, None)
            if confirmed is not None:
                confirmed.set()
            return
        if kind != "message":
            return
        data: bytes = message["data"]
        if channel == RELAYS_CHANNEL:
            self.liveness.heard(data.decode(errors="replace"))
            return
        relay, _, update = data.partition(b" ")
        sender = relay.decode(errors="replace")
        if sender == self.relay:
            return  # our own publication, delivered back to us
        self.liveness.heard(sender)
        trip_id = channel.removeprefix("wayfarer:trip:").removesuffix(":presence")
        listener = self._listeners.get(trip_id)
        if listener is None:
            return
        try:
            listener.receive(sender, update)
        except Exception:  # one room's presence must not stop every room's
            log.exception("trip %s: could not take in presence from relay %s", trip_id, sender)

    async def _send_forever(self) -> None:
        while True:
            if self._commands:
                action, channel = self._commands[0]
                method = self._pubsub.subscribe if action == "subscribe" else self._pubsub.unsubscribe
                await self._ensure(functools.partial(method, channel), f"{action} to a trip's presence")
                self._commands.pop(0)
                continue
            if not self._outbox:
                self._idle.set()
                await self._wakeup.wait()
                self._wakeup = anyio.Event()
                continue
            batch, self._outbox = self._outbox, {}
            try:
                await self._send(batch)
            except RedisError as exc:
                self._failed("publish", exc)
                for key, publication in batch.items():
                    self._outbox.setdefault(key, publication)  # unless superseded meanwhile
                await anyio.sleep(RETRY_SECONDS)
                continue
            self._recovered("publish")

    async def _send(self, batch: dict[tuple[str, int], _Publication]) -> None:
        async with self._client.pipeline(transaction=False) as pipe:
            for (trip_id, client_id), publication in batch.items():
                key = presence_states_key(trip_id)
                if publication.present:
                    stored = b"%s %d %s" % (self.relay.encode(), publication.stamp_ms, publication.update)
                    pipe.hset(key, str(client_id), stored)
                    pipe.pexpire(key, self._ttl_ms)
                else:
                    pipe.hdel(key, str(client_id))
                pipe.publish(presence_channel(trip_id), self.relay.encode() + b" " + publication.update)
            await pipe.execute()

    async def _beat_forever(self) -> None:
        while True:
            try:
                await self._client.publish(RELAYS_CHANNEL, self.relay)
            except RedisError as exc:
                self._failed("heartbeat", exc)
            else:
                self._recovered("heartbeat")
            if self.liveness.sweep():
                for listener in list(self._listeners.values()):
                    listener.relays_gone()
            await anyio.sleep(HEARTBEAT_SECONDS)

    # ------------------------------------------------------------------ helpers

    def _command(self, action: str, channel: str) -> None:
        self._commands.append((action, channel))
        self._wakeup.set()

    async def _ensure(self, call: Any, what: str) -> None:
        """Await `call()` (a use of the pub/sub connection) until Redis takes it."""
        while True:
            try:
                async with self._pubsub_lock:
                    await call()
            except RedisError as exc:
                self._failed(what, exc)
                await anyio.sleep(RETRY_SECONDS)
                continue
            self._recovered(what)
            return

    def _failed(self, what: str, exc: Exception) -> None:
        """Log the first failure of `what` at warning, the rest of that outage at debug."""
        level = logging.DEBUG if what in self._failing else logging.WARNING
        self._failing.add(what)
        log.log(level, "presence: could not %s through Redis (retrying): %s", what, exc)

    def _recovered(self, what: str) -> None:
        if what in self._failing:
            self._failing.discard(what)
            log.info("presence: %s through Redis works again", what)


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value or ""

"""`RelayConnection`: keeps one trip's document in sync with its room on a relay.

    async with RelayConnection(local.doc, link, presence=presence) as conn:
        await conn.wait_synced(10)
        local.trip.add_stop(...)
        await conn.flush(10)          # the relay has stored it

The document stays the caller's: it is read and written in the same event loop (pycrdt
documents must not cross threads) while the connection forwards every local change and
applies every remote one. Remote updates are applied with the transaction origin
`conn.origin`, which is how this connection knows not to send them back (and how
`Trip` tells them from local writes).

Being offline is normal: the connection retries forever with exponential backoff and
jitter, and each reconnect resyncs by state vector (see `session.py`), so changes made
offline go out and missed ones come in, each exactly once. Only a refusal by the relay
(a bad, expired or foreign token; a change too large to store) stops it, with a
readable error in `status`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Final, Self

import anyio
from anyio.abc import TaskGroup
from pycrdt import Doc, TransactionEvent
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from .acks import AckLedger
from .backoff import Backoff
from .links import TripLink
from .presence import Presence
from .protocol import CLOSE_DOC_TOO_BIG, CLOSE_POLICY, CLOSE_TOKEN_EXPIRED, CLOSE_TOO_BIG
from .session import RelayProtocolError, RelaySession
from .status import StatusCallback, StatusFeed, SyncState, SyncStatus
from .tokens import TokenError, decode_claims

log = logging.getLogger(__name__)

# A whole trip arrives in one sync message; the relay enforces the real size limits.
MAX_MESSAGE_BYTES: Final = 256 * 1024 * 1024
LEAVE_TIMEOUT: Final = 2.0


class SyncError(Exception):
    """Syncing with the relay failed; the message says why and what to do."""


class LinkRefused(SyncError):
    """The relay refused this link (or a change too large to store): retrying cannot help."""


class SyncTimeout(SyncError, TimeoutError):
    """The relay did not get there in time (not synced, or changes not confirmed)."""


class ReadOnlyLink(SyncError):
    """Local changes were made on a viewer link: they are never sent."""


class RelayConnection:
    """Live sync of `doc` with the room named by a trip link, for the `async with` body."""

    def __init__(
        self,
        doc: Doc,
        link: str | TripLink,
        *,
        presence: Presence | None = None,
        backoff: Backoff = Backoff(),
        ack_interval: float = 0.05,
        open_timeout: float = 10.0,
    ) -> None:
        """`link`: `ws://H:P/<trip-id>?token=...`; a viewer token makes the connection
        read-only. `ack_interval`: at most one acknowledgement query per this many seconds
        while changes are being made."""
        self.link = link if isinstance(link, TripLink) else TripLink.parse(link)
        self.read_only = self.link.role == "viewer"
        self.origin = f"relay:{self.link.trip_id}"
        self._doc = doc
        self._presence = presence
        self._backoff = backoff
        self._ack_interval = ack_interval
        self._open_timeout = open_timeout
        self._ledger = AckLedger(doc.get_state())
        self._feed = StatusFeed(SyncStatus(read_only=self.read_only))
        self._state: SyncState = "offline"
        self._error = ""
        self._stopped = False
        self._closing = False
        self._session: RelaySession | None = None
        self._reached_sync = False
        self._applying_remote = False
        self._dirty: anyio.Event | None = None
        self._progress: anyio.Event | None = None
        self._task_group: TaskGroup | None = None
        self._exit_stack: AsyncExitStack | None = None

    # ------------------------------------------------------------------ status

    @property
    def status(self) -> SyncStatus:
        return self._feed.current

    def on_status(self, callback: StatusCallback) -> Callable[[], None]:
        """Call `callback` with every new status, in order; returns an unsubscribe function."""
        return self._feed.subscribe(callback)

    def statuses(self) -> AsyncIterator[SyncStatus]:
        """The current status, then the latest after each change (a slow reader skips)."""
        return self._feed.changes()

    async def wait_synced(self, timeout: float = 10.0) -> None:
        """Wait until this peer has everything the relay has (sync step 2 received).

        Raises `LinkRefused` if the relay refuses the link, `SyncTimeout` after `timeout`.
        """
        await self._wait(lambda: self._state == "synced", timeout, "not in sync with")

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until the relay has durably stored every local change.

        Raises `ReadOnlyLink` if this is a viewer link and local changes were made,
        `LinkRefused` if the relay refuses the link, `SyncTimeout` after `timeout`
        (also what happens with a relay that does not speak Wayfarer's ACK message).
        """
        if self.read_only:
            if self._ledger.made:
                raise ReadOnlyLink(
                    f"this is a view-only link: {self._ledger.made} local change(s) were not "
                    "sent to the relay; ask the trip's owner for an editor link"
                )
            await self.wait_synced(timeout)
            return
        await self._wait(
            lambda: self._state == "synced" and self._ledger.settled,
            timeout,
            self._unconfirmed,
        )

    def _unconfirmed(self) -> str:
        # Before a first sync the ledger cannot count what the relay lacks yet.
        unacked = self._ledger.unacked
        return f"{unacked} local change(s) not confirmed as stored by" if unacked else "local changes not confirmed as stored by"

    async def _wait(self, ready: Callable[[], bool], timeout: float, failure: str | Callable[[], str]) -> None:
        try:
            with anyio.fail_after(timeout):
                while not ready():
                    if self._stopped:
                        raise LinkRefused(self._error)
                    if self._progress is None:
                        self._progress = anyio.Event()
                    await self._progress.wait()
        except TimeoutError:
            if callable(failure):
                failure = failure()
            raise SyncTimeout(
                f"{failure} the relay at {self.link.relay_url} after {timeout:g} s "
                f"({self._why_waiting()})"
            ) from None

    def _why_waiting(self) -> str:
        if self._state == "synced":
            return "connected, but the relay has not confirmed them: is it a Wayfarer relay?"
        return self.status.summary

    # ------------------------------------------------------------------ lifetime

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            self._task_group = await stack.enter_async_context(anyio.create_task_group())
            self._dirty = anyio.Event()
            subscription = self._doc.observe(self._on_doc_update)
            stack.callback(self._doc.unobserve, subscription)
            if self._presence is not None:
                stack.callback(self._presence.on_outgoing(self._on_presence_update))
                await self._task_group.start(self._presence.keep_fresh)
            self._task_group.start_soon(self._publish_when_dirty)
            self._task_group.start_soon(self._keep_connected)
            self._exit_stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        """On a clean exit, tell the others we left (presence removal) before closing."""
        assert self._exit_stack is not None and self._task_group is not None
        self._closing = True
        if exc_type is None and self._session is not None:
            with anyio.move_on_after(LEAVE_TIMEOUT):
                await self._session.leave()
        self._task_group.cancel_scope.cancel()
        # The background tasks never fail, so the task group is closed without the body's
        # exception: given it, anyio would wrap it in an ExceptionGroup, and a caller's
        # `except SyncTimeout` around the `async with` would no longer catch it.
        await self._exit_stack.__aexit__(None, None, None)
        if not self._stopped:
            self._set_state("offline", "")
        return None

    # ------------------------------------------------------------------ the connection loop

    async def _keep_connected(self) -> None:
        attempt = 0
        while True:
            self._set_state("connecting")
            self._reached_sync = False
            try:
                await self._connect_once()
                error = "the relay closed the connection"
            except LinkRefused as refusal:
                self._stopped = True
                self._set_state("offline", str(refusal))
                log.warning("sync of trip %s stopped: %s", self.link.trip_id, refusal)
                return
            except Exception as exc:
                error = self._describe(exc)
            if self._closing:
                return  # we closed it ourselves, on the way out
            if self._reached_sync:
                attempt = 0
            delay = self._backoff.delay(attempt)
            attempt += 1
            self._set_state("offline", f"{error}; retrying in {delay:.2g} s")
            log.info("trip %s offline: %s", self.link.trip_id, self._error)
            await anyio.sleep(delay)

    async def _connect_once(self) -> None:
        try:
            async with connect(
                str(self.link),
                open_timeout=self._open_timeout,
                close_timeout=LEAVE_TIMEOUT,
                max_size=MAX_MESSAGE_BYTES,
            ) as websocket:
                session = RelaySession(
                    websocket,
                    self._doc,
                    self._ledger,
                    editor=not self.read_only,
                    presence=self._presence,
                    apply_remote=self._apply_remote,
                    on_synced=self._on_synced,
                    on_acked=self._publish,
                    ack_interval=self._ack_interval,
                )
                self._ledger.new_connection()
                self._session = session
                self._set_state("syncing", "")
                try:
                    await session.run()
                finally:
                    self._session = None
                    if self._presence is not None:
                        self._presence.forget_others()
        except InvalidStatus as exc:
            code = exc.response.status_code
            if 400 <= code < 500:
                raise LinkRefused(_refused_http(code, exc.response.body, self.link)) from exc
            raise
        except ConnectionClosed as exc:
            refusal = _refused_close(exc)
            if refusal:
                raise LinkRefused(refusal) from exc
            raise

    def _describe(self, exc: Exception) -> str:
        """The reason a connection attempt failed, for a person."""
        where = f"the relay at {self.link.relay_url}"
        if isinstance(exc, ConnectionClosed):
            if exc.rcvd is None:
                return f"lost the connection to {where}"
            reason = f": {exc.rcvd.reason}" if exc.rcvd.reason else ""
            return f"{where} closed the connection (code {exc.rcvd.code}{reason})"
        if isinstance(exc, InvalidStatus):
            return f"{where} answered HTTP {exc.response.status_code}"
        if isinstance(exc, TimeoutError):
            return f"{where} did not answer within {self._open_timeout:g} s"
        if isinstance(exc, OSError):
            return f"cannot reach {where}: {exc.strerror or exc}"
        if isinstance(exc, (WebSocketException, RelayProtocolError)):
            return f"{where}: {exc}"
        if isinstance(exc, ExceptionGroup):
            # pycrdt wraps errors of document observers (e.g. the disk store) in a group.
            details = "; ".join(str(e) for e in exc.exceptions)
            return f"could not apply changes from {where}: {details}"
        log.exception("unexpected error in the connection to %s", where)
        return f"unexpected error with {where}: {exc!r}"

    # ------------------------------------------------------------------ document and presence

    def _on_doc_update(self, event: TransactionEvent) -> None:
        # Runs inside the document's commit: count and queue, never raise, never await.
        if self._applying_remote:
            return
        self._ledger.local_change()
        if self._session is not None:
            self._session.send_update(event.update)
        if self._dirty is not None:
            self._dirty.set()

    def _apply_remote(self, update: bytes) -> None:
        if update == b"\x00\x00":
            return  # an empty update: nothing to apply
        self._applying_remote = True
        try:
            with self._doc.transaction(origin=self.origin):
                self._doc.apply_update(update)
        finally:
            self._applying_remote = False

    def _on_presence_update(self, update: bytes) -> None:
        if self._session is not None:
            self._session.send_awareness(update)

    def _on_synced(self) -> None:
        self._reached_sync = True
        self._set_state("synced", "")

    # ------------------------------------------------------------------ status plumbing

    def _set_state(self, state: SyncState, error: str | None = None) -> None:
        self._state = state
        if error is not None:
            self._error = error
        self._publish()

    def _publish(self) -> None:
        self._feed.publish(
            SyncStatus(
                state=self._state,
                unacked=self._ledger.unacked,
                error=self._error,
                read_only=self.read_only,
                stopped=self._stopped,
            )
        )
        if self._progress is not None:
            self._progress.set()
            self._progress = None

    async def _publish_when_dirty(self) -> None:
        """Publish after local changes, outside the document's commit (where observers
        must not run arbitrary code) and once per burst of changes, not once per token."""
        while True:
            assert self._dirty is not None
            await self._dirty.wait()
            self._dirty = anyio.Event()
            self._publish()


def _refused_http(code: int, body: bytes, link: TripLink) -> str:
    """The relay says little on purpose (HTTP 403, no body); what the token itself states
    often tells the person more."""
    reason = body.decode("utf-8", "replace").strip() or _token_hint(link)
    return f"the relay refused this link (HTTP {code}): {reason}"


def _token_hint(link: TripLink) -> str:
    try:
        claims = decode_claims(link.token)
    except TokenError as exc:
        return str(exc)
    if claims.trip_id != link.trip_id:
        return f"its token is for trip {claims.trip_id!r}, not {link.trip_id!r}"
    if claims.expires_at is not None and claims.expires_at <= time.time():
        return "its token has expired; ask the trip's owner for a new link"
    return "its token was not signed by this relay (or the trip's owner revoked it)"


def _refused_close(exc: ConnectionClosed) -> str | None:
    """The readable refusal for close codes that retrying cannot fix, else None."""
    if exc.rcvd is None:
        return None
    code, reason = exc.rcvd.code, exc.rcvd.reason
    if code == CLOSE_POLICY:
        return f"the relay refused this link: {reason or 'the token is invalid or for another trip'}"
    if code == CLOSE_TOKEN_EXPIRED:
        return f"the relay refused this link: {reason or 'its token has expired; ask for a new link'}"
    if code in (CLOSE_TOO_BIG, CLOSE_DOC_TOO_BIG):
        limit = "message" if code == CLOSE_TOO_BIG else "trip"
        return (
            f"the relay refused a change: the {limit} is larger than it accepts "
            f"(close {code}{': ' + reason if reason else ''})"
        )
    return None

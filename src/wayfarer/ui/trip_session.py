"""`open_session`: one trip open in the app — on disk, synced with its relay, with presence.

Every opened trip is a `LocalTrip` (works offline, survives a crash), connected with a
`RelayConnection` when it has a relay to sync with, with a `Presence` for this window's
person. The session lasts for one `async with`; leaving it normally tells the others
that this window left.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from wayfarer.sync.connection import RelayConnection
from wayfarer.sync.library import TripLibrary
from wayfarer.sync.links import TripLink
from wayfarer.sync.local import LocalTrip
from wayfarer.sync.presence import Presence
from wayfarer.sync.tokens import TokenError, make_token, verify_token
from wayfarer.trip import Person

from .main_window import MainWindow, ShareLinks
from .people import PeopleModel
from .relay_host import RelayAccess
from .trip_model import TripModel


@dataclass
class TripSession:
    trip_id: str
    local: LocalTrip
    model: TripModel
    people: PeopleModel
    link: TripLink | None
    connection: RelayConnection | None
    links: ShareLinks
    _cleanups: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def window(self, *, agent_label: str = "") -> MainWindow:
        """A window on this session, showing its sync status as it changes."""
        window = MainWindow(self.model, self.people, links=self.links, agent_label=agent_label)
        if self.connection is not None:
            window.show_sync(self.connection.status)
            self._cleanups.append(self.connection.on_status(window.show_sync))
        return window

    def set_person(self, person: Person) -> None:
        """This person renamed themselves or chose another colour: their next messages and
        edits carry it, and the others see it in their presence at once."""
        self.model.me = person
        self.people.set_me(person)

    def close(self) -> None:
        for cleanup in self._cleanups:
            cleanup()
        self.people.close()
        self.model.close()


def sync_link(trip_id: str, stored: str | None, access: RelayAccess | None) -> TripLink | None:
    """The link to sync a trip with: the one it was joined with, re-pointed at the relay's
    current address if that relay is ours; a fresh editor link on our relay for a trip
    that has none; None (local only) when there is no relay we can use."""
    if stored:
        link = TripLink.parse(stored)
        if access is not None and access.key and _signed_by(access.key, link):
            return TripLink(access.url, trip_id, link.token)
        return link
    if access is not None and access.key:
        return TripLink(access.url, trip_id, make_token(access.key, trip_id, "editor"))
    return None


def kept_link(stored: str | None, joined: TripLink) -> str:
    """The link to keep for a trip joined with `joined`: that one, except that a viewer
    link never replaces the editor link this computer already has for the same trip on
    the same relay (the person would lose the right to edit it, for good)."""
    if stored and joined.role == "viewer":
        try:
            current = TripLink.parse(stored)
            keeps = current.role == "editor" and (current.relay_url, current.trip_id) == (joined.relay_url, joined.trip_id)
        except ValueError:
            keeps = False
        if keeps:
            return stored
    return str(joined)


def share_links(link: TripLink | None, access: RelayAccess | None) -> ShareLinks:
    if link is None:
        return ShareLinks()
    if access is not None and access.key and _signed_by(access.key, link):
        viewer = TripLink(link.relay_url, link.trip_id, make_token(access.key, link.trip_id, "viewer"))
        editor = str(link) if link.role == "editor" else None
        return ShareLinks(editor=editor, viewer=str(viewer))
    if link.role == "viewer":
        return ShareLinks(viewer=str(link))
    return ShareLinks(editor=str(link))


def _signed_by(key: str, link: TripLink) -> bool:
    try:
        verify_token(key, link.token, link.trip_id)
    except TokenError:
        return False
    return True


@asynccontextmanager
async def open_session(
    library: TripLibrary,
    trip_id: str,
    me: Person,
    access: RelayAccess | None,
    *,
    joined: TripLink | None = None,
) -> AsyncIterator[TripSession]:
    """Open a trip kept here (`joined` None) or join one from a link (made here if new).

    Raises `UnknownTrip`, `StoreError` or `ValueError` (a damaged stored link) with words
    a person can read.
    """
    local = library.open_or_create(trip_id) if joined else library.open(trip_id)
    try:
        stored = kept_link(local.link, joined) if joined else local.link
        link = sync_link(trip_id, stored, access)
        if link is not None and str(link) != local.link:
            local.set_link(str(link))
        model = TripModel(local.trip, me, read_only=link is not None and link.role == "viewer")
        presence = Presence(local.doc, me, kind="human") if link is not None else None
        session = TripSession(trip_id, local, model, PeopleModel(me, presence), link, None, share_links(link, access))
        try:
            if link is None:
                yield session
            else:
                async with RelayConnection(local.doc, link, presence=presence) as connection:
                    session.connection = connection
                    yield session
        finally:
            session.close()
    finally:
        local.close()

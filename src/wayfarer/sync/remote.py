"""One-shot operations on a trip that lives on a relay, for commands that have no local copy.

`wayfarer trip show LINK --json` reads a trip through `fetch_snapshot`; `wayfarer trip new
--relay URL --key K` makes one with `create_remote_trip`. Each connects, does its one
thing, and disconnects; failures raise `SyncError`s that say what went wrong.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from pycrdt import Doc

from wayfarer.trip import NotATrip, Trip, TripSnapshot

from .backoff import Backoff
from .connection import RelayConnection
from .library import new_trip_id
from .links import SCHEMES, TripLink
from .tokens import make_token

# A one-shot command should retry a relay that is starting up, quickly, until its timeout.
QUICK_RETRIES: Final = Backoff(first=0.1, cap=1.0)


async def fetch_snapshot(link: str, timeout: float = 10) -> TripSnapshot:
    """The trip behind `link` as it is on the relay now.

    Raises `ValueError` for a malformed link, `LinkRefused` if the relay refuses it,
    `SyncTimeout` if the relay cannot be reached within `timeout` seconds, and `NotATrip`
    if the relay holds nothing (or something else) under that trip id.
    """
    trip_link = TripLink.parse(link)
    doc = Doc()
    async with RelayConnection(doc, trip_link, backoff=QUICK_RETRIES, open_timeout=timeout) as connection:
        await connection.wait_synced(timeout)
    trip = Trip(doc)
    if not trip.is_trip:
        raise NotATrip(
            f"the relay at {trip_link.relay_url} holds no trip {trip_link.trip_id!r}: "
            "check the link, or create the trip with `wayfarer trip new`"
        )
    trip.check_schema()
    return trip.snapshot()


async def create_remote_trip(
    relay_url: str,
    key: str,
    title: str,
    currency: str = "EUR",
    *,
    timeout: float = 10,
    expires_at: float | None = None,
) -> dict[str, str]:
    """Create a trip on the relay at `relay_url` (whose signing key is `key`); its links
    stop working at `expires_at` (unix time) when given, and relays close connections
    made with them at that moment.

    Returns `{"id", "title", "link", "viewer_link"}` once the relay has durably stored the
    new trip, so the links work as soon as they are printed. Raises `InvalidValue` for a
    bad title or currency before touching the network, `ValueError` for a bad relay URL,
    and `SyncError`s as `RelayConnection.flush` does.
    """
    relay_url = _relay_base(relay_url)
    trip_id = new_trip_id()
    editor = TripLink(relay_url, trip_id, make_token(key, trip_id, "editor", expires_at))
    viewer = TripLink(relay_url, trip_id, make_token(key, trip_id, "viewer", expires_at))
    trip = Trip(Doc())
    trip.create(title, currency=currency)
    async with RelayConnection(trip.doc, editor, backoff=QUICK_RETRIES, open_timeout=timeout) as connection:
        await connection.flush(timeout)
    return {"id": trip_id, "title": trip.meta().title, "link": str(editor), "viewer_link": str(viewer)}


def _relay_base(relay_url: str) -> str:
    parts = urlsplit(relay_url.strip())
    if parts.scheme not in SCHEMES or not parts.netloc or parts.path.strip("/") or parts.query:
        raise ValueError(f"a relay URL looks like ws://HOST:PORT, not {relay_url!r}")
    return f"{parts.scheme}://{parts.netloc}"

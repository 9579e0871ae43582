"""`TripLibrary`: the trips kept on this computer, one `<trip-id>.wayfarer` file each.

Listing reads only each file's small info table (title, relay link), never a document,
so a library of long trips lists as fast as one of short trips.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import re
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from wayfarer import paths

from .local import INFO_LINK, INFO_TITLE, LocalTrip, remember_link
from .updatelog import StoreError, UpdateLog

SUFFIX = ".wayfarer"
# SQLite keeps a WAL journal and its index beside the file while it is open.
_COMPANIONS = ("-wal", "-shm")
_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_LENGTH = 12  # ~62 bits: ids never collide between people who create trips offline


class InvalidTripId(ValueError):
    """A trip id with characters or a length that cannot name a trip (or a file)."""


class UnknownTrip(StoreError):
    """No trip with this id is kept on this computer."""


@dataclass(frozen=True)
class TripInfo:
    """What a list of trips shows. `problem` says why a trip could not be read, if so."""

    id: str
    title: str
    path: Path
    modified: _dt.datetime
    link: str | None = None
    problem: str | None = None


def new_trip_id() -> str:
    """A fresh random trip id: lowercase letters and digits, safe in URLs and file names."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def check_trip_id(trip_id: str) -> str:
    if not isinstance(trip_id, str) or not _ID_PATTERN.fullmatch(trip_id):
        raise InvalidTripId(
            f"{trip_id!r} is not a trip id: use 1 to 64 letters, digits, '-' or '_' "
            "(as printed by `wayfarer trip new` or `wayfarer trip list`)"
        )
    return trip_id


class TripLibrary:
    """The local trips under `root` (default: `wayfarer.paths.trips_dir()`)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else paths.trips_dir()

    def path_for(self, trip_id: str) -> Path:
        return self.root / f"{check_trip_id(trip_id)}{SUFFIX}"

    def exists(self, trip_id: str) -> bool:
        return self.path_for(trip_id).exists()

    def create(self, title: str, currency: str = "EUR") -> TripInfo:
        """A new trip on this computer; raises `wayfarer.trip.InvalidValue` for a bad title
        or currency, leaving no file behind."""
        trip_id = new_trip_id()
        path = self.path_for(trip_id)
        local = LocalTrip.open(path, create=True)
        try:
            with local:
                try:
                    local.trip.create(title, currency=currency)
                except ExceptionGroup:
                    local.check()  # a failed save: raise it as the StoreError it is
                    raise
        except BaseException:
            _remove(path)
            raise
        return self.info(trip_id)

    def open(self, trip_id: str) -> LocalTrip:
        """Open a trip kept here; raises `UnknownTrip` if there is none with this id."""
        path = self._existing(trip_id)
        return LocalTrip.open(path)

    def open_or_create(self, trip_id: str, link: str | None = None) -> LocalTrip:
        """Open a trip, or make an empty one for it that a sync with its relay will fill.

        `link` (the relay link it came from) is remembered for the trip list and for
        reconnecting later.
        """
        local = LocalTrip.open(self.path_for(trip_id), create=True)
        if link is not None and local.link != link:
            try:
                local.set_link(link)
            except BaseException:
                local.close()
                raise
        return local

    def set_link(self, trip_id: str, link: str | None) -> None:
        with UpdateLog(self._existing(trip_id), create=False) as store:
            remember_link(store, link)

    def delete(self, trip_id: str) -> None:
        """Delete a trip from this computer (its copies on a relay and on others' stay)."""
        _remove(self._existing(trip_id))

    def info(self, trip_id: str) -> TripInfo:
        return self._read_info(trip_id, self._existing(trip_id))

    def list(self) -> builtins.list[TripInfo]:
        """Every trip kept here, most recently changed first; unreadable ones say why."""
        infos = []
        for path in self.root.glob(f"*{SUFFIX}"):
            trip_id = path.name[: -len(SUFFIX)]
            if _ID_PATTERN.fullmatch(trip_id):
                infos.append(self._read_info(trip_id, path))
        return sorted(infos, key=lambda info: (info.modified, info.id), reverse=True)

    def _existing(self, trip_id: str) -> Path:
        path = self.path_for(trip_id)
        if not path.exists():
            raise UnknownTrip(path, f"there is no trip {trip_id!r} on this computer (see `wayfarer trip list`)")
        return path

    @staticmethod
    def _read_info(trip_id: str, path: Path) -> TripInfo:
        modified = _modified(path)
        try:
            with UpdateLog(path, create=False) as store:
                title, link = store.get_info(INFO_TITLE), store.get_info(INFO_LINK)
        except StoreError as exc:
            return TripInfo(trip_id, "", path, modified, problem=exc.message)
        return TripInfo(trip_id, title or "", path, modified, link=link)


def _modified(path: Path) -> _dt.datetime:
    """When the trip last changed: SQLite writes to the WAL file first, the main file later."""
    stamps = [p.stat().st_mtime for p in (path, *(Path(f"{path}{c}") for c in _COMPANIONS)) if p.exists()]
    return _dt.datetime.fromtimestamp(max(stamps, default=0.0), tz=_dt.timezone.utc)


def _remove(path: Path) -> None:
    for companion in _COMPANIONS:
        Path(f"{path}{companion}").unlink(missing_ok=True)
    path.unlink(missing_ok=True)

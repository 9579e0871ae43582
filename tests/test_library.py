"""The trip library: the user's trips on this computer, one file each, listed cheaply."""

from __future__ import annotations

from pathlib import Path

import pytest
from pycrdt import Doc

from wayfarer import paths
from wayfarer.sync.library import InvalidTripId, TripLibrary, UnknownTrip, check_trip_id, new_trip_id
from wayfarer.sync.updatelog import StoreCorrupted
from wayfarer.trip import InvalidValue, Trip


def test_a_created_trip_is_a_file_in_the_trips_folder(wayfarer_home: Path) -> None:
    library = TripLibrary()
    info = library.create("Kyoto in autumn", currency="JPY")
    assert info.path == paths.trips_dir() / f"{info.id}.wayfarer"
    assert info.path.is_relative_to(wayfarer_home)
    assert (info.title, info.link, info.problem) == ("Kyoto in autumn", None, None)
    with library.open(info.id) as local:
        meta = local.trip.meta()
    assert (meta.title, meta.currency) == ("Kyoto in autumn", "JPY")


def test_trip_ids_are_random_lowercase_letters_and_digits() -> None:
    ids = {new_trip_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(i.isalnum() and i == i.lower() and check_trip_id(i) == i for i in ids)


@pytest.mark.parametrize("bad", ["", "../etc/passwd", "a b", "x" * 65, "trip.wayfarer", "é"])
def test_a_bad_trip_id_is_refused_with_a_clear_error(bad: str) -> None:
    with pytest.raises(InvalidTripId, match="not a trip id"):
        TripLibrary().path_for(bad)


def test_a_bad_title_leaves_no_file_behind() -> None:
    library = TripLibrary()
    with pytest.raises(InvalidValue, match="title"):
        library.create("   ")
    assert library.list() == []
    assert list(library.root.iterdir()) == []


def test_list_shows_every_trip_newest_first_with_its_title() -> None:
    library = TripLibrary()
    first = library.create("First")
    second = library.create("Second")
    with library.open(second.id) as local:
        local.trip.set_title("Second, renamed")
    listed = library.list()
    assert {i.id for i in listed} == {first.id, second.id}
    assert listed[0].id == second.id and listed[0].title == "Second, renamed"
    assert listed[0].modified >= listed[1].modified


def test_an_unreadable_trip_is_listed_with_its_problem() -> None:
    library = TripLibrary()
    good = library.create("Good")
    broken = library.path_for("broken")
    broken.write_bytes(b"not a database at all" * 100)
    listed = {i.id: i for i in library.list()}
    assert listed[good.id].problem is None
    assert "damaged" in (listed["broken"].problem or "")
    with pytest.raises(StoreCorrupted):
        library.open("broken")


def test_opening_or_deleting_an_unknown_trip_says_which() -> None:
    library = TripLibrary()
    with pytest.raises(UnknownTrip, match="no trip 'nope'"):
        library.open("nope")
    with pytest.raises(UnknownTrip, match="no trip 'nope'"):
        library.delete("nope")


def test_delete_removes_the_trip_and_its_journal() -> None:
    library = TripLibrary()
    info = library.create("Short-lived")
    library.delete(info.id)
    assert library.list() == []
    assert list(library.root.iterdir()) == []
    assert not library.exists(info.id)


def test_a_trip_from_a_relay_link_starts_empty_and_remembers_the_link() -> None:
    library = TripLibrary()
    link = "ws://127.0.0.1:8765/abc123?token=t0k"
    with library.open_or_create("abc123", link=link) as local:
        assert not local.trip.is_trip
        remote = Trip(Doc())
        remote.create("Shared trip")
        local.doc.apply_update(remote.doc.get_update())
    (info,) = library.list()
    assert (info.id, info.title, info.link) == ("abc123", "Shared trip", link)
    with library.open_or_create("abc123") as local:
        assert local.trip.meta().title == "Shared trip"
        assert local.link == link
    library.set_link("abc123", None)
    assert library.info("abc123").link is None

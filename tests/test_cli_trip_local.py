"""`wayfarer trip new | show | list` on trips kept on this computer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wayfarer.cli import main
from wayfarer.sync.library import TripLibrary
from wayfarer.trip import Person

ANA = Person(id="p-ana", name="Ana")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["trip", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def new_trip(capsys: pytest.CaptureFixture[str], title: str = "Porto weekend") -> dict[str, str]:
    status, out, _ = run(capsys, "new", "--title", title)
    assert status == 0
    return json.loads(out)


def fill(trip_id: str) -> None:
    with TripLibrary().open(trip_id) as local:
        trip = local.trip
        saturday = trip.add_day("Saturday", date="2027-05-01")
        trip.add_stop("Livraria Lello", 41.1469, -8.6149, day=saturday, start_time="10:00", cost=8)
        trip.add_stop("Francesinha", 41.15, -8.61, cost=15, category="food")
        trip.adjust_budget(200)
        trip.post_user_message("Where should we eat?", ANA)


def test_new_prints_one_json_object_and_keeps_the_trip(capsys: pytest.CaptureFixture[str]) -> None:
    created = new_trip(capsys)
    assert created["title"] == "Porto weekend" and created["currency"] == "EUR"
    assert Path(created["path"]).is_file()
    assert [i.id for i in TripLibrary().list()] == [created["id"]]


def test_show_json_prints_the_whole_trip_by_id_or_by_path(capsys: pytest.CaptureFixture[str]) -> None:
    created = new_trip(capsys)
    fill(created["id"])
    status, by_id, _ = run(capsys, "show", created["id"], "--json")
    assert status == 0
    shown = json.loads(by_id)
    assert shown["meta"]["title"] == "Porto weekend"
    assert [s["name"] for s in shown["stops"]] == ["Livraria Lello", "Francesinha"]
    assert (shown["budget"]["limit"], shown["budget"]["spent"]) == (200.0, 23.0)
    assert [m["text"] for m in shown["chat"]] == ["Where should we eat?"]
    assert run(capsys, "show", created["path"], "--json")[1] == by_id


def test_show_without_json_is_a_short_summary(capsys: pytest.CaptureFixture[str]) -> None:
    created = new_trip(capsys)
    fill(created["id"])
    status, out, _ = run(capsys, "show", created["id"])
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("Porto weekend")
    assert "Day 1: Saturday · 2027-05-01" in lines
    assert "  - 10:00 Livraria Lello (sight, 8.00 EUR)" in lines
    assert "Unscheduled" in lines and "  - Francesinha (food, 15.00 EUR)" in lines
    assert "Budget: 23.00 spent of 200.00 EUR (177.00 left)" in lines
    assert any(line.startswith("Messages: 1") for line in lines)


def test_list_prints_a_table_or_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert "No trips yet" in run(capsys, "list")[1]
    first, second = new_trip(capsys, "Lisbon"), new_trip(capsys, "Oslo")
    status, out, _ = run(capsys, "list")
    assert status == 0
    header, *rows = out.splitlines()
    assert header.split()[:2] == ["ID", "TITLE"]
    assert sorted(row.split()[0] for row in rows) == sorted([first["id"], second["id"]])
    status, out, _ = run(capsys, "list", "--json")
    assert {(t["id"], t["title"], t["link"]) for t in json.loads(out)} == {
        (first["id"], "Lisbon", None),
        (second["id"], "Oslo", None),
    }


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["show", "nosuchtrip"], "there is no trip 'nosuchtrip'"),
        (["show", "not a trip id"], "not a trip id"),
        (["show", "/nowhere/at-all.wayfarer"], "no such trip file"),
        (["new", "--title", "  "], "title: must not be empty"),
        (["new", "--title", "Rome", "--currency", "euros"], "currency"),
    ],
)
def test_mistakes_give_one_readable_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 1 and out == ""
    assert err.startswith(f"wayfarer trip {argv[0]}: error: ") and expected in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_a_corrupted_trip_file_gives_exit_1_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    created = new_trip(capsys)
    path = Path(created["path"])
    path.write_bytes(path.read_bytes()[:1000])
    status, out, err = run(capsys, "show", created["id"], "--json")
    assert status == 1 and out == ""
    assert "damaged" in err and str(path) in err and "Traceback" not in err
    status, out, _ = run(capsys, "list")
    assert status == 0 and "unreadable" in out


def test_a_trip_still_waiting_for_its_relay_cannot_be_shown_yet(capsys: pytest.CaptureFixture[str]) -> None:
    TripLibrary().open_or_create("waiting", link="ws://127.0.0.1:9/waiting?token=t").close()
    status, _, err = run(capsys, "show", "waiting")
    assert status == 1 and "holds no trip" in err

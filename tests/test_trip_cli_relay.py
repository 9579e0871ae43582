"""`wayfarer trip new --relay`, `trip show LINK` and `trip export`, against a real relay."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

import anyio
import pytest

from relay_process import RelayProcess
from wayfarer.cli import main
from wayfarer.sync.connection import RelayConnection
from wayfarer.trip import Person, Trip
from pycrdt import Doc


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def add_plan(link: str) -> None:
    async def go() -> None:
        doc = Doc()
        async with RelayConnection(doc, link) as conn:
            await conn.wait_synced(10)
            trip = Trip(doc)
            day = trip.add_day("Belém", date="2026-12-03")
            trip.add_stop("Belém Tower", 38.6916, -9.2160, day=day, start_time="10:00", duration_min=60, cost=10)
            trip.add_stop("Pastéis de Belém", 38.6975, -9.2033, day=day, start_time="11:20", cost=4.5, category="food")
            trip.add_stop("Sintra, someday", 38.7976, -9.3904)
            trip.post_user_message("Looks great", Person("p-ana", "Ana"), ask_agent=False)
            await conn.flush(10)

    anyio.run(go)


def test_trip_new_on_a_relay_prints_links_that_work(relay: RelayProcess, capsys) -> None:
    code, out, err = cli(capsys, "trip", "new", "--relay", relay.url, "--key", relay.key, "--title", "Lisbon", "--currency", "EUR")
    assert code == 0, err
    created = json.loads(out)
    assert {"id", "link", "viewer_link", "title"} <= set(created)
    assert created["link"].startswith(f"{relay.url}/{created['id']}?token=")

    add_plan(created["link"])
    code, out, err = cli(capsys, "trip", "show", created["viewer_link"], "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["meta"]["title"] == "Lisbon"
    assert [s["name"] for s in shown["stops"]] == ["Belém Tower", "Pastéis de Belém", "Sintra, someday"]
    assert shown["budget"]["spent"] == 14.5
    assert [m["text"] for m in shown["chat"]] == ["Looks great"]
    assert set(shown["chat"][0]) >= {"id", "role", "author", "text", "run_id"}


def test_trip_new_with_a_wrong_key_is_refused_readably(relay: RelayProcess, capsys) -> None:
    code, out, err = cli(capsys, "trip", "new", "--relay", relay.url, "--key", "not-the-key", "--title", "X", "--timeout", "5")
    assert code == 1 and out == ""
    assert "refused" in err and "Traceback" not in err


def test_trip_new_needs_both_relay_and_key(capsys) -> None:
    code, _, err = cli(capsys, "trip", "new", "--relay", "ws://127.0.0.1:9", "--title", "X")
    assert code == 1 and "--relay and --key go together" in err


def test_trip_show_with_an_unreachable_relay_fails_readably(capsys) -> None:
    code, _, err = cli(capsys, "trip", "show", "ws://127.0.0.1:9/abc?token=x", "--timeout", "1")
    assert code == 1 and "Traceback" not in err and err.strip()


def test_exports_in_every_format(relay: RelayProcess, capsys, tmp_path) -> None:
    _, out, _ = cli(capsys, "trip", "new", "--relay", relay.url, "--key", relay.key, "--title", "Lisbon")
    link = json.loads(out)["link"]
    add_plan(link)

    code, ics, err = cli(capsys, "trip", "export", link, "--format", "ics")
    assert code == 0, err
    assert ics.count("BEGIN:VEVENT") == 2  # the unscheduled stop has no date
    assert "DTSTART:20261203T100000" in ics and "SUMMARY:Belém Tower" in ics

    code, gpx, _ = cli(capsys, "trip", "export", link, "--format", "gpx")
    root = ET.fromstring(gpx)
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    assert len(root.findall("g:wpt", ns)) == 3 and len(root.findall("g:rte/g:rtept", ns)) == 2

    code, geojson, _ = cli(capsys, "trip", "export", link, "--format", "geojson")
    features = json.loads(geojson)["features"]
    points = [f for f in features if f["geometry"]["type"] == "Point"]
    assert len(points) == 3 and points[0]["geometry"]["coordinates"] == [-9.216, 38.6916]
    assert [f["properties"]["day"] for f in features if f["geometry"]["type"] == "LineString"] == [1]

    target = tmp_path / "plan.md"
    code, out, _ = cli(capsys, "trip", "export", link, "--format", "md", "-o", str(target))
    md = target.read_text()
    assert code == 0 and out == ""
    assert "## Day 1 — Belém (2026-12-03)" in md and "**Belém Tower**" in md and "## Unscheduled" in md


def test_trip_new_can_make_links_that_expire(relay: RelayProcess, capsys) -> None:
    code, out, err = cli(capsys, "trip", "new", "--relay", relay.url, "--key", relay.key, "--title", "Short", "--expires-in", "3s")
    assert code == 0, err
    created = json.loads(out)
    assert created["expires_at"].endswith("Z")
    code, out, err = cli(capsys, "trip", "show", created["viewer_link"], "--json")
    assert code == 0 and json.loads(out)["meta"]["title"] == "Short", err
    time.sleep(3.5)
    code, out, err = cli(capsys, "trip", "show", created["link"], "--timeout", "5")
    assert code == 1 and "expired" in err


@pytest.mark.parametrize("bad", ["0", "-5m", "soon", "3w"])
def test_trip_new_refuses_a_duration_it_cannot_read(bad: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["trip", "new", "--title", "X", "--relay", "ws://127.0.0.1:1", "--key", "k", f"--expires-in={bad}"])
    assert exit_.value.code == 2
    assert "duration" in capsys.readouterr().err


def test_expiring_links_need_a_relay(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WAYFARER_HOME", str(tmp_path))
    code, out, err = cli(capsys, "trip", "new", "--title", "Local", "--expires-in", "1h")
    assert code == 1 and out == "" and "--relay" in err
    assert list(tmp_path.rglob("*.wayfarer")) == []  # nothing created

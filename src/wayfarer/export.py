"""The plan for other tools: iCalendar, GPX, GeoJSON and Markdown, from a `TripSnapshot`.

Pure functions: a snapshot in, text out.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from xml.sax.saxutils import escape

from wayfarer.money import money
from wayfarer.trip import Stop, TripSnapshot

FORMATS = ("ics", "gpx", "geojson", "md")


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """RFC 5545 lines are at most 75 octets; longer ones continue with a leading space."""
    out, raw = [], line.encode()
    while len(raw) > 75:
        cut = 75
        while (raw[cut] & 0xC0) == 0x80:  # never split a UTF-8 character
            cut -= 1
        out.append(raw[:cut].decode())
        raw = b" " + raw[cut:]
    out.append(raw.decode())
    return "\r\n".join(out)


def to_ics(snapshot: TripSnapshot, *, now: _dt.datetime | None = None) -> str:
    """One event per stop on a dated day: timed when it has a start time, all-day otherwise.
    Stops on undated days or unscheduled have no place in a calendar and are left out."""
    stamp = (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Wayfarer//Trip export//EN", f"X-WR-CALNAME:{_ics_text(snapshot.meta.title)}"]
    for number, day in enumerate(snapshot.days, start=1):
        if not day.date:
            continue
        date = _dt.date.fromisoformat(day.date)
        for stop in snapshot.stops_in(day.id):
            lines += ["BEGIN:VEVENT", f"UID:{stop.id}@wayfarer", f"DTSTAMP:{stamp}"]
            if stop.start_time:
                hour, minute = map(int, stop.start_time.split(":"))
                start = _dt.datetime.combine(date, _dt.time(hour, minute))
                end = start + _dt.timedelta(minutes=max(stop.duration_min, 1))
                lines += [f"DTSTART:{start:%Y%m%dT%H%M%S}", f"DTEND:{end:%Y%m%dT%H%M%S}"]
            else:
                lines += [f"DTSTART;VALUE=DATE:{date:%Y%m%d}", f"DTEND;VALUE=DATE:{date + _dt.timedelta(days=1):%Y%m%d}"]
            description = f"Day {number}" + (f" — {day.title}" if day.title else "")
            if stop.notes:
                description += f"\n{stop.notes}"
            lines += [
                f"SUMMARY:{_ics_text(stop.name)}",
                f"GEO:{stop.lat:.6f};{stop.lon:.6f}",
                f"DESCRIPTION:{_ics_text(description)}",
                f"CATEGORIES:{stop.category.upper()}",
                "END:VEVENT",
            ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def _day_label(snapshot: TripSnapshot, stop: Stop) -> str:
    number = snapshot.day_number(stop.day)
    return f"Day {number}" if number else "Unscheduled"


def to_gpx(snapshot: TripSnapshot) -> str:
    """Every stop as a waypoint, and one route per day through its stops in order."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.1" creator="Wayfarer" xmlns="http://www.topografix.com/GPX/1/1">',
        f"  <metadata><name>{escape(snapshot.meta.title)}</name></metadata>",
    ]
    for stop in snapshot.stops:
        out.append(
            f'  <wpt lat="{stop.lat:.6f}" lon="{stop.lon:.6f}"><name>{escape(stop.name)}</name>'
            f"<desc>{escape(_day_label(snapshot, stop))}</desc><type>{stop.category}</type></wpt>"
        )
    for number, day in enumerate(snapshot.days, start=1):
        stops = snapshot.stops_in(day.id)
        if not stops:
            continue
        out.append(f"  <rte><name>{escape(f'Day {number}' + (f' — {day.title}' if day.title else ''))}</name>")
        out += [f'    <rtept lat="{s.lat:.6f}" lon="{s.lon:.6f}"><name>{escape(s.name)}</name></rtept>' for s in stops]
        out.append("  </rte>")
    out.append("</gpx>")
    return "\n".join(out) + "\n"


def to_geojson(snapshot: TripSnapshot) -> str:
    """Stops as Points (with day, order, time, cost) and each day's route as a LineString."""
    features = []
    numbered = [(n, d) for n, d in enumerate(snapshot.days, start=1)] + [(0, None)]  # unscheduled last
    for number, day in numbered:
        day_id = day.id if day else ""
        stops = snapshot.stops_in(day_id)
        for order, stop in enumerate(stops, start=1):
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [stop.lon, stop.lat]},
                    "properties": {
                        "id": stop.id,
                        "name": stop.name,
                        "day": number or None,
                        "day_title": day.title if day else "",
                        "date": day.date if day else "",
                        "order": order,
                        "start_time": stop.start_time,
                        "duration_min": stop.duration_min,
                        "cost": stop.cost,
                        "currency": snapshot.meta.currency,
                        "category": stop.category,
                        "notes": stop.notes,
                    },
                }
            )
        if day and len(stops) >= 2:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": [[s.lon, s.lat] for s in stops]},
                    "properties": {"day": number, "day_title": day.title, "route": True},
                }
            )
    return json.dumps({"type": "FeatureCollection", "name": snapshot.meta.title, "features": features}, ensure_ascii=False, indent=2) + "\n"


def to_markdown(snapshot: TripSnapshot) -> str:
    cur = snapshot.meta.currency
    lines = [f"# {snapshot.meta.title}", ""]
    for number, day in enumerate(snapshot.days, start=1):
        heading = f"## Day {number}" + (f" — {day.title}" if day.title else "") + (f" ({day.date})" if day.date else "")
        lines += [heading, ""]
        stops = snapshot.stops_in(day.id)
        lines += [_md_stop(s, cur) for s in stops] or ["_Nothing planned yet._"]
        lines.append("")
    if snapshot.unscheduled:
        lines += ["## Unscheduled", "", *(_md_stop(s, cur) for s in snapshot.unscheduled), ""]
    b = snapshot.budget
    lines += ["## Budget", "", f"- Planned: {money(b.spent, cur)}"]
    if b.limit:
        lines.append(f"- Limit: {money(b.limit, cur)} ({'over by ' + money(-b.remaining, cur) if b.over else money(b.remaining, cur) + ' left'})")
    return "\n".join(lines) + "\n"


def _md_stop(stop: Stop, currency: str) -> str:
    when = f"{stop.start_time} " if stop.start_time else ""
    cost = f", {money(stop.cost, currency)}" if stop.cost else ""
    notes = f" — {stop.notes}" if stop.notes else ""
    return f"- {when}**{stop.name}** ({stop.category}, {stop.duration_min} min{cost}){notes}"


EXPORTERS: dict[str, Callable[[TripSnapshot], str]] = {
    "ics": to_ics,
    "gpx": to_gpx,
    "geojson": to_geojson,
    "md": to_markdown,
}

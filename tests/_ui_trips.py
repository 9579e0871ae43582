"""Real trips for the panel tests: a Trip over a pycrdt Doc, and "another peer" as a second
Trip over a second Doc that exchanges updates with it only when the test says so."""

from __future__ import annotations

from dataclasses import dataclass

from pycrdt import Doc

from wayfarer.trip import Person, Trip

ANA = Person("ana", "Ana", "#e8590c")


def new_trip(title: str = "Lisbon in May") -> Trip:
    trip = Trip()
    trip.create(title, currency="EUR")
    return trip


def peer_of(trip: Trip) -> Trip:
    """A second peer of the same trip, holding everything `trip` holds now."""
    doc = Doc()
    doc.apply_update(trip.doc.get_update())
    return Trip(doc)


def sync(*trips: Trip) -> None:
    """Deliver to every trip what each of the others has and it lacks."""
    for target in trips:
        for source in trips:
            if source is not target:
                target.doc.apply_update(source.doc.get_update(target.doc.get_state()))


@dataclass
class Lisbon:
    day1: str
    day2: str
    castle: str
    cathedral: str
    market: str
    jeronimos: str
    tower: str
    lx_factory: str  # unscheduled


def plan_lisbon(trip: Trip) -> Lisbon:
    """Two days in Lisbon with real coordinates and costs, and one unscheduled idea."""
    day1 = trip.add_day("Alfama & Baixa", date="2026-05-14")
    day2 = trip.add_day("Belém", date="2026-05-15")
    return Lisbon(
        day1=day1,
        day2=day2,
        castle=trip.add_stop("Castelo de São Jorge", 38.71391, -9.13345, day=day1, start_time="09:30", duration_min=90, cost=15),
        cathedral=trip.add_stop("Lisbon Cathedral", 38.70974, -9.13351, day=day1, start_time="11:30", duration_min=45, cost=5),
        market=trip.add_stop("Time Out Market", 38.70685, -9.14598, day=day1, start_time="13:00", cost=22, category="food"),
        jeronimos=trip.add_stop("Jerónimos Monastery", 38.69787, -9.20649, day=day2, start_time="10:00", duration_min=120, cost=12),
        tower=trip.add_stop("Belém Tower", 38.69158, -9.21598, day=day2, start_time="14:00", cost=10),
        lx_factory=trip.add_stop("LX Factory", 38.70349, -9.17879, category="activity"),
    )


def names_in(trip: Trip, day: str) -> list[str]:
    return [s.name for s in trip.snapshot().stops_in(day)]

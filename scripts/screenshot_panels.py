"""Render the board, the map and the budget panel offscreen, on a Lisbon trip, to PNG.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot_panels.py [OUT_DIR]

Writes board.png, map.png, budget.png, budget-over.png and the empty states
board-empty.png, budget-empty.png (default: docs/screenshots/).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from wayfarer.trip import Person, Trip  # noqa: E402
from wayfarer.ui.board import ItineraryBoard  # noqa: E402
from wayfarer.ui.budget_panel import BudgetPanel  # noqa: E402
from wayfarer.ui.map_view import MapView  # noqa: E402
from wayfarer.ui.selection import StopSelection  # noqa: E402
from wayfarer.ui.theme import apply_theme  # noqa: E402
from wayfarer.ui.trip_model import TripModel  # noqa: E402

# (name, lat, lon, start, minutes, cost in EUR, category, notes)
Place = tuple[str, float, float, str, int, float, str, str]
DAYS: list[tuple[str, str, list[Place]]] = [
    ("Alfama & Baixa", "2026-05-14", [
        ("Castelo de São Jorge", 38.71391, -9.13345, "09:30", 90, 15.0, "sight", "Go early: queues after 10:30"),
        ("Miradouro de Santa Luzia", 38.71186, -9.13036, "11:15", 30, 0.0, "sight", ""),
        ("Lisbon Cathedral", 38.70974, -9.13351, "12:00", 45, 5.0, "sight", "Cloister ticket at the side door"),
        ("Time Out Market", 38.70685, -9.14598, "13:15", 75, 22.0, "food", ""),
        ("Praça do Comércio", 38.70775, -9.13659, "15:30", 45, 0.0, "sight", ""),
        ("Fado at Clube de Fado", 38.71063, -9.12967, "20:30", 150, 65.0, "food", "Booked for 4, ask for Ana"),
    ]),
    ("Belém", "2026-05-15", [
        ("Tram 15 to Belém", 38.70751, -9.13720, "09:00", 30, 3.1, "transport", "From Praça da Figueira"),
        ("Jerónimos Monastery", 38.69787, -9.20649, "09:45", 120, 12.0, "sight", ""),
        ("Pastéis de Belém", 38.69754, -9.20321, "12:00", 30, 8.0, "food", ""),
        ("Padrão dos Descobrimentos", 38.69369, -9.20566, "13:00", 45, 10.0, "sight", ""),
        ("Belém Tower", 38.69158, -9.21598, "14:15", 60, 10.0, "sight", ""),
        ("MAAT", 38.69578, -9.19437, "16:00", 90, 11.0, "activity", "Rooftop walk at sunset"),
    ]),
    ("Sintra day trip", "2026-05-16", [
        ("Train from Rossio", 38.71425, -9.14093, "08:30", 40, 4.6, "transport", ""),
        ("Pena Palace", 38.78759, -9.39040, "10:00", 150, 20.0, "sight", "Timed entry 10:00"),
        ("Quinta da Regaleira", 38.79622, -9.39604, "13:30", 120, 15.0, "sight", "The initiation well"),
    ]),
]
UNSCHEDULED: list[Place] = [
    ("Memmo Príncipe Real", 38.71664, -9.14823, "", 0, 210.0, "lodging", "3 nights, breakfast included"),
    ("LX Factory", 38.70349, -9.17879, "", 90, 0.0, "activity", ""),
    ("Oceanário de Lisboa", 38.76354, -9.09376, "", 120, 25.0, "activity", ""),
]


def lisbon_trip(limit: float) -> Trip:
    trip = Trip()
    trip.create("Lisbon in May", currency="EUR")
    for title, date, places in DAYS:
        day = trip.add_day(title, date=date)
        for place in places:
            _add(trip, day, place)
    for place in UNSCHEDULED:
        _add(trip, "", place)
    trip.adjust_budget(limit)
    return trip


def _add(trip: Trip, day: str, place: Place) -> None:
    name, lat, lon, start, minutes, cost, category, notes = place
    trip.add_stop(
        name, lat, lon, day=day, start_time=start, duration_min=minutes, cost=cost, category=category, notes=notes
    )


def shoot(widget: QWidget, size: tuple[int, int], path: Path) -> None:
    widget.resize(*size)
    widget.show()
    QApplication.processEvents()
    widget.grab().save(str(path))
    print(path)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv)
    apply_theme(app)
    me = Person("ana", "Ana", "#e8590c")

    model = TripModel(lisbon_trip(limit=500.0), me)
    selection = StopSelection()
    board = ItineraryBoard(model, selection)
    map_view = MapView(model, selection)
    for widget, size in ((board, (440, 900)), (map_view, (760, 560))):
        widget.resize(*size)
        widget.show()
    QApplication.processEvents()
    snapshot = model.snapshot
    selection.select(snapshot.stops_in(snapshot.days[0].id)[2].id)  # as if clicked: Lisbon Cathedral
    shoot(board, (440, 900), out / "board.png")
    shoot(map_view, (760, 560), out / "map.png")
    shoot(BudgetPanel(model), (360, 640), out / "budget.png")

    over = TripModel(lisbon_trip(limit=400.0), me)
    shoot(BudgetPanel(over), (360, 640), out / "budget-over.png")

    empty = Trip()
    empty.create("Somewhere new")
    empty_model = TripModel(empty, me)
    shoot(ItineraryBoard(empty_model, StopSelection()), (440, 420), out / "board-empty.png")
    shoot(BudgetPanel(empty_model), (360, 420), out / "budget-empty.png")
    del app


if __name__ == "__main__":
    main()

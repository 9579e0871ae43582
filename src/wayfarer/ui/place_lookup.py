"""Finding where a place is by its name, offline, without freezing the window.

The gazetteer (the agent's offline atlas of cities and sights) takes about a second to
build on first use, so each search runs on a worker thread and its answer comes back to
the GUI thread as a queued signal.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from wayfarer.agent.gazetteer import default_gazetteer

_MAX_RESULTS = 6


class PlaceLookup(QObject):
    found = Signal(str, list)  # the query, the places found (agent.gazetteer.Place), best first

    def search(self, query: str, near: tuple[float, float] | None = None) -> None:
        """Look `query` up; `found` follows. Places near `near` (lat, lon) rank first."""
        threading.Thread(target=self._run, args=(query, near), name="place-lookup", daemon=True).start()

    def _run(self, query: str, near: tuple[float, float] | None) -> None:
        self.found.emit(query, default_gazetteer().search(query, limit=_MAX_RESULTS, near=near))


_shared: PlaceLookup | None = None


def place_lookup() -> PlaceLookup:
    """The one lookup of the process: an answer may arrive after the form that asked closed,
    so the object that emits it must outlive every form."""
    global _shared
    if _shared is None:
        _shared = PlaceLookup()
    return _shared

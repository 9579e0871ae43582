"""`PeopleModel`: the Qt face of one window's presence on a trip.

It re-publishes `Presence.on_change` as a signal, answers the questions views ask (who is
here, who is typing, is an agent present) and carries this window's own activity
("typing", "idle") back to `Presence`. Without a `Presence` (a trip that is not shared)
only this window's person is "here".
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from wayfarer.sync.presence import Activity, Presence, PersonPresence
from wayfarer.trip import Person

from .settings import color_for

# Typing ends this long after the last keystroke, so others do not see "typing…" for
# someone who walked away mid-sentence.
TYPING_IDLE_MS = 4000


class PeopleModel(QObject):
    changed = Signal()

    def __init__(self, me: Person, presence: Presence | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.me = me
        self.presence = presence
        self._people: list[PersonPresence] = []
        self._agent_absent_since: float | None = time.monotonic()
        self._unsubscribe: Callable[[], None] | None = None
        self._typing_timer = QTimer(self)
        self._typing_timer.setSingleShot(True)
        self._typing_timer.setInterval(TYPING_IDLE_MS)
        self._typing_timer.timeout.connect(lambda: self.set_activity("idle"))
        if presence is not None:
            self._unsubscribe = presence.on_change(self._on_people)
            self._on_people(presence.people())

    @property
    def people(self) -> list[PersonPresence]:
        """Everyone here, one entry per person (humans first, then agents)."""
        return list(self._people)

    @property
    def agent(self) -> PersonPresence | None:
        return next((p for p in self._people if p.kind == "agent"), None)

    def agent_absent_for(self) -> float:
        """Seconds since the last agent left (0 while one is present)."""
        if self._agent_absent_since is None:
            return 0.0
        return time.monotonic() - self._agent_absent_since

    def typing(self) -> list[PersonPresence]:
        """Other people who are typing right now."""
        return [p for p in self._people if p.status == "typing" and p.id != self.me.id]

    def color_of(self, person_id: str) -> str:
        if person_id == self.me.id:
            return self.me.color
        known = next((p for p in self._people if p.id == person_id), None)
        return known.color if known is not None else color_for(person_id)

    def name_of(self, person_id: str) -> str | None:
        if person_id == self.me.id:
            return self.me.name
        known = next((p for p in self._people if p.id == person_id), None)
        return known.name if known is not None else None

    def set_me(self, person: Person) -> None:
        """This window's person has a new name or colour (Settings): show it here at once
        and tell the others on the trip."""
        self.me = person
        if self.presence is not None:
            self.presence.set_person(person)
        self.changed.emit()

    def note_typing(self) -> None:
        """A keystroke in this window's message box."""
        self.set_activity("typing")
        self._typing_timer.start()

    def set_activity(self, activity: Activity) -> None:
        if activity != "typing":
            self._typing_timer.stop()
        if self.presence is not None:
            self.presence.set_status(activity)

    def close(self) -> None:
        self._typing_timer.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_people(self, people: list[PersonPresence]) -> None:
        self._people = people
        has_agent = any(p.kind == "agent" for p in people)
        if has_agent:
            self._agent_absent_since = None
        elif self._agent_absent_since is None:
            self._agent_absent_since = time.monotonic()
        self.changed.emit()


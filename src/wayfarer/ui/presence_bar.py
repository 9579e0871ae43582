"""The people on the trip, in the header: one avatar per person however many windows they
have open, the agent with what it is doing, and who is typing."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from wayfarer.sync.presence import PersonPresence

from .avatar import Avatar
from .people import PeopleModel

_AGENT_ACTIVITY = {"idle": "ready", "typing": "ready", "thinking": "thinking…", "streaming": "writing…"}


def typing_line(typing: list[PersonPresence]) -> str:
    names = [p.name for p in typing]
    if not names:
        return ""
    if len(names) == 1:
        return f"{names[0]} is typing…"
    if len(names) == 2:
        return f"{names[0]} and {names[1]} are typing…"
    return f"{names[0]} and {len(names) - 1} others are typing…"


def describe(person: PersonPresence, me_id: str) -> str:
    """The tooltip: name, whether it is me, and how many windows or devices."""
    parts = [person.name + (" (you)" if person.id == me_id else "")]
    if person.kind == "agent":
        parts.append(_AGENT_ACTIVITY[person.status])
    if person.windows > 1:
        parts.append(f"{person.windows} windows" + (f" on {len(person.devices)} devices" if len(person.devices) > 1 else ""))
    return " · ".join(parts)


class PresenceBar(QWidget):
    """Rebuilt from `PeopleModel.people` on each change: a handful of avatars at most."""

    def __init__(self, people: PeopleModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.people = people
        self._avatars = QHBoxLayout()
        self._avatars.setSpacing(0)
        self.status = QLabel()
        self.status.setObjectName("presenceStatus")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.status)
        layout.addLayout(self._avatars)
        people.changed.connect(self.refresh)
        self.refresh()

    def avatars(self) -> list[Avatar]:
        return [self._avatars.itemAt(i).widget() for i in range(self._avatars.count())]  # type: ignore[misc]

    def refresh(self) -> None:
        while self._avatars.count():
            item = self._avatars.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        people = self.people.people or []
        me = self.people.me
        if not any(p.id == me.id for p in people):
            people = [PersonPresence(me.id, me.name, me.color, "human", "idle", 1, (), ""), *people]
        for person in people:
            agent = person.kind == "agent"
            avatar = Avatar(person.name, person.color, size=28, agent=agent)
            avatar.set_ring(agent and person.status in ("thinking", "streaming"))
            avatar.setToolTip(describe(person, me.id))
            self._avatars.addWidget(avatar)
        self.status.setText(self._status_line(people))

    def _status_line(self, people: list[PersonPresence]) -> str:
        typing = typing_line(self.people.typing())
        if typing:
            return typing
        agent = next((p for p in people if p.kind == "agent"), None)
        if agent is not None and agent.status in ("thinking", "streaming"):
            return f"{agent.name} is {_AGENT_ACTIVITY[agent.status]}"
        return ""

"""The chat as screen readers see it: a list with one item per message.

`ChatView` paints its messages itself, so Qt has no widget per message to describe, and a
screen reader would find one blank scroll area. Installing `install(ChatView)` gives every
such view a `QAccessibleWidget` of role List whose children are `MessageItem`s, one per
message, read from the view through the small `MessageList` protocol: what the item says
(author, time, text; status and tool lines as its description) and where it is.

Lifetimes: Qt keeps accessible interfaces in a cache by id and deletes the view's own
interface when the view goes. The message items belong to no QObject, so the view's
interface registers each one and deletes them all when the view is destroyed; Python keeps
them alive until then, so the cache never holds an interface Python has freed.
"""

from __future__ import annotations

from typing import Protocol

import shiboken6
from PySide6.QtCore import QObject, QPoint, QRect
from PySide6.QtGui import QAccessible, QAccessibleEvent, QAccessibleInterface, QWindow
from PySide6.QtWidgets import QAccessibleWidget, QWidget


class MessageList(Protocol):
    """What the accessible chat asks the view that paints the messages."""

    def message_count(self) -> int: ...

    def spoken_message(self, row: int) -> tuple[str, str]:
        """(name, description) of the message in `row`."""
        ...

    def message_rect(self, row: int) -> QRect | None:
        """Where the message is, in the view's viewport coordinates."""
        ...

    def row_at(self, point: QPoint) -> int:
        """The row of the message at a viewport point, or -1."""
        ...

    def viewport(self) -> QWidget: ...


_classes: list[type[QWidget]] = []


def install(cls: type[QWidget]) -> None:
    """Give every instance of `cls` (a `MessageList` widget) the accessible list below."""
    if cls in _classes:
        return
    if not _classes:
        QAccessible.installFactory(_factory)
    _classes.append(cls)


def _factory(_class_name: str, obj: QObject) -> QAccessibleInterface | None:
    if isinstance(obj, tuple(_classes)):
        chat = ChatAccessible(obj)  # type: ignore[arg-type]
        # Kept by the view: the cache holds only the C++ side, and deletes it with the view.
        obj._accessible = chat  # type: ignore[attr-defined]
        return chat
    return None


def notify(view: QWidget, row: int, *, added: bool) -> None:
    """Tell assistive technology that a message appeared or changed (when one listens)."""
    if not QAccessible.isActive() or not isinstance(QAccessible.queryAccessibleInterface(view), ChatAccessible):
        return  # (Qt's own scroll-area interface would be asked for a child it does not have)
    kinds = (QAccessible.Event.ObjectCreated,) if added else (
        QAccessible.Event.NameChanged,
        QAccessible.Event.DescriptionChanged,
    )
    for kind in kinds:
        event = QAccessibleEvent(view, kind)
        event.setChild(row)
        QAccessible.updateAccessibility(event)


class ChatAccessible(QAccessibleWidget):
    """The view: a list whose children are its messages."""

    def __init__(self, view: QWidget) -> None:
        super().__init__(view, QAccessible.Role.List)
        self._view = view
        self._items: dict[int, MessageItem] = {}
        self._ids: list[int] = []
        ids = self._ids  # not `self`: the view's interface is gone by the time it is destroyed
        view.destroyed.connect(lambda _=None: _forget(ids))

    @property
    def messages(self) -> MessageList:
        return self._view  # type: ignore[return-value]

    def childCount(self) -> int:
        return self.messages.message_count() if shiboken6.isValid(self._view) else 0

    def child(self, index: int) -> QAccessibleInterface | None:
        if not 0 <= index < self.childCount():
            return None
        item = self._items.get(index)
        if item is None:
            item = self._items[index] = MessageItem(self, index)
            self._ids.append(QAccessible.registerAccessibleInterface(item))
        return item

    def indexOfChild(self, child: QAccessibleInterface) -> int:
        return child.row if isinstance(child, MessageItem) and child.chat is self else -1

    def childAt(self, x: int, y: int) -> QAccessibleInterface | None:
        row = self.messages.row_at(self.messages.viewport().mapFromGlobal(QPoint(x, y)))
        return self.child(row) if row >= 0 else None

    def focusChild(self) -> QAccessibleInterface | None:
        return None


class MessageItem(QAccessibleInterface):
    """One message: read-only text, at its place in the list."""

    def __init__(self, chat: ChatAccessible, row: int) -> None:
        super().__init__()
        self.chat = chat
        self.row = row

    def _messages(self) -> MessageList | None:
        view = self.chat._view if shiboken6.isValid(self.chat) else None
        return view if view is not None and shiboken6.isValid(view) else None  # type: ignore[return-value]

    def isValid(self) -> bool:
        messages = self._messages()
        return messages is not None and self.row < messages.message_count()

    def object(self) -> QObject | None:
        return None

    def window(self) -> QWindow | None:
        return self.chat.window() if shiboken6.isValid(self.chat) else None

    def relations(self, match: QAccessible.RelationFlag = QAccessible.RelationFlag.AllRelations) -> list:  # type: ignore[type-arg]
        return []

    def focusChild(self) -> QAccessibleInterface | None:
        return None

    def childAt(self, x: int, y: int) -> QAccessibleInterface | None:
        return None

    def parent(self) -> QAccessibleInterface | None:
        return self.chat if shiboken6.isValid(self.chat) else None

    def child(self, index: int) -> QAccessibleInterface | None:
        return None

    def childCount(self) -> int:
        return 0

    def indexOfChild(self, child: QAccessibleInterface) -> int:
        return -1

    def text(self, kind: QAccessible.Text) -> str:
        messages = self._messages()
        if messages is None or not self.isValid():
            return ""
        name, description = messages.spoken_message(self.row)
        if kind == QAccessible.Text.Name:
            return name
        if kind == QAccessible.Text.Description:
            return description
        return ""

    def setText(self, kind: QAccessible.Text, text: str) -> None:
        return None  # messages are read-only here

    def rect(self) -> QRect:
        messages = self._messages()
        rect = messages.message_rect(self.row) if messages is not None else None
        if messages is None or rect is None:
            return QRect()
        return QRect(messages.viewport().mapToGlobal(rect.topLeft()), rect.size())

    def role(self) -> QAccessible.Role:
        return QAccessible.Role.ListItem

    def state(self) -> QAccessible.State:
        state = QAccessible.State()
        state.readOnly = True
        messages = self._messages()
        rect = messages.message_rect(self.row) if messages is not None else None
        state.offscreen = messages is None or rect is None or not rect.intersects(messages.viewport().rect())
        return state


def _forget(ids: list[int]) -> None:
    for ident in ids:
        QAccessible.deleteAccessibleInterface(ident)
    ids.clear()

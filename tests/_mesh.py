"""In-memory peers for tests of logic above the network: documents that exchange their
updates directly, optionally after a delay, like peers of one relay room would.

Tests of the network itself use the real relay (tests/relay_process.py) instead.
"""

from __future__ import annotations

from typing import Any

import anyio
from anyio.abc import TaskGroup
from pycrdt import Doc

REMOTE = "mesh-remote"


class Mesh:
    """Every joined document receives every other one's updates.

    With `delay == 0` delivery is immediate (inside the writer's commit); otherwise it
    happens `delay` seconds later from a task in `task_group`.
    """

    def __init__(self, task_group: TaskGroup | None = None, delay: float = 0.0) -> None:
        self.docs: list[Doc] = []
        self.delay = delay
        self.task_group = task_group
        self._subscriptions: list[Any] = []
        self._applying: set[int] = set()  # ids of docs applying a delivered update

    def join(self, doc: Doc | None = None) -> Doc:
        doc = doc if doc is not None else Doc()
        for other in self.docs:
            self._apply(doc, other.get_update(doc.get_state()))
            self._apply(other, doc.get_update(other.get_state()))
        self.docs.append(doc)
        self._subscriptions.append(doc.observe(lambda event, src=doc: self._forward(src, event)))
        return doc

    def _forward(self, source: Doc, event: Any) -> None:
        if id(source) in self._applying:
            return  # a delivered update: not this peer's own change
        update = event.update
        for target in self.docs:
            if target is source:
                continue
            if self.delay <= 0 or self.task_group is None:
                self._apply(target, update)
            else:
                self.task_group.start_soon(self._apply_later, target, update)

    def _apply(self, doc: Doc, update: bytes) -> None:
        self._applying.add(id(doc))
        try:
            with doc.transaction(origin=REMOTE):
                doc.apply_update(update)
        finally:
            self._applying.discard(id(doc))

    async def _apply_later(self, doc: Doc, update: bytes) -> None:
        await anyio.sleep(self.delay)
        self._apply(doc, update)

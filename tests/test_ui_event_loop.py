"""The Qt event loop that runs the app's documents, sync and agent (`event_loop`)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import sniffio
from PySide6.QtWidgets import QApplication

from wayfarer.ui.event_loop import run_with_qt


def test_an_async_generator_left_unfinished_is_closed_on_the_loop(qapp: QApplication) -> None:
    cleaned_up_in: list[str] = []
    still_referenced: list[AsyncIterator[int]] = []  # as a pooled connection holds a response stream

    async def stream() -> AsyncIterator[int]:
        try:
            for n in range(10):
                yield n
                await anyio.lowlevel.checkpoint()
        finally:
            try:  # what an HTTP stream's cleanup asks first
                cleaned_up_in.append(sniffio.current_async_library())
            except sniffio.AsyncLibraryNotFoundError:
                cleaned_up_in.append("no loop")

    async def main() -> None:
        reply = stream()
        still_referenced.append(reply)
        await reply.__anext__()  # a reply stopped after its first token

    run_with_qt(qapp, main)
    still_referenced.clear()
    gc.collect()
    assert cleaned_up_in == ["asyncio"]  # closed by the loop as it ended, not by the garbage collector


def test_sleeping_forever_is_allowed(qapp: QApplication) -> None:
    async def main() -> bool:
        with anyio.move_on_after(0.1) as scope:
            await anyio.sleep_forever()
        return scope.cancelled_caught

    assert run_with_qt(qapp, main)

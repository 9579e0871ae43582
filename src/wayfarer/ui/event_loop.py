"""One event loop for everything: Qt's, driven through qasync, running anyio on asyncio.

pycrdt documents must stay on the thread that made them, and every panel reads the
documents, so the documents, their sync connections, the embedded relay and the embedded
agent all live on the Qt thread's loop. They only ever wait on sockets and timers, so the
UI stays responsive; what could block (disk writes of a trip) is a single small SQLite
append per transaction.
"""

from __future__ import annotations

import asyncio
import math
import signal
import sys
from collections.abc import Awaitable, Callable
from contextvars import Context
from typing import Any, TypeVar

import PySide6.QtCore  # noqa: F401  (before qasync, so that it picks PySide6, not PyQt5)
import anyio
import qasync
from PySide6.QtWidgets import QApplication

T = TypeVar("T")

# QObject.startTimer takes a signed 32-bit count of milliseconds.
MAX_TIMER_S = (2**31 - 1) / 1000


class QtEventLoop(qasync.QEventLoop):  # type: ignore[misc]
    """qasync's loop, able to sleep forever.

    anyio's `sleep_forever()` (used by pycrdt's awareness, task groups waiting on events,
    …) is `asyncio.sleep(math.inf)`, and qasync turns every delay into a Qt timer of
    `int(delay * 1000)` ms: infinity raises OverflowError and kills the task. A callback
    due at infinity never runs, so it needs no timer at all; other long delays are capped
    at the longest timer Qt has (~24.8 days).
    """

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any, context: Context | None = None) -> asyncio.Handle:
        if math.isinf(delay) and delay > 0:
            return asyncio.Handle(callback, args, self, context=context)
        return super().call_later(min(delay, MAX_TIMER_S), callback, *args, context=context)

    def run_forever(self) -> None:
        """qasync's loop, with asyncio's async-generator hooks (qasync 0.28 on Python 3.11
        installs none). Without them an async generator left unfinished (an HTTP response
        stream of the Anthropic SDK, after a Stop) is finalized by the garbage collector
        outside any loop, its cleanup fails (`AsyncLibraryNotFoundError`), and the
        loop's `shutdown_asyncgens` at the end finds nothing to close."""
        previous = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(firstiter=self._asyncgen_firstiter_hook, finalizer=self._asyncgen_finalizer_hook)
        try:
            super().run_forever()
        finally:
            sys.set_asyncgen_hooks(*previous)


def run_with_qt(app: QApplication, main: Callable[[], Awaitable[T]]) -> T:
    """Run `main` with anyio on the Qt event loop of `app` until it returns.

    Qt must not end the loop by itself when the last window closes (qasync's loop is
    Qt's, and stopping it under running tasks abandons them): `main` decides when to
    end, after its sessions have left their rooms.
    """
    app.setQuitOnLastWindowClosed(False)
    return anyio.run(main, backend="asyncio", backend_options={"loop_factory": lambda: QtEventLoop(app)})


async def quit_on_signals(quit: Callable[[], None]) -> None:
    """Call `quit` on Ctrl+C in the terminal that started Wayfarer or on SIGTERM (a logout,
    `kill`), so that the process ends as it does on Ctrl+Q: every window leaves its room,
    the embedded relay stores everything. Without this, Qt's loop ignores Ctrl+C and
    SIGTERM ends the process on the spot. A second signal gets the default behaviour,
    for a shutdown that hangs. (Not on Windows, which has no such signals.)"""
    if sys.platform == "win32":
        return
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _signal in signals:
            quit()
            return

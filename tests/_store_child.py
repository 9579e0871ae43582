"""A child process for the store's crash tests: writes in a loop until it is killed.

Usage: python tests/_store_child.py MODE PATH

Every line it prints is printed only AFTER the write it names has returned, so the parent
may count each printed item as "reported saved" and kill the child (SIGKILL) at any time.

Modes:
  append   appends Yjs updates to an UpdateLog, each inserting "<n>;" into a text, and
           prints "saved <n>".
  compact  fills the log with many rows, then alternates appending updates (printing
           "saved <n>") and compacting the whole log (printing "compacting" just before).
  trip     opens a LocalTrip and posts user messages "note <n>", printing "saved <n>".
"""

from __future__ import annotations

import sys
from pathlib import Path

from pycrdt import Doc, Text

from wayfarer.sync.local import LocalTrip
from wayfarer.sync.updatelog import UpdateLog
from wayfarer.trip import Person

TEXT = "numbers"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def append_forever(path: Path) -> None:
    doc = Doc()
    text = doc.get(TEXT, type=Text)
    with UpdateLog(path) as log:
        doc.observe(lambda event: log.append(event.update))
        n = 0
        while True:
            text.insert(len(text), f"{n};")
            say(f"saved {n}")
            n += 1


def compact_forever(path: Path) -> None:
    doc = Doc()
    text = doc.get(TEXT, type=Text)
    pending: list[bytes] = []
    sub = doc.observe(lambda event: pending.append(event.update))
    with UpdateLog(path) as log:
        n = 0
        for _ in range(3000):
            text.insert(len(text), f"{n};")
            n += 1
        log.append_many(pending)
        say(f"filled {n}")
        doc.unobserve(sub)
        doc.observe(lambda event: log.append(event.update))
        while True:
            for _ in range(50):
                text.insert(len(text), f"{n};")
                say(f"saved {n}")
                n += 1
            say("compacting")
            log.compact()


def post_forever(path: Path) -> None:
    author = Person(id="p-child", name="Child")
    with LocalTrip.open(path, create=True) as local:
        local.trip.create("Crash test")
        n = 0
        while True:
            local.trip.post_user_message(f"note {n}", author, ask_agent=n % 2 == 0)
            say(f"saved {n}")
            n += 1


MODES = {"append": append_forever, "compact": compact_forever, "trip": post_forever}

if __name__ == "__main__":
    MODES[sys.argv[1]](Path(sys.argv[2]))

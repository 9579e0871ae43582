"""Which relay the app talks to, and hosting the embedded one.

With no relay configured, every `wayfarer` process on this computer shares ONE embedded
relay: a lock file decides who hosts it. The host records the relay's address beside the
lock; the others read it and connect as more peers of the same rooms. The relay's key
lives in the same folder (`load_or_create_key`), so every process can mint links and run
an agent. If the host quits, another process takes the lock over and starts the relay on
the same port, so everyone's connections (and links) keep working.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import anyio

from wayfarer.sync.relay import Relay, RelayConfig
from wayfarer.sync.tokens import load_or_create_key

log = logging.getLogger(__name__)

LOCK_FILE = "host.lock"
ADDRESS_FILE = "relay.json"
RETRY_HOSTING_S = 2.0
WAIT_FOR_HOST_S = 0.2
ADDRESS_WAIT_S = 15.0


class RelayUnavailable(Exception):
    """The embedded relay could not be started or found; the message says what to check."""


@dataclass(frozen=True)
class RelayAccess:
    """A relay to sync with. `key` signs trip tokens: without it this app can only use
    links it was given (it cannot create shared trips or run an agent)."""

    url: str
    key: str | None
    embedded: bool


class HostLock:
    """An exclusive, non-blocking file lock held for the life of the hosting process.

    The operating system drops it when the process dies, however it dies, so a crashed
    host never blocks the next one. The holder's pid is written into the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        file = open(self.path, "a+", encoding="utf-8")
        try:
            _lock(file)
        except OSError:
            file.close()
            return False
        file.seek(0)
        file.truncate()
        file.write(str(os.getpid()))
        file.flush()
        self._file = file
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the lock
            self._file = None

    def holder(self) -> int | None:
        try:
            return int(self.path.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return None


if sys.platform == "win32":
    import msvcrt

    def _lock(file: IO[str]) -> None:
        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(file: IO[str]) -> None:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


class EmbeddedRelay:
    """The embedded relay under `data_dir`, hosted here or by another process.

    `await start()` returns the relay's access once its address is known; `serve()` (a
    task for the app's whole life) hosts it whenever this process holds the lock, and
    keeps trying to take over while another process hosts it.
    """

    def __init__(self, data_dir: Path, *, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir
        self.host = host
        self.key = load_or_create_key(data_dir)
        self.lock = HostLock(data_dir / LOCK_FILE)
        self._address = data_dir / ADDRESS_FILE
        self._url: str | None = None
        self._ready = anyio.Event()

    @property
    def hosting(self) -> bool:
        return self.lock.held

    async def access(self) -> RelayAccess:
        """Wait until the relay's address is known (hosted here, or read from the host)."""
        with anyio.move_on_after(ADDRESS_WAIT_S):
            await self._ready.wait()
        if not self._ready.is_set():
            raise RelayUnavailable(
                f"another Wayfarer (process {self.lock.holder()}) hosts the embedded relay but has not said "
                f"where within {ADDRESS_WAIT_S:g} s; quit it and start again"
            )
        assert self._url is not None
        return RelayAccess(self._url, self.key, embedded=True)

    async def serve(self) -> None:
        while True:
            if self.lock.try_acquire():
                try:
                    await self._host()
                finally:
                    self.lock.release()
            elif not self._ready.is_set():
                self._read_address()
            await anyio.sleep(RETRY_HOSTING_S if self._ready.is_set() else WAIT_FOR_HOST_S)

    async def _host(self) -> None:
        previous = self._recorded_port()
        # Same port as before when possible: links handed out earlier stay valid, and
        # peers of a host that quit reconnect to us without noticing.
        for port in ([previous] if previous else []) + [0]:
            try:
                async with Relay(RelayConfig(data_dir=self.data_dir, host=self.host, port=port, key=self.key)) as relay:
                    self._url = relay.url
                    self._write_address(relay.url)
                    self._ready.set()
                    log.info("hosting the embedded relay at %s", relay.url)
                    await anyio.sleep_forever()
            except OSError as exc:
                log.info("embedded relay cannot use port %s (%s)", port, exc.strerror or exc)
                if self._url is not None and port == previous:
                    return  # a peer still holds our old port; try again in a moment
        raise RelayUnavailable(f"the embedded relay could not listen on any port of {self.host}")

    def _write_address(self, url: str) -> None:
        temporary = self._address.with_suffix(".tmp")
        temporary.write_text(json.dumps({"url": url, "pid": os.getpid()}), encoding="utf-8")
        os.replace(temporary, self._address)

    def _read_address(self) -> None:
        recorded = self._recorded()
        # Only the current holder's record counts: a stale one from an earlier host would
        # send us to a port nobody listens on.
        if recorded is not None and recorded.get("pid") == self.lock.holder():
            self._url = str(recorded["url"])
            self._ready.set()

    def _recorded(self) -> dict[str, object] | None:
        try:
            value = json.loads(self._address.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) and isinstance(value.get("url"), str) else None

    def _recorded_port(self) -> int | None:
        recorded = self._recorded()
        if recorded is None:
            return None
        try:
            return int(str(recorded["url"]).rsplit(":", 1)[1])
        except (IndexError, ValueError):
            return None

"""A real PostgreSQL server child process on 127.0.0.1, for the relay cluster's store tests.

`initdb` makes a fresh cluster in a temporary directory (trust authentication, loopback
only), `postgres` runs it on a free port with its Unix socket in that same directory, and
the server is stopped by PID at the end. The binaries are looked for where Debian puts
them (/usr/lib/postgresql/<version>/bin, newest first) and on PATH. PostgreSQL refuses to
run as root, so as root the server runs as the `postgres` system user the Debian package
creates. A machine with no PostgreSQL binaries FAILS these tests, as one without
redis-server does (scripts/setup.sh installs the Debian package `postgresql`): a store
test that skips would let a broken cluster store pass unnoticed.

    from postgres_process import PostgresProcess, postgres_server  # noqa: F401

    def test_x(postgres_server: PostgresProcess) -> None:
        postgres_server.url       # "postgresql://wayfarer@127.0.0.1:PORT/wayfarer"
        postgres_server.new_database("other")   # a second, empty database: its URL
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

START_TIMEOUT = 30.0  # seconds; only turns a server that never starts into a failure
USER = "wayfarer"
DATABASE = "wayfarer"


def find_binaries() -> Path | None:
    """The folder holding `initdb` and `postgres`: Debian's newest version, else PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for folder in candidates:
        if os.access(Path(folder, "initdb"), os.X_OK) and os.access(Path(folder, "postgres"), os.X_OK):
            return Path(folder)
    initdb, postgres = shutil.which("initdb"), shutil.which("postgres")
    if initdb and postgres and Path(initdb).parent == Path(postgres).parent:
        return Path(initdb).parent
    return None


def _version_key(folder: str) -> tuple[int, ...]:
    version = Path(folder).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


class PostgresProcess:
    """One `postgres` child with its own data directory, stopped by PID in `stop`."""

    def __init__(self, binaries: Path) -> None:
        self._binaries = binaries
        self._run_as = _unprivileged_user()
        # Not under pytest's tmp_path: that folder is private to root, and the server may
        # run as another user.
        self.directory = Path(tempfile.mkdtemp(prefix="wayfarer-pg-"))
        self.data = self.directory / "data"
        self.port = _free_port()
        self.url = f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"
        if self._run_as is not None:
            os.chown(self.directory, self._run_as.pw_uid, self._run_as.pw_gid)
        self._initdb()
        self._process = self._spawn()
        self._wait_until_ready()
        self._admin("CREATE DATABASE " + DATABASE)

    @property
    def pid(self) -> int:
        return self._process.pid

    def logs(self) -> str:
        log = self.directory / "postgres.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def new_database(self, name: str) -> str:
        """Create an empty database `name` on this server; its URL."""
        self._admin("CREATE DATABASE " + name)
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """SIGTERM (a "smart" shutdown would wait for clients: SIGINT is "fast"), then
        SIGKILL if it lingers; the temporary directory goes with it."""
        if self._process.poll() is None:
            self._process.send_signal(2)
            try:
                self._process.wait(timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _initdb(self) -> None:
        command = [str(self._binaries / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust"]
        command += ["--encoding=UTF8", "--locale=C", "--no-sync"]
        result = subprocess.run(command, capture_output=True, text=True, check=False, **self._as_user())
        if result.returncode != 0:
            pytest.fail(f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}")

    def _spawn(self) -> subprocess.Popen[str]:
        command = [str(self._binaries / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        command += ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.directory}"]
        command += ["-c", "fsync=off", "-c", "max_connections=100", "-c", "logging_collector=off"]
        log = open(self.directory / "postgres.log", "w")  # noqa: SIM115 - the child owns it
        try:
            return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True, **self._as_user())
        finally:
            log.close()

    def _as_user(self) -> dict[str, int]:
        if self._run_as is None:
            return {}
        return {"user": self._run_as.pw_uid, "group": self._run_as.pw_gid}

    def _admin(self, sql: str) -> None:
        with psycopg.connect(f"postgresql://{USER}@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._process.poll() is not None:
                pytest.fail(f"postgres exited with {self._process.returncode}:\n{self.logs()}")
            try:
                with psycopg.connect(f"postgresql://{USER}@127.0.0.1:{self.port}/postgres", connect_timeout=1):
                    return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"postgres did not answer within {START_TIMEOUT} s:\n{self.logs()}")
            time.sleep(0.05)


def _unprivileged_user() -> pwd.struct_passwd | None:
    """None when not root; as root, the `postgres` user (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root needs the `postgres` system user: run scripts/setup.sh (package postgresql)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def postgres_server() -> Iterator[PostgresProcess]:
    """A fresh PostgreSQL server with an empty database `wayfarer`, stopped at the end."""
    binaries = find_binaries()
    if binaries is None:
        pytest.fail("no PostgreSQL binaries (initdb, postgres) found: run scripts/setup.sh (Debian package postgresql)")
    server = PostgresProcess(binaries)
    try:
        yield server
    finally:
        server.stop()

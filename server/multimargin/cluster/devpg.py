"""A throw-away PostgreSQL for development and tests (``multimargin dev-postgres``).

``initdb`` a cluster in a directory, start ``postgres`` on a loopback port with trust
authentication, and hand back its URL. Run as root (as on CI and here), the cluster
belongs to an unprivileged user (``nobody``): PostgreSQL refuses to run as root.
It is for a laptop or a test run only: no password, loopback only, fsync on (the
durability tests need it).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Where the Debian packages put the server's programs.
PG_BIN_DIRS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")


class DevPostgresError(RuntimeError):
    """The throw-away PostgreSQL could not be made or started."""


def pg_bin(name: str) -> str:
    """The path of a PostgreSQL server program (``initdb``, ``postgres``, ``pg_ctl``)."""
    for d in PG_BIN_DIRS:
        p = Path(d) / name
        if p.exists():
            return str(p)
    found = shutil.which(name)
    if found is None:
        raise DevPostgresError(f"{name} not found: install PostgreSQL (Debian: postgresql)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _as_user() -> tuple[int | None, int | None]:
    if os.geteuid() != 0:
        return None, None
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


@dataclass
class DevPostgres:
    """A running throw-away PostgreSQL; :meth:`stop` ends it (``kill`` leaves nothing
    that needs more than a restart)."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(directory: Path, port: int | None = None, *, log: Path | None = None) -> DevPostgres:
    """Start PostgreSQL with its data in ``directory`` (made with ``initdb`` when empty)
    on ``127.0.0.1:port`` (default: a free port); returns once it takes connections."""
    directory = directory.resolve()
    uid, gid = _as_user()
    pgdata = directory / "data"
    directory.mkdir(parents=True, exist_ok=True)
    if uid is not None and gid is not None:
        os.chown(directory, uid, gid)
    if not (pgdata / "PG_VERSION").exists():
        out = subprocess.run(
            [
                pg_bin("initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
            ],
            user=uid,
            group=gid,
            capture_output=True,
            check=False,
        )
        if out.returncode != 0:
            raise DevPostgresError(f"initdb failed: {out.stderr.decode(errors='replace')[-2000:]}")
    port = port or free_port()
    logfile = open(log or directory / "postgres.log", "ab")  # noqa: SIM115 (held by the child)
    process = subprocess.Popen(
        [
            pg_bin("postgres"),
            "-D",
            str(pgdata),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={directory}",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=64MB",
        ],
        user=uid,
        group=gid,
        stdout=logfile,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    logfile.close()
    pg = DevPostgres(directory, port, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevPostgresError(f"postgres exited with {process.returncode}; see {directory}/postgres.log")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            if _accepts(pg.url):
                return pg
        time.sleep(0.1)
    pg.stop()
    raise DevPostgresError("postgres did not start within 60 s")


def _accepts(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


@contextlib.contextmanager
def running(directory: Path, port: int | None = None) -> Iterator[DevPostgres]:
    """:func:`start`, and :meth:`DevPostgres.stop` on the way out."""
    pg = start(directory, port)
    try:
        yield pg
    finally:
        pg.stop()


__all__ = ["DevPostgres", "DevPostgresError", "free_port", "pg_bin", "running", "start"]

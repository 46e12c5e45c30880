"""A throw-away PostgreSQL cluster for the tests (and for scripts that need one).

``PgCluster.start()`` runs ``initdb`` into a temporary directory and starts the
server with ``pg_ctl``, listening on 127.0.0.1 on a free port (and on a Unix
socket inside the directory), ``fsync`` on, trust authentication for the
superuser ``postgres``. PostgreSQL refuses to run as root: when we are root
the cluster runs as the unprivileged user ``postgres`` (Debian's package
creates it) or ``mm-postgres`` (created here if neither exists), through
``runuser``. The binaries are those in ``/usr/lib/postgresql/*/bin`` (the
newest), or on ``PATH``. Nothing is started as a service; :meth:`stop` stops
the server and deletes the directory.

Every failure raises :class:`PgClusterError` with the server's log: a test
that needs PostgreSQL fails loudly when it cannot have one, it never skips.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

_FALLBACK_USER = "mm-postgres"


class PgClusterError(RuntimeError):
    """The throw-away cluster could not be set up."""


def find_bindir() -> Path:
    """The directory of the newest PostgreSQL server binaries on this machine."""
    candidates = glob.glob("/usr/lib/postgresql/*/bin/postgres")

    def version(path: str) -> tuple[int, ...]:
        part = Path(path).parent.parent.name
        return tuple(int(x) for x in part.split(".") if x.isdigit())

    if candidates:
        return Path(max(candidates, key=version)).parent
    found = shutil.which("pg_ctl")
    if found and (Path(found).parent / "initdb").exists():
        return Path(found).parent
    raise PgClusterError(
        "no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and on PATH); "
        "install Debian's postgresql package (.ci/run does)"
    )


def _run_as_user() -> str | None:
    """The user to run the server as when we are root (created if missing), else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", _FALLBACK_USER):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _FALLBACK_USER],
        check=True,
        capture_output=True,
    )
    return _FALLBACK_USER


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PgCluster:
    """One PostgreSQL server in a temporary directory; see the module docstring."""

    def __init__(self, *, fsync: bool = True, max_connections: int = 300) -> None:
        self.bindir = find_bindir()
        self.user = _run_as_user()
        self.fsync = fsync
        self.max_connections = max_connections
        self.root = Path(tempfile.mkdtemp(prefix="mm-pg-"))
        self.datadir = self.root / "data"
        self.logfile = self.root / "server.log"
        self.port = 0
        self._started = False
        self._databases = 0

    # -------------------------------------------------------------- lifecycle

    def _cmd(self, *args: str) -> list[str]:
        if self.user is None:
            return list(args)
        return ["runuser", "-u", self.user, "--", *args]

    def _run(self, *args: str, timeout: float = 120) -> None:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise PgClusterError(
                f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{self.log()}"
            )

    def start(self) -> PgCluster:
        """initdb + pg_ctl start; returns self. Raises :class:`PgClusterError`."""
        try:
            if self.user is not None:
                os.chmod(self.root, 0o755)
                shutil.chown(self.root, user=self.user)
            self._run(
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            )
            last: PgClusterError | None = None
            for _ in range(5):  # the free port may be taken between probing and binding
                self.port = _free_port()
                options = (
                    f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                    f"-c fsync={'on' if self.fsync else 'off'} -c max_connections={self.max_connections}"
                )
                try:
                    self._run(
                        str(self.bindir / "pg_ctl"),
                        "start",
                        "-w",
                        "-t",
                        "60",
                        "-D",
                        str(self.datadir),
                        "-l",
                        str(self.logfile),
                        "-o",
                        options,
                    )
                except PgClusterError as exc:
                    last = exc
                    continue
                self._started = True
                return self
            assert last is not None
            raise last
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (immediate: the data is thrown away) and delete its directory. Idempotent."""
        if self._started:
            self._started = False
            with contextlib.suppress(PgClusterError, subprocess.TimeoutExpired):
                self._run(
                    str(self.bindir / "pg_ctl"), "stop", "-w", "-m", "immediate", "-D", str(self.datadir)
                )
        shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        """Restart the server in place (same port and data): a PostgreSQL restart under load."""
        self._run(
            str(self.bindir / "pg_ctl"),
            "restart",
            "-w",
            "-m",
            "fast",
            "-D",
            str(self.datadir),
            "-l",
            str(self.logfile),
        )

    def log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no server log)"

    # -------------------------------------------------------------- databases

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, prefix: str = "t") -> str:
        """CREATE DATABASE with a fresh name; returns its DSN."""
        self._databases += 1
        name = f"{prefix}_{os.getpid()}_{self._databases}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_ready(dsn: str, timeout: float = 30.0) -> None:
    """Block until a connection to ``dsn`` succeeds (after a restart)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

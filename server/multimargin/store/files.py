"""The files around the database: WAL checkpoints, durable directory creation, and
the lock that keeps one server per data directory."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from pathlib import Path

from multimargin.store.errors import StoreLockedError
from multimargin.store.identity import LOCK_FILENAME


def _checkpoint(conn: sqlite3.Connection) -> None:
    # Move the WAL into the main file and truncate it, so the data directory
    # is one self-contained file at rest. Failure is harmless: everything in
    # the WAL is already durable and is replayed by SQLite on the next open.
    with contextlib.suppress(sqlite3.Error):
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _checkpoint_and_close(conn: sqlite3.Connection) -> None:
    try:
        _checkpoint(conn)
    finally:
        conn.close()


def _make_dir_durably(data_dir: Path) -> None:
    missing: list[Path] = []
    probe = data_dir
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    data_dir.mkdir(parents=True, exist_ok=True)
    # A created directory survives power loss only once its parent is synced.
    for created in reversed(missing):
        _fsync_dir(created.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock_dir(data_dir: Path) -> int:
    fd = os.open(data_dir / LOCK_FILENAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLockedError(
            f"{data_dir} is already open by another multimargin store "
            "(two writers would hand out the same journal seqs)"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    return fd

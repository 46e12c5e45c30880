"""Which store a data directory holds, so that a lost database is never taken for a new one.

SQLite opens a missing or empty file as a new, empty database: a store whose file was
truncated or deleted (while the rest of its directory remained) would come back up with
no accounts and serve. So:

* A store is **created** only where none of its files exist (:data:`STORE_FILES`) —
  a fresh data directory — or on the operator's explicit ``init_store=True``
  (``multimargin serve --init-store``), which never replaces a database that holds data.
* Creating a store gives it an id, kept in the database (``meta["store.id"]``) and in
  the marker file :data:`ID_FILENAME` beside it. At every open the two must agree: a
  database of another store is refused. A database restored into a directory without a
  marker (a backup) gets its marker; a store from before ids gets an id.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path

from multimargin.store.errors import StoreError, StoreMissingError
from multimargin.store.schema import DB_FILENAME, META_STORE_ID, UPSERT_META

ID_FILENAME = "multimargin.store-id"
LOCK_FILENAME = "multimargin.lock"
#: Every file a store keeps in its data directory; any of them means a store was there.
STORE_FILES = (DB_FILENAME, f"{DB_FILENAME}-wal", f"{DB_FILENAME}-shm", LOCK_FILENAME, ID_FILENAME)


def has_database(data_dir: Path) -> bool:
    """True if the database file exists and is not empty."""
    try:
        return (data_dir / DB_FILENAME).stat().st_size > 0
    except FileNotFoundError:
        return False


def store_files(data_dir: Path) -> list[str]:
    """The names of :data:`STORE_FILES` present in ``data_dir``."""
    return [name for name in STORE_FILES if (data_dir / name).exists()]


def check_creation(data_dir: Path, present: list[str], *, init_store: bool) -> bool | None:
    """Decide, with the directory locked and before SQLite opens the file, whether opening
    ``data_dir`` creates a store: True to create one, None when the database file has
    contents (:func:`check_contents` decides once it is open).

    ``present`` is :func:`store_files` as seen before the lock file was made. Raises
    :class:`StoreMissingError` for a lost database.
    """
    path = data_dir / DB_FILENAME
    if has_database(data_dir):
        return None
    if present and not init_store:
        state = "empty" if path.exists() else "missing"
        raise _missing(data_dir, f"{path} is {state}", present)
    wal = data_dir / f"{DB_FILENAME}-wal"
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(
            f"{wal} holds writes of a database that is missing; SQLite would replay them into "
            "the new one. Move it away first"
        )
    return True


def check_contents(conn: sqlite3.Connection, data_dir: Path, present: list[str], *, init_store: bool) -> bool:
    """For a database file with contents, open on ``conn``: True to create a store in it
    (a file without any table, with ``init_store``), False to open the store it holds.

    A file without any table where a store existed (its commits were all in a lost
    ``-wal``, say) is refused like an empty one; ``init_store`` never replaces a store.
    """
    path = data_dir / DB_FILENAME
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    (tables,) = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    if version == 0 and tables == 0:
        if not init_store:
            raise _missing(data_dir, f"{path} holds no store (no tables)", present)
        return True
    if init_store:
        raise StoreError(
            f"--init-store: {path} already holds a store; refusing to replace it "
            "(start without --init-store to serve it)"
        )
    return False


def _missing(data_dir: Path, what: str, present: list[str]) -> StoreMissingError:
    return StoreMissingError(
        f"{what}, but {data_dir} has held a store (found {', '.join(present)}); refusing to "
        "start a new, empty one in its place. Restore the database from a backup, or start "
        "with --init-store to create a new, empty store deliberately"
    )


def reconcile(conn: sqlite3.Connection, data_dir: Path, *, created: bool) -> str:
    """Check (or, for a new store, give) the id of the store opened on ``conn``; returns it.

    Runs on the writer connection before the committer starts (autocommit writes).
    """
    stored = conn.execute("SELECT value FROM meta WHERE key = ?", (META_STORE_ID,)).fetchone()
    marker_path = data_dir / ID_FILENAME
    marker = _read_marker(marker_path)
    if created or stored is None:
        if stored is None and marker is not None and not created:
            raise StoreError(
                f"{data_dir / DB_FILENAME} has no store id, but {marker_path} says this directory "
                f"holds store {marker}; refusing to open another store's data here"
            )
        store_id = uuid.uuid4().hex
        conn.execute(UPSERT_META, (META_STORE_ID, store_id.encode()))
        _write_marker(marker_path, store_id)
        return store_id
    value = stored[0]
    store_id = value.decode("ascii", "replace") if isinstance(value, bytes) else repr(value)
    if marker is None:
        _write_marker(marker_path, store_id)  # restored from a backup, or the marker was lost
    elif marker != store_id:
        raise StoreError(
            f"{data_dir / DB_FILENAME} is the database of store {store_id}, but {marker_path} says "
            f"this directory holds store {marker}; refusing to serve another store's data. If the "
            f"database was restored on purpose, delete {marker_path}"
        )
    return store_id


def _read_marker(path: Path) -> str | None:
    try:
        return path.read_text("ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc


def _write_marker(path: Path, store_id: str) -> None:
    """Write the marker durably: a temporary file, fsync, rename, fsync the directory."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="ascii") as f:
        f.write(store_id + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

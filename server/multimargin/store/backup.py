"""Online backup of a store: a consistent copy of the database while the server runs.

SQLite's backup API reads the database in one read transaction, so the copy is the
store as of one commit: every record in it is complete, its journal chain and
``meta`` agree, and nothing written later is in it. In WAL mode that read neither
blocks nor is blocked by the server's commits. (Copying ``multimargin.db`` with ``cp``
while the server runs is not a backup: the latest commits may be in ``-wal`` only.)

Restore: put the copy as ``multimargin.db`` in an empty data directory and start the
server on it; it verifies the whole journal before serving.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from multimargin.store.errors import StoreError
from multimargin.store.identity import has_database
from multimargin.store.schema import DB_FILENAME, META_LAST_SEQ, META_STORE_ID


def backup(data_dir: Path, dest: Path) -> tuple[str, int]:
    """Copy the store in ``data_dir`` to the new file ``dest``; returns its (store id,
    last journal seq). The copy is checked (``PRAGMA integrity_check``) and fsync'd.

    Raises :class:`StoreError` if ``data_dir`` holds no store or ``dest`` exists.
    """
    source_path = Path(data_dir) / DB_FILENAME
    dest = Path(dest)
    if not has_database(Path(data_dir)):
        raise StoreError(f"no store in {data_dir} ({source_path} is missing or empty)")
    if dest.exists():
        raise StoreError(f"{dest} exists; refusing to overwrite it")
    partial = dest.with_name(dest.name + ".partial")
    source = sqlite3.connect(source_path, isolation_level=None)
    try:
        source.execute("PRAGMA query_only = ON")
        source.execute("PRAGMA busy_timeout = 5000")
        target = sqlite3.connect(partial, isolation_level=None)
        try:
            source.backup(target)  # all pages in one step: one consistent snapshot
            target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            problems = [row[0] for row in target.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise StoreError(f"the copy does not verify: {'; '.join(map(str, problems[:5]))}")
            meta = dict(target.execute("SELECT key, value FROM meta").fetchall())
        finally:
            target.close()
        with open(partial, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(partial, dest)
        fd = os.open(dest.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot back up {source_path}: {exc}") from exc
    finally:
        source.close()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    store_id = bytes(meta.get(META_STORE_ID, b"?")).decode("ascii", "replace")
    return store_id, int(bytes(meta.get(META_LAST_SEQ, b"0")))


__all__ = ["backup"]

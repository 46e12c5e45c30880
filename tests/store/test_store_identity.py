"""A data directory that has held a store is never silently reinitialised.

A store is created only where none of its files exist, or on the operator's explicit
``init_store=True`` (``multimargin serve --init-store``). Creating one writes its id in
the database (``meta["store.id"]``) and in a marker file beside it; a missing or empty
database where a store existed, or a database of another store, is refused naming the
files involved.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from multimargin.store import Store, StoreError, StoreMissingError
from multimargin.store.identity import ID_FILENAME
from storekit import close, populate, raw_db, recover_fresh

DB = "multimargin.db"


def store_id(data_dir: Path) -> str:
    conn = sqlite3.connect(data_dir / DB)
    try:
        (value,) = conn.execute("SELECT value FROM meta WHERE key = 'store.id'").fetchone()
    finally:
        conn.close()
    return bytes(value).decode()


def records_in(data_dir: Path, **open_args: bool) -> int:
    store = Store.open(data_dir, **open_args)
    try:
        return len(store.recover().records)
    finally:
        close(store)


def test_a_new_store_records_its_id_in_the_database_and_beside_it(tmp_path: Path) -> None:
    populate(tmp_path, 3)
    assert (tmp_path / ID_FILENAME).read_text().strip() == store_id(tmp_path)
    assert len(store_id(tmp_path)) == 32


def test_an_emptied_database_is_refused_naming_the_file(tmp_path: Path) -> None:
    populate(tmp_path, 5)
    (tmp_path / DB).write_bytes(b"")  # truncate -s 0
    with pytest.raises(StoreMissingError) as refused:
        Store.open(tmp_path)
    assert str(tmp_path / DB) in str(refused.value) and "empty" in str(refused.value)
    assert "init" in str(refused.value)
    assert (tmp_path / DB).stat().st_size == 0  # nothing was written into it


@pytest.mark.parametrize("leftover", [ID_FILENAME, "multimargin.lock"])
def test_a_deleted_database_is_refused_while_any_store_file_remains(tmp_path: Path, leftover: str) -> None:
    populate(tmp_path, 5)
    (tmp_path / DB).unlink()
    for name in {ID_FILENAME, "multimargin.lock"} - {leftover}:
        (tmp_path / name).unlink()
    with pytest.raises(StoreMissingError) as refused:
        Store.open(tmp_path)
    assert str(tmp_path / DB) in str(refused.value) and "missing" in str(refused.value)
    assert leftover in str(refused.value)
    assert not (tmp_path / DB).exists()


def test_init_store_creates_a_new_store_where_one_was_lost(tmp_path: Path) -> None:
    populate(tmp_path, 5)
    old = store_id(tmp_path)
    (tmp_path / DB).write_bytes(b"")
    assert records_in(tmp_path, init_store=True) == 0
    assert store_id(tmp_path) != old
    assert (tmp_path / ID_FILENAME).read_text().strip() == store_id(tmp_path)
    assert records_in(tmp_path) == 0  # and from then on it opens without the flag


def test_init_store_never_replaces_a_store(tmp_path: Path) -> None:
    populate(tmp_path, 5)
    with pytest.raises(StoreError, match="already holds a store"):
        Store.open(tmp_path, init_store=True)
    assert records_in(tmp_path) == 5


def test_a_database_restored_into_a_new_directory_opens(tmp_path: Path) -> None:
    populate(tmp_path / "a", 5)
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "a" / DB, tmp_path / "b" / DB)
    assert records_in(tmp_path / "b") == 5
    assert (tmp_path / "b" / ID_FILENAME).read_text().strip() == store_id(tmp_path / "a")


def test_the_database_of_another_store_is_refused(tmp_path: Path) -> None:
    populate(tmp_path / "a", 5)
    populate(tmp_path / "b", 7)
    shutil.copy(tmp_path / "b" / DB, tmp_path / "a" / DB)
    with pytest.raises(StoreError) as refused:
        Store.open(tmp_path / "a")
    message = str(refused.value)
    marker = (tmp_path / "a" / ID_FILENAME).read_text().strip()
    assert store_id(tmp_path / "b") in message and marker in message


def test_a_store_from_before_ids_is_given_one(tmp_path: Path) -> None:
    populate(tmp_path, 5)
    with raw_db(tmp_path) as db:
        db.execute("DELETE FROM meta WHERE key = 'store.id'")
    (tmp_path / ID_FILENAME).unlink()
    store, records, _ = recover_fresh(tmp_path)
    close(store)
    assert len(records) == 5
    assert (tmp_path / ID_FILENAME).read_text().strip() == store_id(tmp_path)


def test_init_store_refuses_to_create_over_a_stray_wal(tmp_path: Path) -> None:
    populate(tmp_path, 5)
    (tmp_path / DB).unlink()
    (tmp_path / f"{DB}-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\x00" * 60)
    with pytest.raises(StoreError, match="-wal"):
        Store.open(tmp_path, init_store=True)


def test_a_database_without_tables_where_a_store_was_is_refused(tmp_path: Path) -> None:
    # E.g. a store whose every commit was still in the -wal file when that was deleted:
    # what is left is an SQLite header and nothing else.
    populate(tmp_path, 5)
    (tmp_path / DB).unlink()
    conn = sqlite3.connect(tmp_path / DB)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("DROP TABLE t")
    conn.close()
    assert (tmp_path / DB).stat().st_size > 0
    with pytest.raises(StoreMissingError, match="holds no store"):
        Store.open(tmp_path)
    assert records_in(tmp_path, init_store=True) == 0

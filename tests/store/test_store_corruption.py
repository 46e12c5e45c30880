"""Damage to the file is detected at open/recover, naming the first bad position.

Each test writes a healthy journal, damages the closed file behind the store's
back (a separate sqlite3 connection, or raw bytes), and expects
CorruptJournalError with the right ``seq``.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import random
import sqlite3
import tempfile
from dataclasses import astuple
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multimargin.store import (
    CorruptJournalError,
    DurabilityError,
    Store,
    StoreError,
    StoreLockedError,
    StoreVersionError,
)
from multimargin.store.records import chain_value
from storekit import close, make_record, make_snapshot, populate, raw_db, recover_fresh


def expect_corrupt(data_dir: Path) -> CorruptJournalError:
    """Open and recover ``data_dir``; return the CorruptJournalError raised by either."""
    with pytest.raises(CorruptJournalError) as info:
        store = Store.open(data_dir)
        try:
            store.recover()
        finally:
            close(store)
    return info.value


def test_edited_command_in_a_middle_row(tmp_path: Path) -> None:
    populate(tmp_path, 100)
    with raw_db(tmp_path) as db:
        db.execute("UPDATE journal SET command = ? WHERE seq = 57", (b"tampered",))
    err = expect_corrupt(tmp_path)
    assert err.seq == 57
    assert "chain mismatch at seq 57" in str(err)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("ts_ns", 1),
        ("kind", "Withdraw"),
        ("account_id", None),
        ("request_id", "someone-else"),
        ("request_hash", b""),
        ("response", b"RESP-forged"),
        ("state_hash", b"\x00" * 32),
    ],
)
def test_every_column_is_covered_by_the_chain(tmp_path: Path, column: str, value: object) -> None:
    populate(tmp_path, 30)
    with raw_db(tmp_path) as db:
        db.execute(f"UPDATE journal SET {column} = ? WHERE seq = 11", (value,))
    assert expect_corrupt(tmp_path).seq == 11


def test_deleted_middle_row_is_a_gap(tmp_path: Path) -> None:
    populate(tmp_path, 100)
    with raw_db(tmp_path) as db:
        db.execute("DELETE FROM journal WHERE seq = 50")
    err = expect_corrupt(tmp_path)
    assert err.seq == 50
    assert "gap in seq: expected 50, found 51" in str(err)


def test_deleted_last_rows_are_a_truncated_tail(tmp_path: Path) -> None:
    populate(tmp_path, 100)
    with raw_db(tmp_path) as db:
        db.execute("DELETE FROM journal WHERE seq > 95")
    err = expect_corrupt(tmp_path)
    assert err.seq == 96
    assert "truncated tail" in str(err)
    assert "meta.last_seq is 100" in str(err)


def test_tail_truncated_with_meta_patched_still_fails_on_chain_head(tmp_path: Path) -> None:
    populate(tmp_path, 100)
    with raw_db(tmp_path) as db:
        db.execute("DELETE FROM journal WHERE seq > 95")
        db.execute("UPDATE meta SET value = ? WHERE key = 'store.last_seq'", (b"95",))
    err = expect_corrupt(tmp_path)
    assert err.seq == 95
    assert "chain_head" in str(err)


def test_row_appended_behind_the_stores_back(tmp_path: Path) -> None:
    populate(tmp_path, 20)
    with raw_db(tmp_path) as db:
        # Correctly chained, so only the end marker in meta can tell.
        (chain20,) = db.execute("SELECT chain FROM journal WHERE seq = 20").fetchone()
        extra = make_record(21)
        db.execute(
            "INSERT INTO journal VALUES (?,?,?,?,?,?,?,?,?,?)",
            (*astuple(extra), chain_value(chain20, extra)),
        )
    err = expect_corrupt(tmp_path)
    assert err.seq == 21
    assert "beyond meta.last_seq" in str(err)


def test_row_inserted_in_the_middle(tmp_path: Path) -> None:
    populate(tmp_path, 60)
    with raw_db(tmp_path) as db:
        # Make room at 40 by renumbering the rows after it, then insert a copy.
        db.execute("UPDATE journal SET seq = seq + 1000000 WHERE seq >= 40")
        db.execute("UPDATE journal SET seq = seq - 1000000 + 1 WHERE seq >= 1000000")
        db.execute(
            "INSERT INTO journal SELECT 40, ts_ns, kind, account_id, NULL, request_hash, "
            "command, response, state_hash, chain FROM journal WHERE seq = 39"
        )
        db.execute("UPDATE meta SET value = ? WHERE key = 'store.last_seq'", (b"61",))
    assert expect_corrupt(tmp_path).seq == 40


def test_swapped_rows_are_a_reorder(tmp_path: Path) -> None:
    populate(tmp_path, 50)
    with raw_db(tmp_path) as db:
        # Each row keeps its own (valid) chain value; only the order changes.
        db.execute("UPDATE journal SET seq = 1000000 WHERE seq = 20")
        db.execute("UPDATE journal SET seq = 20 WHERE seq = 21")
        db.execute("UPDATE journal SET seq = 21 WHERE seq = 1000000")
    err = expect_corrupt(tmp_path)
    assert err.seq == 20


def test_swapped_chain_values(tmp_path: Path) -> None:
    populate(tmp_path, 50)
    with raw_db(tmp_path) as db:
        (c30,) = db.execute("SELECT chain FROM journal WHERE seq = 30").fetchone()
        (c31,) = db.execute("SELECT chain FROM journal WHERE seq = 31").fetchone()
        db.execute("UPDATE journal SET chain = ? WHERE seq = 30", (c31,))
        db.execute("UPDATE journal SET chain = ? WHERE seq = 31", (c30,))
    err = expect_corrupt(tmp_path)
    assert err.seq == 30
    assert "chain mismatch" in str(err)


def test_altered_chain_value(tmp_path: Path) -> None:
    populate(tmp_path, 50)
    with raw_db(tmp_path) as db:
        db.execute("UPDATE journal SET chain = ? WHERE seq = 12", (b"\x01" * 32,))
    assert expect_corrupt(tmp_path).seq == 12


def test_corrupt_snapshot_state(tmp_path: Path) -> None:
    populate(tmp_path, 30, snapshot_at=25)
    with raw_db(tmp_path) as db:
        db.execute("UPDATE snapshots SET state = ? WHERE seq = 25", (b"STATE@25 but not",))
    err = expect_corrupt(tmp_path)
    assert err.seq == 25
    assert "snapshot checksum mismatch at seq 25" in str(err)


def test_snapshot_moved_to_another_seq(tmp_path: Path) -> None:
    populate(tmp_path, 30, snapshot_at=25)
    with raw_db(tmp_path) as db:
        db.execute("UPDATE snapshots SET seq = 24 WHERE seq = 25")
    assert expect_corrupt(tmp_path).seq == 24


def test_snapshot_beyond_journal_end(tmp_path: Path) -> None:
    populate(tmp_path, 30, snapshot_at=25)
    with raw_db(tmp_path) as db:
        # A consistent-looking journal of 20 records (meta patched to match)
        # next to a snapshot that claims to include record 25.
        (chain20,) = db.execute("SELECT chain FROM journal WHERE seq = 20").fetchone()
        db.execute("DELETE FROM journal WHERE seq > 20")
        db.execute("UPDATE meta SET value = ? WHERE key = 'store.last_seq'", (b"20",))
        db.execute("UPDATE meta SET value = ? WHERE key = 'store.chain_head'", (chain20,))
    err = expect_corrupt(tmp_path)
    assert err.seq == 25
    assert "beyond the journal end" in str(err)


def test_missing_meta_last_seq(tmp_path: Path) -> None:
    populate(tmp_path, 5)
    with raw_db(tmp_path) as db:
        db.execute("DELETE FROM meta WHERE key = 'store.last_seq'")
    assert "store.last_seq" in str(expect_corrupt(tmp_path))


def test_garbage_page_in_the_middle_of_the_file_is_malformed(tmp_path: Path) -> None:
    populate(tmp_path, 2000, size=256)
    path = tmp_path / "multimargin.db"
    page_size = 4096
    pages = path.stat().st_size // page_size
    assert pages > 20
    garbage = random.Random(7).randbytes(page_size)
    with path.open("r+b") as f:
        f.seek((pages // 2) * page_size)
        f.write(garbage)
    err = expect_corrupt(tmp_path)
    assert "malformed database file" in str(err)
    # quick_check only says "malformed"; the store then scans the journal to
    # name the first record that can no longer be read.
    assert err.seq is not None
    assert 1 < err.seq <= 2000
    assert f"journal rows readable up to seq {err.seq - 1}" in str(err)


def test_quick_check_of_a_large_file_is_deferred_to_verify_prefix(tmp_path: Path) -> None:
    # A restart must not grow with the store: over `check_at_open_bytes` the open skips
    # PRAGMA quick_check, and verify_prefix (run in the background once serving) does it.
    populate(tmp_path, 2000, size=256)
    path = tmp_path / "multimargin.db"
    pages = path.stat().st_size // 4096
    with path.open("r+b") as f:
        f.seek((pages // 2) * 4096)
        f.write(random.Random(7).randbytes(4096))
    with pytest.raises(CorruptJournalError):  # under the bound: checked at open
        close(Store.open(tmp_path, check_at_open_bytes=path.stat().st_size * 2))
    store = Store.open(tmp_path, check_at_open_bytes=1024)  # over it: opens
    try:
        with pytest.raises(CorruptJournalError) as info:
            store.verify_prefix(0)
        assert "quick_check reports" in str(info.value)
        assert info.value.seq is not None and 1 < info.value.seq <= 2000
    finally:
        close(store)


def test_a_deferred_quick_check_of_a_healthy_file_passes_once(tmp_path: Path) -> None:
    populate(tmp_path, 50)
    store = Store.open(tmp_path, check_at_open_bytes=1024)
    try:
        assert [r.seq for r in store.recover(full=False).records] == list(range(1, 51))
        store.verify_prefix(0)
        store.verify_prefix(50)  # the chain up to a snapshot's seq, after the file check
    finally:
        close(store)


def test_flipped_byte_inside_a_record_is_caught_by_the_chain(tmp_path: Path) -> None:
    # SQLite has no checksums on row contents: quick_check passes, and only
    # the chain notices that a stored command changed on disk.
    written = populate(tmp_path, 300)
    path = tmp_path / "multimargin.db"
    data = bytearray(path.read_bytes())
    marker = written[122].command[:12]  # b"CMD00000123|"
    offset = data.find(marker)
    assert offset > 0 and data.find(marker, offset + 1) == -1
    data[offset + 5] ^= 0x01
    path.write_bytes(bytes(data))
    err = expect_corrupt(tmp_path)
    assert err.seq == 123
    assert "chain mismatch at seq 123" in str(err)


def test_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "multimargin.db").write_bytes(os.urandom(8192))
    err = expect_corrupt(tmp_path)
    assert err.seq is None
    assert "malformed database file" in str(err)


def test_corrupt_store_can_still_be_closed_and_reopened_after_repair(tmp_path: Path) -> None:
    populate(tmp_path, 10)
    with raw_db(tmp_path) as db:
        (original,) = db.execute("SELECT command FROM journal WHERE seq = 4").fetchone()
        db.execute("UPDATE journal SET command = ? WHERE seq = 4", (b"x",))
    expect_corrupt(tmp_path)
    with raw_db(tmp_path) as db:
        db.execute("UPDATE journal SET command = ? WHERE seq = 4", (original,))
    store, records, _ = recover_fresh(tmp_path)
    try:
        assert [r.seq for r in records] == list(range(1, 11))
    finally:
        close(store)


@settings(max_examples=30, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=25),
    data=st.data(),
)
def test_any_single_field_edit_is_detected_at_its_seq(count: int, data: st.DataObject) -> None:
    seq = data.draw(st.integers(min_value=1, max_value=count), label="seq")
    column = data.draw(
        st.sampled_from(
            ["ts_ns", "kind", "account_id", "request_hash", "command", "response", "state_hash"]
        ),
        label="column",
    )
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        populate(data_dir, count)
        with raw_db(data_dir) as db:
            (current,) = db.execute(
                f"SELECT {column} FROM journal WHERE seq = ?", (seq,)
            ).fetchone()
            if isinstance(current, int):
                new: object = current + data.draw(st.integers(1, 2**32), label="delta")
            elif isinstance(current, str) or current is None:
                new = data.draw(st.text(min_size=1, max_size=8).filter(lambda t: t != current))
            else:
                new = data.draw(st.binary(max_size=40).filter(lambda b: b != current))
            db.execute(f"UPDATE journal SET {column} = ? WHERE seq = ?", (new, seq))
        assert expect_corrupt(data_dir).seq == seq


def test_store_errors_share_one_root() -> None:
    for error in (CorruptJournalError, DurabilityError, StoreVersionError, StoreLockedError):
        assert issubclass(error, StoreError)
    err = pickle.loads(pickle.dumps(CorruptJournalError("gap in seq", seq=7)))
    assert (str(err), err.seq) == ("gap in seq", 7)


def test_damage_after_open_is_reported_by_recover_not_by_submit(tmp_path: Path) -> None:
    # A store that recovered cleanly keeps working from its in-memory chain
    # head; a later reopen (the next restart) is where damage is reported.
    populate(tmp_path, 5)

    async def run() -> None:
        store = Store.open(tmp_path)
        store.recover()
        conn = sqlite3.connect(tmp_path / "multimargin.db", isolation_level=None)
        conn.execute("UPDATE journal SET response = x'00' WHERE seq = 2")
        conn.close()
        await store.submit(make_record(6))
        await store.submit_snapshot(make_snapshot(6))
        await store.close()

    asyncio.run(run())
    assert expect_corrupt(tmp_path).seq == 2


def test_lookup_refuses_to_serve_a_response_damaged_after_recovery(tmp_path: Path) -> None:
    populate(tmp_path, 10)
    store, _, _ = recover_fresh(tmp_path)
    try:
        with raw_db(tmp_path) as db:
            db.execute("UPDATE journal SET response = ? WHERE request_id = 'req-6'", (b"forged",))
        assert store.lookup("req-5") == make_record(5)
        with pytest.raises(CorruptJournalError) as info:
            store.lookup("req-6")
        assert info.value.seq == 6
    finally:
        close(store)


@pytest.mark.parametrize("column", ["kind", "account_id", "request_id"])
def test_invalid_utf8_in_a_text_column_names_the_seq(tmp_path: Path, column: str) -> None:
    # SQLite stores whatever bytes it is given in a TEXT column; Python's sqlite3 then
    # fails to decode them. That must be corruption at the row's seq, like any other.
    populate(tmp_path, 30)
    with raw_db(tmp_path) as db:
        db.execute(f"UPDATE journal SET {column} = CAST(x'7265712dfffe' AS TEXT) WHERE seq = 13")
    err = expect_corrupt(tmp_path)
    assert err.seq == 13
    assert "seq 13" in str(err) and column in str(err)


def test_a_bounded_recovery_leaves_the_prefix_to_verify_prefix(tmp_path: Path) -> None:
    # Recovery from a snapshot verifies only the tail (restart time must not grow with the
    # journal, issue 8 defect 5); damage before the snapshot is found by verify_prefix,
    # which the engine runs in the background once serving.
    populate(tmp_path, 30, snapshot_at=25)
    with raw_db(tmp_path) as db:
        db.execute("UPDATE journal SET response = ? WHERE seq = 10", (b"altered",))
    store = Store.open(tmp_path)
    try:
        recovery = store.recover(full=False)
        assert recovery.snapshot is not None and [r.seq for r in recovery.records] == list(range(26, 31))
        with pytest.raises(CorruptJournalError) as err:
            store.verify_prefix(25)
        assert err.value.seq is not None and err.value.seq <= 25
    finally:
        close(store)
    with pytest.raises(CorruptJournalError):  # the full check still finds it at open
        recover_fresh(tmp_path)


def test_verify_prefix_passes_on_an_intact_journal(tmp_path: Path) -> None:
    populate(tmp_path, 30, snapshot_at=25)
    store = Store.open(tmp_path)
    try:
        store.recover(full=False)
        store.verify_prefix(25)
    finally:
        close(store)

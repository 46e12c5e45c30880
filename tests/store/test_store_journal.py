"""The store's contract on a healthy disk: round trips, snapshots, group commit, lookups."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multimargin.store import (
    SCHEMA_VERSION,
    JournalRecord,
    Snapshot,
    Store,
    StoreError,
    StoreLockedError,
    StoreVersionError,
)
from storekit import (
    close,
    make_record,
    make_snapshot,
    populate,
    recover_fresh,
    submit_all,
)


def test_round_trip_returns_every_record_identically(tmp_path: Path) -> None:
    written = populate(tmp_path, 500)

    store, records, snapshot = recover_fresh(tmp_path)
    try:
        assert snapshot is None
        assert records == written
        assert store.next_seq == 501
    finally:
        close(store)


def test_new_store_creates_missing_data_dir_and_is_empty(tmp_path: Path) -> None:
    data_dir = tmp_path / "a" / "b" / "data"
    store = Store.open(data_dir)
    try:
        recovery = store.recover()
        assert recovery.snapshot is None
        assert recovery.records == []
        assert store.next_seq == 1
        assert (data_dir / "multimargin.db").is_file()
    finally:
        close(store)


def test_file_settings_wal_full_and_schema_version(tmp_path: Path) -> None:
    populate(tmp_path, 3)
    conn = sqlite3.connect(tmp_path / "multimargin.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("SELECT value FROM meta WHERE key = 'store.last_seq'").fetchone() == (b"3",)
    finally:
        conn.close()
    # close() checkpointed with TRUNCATE: the WAL holds nothing at rest.
    wal = tmp_path / "multimargin.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


def test_snapshot_then_records_after_it(tmp_path: Path) -> None:
    async def run() -> list[JournalRecord]:
        store = Store.open(tmp_path)
        store.recover()
        first = await submit_all(store, 40)
        await store.submit_snapshot(make_snapshot(40))
        later = await submit_all(store, 25)
        await store.close()
        return first + later

    written = asyncio.run(run())

    store, records, snapshot = recover_fresh(tmp_path)
    try:
        assert snapshot == make_snapshot(40)
        assert records == written[40:]
        assert [r.seq for r in records] == list(range(41, 66))
        assert store.next_seq == 66
    finally:
        close(store)


def test_snapshot_at_journal_end_leaves_nothing_to_replay(tmp_path: Path) -> None:
    populate(tmp_path, 10, snapshot_at=10)
    store, records, snapshot = recover_fresh(tmp_path)
    try:
        assert snapshot == make_snapshot(10)
        assert records == []
    finally:
        close(store)


def test_snapshot_submitted_behind_later_records_is_ordered_after_its_seq(
    tmp_path: Path,
) -> None:
    # The state machine may serialize a snapshot of seq 20 while records 21..
    # are already in flight; the snapshot is still only durable after 1..20.
    async def run() -> None:
        store = Store.open(tmp_path)
        store.recover()
        futures = [store.submit(make_record(store.next_seq)) for _ in range(20)]
        futures.append(store.submit_snapshot(make_snapshot(20)))
        futures += [store.submit(make_record(store.next_seq)) for _ in range(10)]
        await asyncio.gather(*futures)
        await store.close()

    asyncio.run(run())
    store, records, snapshot = recover_fresh(tmp_path)
    try:
        assert snapshot == make_snapshot(20)
        assert [r.seq for r in records] == list(range(21, 31))
    finally:
        close(store)


def test_only_the_latest_snapshots_are_retained(tmp_path: Path) -> None:
    async def run() -> None:
        store = Store.open(tmp_path, snapshots_retained=2)
        store.recover()
        for _ in range(4):
            await submit_all(store, 5)
            await store.submit_snapshot(make_snapshot(store.next_seq - 1))
        assert store.stats.snapshots_committed == 4
        await store.close()

    asyncio.run(run())
    conn = sqlite3.connect(tmp_path / "multimargin.db")
    try:
        assert conn.execute("SELECT seq FROM snapshots ORDER BY seq").fetchall() == [(15,), (20,)]
    finally:
        conn.close()


def test_snapshot_of_unsubmitted_seq_is_refused(tmp_path: Path) -> None:
    async def run() -> None:
        store = Store.open(tmp_path)
        store.recover()
        await submit_all(store, 3)
        with pytest.raises(ValueError, match="beyond the last submitted record"):
            store.submit_snapshot(make_snapshot(4))
        await store.submit_snapshot(Snapshot(seq=0, state=b"genesis", state_hash=b"g"))
        await store.close()

    asyncio.run(run())


def test_concurrent_submitters_share_fsyncs(tmp_path: Path) -> None:
    tasks, per_task = 200, 10
    acknowledged: list[int] = []

    async def submitter(store: Store) -> None:
        for _ in range(per_task):
            seq = store.next_seq
            await store.submit(make_record(seq))
            acknowledged.append(seq)

    async def run() -> None:
        store = Store.open(tmp_path)
        store.recover()
        await asyncio.gather(*(submitter(store) for _ in range(tasks)))
        stats = store.stats
        await store.close()
        assert stats.records_committed == tasks * per_task
        # Group commit: many records per transaction (no timing assertions).
        assert stats.batches_committed < stats.records_committed
        assert stats.largest_batch > 1

    asyncio.run(run())
    assert sorted(acknowledged) == list(range(1, tasks * per_task + 1))
    store, records, _ = recover_fresh(tmp_path)
    try:
        assert [r.seq for r in records] == list(range(1, tasks * per_task + 1))
    finally:
        close(store)


def test_futures_resolve_in_seq_order(tmp_path: Path) -> None:
    order: list[int] = []

    def settled(seq: int, _future: asyncio.Future[None]) -> None:
        order.append(seq)

    async def run() -> None:
        store = Store.open(tmp_path)
        store.recover()
        futures = []
        for _ in range(300):
            seq = store.next_seq
            future = store.submit(make_record(seq))
            future.add_done_callback(functools.partial(settled, seq))
            futures.append(future)
        await asyncio.gather(*futures)
        await store.close()

    asyncio.run(run())
    assert order == list(range(1, 301))


def test_lookup_by_request_id_after_reopen(tmp_path: Path) -> None:
    written = populate(tmp_path, 50)
    store, _, _ = recover_fresh(tmp_path)
    try:
        for record in written:
            if record.request_id is not None:
                assert store.lookup(record.request_id) == record
        assert store.lookup("never-seen") is None
    finally:
        close(store)


def test_lookup_uses_the_request_id_index(tmp_path: Path) -> None:
    populate(tmp_path, 5)
    conn = sqlite3.connect(tmp_path / "multimargin.db")
    try:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM journal WHERE request_id = ?", ("req-1",)
        ).fetchall()
    finally:
        conn.close()
    assert "journal_request_id" in " ".join(str(row) for row in plan)


def test_lookup_finds_a_record_once_it_is_durable(tmp_path: Path) -> None:
    async def run() -> None:
        store = Store.open(tmp_path)
        store.recover()
        record = make_record(1)
        assert record.request_id is not None
        await store.submit(record)
        assert store.lookup(record.request_id) == record
        await store.close()

    asyncio.run(run())


def test_duplicate_request_id_is_refused_before_it_takes_a_seq(tmp_path: Path) -> None:
    async def run() -> None:
        store = Store.open(tmp_path)
        store.recover()
        first = JournalRecord(1, 0, "Deposit", "a", "dup", b"h", b"c", b"r", b"s")
        in_flight = store.submit(first)
        second = JournalRecord(2, 0, "Deposit", "a", "dup", b"h", b"c", b"r", b"s")
        with pytest.raises(ValueError, match="in flight"):
            store.submit(second)
        await in_flight
        with pytest.raises(ValueError, match="already in the journal"):
            store.submit(second)
        assert store.next_seq == 2
        await store.close()

    asyncio.run(run())


def test_flush_waits_for_everything_submitted(tmp_path: Path) -> None:
    async def run() -> None:
        store = Store.open(tmp_path)
        store.recover()
        await store.flush()  # nothing submitted: returns at once
        futures = [store.submit(make_record(store.next_seq)) for _ in range(100)]
        await store.flush()
        assert all(f.done() and f.exception() is None for f in futures)
        assert store.stats.records_committed == 100
        await store.close()

    asyncio.run(run())


def test_cancelled_wait_does_not_cancel_durability(tmp_path: Path) -> None:
    async def run() -> None:
        store = Store.open(tmp_path)
        store.recover()
        future = store.submit(make_record(1))
        future.cancel()
        await store.flush()
        await store.close()

    asyncio.run(run())
    store, records, _ = recover_fresh(tmp_path)
    try:
        assert records == [make_record(1)]
    finally:
        close(store)


def test_misuse_is_refused(tmp_path: Path) -> None:
    async def run() -> None:
        store = Store.open(tmp_path)
        with pytest.raises(StoreError, match="recover"):
            store.submit(make_record(1))
        store.recover()
        with pytest.raises(ValueError, match="next_seq"):
            store.submit(make_record(2))
        bad = JournalRecord(1, 0, "Deposit", None, None, b"h", "not bytes", b"r", b"s")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="command"):
            store.submit(bad)
        with pytest.raises(ValueError, match="kind"):
            store.submit(JournalRecord(1, 0, "", None, None, b"", b"", b"", b""))
        with pytest.raises(ValueError, match="64-bit"):
            store.submit(JournalRecord(1, 2**63, "k", None, None, b"", b"", b"", b""))
        assert store.next_seq == 1
        await store.submit(make_record(1))
        with pytest.raises(StoreError, match="before the first submit"):
            store.recover()
        await store.close()
        await store.close()  # idempotent
        with pytest.raises(StoreError, match="closed"):
            store.submit(make_record(2))
        with pytest.raises(StoreError, match="closed"):
            store.lookup("req-1")

    asyncio.run(run())


def test_second_open_of_the_same_directory_is_refused(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        with pytest.raises(StoreLockedError):
            Store.open(tmp_path)
    finally:
        close(store)
    close(Store.open(tmp_path))  # released on close


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    populate(tmp_path, 2)
    conn = sqlite3.connect(tmp_path / "multimargin.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreVersionError, match="supports up to") as info:
        Store.open(tmp_path)
    assert info.value.found == SCHEMA_VERSION + 1
    assert info.value.supported == SCHEMA_VERSION


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "multimargin.db")
    conn.execute("CREATE TABLE other (x)")
    conn.close()
    with pytest.raises(StoreVersionError, match="without a multimargin schema"):
        Store.open(tmp_path)


# Text that SQLite and UTF-8 can hold (no lone surrogates), including NUL.
_text = st.text(st.characters(codec="utf-8"), max_size=20)
_blob = st.binary(max_size=300)
_int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_fields = st.tuples(
    _int64,
    _text.filter(bool),
    st.none() | _text,
    st.none() | _text,
    _blob,
    _blob,
    _blob,
    _blob,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_fields, min_size=1, max_size=30), st.integers(min_value=0, max_value=30))
def test_arbitrary_records_round_trip_byte_exactly(
    rows: list[tuple[int, str, str | None, str | None, bytes, bytes, bytes, bytes]],
    snapshot_at: int,
) -> None:
    seen: set[str] = set()
    written: list[JournalRecord] = []
    for seq, (ts_ns, kind, account_id, request_id, rhash, command, response, shash) in enumerate(
        rows, start=1
    ):
        if request_id in seen:
            request_id = None  # keys are unique across the journal
        if request_id is not None:
            seen.add(request_id)
        written.append(
            JournalRecord(seq, ts_ns, kind, account_id, request_id, rhash, command, response, shash)
        )
    snapshot_at = min(snapshot_at, len(written))

    async def write(data_dir: Path) -> None:
        store = Store.open(data_dir)
        store.recover()
        futures = [store.submit(record) for record in written]
        futures.append(store.submit_snapshot(Snapshot(snapshot_at, b"\x00state", b"")))
        await asyncio.gather(*futures)
        await store.close()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        asyncio.run(write(data_dir))
        store, records, snapshot = recover_fresh(data_dir)
        try:
            assert snapshot == Snapshot(snapshot_at, b"\x00state", b"")
            assert records == written[snapshot_at:]
            for record in written:
                if record.request_id is not None:
                    assert store.lookup(record.request_id) == record
        finally:
            close(store)

"""One behavioural contract, two backends: every test here runs on the embedded SQLite
store and on a PostgreSQL shard (a real server, tests/pgcluster.py).

Submit / recover / replay order, the idempotency index, events and history, snapshots
and their retention, meta, group commit counts, and the failed store."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multimargin.store import DurabilityError, JournalRecord, StoreError
from multimargin.store.interface import JournalStore
from store_backends import Backend, pg_backend, sqlite_backend
from storekit import make_record, make_snapshot


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return sqlite_backend(tmp_path)
    return pg_backend(request.getfixturevalue("pg_dsn"))


async def _opened(backend: Backend, **kwargs: object) -> JournalStore:
    store = backend.open(**kwargs)
    store.recover()
    return store


async def _write(backend: Backend, count: int, *, snapshot_at: int | None = None) -> list[JournalRecord]:
    store = await _opened(backend)
    try:
        records = [make_record(store.next_seq + i) for i in range(count)]
        await asyncio.gather(*(store.submit(r) for r in records))
        if snapshot_at is not None:
            await store.submit_snapshot(make_snapshot(snapshot_at))
        return records
    finally:
        await store.close()


def _recover(backend: Backend, *, full: bool = True) -> tuple[JournalStore, list[JournalRecord], int | None]:
    store = backend.open()
    recovery = store.recover(full=full)
    snap = recovery.snapshot.seq if recovery.snapshot is not None else None
    return store, recovery.records, snap


def test_round_trip_and_replay_order(backend: Backend) -> None:
    written = asyncio.run(_write(backend, 120))
    store, records, snap = _recover(backend)
    try:
        assert records == written
        assert snap is None
        assert store.next_seq == 121
    finally:
        asyncio.run(store.close())
    more = asyncio.run(_write(backend, 5))
    assert [r.seq for r in more] == [121, 122, 123, 124, 125]
    store, records, _ = _recover(backend)
    asyncio.run(store.close())
    assert records == written + more


def test_snapshot_then_records_after_it_and_retention(backend: Backend) -> None:
    async def run() -> None:
        store = await _opened(backend, snapshots_retained=2)
        for i in range(1, 31):
            await store.submit(make_record(i))
            if i % 10 == 0:
                await store.submit_snapshot(make_snapshot(i))
        with pytest.raises(ValueError, match="beyond the last submitted"):
            store.submit_snapshot(make_snapshot(31))
        await store.close()

    asyncio.run(run())
    store, records, snap = _recover(backend)
    try:
        assert snap == 30 and records == []
    finally:
        asyncio.run(store.close())
    table = "snapshots" if backend.name == "sqlite" else "mm_snapshots"
    assert [r[0] for r in backend.sql(f"SELECT seq FROM {table} ORDER BY seq")] == [20, 30]
    asyncio.run(_write(backend, 4))
    store, records, snap = _recover(backend, full=False)
    try:
        assert snap == 30 and [r.seq for r in records] == [31, 32, 33, 34]
        store.verify_prefix(30)
    finally:
        asyncio.run(store.close())


def test_group_commit_and_futures_in_seq_order(backend: Backend) -> None:
    tasks, per_task = 100, 5
    order: list[int] = []

    async def submitter(store: JournalStore) -> None:
        for _ in range(per_task):
            seq = store.next_seq
            future = store.submit(make_record(seq))
            future.add_done_callback(functools.partial(lambda s, _f: order.append(s), seq))
            await future

    async def run() -> None:
        store = await _opened(backend)
        await asyncio.gather(*(submitter(store) for _ in range(tasks)))
        stats = store.stats
        await store.close()
        assert stats.records_committed == tasks * per_task
        assert stats.batches_committed < stats.records_committed
        assert stats.largest_batch > 1

    asyncio.run(run())
    assert order == list(range(1, tasks * per_task + 1))


def test_idempotency_index(backend: Backend) -> None:
    written = asyncio.run(_write(backend, 40))

    async def run() -> None:
        store = await _opened(backend)
        for record in written:
            if record.request_id is not None:
                assert store.lookup(record.request_id) == record
        assert store.lookup("never-seen") is None
        dup = JournalRecord(41, 0, "Deposit", "a", "req-1", b"h", b"c", b"r", b"s")
        with pytest.raises(ValueError, match="already in the journal"):
            store.submit(dup)
        fresh = JournalRecord(41, 0, "Deposit", "a", "fresh", b"h", b"c", b"r", b"s")
        in_flight = store.submit(fresh)
        with pytest.raises(ValueError, match="in flight"):
            store.submit(JournalRecord(42, 0, "Deposit", "a", "fresh", b"h", b"c", b"r", b"s"))
        await in_flight
        assert store.lookup("fresh") == fresh
        assert store.next_seq == 42
        await store.close()

    asyncio.run(run())


def test_events_and_history(backend: Backend) -> None:
    async def run() -> None:
        store = await _opened(backend)
        assert store.last_event_seq() == 0
        for seq in range(1, 11):
            account = f"acct-{seq % 3}"
            events = (
                (2 * seq - 1, seq, account, seq % 2, b"E%d" % (2 * seq - 1)),
                (2 * seq, seq, "x", 0, b"E%d" % (2 * seq)),
            )
            await store.submit(make_record(seq), events=events)
        assert store.last_event_seq() == 20
        everything = store.events_after(0, (), 100)
        assert [seq for seq, _ in everything] == list(range(1, 21))
        assert everything[4] == (5, b"E5")
        assert [s for s, _ in store.events_after(10, (), 3)] == [11, 12, 13]
        picked = store.events_after(0, ("acct-1", "x"), 100)
        assert [s for s, _ in picked] == [1, 2, 4, 6, 7, 8, 10, 12, 13, 14, 16, 18, 19, 20]
        # History: acct-1's events (journal seqs 1, 4, 7, 10) flagged as history (odd
        # journal seqs), newest first.
        assert store.history("acct-1", 2**62, 10) == [(13, b"E13"), (1, b"E1")]
        assert store.history("acct-1", 13, 1) == [(1, b"E1")]
        assert store.history("nobody", 2**62, 10) == []
        await store.close()

    asyncio.run(run())
    store, _, _ = _recover(backend)
    try:
        assert store.last_event_seq() == 20
    finally:
        asyncio.run(store.close())


def test_meta_through_the_ordered_pipeline(backend: Backend) -> None:
    async def run() -> None:
        store = await _opened(backend)
        assert store.get_meta("rulebook") is None
        await store.put_meta("rulebook", b"v1")
        store.put_meta("rulebook", b"v2")
        await store.flush()
        assert store.get_meta("rulebook") == b"v2"
        with pytest.raises(ValueError, match="reserved"):
            store.put_meta("store.last_seq", b"0")
        await store.close()

    asyncio.run(run())
    store, _, _ = _recover(backend)
    try:
        assert store.get_meta("rulebook") == b"v2"
    finally:
        asyncio.run(store.close())


def test_misuse_is_refused(backend: Backend) -> None:
    async def run() -> None:
        store = backend.open()
        with pytest.raises(StoreError, match="recover"):
            store.submit(make_record(1))
        store.recover()
        with pytest.raises(ValueError, match="next_seq"):
            store.submit(make_record(2))
        with pytest.raises(ValueError, match="kind"):
            store.submit(JournalRecord(1, 0, "", None, None, b"", b"", b"", b""))
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


def test_failed_store_acknowledges_nothing_more(backend: Backend) -> None:
    """A commit that fails (here: the writer's connection is gone) fails the store for
    good: that batch and every later submission carry a DurabilityError, flush raises,
    close does not; every record acknowledged before is recovered."""

    async def run() -> None:
        store = await _opened(backend)
        acked = [make_record(i) for i in (1, 2, 3)]
        await asyncio.gather(*(store.submit(r) for r in acked))
        store._writer.close()  # type: ignore[attr-defined]
        doomed = store.submit(make_record(4))
        with pytest.raises(DurabilityError):
            await doomed
        assert store.failed and isinstance(store.failure, DurabilityError)
        with pytest.raises(DurabilityError):
            await store.submit(make_record(5))
        with pytest.raises(DurabilityError):
            await store.flush()
        await store.close()

    asyncio.run(run())
    store, records, _ = _recover(backend)
    try:
        assert [r.seq for r in records] == [1, 2, 3]
    finally:
        asyncio.run(store.close())


_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.integers(-(2**63), 2**63 - 1),
            _text.filter(bool),
            st.none() | _text,
            st.binary(max_size=64),
            st.binary(max_size=64),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_arbitrary_records_round_trip_byte_exactly(
    backend: Backend, fields: list[tuple[int, str, str | None, bytes, bytes]]
) -> None:
    async def run() -> list[JournalRecord]:
        store = await _opened(backend)
        start = store.next_seq
        records = [
            JournalRecord(start + i, ts, kind, acct, None, b"h", cmd, resp, b"s")
            for i, (ts, kind, acct, cmd, resp) in enumerate(fields)
        ]
        await asyncio.gather(*(store.submit(r) for r in records))
        await store.close()
        return records

    written = asyncio.run(run())
    store, records, _ = _recover(backend)
    try:
        assert records[-len(written) :] == written
    finally:
        asyncio.run(store.close())

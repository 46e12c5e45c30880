"""What only the PostgreSQL store has: fencing, leases, shards side by side, a lost
connection, damage made with SQL, connection strings that do not work.

Real PostgreSQL (the session's throw-away server, tests/pgcluster.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import psycopg
import pytest
from multimargin.store import (
    CorruptJournalError,
    DurabilityError,
    JournalRecord,
    LeaseLostError,
    StoreError,
    StoreVersionError,
    pg_leases,
)
from multimargin.store.pg_schema import PG_SCHEMA_VERSION, ShardCountError
from multimargin.store.postgres import PgStore, describe_dsn
from pgcluster import PgCluster, wait_ready
from store_backends import PG_SHARD, PG_SHARDS, pg_backend
from storekit import make_record, make_snapshot


def _sql(dsn: str, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []


async def _write(store: PgStore, count: int) -> list[JournalRecord]:
    records = [make_record(store.next_seq + i) for i in range(count)]
    await asyncio.gather(*(store.submit(r) for r in records))
    return records


def test_chain_corruption_is_detected_and_named(pg_dsn: str) -> None:
    backend = pg_backend(pg_dsn)

    async def run() -> None:
        store = backend.open()
        store.recover()
        await _write(store, 10)  # type: ignore[arg-type]
        await store.close()

    asyncio.run(run())
    _sql(
        pg_dsn,
        "UPDATE mm_journal SET response = 'tampered' WHERE shard = %s AND seq = 5",
        (PG_SHARD,),
    )
    store = backend.open()
    try:
        with pytest.raises(CorruptJournalError, match="chain mismatch at seq 5") as info:
            store.recover()
        assert info.value.seq == 5
        # An idempotent retry is never answered from the damaged row either
        # (make_record(5) has no request id; seq 6's row follows the damaged one
        # and still verifies, seq 5's own lookup is refused).
        _sql(pg_dsn, "UPDATE mm_journal SET request_id = 'r5' WHERE shard = %s AND seq = 5", (PG_SHARD,))
        with pytest.raises(CorruptJournalError, match="seq 5"):
            store.lookup("r5")
    finally:
        asyncio.run(store.close())


def test_truncated_tail_and_gap_are_detected(pg_dsn: str) -> None:
    backend = pg_backend(pg_dsn)

    async def run() -> None:
        store = backend.open()
        store.recover()
        await _write(store, 8)  # type: ignore[arg-type]
        await store.close()

    asyncio.run(run())
    _sql(pg_dsn, "DELETE FROM mm_journal WHERE shard = %s AND seq = 8", (PG_SHARD,))
    store = backend.open()
    try:
        with pytest.raises(CorruptJournalError, match=r"truncated tail.*records 8\.\.8") as info:
            store.recover()
        assert info.value.seq == 8
    finally:
        asyncio.run(store.close())
    _sql(pg_dsn, "DELETE FROM mm_journal WHERE shard = %s AND seq = 6", (PG_SHARD,))
    store = backend.open()
    try:
        with pytest.raises(CorruptJournalError, match="gap in seq: expected 6, found 7"):
            store.recover()
        with pytest.raises(CorruptJournalError, match="gap in seq: record 6 is missing"):
            store.lookup("req-7")
        assert store.lookup("req-5") == make_record(5)
    finally:
        asyncio.run(store.close())


def test_shards_are_separate_journals(pg_dsn: str) -> None:
    a, b = pg_backend(pg_dsn, shard=0), pg_backend(pg_dsn, shard=3)

    async def run() -> None:
        sa, sb = a.open(), b.open()
        sa.recover()
        sb.recover()
        same = JournalRecord(1, 0, "Deposit", "acct", "same-id", b"h", b"c", b"r", b"s")
        await asyncio.gather(sa.submit(same), sb.submit(same))  # request ids are unique per shard
        await _write(sa, 3)  # type: ignore[arg-type]
        await sb.submit(make_record(2), events=((1, 2, "acct", 1, b"B1"),))
        assert (sa.next_seq, sb.next_seq) == (5, 3)
        assert sa.events_after(0, (), 10) == [] and sb.events_after(0, (), 10) == [(1, b"B1")]
        await sa.close()
        await sb.close()

    asyncio.run(run())
    rows = _sql(pg_dsn, "SELECT shard, max(seq), count(*) FROM mm_journal GROUP BY shard ORDER BY shard")
    assert rows == [(0, 4, 4), (3, 2, 2)]


def test_a_store_whose_lease_was_taken_over_commits_nothing_more(pg_dsn: str) -> None:
    """Fencing: after a takeover (token bumped) the old owner's next batch is rolled back
    with LeaseLostError; the new owner recovers every acknowledged record and none of
    the refused batch."""
    old = pg_backend(pg_dsn)

    async def run() -> tuple[list[JournalRecord], int]:
        store = old.open()
        store.recover()
        acked = await _write(store, 20)  # type: ignore[arg-type]
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            fence = pg_leases.acquire(conn, PG_SHARD, "new-owner", "127.0.0.1:2", 60, force=True)
        assert fence is not None and fence.token == old.fence.token + 1  # type: ignore[union-attr]
        refused = [store.submit(make_record(store.next_seq)) for _ in range(5)]
        for future in refused:
            with pytest.raises(LeaseLostError, match=f"lease of shard {PG_SHARD} lost"):
                await future
        assert isinstance(store.failure, LeaseLostError) and isinstance(store.failure, DurabilityError)
        await store.close()
        new = PgStore.open(pg_dsn, fence)
        recovery = new.recover()
        assert recovery.records == acked
        assert new.next_seq == 21
        await _write(new, 2)
        await new.close()
        return acked, fence.token

    acked, token = asyncio.run(run())
    fences = _sql(pg_dsn, "SELECT seq, fence FROM mm_journal WHERE shard = %s ORDER BY seq", (PG_SHARD,))
    assert fences == [(r.seq, token - 1) for r in acked] + [(21, token), (22, token)]


def test_takeover_waits_for_an_in_flight_batch(pg_dsn: str) -> None:
    """A batch whose fencing check has passed holds the lease row: the takeover's UPDATE
    waits for it, so the new owner's recovery sees it."""
    backend = pg_backend(pg_dsn)
    with psycopg.connect(pg_dsn) as tx:  # a batch of the old owner, mid-transaction
        assert backend.fence is not None
        tx.execute(
            "SELECT 1 FROM mm_shard_leases WHERE shard = %s AND token = %s FOR SHARE",
            (PG_SHARD, backend.fence.token),
        )
        with psycopg.connect(pg_dsn, autocommit=True) as other:
            other.execute("SET lock_timeout = '300ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                pg_leases.acquire(other, PG_SHARD, "new-owner", "x", 60, force=True)
        tx.rollback()


def test_an_expired_lease_refuses_the_next_batch(pg_dsn: str) -> None:
    backend = pg_backend(pg_dsn, ttl_s=1.0)

    async def run() -> None:
        store = backend.open()
        store.recover()
        await _write(store, 2)  # type: ignore[arg-type]
        await asyncio.sleep(1.2)
        with pytest.raises(LeaseLostError):
            await store.submit(make_record(3))
        await store.close()

    asyncio.run(run())
    assert _sql(pg_dsn, "SELECT max(seq) FROM mm_journal WHERE shard = %s", (PG_SHARD,)) == [(2,)]


def test_lease_primitives(pg_dsn: str) -> None:
    pg_backend(pg_dsn)  # creates the schema
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        a = pg_leases.acquire(conn, 1, "a", "127.0.0.1:1", 60)
        assert a is not None and a.token == 1
        assert pg_leases.acquire(conn, 1, "b", "127.0.0.1:2", 60) is None  # live and a's
        assert pg_leases.renew(conn, a, 60)
        lease = pg_leases.leases(conn)[1]
        assert (lease.owner, lease.address, lease.token, lease.live) == ("a", "127.0.0.1:1", 1, True)
        assert pg_leases.release(conn, a)
        assert not pg_leases.renew(conn, a, 60)
        assert pg_leases.leases(conn)[1].live is False
        b = pg_leases.acquire(conn, 1, "b", "127.0.0.1:2", 0.2)
        assert b is not None and b.token == 2
        time.sleep(0.3)
        assert not pg_leases.renew(conn, b, 60)  # expired: renewing is too late
        c = pg_leases.acquire(conn, 1, "c", "127.0.0.1:3", 60)
        assert c is not None and c.token == 3
        assert not pg_leases.release(conn, b)
        assert len(pg_leases.leases(conn)) == PG_SHARDS
        with pytest.raises(ValueError, match="ttl"):
            pg_leases.acquire(conn, 1, "c", "x", 0)


def test_connection_loss_fails_the_store_and_loses_nothing_acknowledged(pg_dsn: str) -> None:
    backend = pg_backend(pg_dsn)

    async def run() -> list[JournalRecord]:
        store = backend.open()
        store.recover()
        acked = await _write(store, 10)  # type: ignore[arg-type]
        _sql(
            pg_dsn,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"multimargin-commit-{PG_SHARD}",),
        )
        with pytest.raises(DurabilityError, match="connection to PostgreSQL lost") as info:
            await store.submit(make_record(11))
        assert "nothing of it is acknowledged" in str(info.value)
        assert store.failed
        await store.close()
        return acked

    acked = asyncio.run(run())
    store = backend.open()
    try:
        assert store.recover().records == acked
    finally:
        asyncio.run(store.close())


def test_newer_schema_and_other_shard_count_are_refused_at_open(pg_dsn: str) -> None:
    backend = pg_backend(pg_dsn)
    assert backend.fence is not None
    with pytest.raises(ShardCountError, match=f"has {PG_SHARDS} shards .* configured with 16"):
        PgStore.open(pg_dsn, backend.fence, shards=16)
    with pytest.raises(StoreError, match=r"shard 9 is not in this cluster's 0\.\.3"):
        PgStore.open(pg_dsn, pg_leases.Fence(9, "x", 1))
    _sql(pg_dsn, "UPDATE mm_schema SET version = %s", (PG_SCHEMA_VERSION + 1,))
    with pytest.raises(StoreVersionError, match="refusing to use it"):
        PgStore.open(pg_dsn, backend.fence, shards=PG_SHARDS)


def test_a_database_without_the_schema_is_refused_unless_asked_to_create_it(pg_dsn: str) -> None:
    fence = pg_leases.Fence(0, "x", 1)
    with pytest.raises(StoreError, match="has no multimargin schema"):
        PgStore.open(pg_dsn, fence)
    asyncio.run(PgStore.open(pg_dsn, fence, shards=2).close())
    assert _sql(pg_dsn, "SELECT shards FROM mm_cluster") == [(2,)]


def test_bad_connection_strings_give_a_clear_message_without_the_password() -> None:
    fence = pg_leases.Fence(0, "x", 1)
    with socket_closed_port() as port:
        dsn = f"postgresql://mm:s3cret-pw@127.0.0.1:{port}/clusterdb"
        with pytest.raises(
            StoreError, match=f"cannot connect to PostgreSQL at 127.0.0.1:{port}/clusterdb"
        ) as info:
            PgStore.open(dsn, fence, connect_timeout=2)
    assert "s3cret-pw" not in str(info.value)
    with pytest.raises(StoreError, match="invalid PostgreSQL connection string") as info:
        PgStore.open("host=127.0.0.1 password=s3cret-pw port", fence)
    assert "s3cret-pw" not in str(info.value)
    assert describe_dsn("postgresql://u:pw@db.example:6543/mm") == "db.example:6543/mm (user u)"


def socket_closed_port() -> _ClosedPort:
    return _ClosedPort()


class _ClosedPort:
    """A loopback port nothing listens on (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        return None


def test_postgresql_restarted_under_load_loses_nothing_acknowledged(pg_cluster: PgCluster) -> None:
    """Submitters keep writing while the server restarts: the store fails with a clear
    DurabilityError (nothing after the failure is acknowledged), and every acknowledged
    record is in the journal afterwards."""
    backend = pg_backend(pg_cluster.create_database())
    acknowledged: list[int] = []

    async def submitter(store: PgStore) -> None:
        while not store.failed:
            seq = store.next_seq
            try:
                # No request id: the submission then reads nothing, only commits fail.
                await store.submit(dataclasses.replace(make_record(seq), request_id=None))
            except DurabilityError:
                return
            acknowledged.append(seq)

    async def run() -> DurabilityError | None:
        store = backend.open()
        store.recover()
        workers = [asyncio.create_task(submitter(store)) for _ in range(16)]  # type: ignore[arg-type]
        while len(acknowledged) < 200:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(pg_cluster.restart)
        await asyncio.wait_for(asyncio.gather(*workers), timeout=60)
        failure = store.failure
        await store.close()
        return failure

    failure = asyncio.run(run())
    assert isinstance(failure, DurabilityError)
    assert "PostgreSQL" in str(failure) and "nothing of it is acknowledged" in str(failure)
    wait_ready(backend.dsn or "")
    store = backend.open()
    try:
        recovered = [r.seq for r in store.recover().records]
    finally:
        asyncio.run(store.close())
    assert recovered == list(range(1, len(recovered) + 1))
    assert set(acknowledged) <= set(recovered)
    assert len(acknowledged) >= 200


def test_reads_reconnect_after_postgresql_restarts(pg_cluster: PgCluster) -> None:
    backend = pg_backend(pg_cluster.create_database())

    async def write() -> None:
        store = backend.open()
        store.recover()
        await _write(store, 4)  # type: ignore[arg-type]
        await store.close()

    asyncio.run(write())
    store = backend.open()
    try:
        store.recover()
        pg_cluster.restart()
        wait_ready(backend.dsn or "")
        with pytest.raises(StoreError, match=r"a read of shard \d on 127\.0\.0\.1:\d+/"):
            store.lookup("req-1")
        assert store.lookup("req-1") == make_record(1)  # the next read has a new connection
    finally:
        asyncio.run(store.close())


def test_damage_before_the_snapshot_is_found_by_verify_prefix(pg_dsn: str) -> None:
    """recover(full=False) takes the records up to the snapshot on trust (recovery time
    does not grow with the journal); verify_prefix, which the engine runs in the
    background, finds damage there."""
    backend = pg_backend(pg_dsn)

    async def write() -> None:
        store = backend.open()
        store.recover()
        await _write(store, 12)  # type: ignore[arg-type]
        await store.submit_snapshot(make_snapshot(10))
        await store.close()

    asyncio.run(write())
    _sql(pg_dsn, "UPDATE mm_journal SET command = 'x' WHERE shard = %s AND seq = 4", (PG_SHARD,))
    store = backend.open()
    try:
        recovery = store.recover(full=False)
        assert recovery.snapshot is not None and [r.seq for r in recovery.records] == [11, 12]
        with pytest.raises(CorruptJournalError, match="chain mismatch at seq 4") as info:
            store.verify_prefix(10)
        assert info.value.seq == 4
    finally:
        asyncio.run(store.close())

"""The PostgreSQL schema: creation, idempotent re-open, newer version and shard count refused.

Real PostgreSQL (the session's throw-away server, tests/pgcluster.py)."""

from __future__ import annotations

import threading

import psycopg
import pytest
from multimargin.store import StoreVersionError
from multimargin.store.pg_schema import (
    PG_SCHEMA_VERSION,
    ShardCountError,
    cluster_shards,
    ensure_schema,
)
from multimargin.store.records import GENESIS_CHAIN


def _connect(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(dsn, autocommit=True)


def test_creates_every_table_and_one_row_per_shard(pg_dsn: str) -> None:
    with _connect(pg_dsn) as conn:
        assert cluster_shards(conn) is None
        assert ensure_schema(conn, 4) == 4
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'mm\\_%'").fetchall()
        }
        assert tables == {
            "mm_schema",
            "mm_cluster",
            "mm_journal",
            "mm_snapshots",
            "mm_events",
            "mm_meta",
            "mm_shard_leases",
            "mm_instances",
            "mm_market",
            "mm_rulebook",
        }
        assert conn.execute("SELECT version FROM mm_schema").fetchall() == [(PG_SCHEMA_VERSION,)]
        assert cluster_shards(conn) == 4
        leases = conn.execute("SELECT shard, owner, token FROM mm_shard_leases ORDER BY shard").fetchall()
        assert leases == [(0, None, 0), (1, None, 0), (2, None, 0), (3, None, 0)]
        heads = conn.execute(
            "SELECT shard, value FROM mm_meta WHERE key = 'store.chain_head' ORDER BY shard"
        ).fetchall()
        assert heads == [(s, GENESIS_CHAIN) for s in range(4)]


def test_reopen_is_idempotent(pg_dsn: str) -> None:
    with _connect(pg_dsn) as conn:
        ensure_schema(conn, 3)
        conn.execute("INSERT INTO mm_meta (shard, key, value) VALUES (-1, 'x', 'y')")
        assert ensure_schema(conn, 3) == 3
        assert conn.execute("SELECT count(*) FROM mm_meta WHERE shard = -1").fetchone() == (1,)


def test_concurrent_first_opens_create_the_schema_once(pg_dsn: str) -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            with _connect(pg_dsn) as conn:
                ensure_schema(conn, 8)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with _connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM mm_shard_leases").fetchone() == (8,)


def test_other_shard_count_refused_naming_both(pg_dsn: str) -> None:
    with _connect(pg_dsn) as conn:
        ensure_schema(conn, 16)
        with pytest.raises(ShardCountError, match=r"has 16 shards .* configured with 8") as info:
            ensure_schema(conn, 8)
        assert (info.value.found, info.value.configured) == (16, 8)


def test_newer_schema_refused(pg_dsn: str) -> None:
    with _connect(pg_dsn) as conn:
        ensure_schema(conn, 2)
        conn.execute("UPDATE mm_schema SET version = %s", (PG_SCHEMA_VERSION + 1,))
        with pytest.raises(StoreVersionError, match=r"version 2, but this build supports up to 1") as info:
            ensure_schema(conn, 2)
        assert (info.value.found, info.value.supported) == (PG_SCHEMA_VERSION + 1, PG_SCHEMA_VERSION)


def test_tables_without_a_version_row_refused(pg_dsn: str) -> None:
    with _connect(pg_dsn) as conn:
        conn.execute("CREATE TABLE mm_journal (x integer)")
        with pytest.raises(StoreVersionError, match=r"mm_journal.*no mm_schema version row"):
            ensure_schema(conn, 2)


@pytest.mark.parametrize("shards", [0, -1])
def test_nonpositive_shard_count_is_a_value_error(pg_dsn: str, shards: int) -> None:
    with _connect(pg_dsn) as conn, pytest.raises(ValueError, match="positive"):
        ensure_schema(conn, shards)

"""The two store backends behind one small test-side handle, for the conformance suite.

``Backend.open()`` opens a new store object on the same durable location (the SQLite
data directory, or one shard of a PostgreSQL database under one lease), so a test can
write, close, reopen and recover exactly as the engine does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from multimargin.store import Store, pg_leases
from multimargin.store.interface import JournalStore
from multimargin.store.pg_leases import Fence
from multimargin.store.pg_schema import ensure_schema
from multimargin.store.postgres import PgStore

PG_SHARDS = 4
PG_SHARD = 2  # not 0: a query that forgets the shard would read the wrong rows


@dataclass
class Backend:
    name: str
    data_dir: Path | None = None
    dsn: str | None = None
    fence: Fence | None = None

    def open(self, **kwargs: Any) -> JournalStore:
        if self.name == "sqlite":
            assert self.data_dir is not None
            return Store.open(self.data_dir, **kwargs)
        assert self.dsn is not None and self.fence is not None
        return PgStore.open(self.dsn, self.fence, **kwargs)

    def sql(self, statement: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on the backing database (bypassing the store)."""
        if self.name == "sqlite":
            import sqlite3

            assert self.data_dir is not None
            conn = sqlite3.connect(self.data_dir / "multimargin.db", isolation_level=None)
            try:
                return conn.execute(statement, params).fetchall()
            finally:
                conn.close()
        assert self.dsn is not None
        with psycopg.connect(self.dsn, autocommit=True) as pg:
            cur = pg.execute(statement, params)
            return cur.fetchall() if cur.description else []


def sqlite_backend(tmp_path: Path) -> Backend:
    return Backend("sqlite", data_dir=tmp_path / "store")


def pg_backend(dsn: str, *, shard: int = PG_SHARD, ttl_s: float = 3600) -> Backend:
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_schema(conn, PG_SHARDS)
        fence = pg_leases.acquire(conn, shard, "test-owner", "127.0.0.1:1", ttl_s)
    assert fence is not None
    return Backend("postgresql", dsn=dsn, fence=fence)


def run(coro: Any) -> Any:
    return asyncio.run(coro)

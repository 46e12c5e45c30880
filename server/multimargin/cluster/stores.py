"""The stores of a cluster instance: the PostgreSQL schema, and each shard's store.

Each shard's engine runs over a :class:`~multimargin.store.postgres.PgStore` bound to the
shard and to the lease's fence (every batch checks the fencing token in its own
transaction). Where that store is not available in this build, the shard's journal is
an embedded SQLite store under ``data_dir/shard-NNN`` instead: usable for instances on
one machine sharing ``data_dir`` (development), but without fencing.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg

import multimargin
from multimargin.cluster.leases import Lease
from multimargin.state.engine import Engine
from multimargin.state.model import compact_json
from multimargin.store import StoreError

log = logging.getLogger("multimargin.cluster")

ShardOpener = Callable[[Lease, str | None], Awaitable[Engine]]


def _prepare_sync(url: str, shards: int) -> int:
    from multimargin.store.pg_schema import ensure_schema
    from multimargin.store.postgres import connect, describe_dsn

    with connect(
        url, connect_timeout=10, purpose="multimargin-schema"
    ) as conn:  # StoreError naming the server
        try:
            return ensure_schema(conn, shards)
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL at {describe_dsn(url)}: {exc}") from None


async def prepare(url: str, shards: int) -> int:
    """Create or check the cluster's schema; returns its shard count (a cluster made with
    another count is refused, naming both)."""
    return await asyncio.to_thread(_prepare_sync, url, shards)


def initial_rulebook(rulebook_json: str | None) -> str:
    """The rulebook of a new cluster: the configured one, else the shipped default."""
    return compact_json(rulebook_json if rulebook_json is not None else multimargin.default_rulebook_json())


def _pg_store_class() -> Any | None:
    try:
        module = importlib.import_module("multimargin.store.postgres")
    except ImportError:
        return None
    return getattr(module, "PgStore", None)


def opener(url: str, data_dir: Path, me: str) -> ShardOpener:
    """How this instance opens a shard's engine under a lease."""
    pg_store = _pg_store_class()
    if pg_store is not None:
        from multimargin.store.pg_leases import Fence

        async def open_pg(lease: Lease, rulebook: str | None) -> Engine:
            fence = Fence(lease.shard, lease.owner, lease.token)
            store = await asyncio.to_thread(pg_store.open, url, fence, connect_timeout=5.0)
            return await Engine.open(store, rulebook_json=rulebook)

        return open_pg
    log.warning("no PostgreSQL journal store in this build: shards journal to SQLite under %s", data_dir)

    async def open_sqlite(lease: Lease, rulebook: str | None) -> Engine:
        return await Engine.open(data_dir / f"shard-{lease.shard:03d}", rulebook_json=rulebook)

    return open_sqlite


__all__ = ["initial_rulebook", "opener", "prepare"]

"""Prices and the rulebook, cluster-wide (issue 10 design).

``UpdatePrices`` and ``ReloadRulebook`` change every shard. The instance that takes the
call applies it to one of its shards first (that shard's engine validates it: a refused
request changes nothing anywhere), then writes the result as a new version to PostgreSQL
(``mm_market``: the *whole* price set after the update, so that a shard that skipped
versions still ends with every price; ``mm_rulebook``: the rulebook text), then applies it
to its other shards. Every instance polls the versions and applies a newer one to each
of its shards; a shard taken over catches up as it opens (rulebook, then prices). The
per-shard journal command of a followed version carries the request id
``mm-market-<v>`` / ``mm-rulebook-<v>``: replaying a version a shard already has is an
idempotent no-op, and a shard never goes back to an older version.

The publication records the client's request id (``mm_meta`` of shard -1, key
``published/<request id>``) in the same transaction as the new version, so that a retry
of a call whose instance died after its first shard journaled it but before publishing
(the retry is then an idempotent replay on that shard) is published then, exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg

from multimargin.state.engine import Engine
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import operator_service_pb2 as op

log = logging.getLogger("multimargin.cluster")

#: Seconds between two looks at the cluster's versions.
POLL_SECONDS = 0.25

#: mm_meta's shard id for cluster-wide keys (store.pg_schema).
_CLUSTER_META = -1


def _published_key(request_id: str) -> str:
    return f"published/{request_id}"


class Globals:
    """The cluster's latest prices and rulebook, and which version each local shard has."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.market_version = 0
        self.market: mkt.UpdatePricesRequest | None = None
        self.rulebook_version = 0
        self.rulebook: str | None = None
        self.applied_market: dict[int, int] = {}
        self.applied_rulebook: dict[int, int] = {}
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=3)
        return self._conn

    async def refresh(self) -> None:
        """Read the latest versions from PostgreSQL."""
        conn = await self._connection()
        cur = await conn.execute("SELECT version, body FROM mm_market WHERE id = 1")
        row = await cur.fetchone()
        if row is not None and int(row[0]) > self.market_version:
            self.market_version, self.market = int(row[0]), mkt.UpdatePricesRequest.FromString(bytes(row[1]))
        cur = await conn.execute("SELECT version, body FROM mm_rulebook ORDER BY version DESC LIMIT 1")
        row = await cur.fetchone()
        if row is not None and int(row[0]) > self.rulebook_version:
            self.rulebook_version, self.rulebook = int(row[0]), bytes(row[1]).decode()

    async def published(self, request_id: str) -> bool:
        """Whether a global write with this request id has been published."""
        conn = await self._connection()
        cur = await conn.execute(
            "SELECT 1 FROM mm_meta WHERE shard = %s AND key = %s", (_CLUSTER_META, _published_key(request_id))
        )
        return await cur.fetchone() is not None

    async def _mark(self, conn: psycopg.AsyncConnection[Any], request_id: str) -> None:
        if request_id:
            await conn.execute(
                "INSERT INTO mm_meta (shard, key, value) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (_CLUSTER_META, _published_key(request_id), b""),
            )

    async def publish_prices(self, request: mkt.UpdatePricesRequest) -> int:
        """Merge ``request`` into the cluster's prices as a new version; returns it."""
        async with self._lock:
            conn = await self._connection()
            async with conn.transaction():
                await self._mark(conn, request.request_id)
                cur = await conn.execute("SELECT version, body FROM mm_market WHERE id = 1 FOR UPDATE")
                row = await cur.fetchone()
                merged = mkt.UpdatePricesRequest()
                version = 1
                if row is not None:
                    merged.ParseFromString(bytes(row[1]))
                    version = int(row[0]) + 1
                merged.index_prices.update(request.index_prices)
                merged.mark_prices.update(request.mark_prices)
                merged.request_id = ""
                body = merged.SerializeToString(deterministic=True)
                await conn.execute(
                    "INSERT INTO mm_market (id, version, body) VALUES (1, %s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, body = EXCLUDED.body",
                    (version, body),
                )
            if version > self.market_version:
                self.market_version, self.market = version, merged
            return version

    async def publish_rulebook(self, text: str, request_id: str = "") -> int:
        """Write ``text`` as the cluster's rulebook, a new version; returns it."""
        async with self._lock:
            conn = await self._connection()
            async with conn.transaction():
                await self._mark(conn, request_id)
                await conn.execute("LOCK TABLE mm_rulebook IN EXCLUSIVE MODE")
                cur = await conn.execute("SELECT coalesce(max(version), 0) + 1 FROM mm_rulebook")
                row = await cur.fetchone()
                version = int(row[0]) if row else 1
                await conn.execute(
                    "INSERT INTO mm_rulebook (version, body) VALUES (%s, %s)", (version, text.encode())
                )
            if version > self.rulebook_version:
                self.rulebook_version, self.rulebook = version, text
            return version

    async def catch_up(self, shard: int, engine: Engine) -> None:
        """Bring one shard to the cluster's rulebook, then prices (its engine just opened,
        or a new version appeared)."""
        rv, rulebook = self.rulebook_version, self.rulebook
        if rulebook is not None and self.applied_rulebook.get(shard, 0) < rv:
            self.applied_rulebook[shard] = rv
            if rulebook != engine.rulebook_json:
                await engine.call(
                    "ReloadRulebook",
                    op.ReloadRulebookRequest(request_id=f"mm-rulebook-{rv}", rulebook_json=rulebook),
                )
        mv, market = self.market_version, self.market
        if market is not None and self.applied_market.get(shard, 0) < mv:
            self.applied_market[shard] = mv
            request = mkt.UpdatePricesRequest()
            request.CopyFrom(market)
            request.request_id = f"mm-market-{mv}"
            await engine.call("UpdatePrices", request)

    def forget(self, shard: int) -> None:
        self.applied_market.pop(shard, None)
        self.applied_rulebook.pop(shard, None)

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None


__all__ = ["POLL_SECONDS", "Globals"]

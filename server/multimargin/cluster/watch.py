"""WatchEvents over several instances: every shard's events, read from PostgreSQL.

Any instance can stream any shard: the events are rows of ``mm_events``, committed in
the transaction of their journal batch (so a row is visible only once durable, and a
shard's rows appear in its sequence order). The stream sends the backlog after each
shard's cursor, then follows by polling every :data:`POLL_SECONDS`, in sequence order
within each shard (shards interleave). Each message names its shard
(``WatchEventsResponse.shard``); the resume cursor is exact per shard: the request's
``after_shard_seq`` (shards not listed: ``after_seq``). The stream holds one PostgreSQL
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import psycopg

from multimargin.errors import InvalidInputError
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import event_service_pb2, history_pb2

#: Seconds between two looks for new events once the backlog is sent.
POLL_SECONDS = 0.1
#: Rows read at once.
CHUNK = 1000

_QUERY = (
    "SELECT e.shard, e.seq, e.body FROM mm_events e "
    "JOIN unnest(%s::int[], %s::bigint[]) AS c(shard, after) ON e.shard = c.shard AND e.seq > c.after "
    "WHERE (%s::text[] IS NULL OR e.account_id = ANY(%s::text[])) "
    "ORDER BY e.shard, e.seq LIMIT %s"
)


async def watch(engine: Any, method: str, request: Any) -> AsyncIterator[Any]:
    """The WatchEvents stream of a cluster (``engine``: the :class:`~.router.ClusterEngine`)."""
    if method != "WatchEvents":
        raise InvalidInputError(f"no stream {method}", "INVALID_ARGUMENT", "")
    if request.after_seq < 0:
        raise InvalidInputError("must be ≥ 0", "OUT_OF_RANGE", "after_seq")
    shards = engine.map.shards
    cursor = {s: request.after_seq for s in range(shards)}
    for shard, seq in request.after_shard_seq.items():
        if not 0 <= shard < shards:
            raise InvalidInputError(f"no shard {shard} (0..{shards - 1})", "OUT_OF_RANGE", "after_shard_seq")
        if seq < 0:
            raise InvalidInputError("must be ≥ 0", "OUT_OF_RANGE", f"after_shard_seq[{shard}]")
        cursor[shard] = seq
    accounts = list(request.account_ids) or None
    for i, account_id in enumerate(accounts or ()):
        if not account_id:
            raise InvalidInputError("is required", "INVALID_ARGUMENT", f"account_ids[{i}]")
        await engine.call("GetAccount", acc.GetAccountRequest(account_id=account_id))  # ACCOUNT_NOT_FOUND
    if accounts is not None:
        wanted = {engine.map.shard(a) for a in accounts}
        cursor = {s: c for s, c in cursor.items() if s in wanted}
    conn = await psycopg.AsyncConnection.connect(engine.globals.url, autocommit=True, connect_timeout=5)
    try:
        while True:
            shards_, afters = list(cursor), [cursor[s] for s in cursor]
            cur = await conn.execute(_QUERY, (shards_, afters, accounts, accounts, CHUNK))
            rows = await cur.fetchall()
            for shard, seq, body in rows:
                cursor[int(shard)] = int(seq)
                yield event_service_pb2.WatchEventsResponse(
                    event=history_pb2.Event.FromString(bytes(body)), shard=int(shard)
                )
            if len(rows) < CHUNK:
                await asyncio.sleep(POLL_SECONDS)
    finally:
        with contextlib.suppress(Exception):
            await conn.close()


__all__ = ["POLL_SECONDS", "watch"]

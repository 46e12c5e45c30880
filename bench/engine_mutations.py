"""The engine's own cost per durable mutation, in-process (no gRPC): TransferIn on a demo
account, all submitted at once so the store commits them in groups.

    python bench/engine_mutations.py [--calls 3000] [--rounds 3] [--store sqlite|pg-temp]

``--store pg-temp``: the engine journals to one shard of a throw-away local PostgreSQL
server (tests/pgcluster.py) instead of an SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from multimargin.state.engine import Engine
from multimargin.v1 import funds_service_pb2 as fun


@contextlib.contextmanager
def _store(kind: str) -> Iterator[Any]:
    """What Engine.open is given: a data directory, or an opened PgStore."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield Path(tmp)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from multimargin.store import pg_leases
    from multimargin.store.pg_schema import ensure_schema
    from multimargin.store.postgres import PgStore, connect
    from pgcluster import PgCluster

    with PgCluster() as cluster:
        dsn = cluster.create_database("bench")
        conn = connect(dsn)
        ensure_schema(conn, 16)
        fence = pg_leases.acquire(conn, 0, "bench", "-", 3600)
        conn.close()
        assert fence is not None
        yield PgStore.open(dsn, fence)


async def run(calls: int, rounds: int, store: Any) -> None:
    engine = await Engine.open(store, demo=True)
    try:
        for r in range(rounds):
            requests = [
                fun.TransferInRequest(
                    request_id=f"x{r}-{i}", account_id="demo-futures-multi", asset="USDT", amount="1"
                )
                for i in range(calls)
            ]
            t0 = time.perf_counter()
            await asyncio.gather(*(engine.call("TransferIn", q) for q in requests))
            elapsed = time.perf_counter() - t0
            per_call = elapsed / calls * 1e6
            print(f"round {r + 1}: {per_call:.0f} µs per durable TransferIn ({calls / elapsed:.0f}/s)")
    finally:
        await engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store", choices=["sqlite", "pg-temp"], default="sqlite")
    args = parser.parse_args()
    with _store(args.store) as store:
        asyncio.run(run(args.calls, args.rounds, store))


if __name__ == "__main__":
    main()

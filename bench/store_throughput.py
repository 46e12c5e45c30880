"""Durable-journal throughput and latency under 1..512 concurrent submitters.

Not a test. Each level gets a fresh store on a real file in a temp directory
(``--dir`` to choose the filesystem), and each submitter loops: submit the
next record, await durability, repeat -- the shape of a gRPC handler that
acknowledges only durable commands. Latency is submit -> future resolved, as
the handler sees it (including event-loop scheduling). Group commit shows as
records per batch: every batch is one fsync'd transaction.

    PYTHONPATH=server .venv/bin/python bench/store_throughput.py
    PYTHONPATH=server .venv/bin/python bench/store_throughput.py --seconds 5 --levels 1,64
    PYTHONPATH=server .venv/bin/python bench/store_throughput.py --store sqlite,pg-temp --levels 1,8,64

``--store``: ``sqlite`` (the embedded store, the default), ``pg-temp`` (a PostgreSQL
shard on a throw-away local server, tests/pgcluster.py: fsync on, synchronous_commit
on) or a ``postgresql://`` DSN (its database gets the multimargin schema if it has none;
each level writes a shard of its own, whose lease it takes by force: not on a live
cluster). Several, comma-separated, run one after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

try:
    from multimargin.store import JournalRecord, Store
except ImportError:  # run from a checkout without PYTHONPATH=server
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
    from multimargin.store import JournalRecord, Store
from multimargin.store.interface import JournalStore

_PG_SHARDS = 16


@dataclass(frozen=True)
class Result:
    store: str
    submitters: int
    records: int
    batches: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def _percentile(sorted_ns: list[int], q: float) -> float:
    index = min(len(sorted_ns) - 1, round(q * (len(sorted_ns) - 1)))
    return sorted_ns[index] / 1e6


async def _run_level(name: str, store: JournalStore, submitters: int, seconds: float, size: int) -> Result:
    store.recover()
    payload = hashlib.sha256(b"bench").digest() * (size // 32 + 1)
    command, response = payload[:size], payload[: size // 2]
    latencies: list[int] = []
    deadline = time.perf_counter() + seconds

    async def submitter(worker: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            seq = store.next_seq
            record = JournalRecord(
                seq=seq,
                ts_ns=time.time_ns(),
                kind="PlaceOrder",
                account_id=f"acct-{worker}",
                request_id=f"w{worker}-{n}",
                request_hash=payload[:32],
                command=command,
                response=response,
                state_hash=payload[:32],
            )
            started = time.perf_counter_ns()
            await store.submit(record)
            latencies.append(time.perf_counter_ns() - started)
            n += 1

    started = time.perf_counter()
    await asyncio.gather(*(submitter(w) for w in range(submitters)))
    elapsed = time.perf_counter() - started
    stats = store.stats
    await store.close()
    latencies.sort()
    return Result(
        store=name,
        submitters=submitters,
        records=stats.records_committed,
        batches=stats.batches_committed,
        seconds=elapsed,
        p50_ms=_percentile(latencies, 0.50),
        p99_ms=_percentile(latencies, 0.99),
        max_ms=latencies[-1] / 1e6,
    )


def _pg_store(dsn: str, shard: int) -> JournalStore:
    from multimargin.store import pg_leases
    from multimargin.store.postgres import PgStore, connect

    conn = connect(dsn, purpose="multimargin-bench")
    try:
        from multimargin.store.pg_schema import ensure_schema

        ensure_schema(conn, _PG_SHARDS)
        fence = pg_leases.acquire(conn, shard, "store-bench", "-", 3600, force=True)
    finally:
        conn.close()
    assert fence is not None
    return PgStore.open(dsn, fence)


def _run_store(spec: str, levels: list[int], args: argparse.Namespace) -> list[Result]:
    results = []
    if spec == "sqlite":
        for submitters in levels:
            with tempfile.TemporaryDirectory(dir=args.dir, prefix="mm-store-bench-") as tmp:
                store = Store.open(Path(tmp))
                results.append(
                    asyncio.run(_run_level(spec, store, submitters, args.seconds, args.record_bytes))
                )
        return results
    if spec == "pg-temp":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from pgcluster import PgCluster

        with PgCluster() as cluster:
            dsn = cluster.create_database("bench")
            return [
                asyncio.run(_run_level(spec, _pg_store(dsn, i), n, args.seconds, args.record_bytes))
                for i, n in enumerate(levels)
            ]
    if spec.startswith(("postgresql://", "postgres://")):
        if len(levels) > _PG_SHARDS:
            raise SystemExit(f"at most {_PG_SHARDS} levels on PostgreSQL")
        return [
            asyncio.run(_run_level("postgresql", _pg_store(spec, i), n, args.seconds, args.record_bytes))
            for i, n in enumerate(levels)
        ]
    raise SystemExit(f"--store: sqlite, pg-temp or a postgresql:// DSN, not {spec!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each level")
    parser.add_argument("--levels", default="1,8,64,512", help="concurrent submitters")
    parser.add_argument("--record-bytes", type=int, default=256, help="command size")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the temp dirs")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    parser.add_argument(
        "--store",
        default="sqlite",
        help="sqlite, pg-temp or a postgresql:// DSN; comma-separated for several",
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    print(
        f"store throughput: {args.seconds:g}s per level, {args.record_bytes} B commands, "
        f"SQLite: WAL + synchronous=FULL; PostgreSQL: one shard, fsync + synchronous_commit on; "
        f"python {sys.version.split()[0]}"
    )
    header = (
        f"{'store':>10} {'submitters':>10} {'records':>9} {'records/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'batches':>8} {'rec/commit':>10} {'commits saved':>13}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for spec in args.store.split(","):
        for r in _run_store(spec.strip(), levels, args):
            print(
                f"{r.store:>10} {r.submitters:>10} {r.records:>9} {r.records / r.seconds:>10.0f} "
                f"{r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.max_ms:>8.2f} {r.batches:>8} "
                f"{r.records / r.batches:>10.1f} {r.records - r.batches:>13}",
                flush=True,
            )
            rows.append(
                {**asdict(r), "records_per_s": r.records / r.seconds, "per_fsync": r.records / r.batches}
            )
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

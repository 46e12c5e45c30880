"""Durable-mutation throughput and acknowledgement latency of a real server, side by side
with the standard health-check RPC on the same server and connection.

    python bench/grpc_durable.py [--seconds 10] [--concurrency 1,16,64,256] [--target HOST:PORT]

Without ``--target`` it starts ``multimargin serve`` on a fresh data directory (SQLite
WAL, synchronous=FULL) on a free loopback port. Each worker owns an account and sends
``TransferIn`` of 1 USDT with a fresh request_id in a loop; a reply means the journal
record is durable (fsync'd). Prints calls/s and p50/p99/p99.9 latency per concurrency
for TransferIn and for grpc.health.v1 Check, and the journal records per store batch.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import benchkit
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import account_service_pb2_grpc as acc_grpc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import funds_service_pb2_grpc as fun_grpc
from multimargin.v1 import operator_service_pb2 as op
from multimargin.v1 import operator_service_pb2_grpc as op_grpc
from multimargin.v1 import types_pb2 as t


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


async def run_level(
    target: str, concurrency: int, seconds: float, run: str
) -> list[tuple[str, float, list[float]]]:
    channels = [grpc.aio.insecure_channel(target) for _ in range(min(concurrency, 8))]
    accounts = [acc_grpc.AccountServiceStub(ch) for ch in channels]
    funds = [fun_grpc.FundsServiceStub(ch) for ch in channels]
    health = [health_pb2_grpc.HealthStub(ch) for ch in channels]
    ids = [f"bench-{run}-{concurrency}-{i}" for i in range(concurrency)]
    await asyncio.gather(
        *(
            accounts[i % len(channels)].CreateAccount(
                acc.CreateAccountRequest(
                    request_id=str(uuid.uuid4()), account_id=a, kind=t.ACCOUNT_KIND_FUTURES
                )
            )
            for i, a in enumerate(ids)
        )
    )
    out = []
    for name in ("TransferIn", "health.Check"):
        latencies: list[float] = []
        stop = time.monotonic() + seconds

        async def worker(
            i: int, name: str = name, stop: float = stop, latencies: list[float] = latencies
        ) -> None:
            f, h = funds[i % len(channels)], health[i % len(channels)]
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                if name == "TransferIn":
                    await f.TransferIn(
                        fun.TransferInRequest(
                            request_id=str(uuid.uuid4()), account_id=ids[i], asset="USDT", amount="1"
                        )
                    )
                else:
                    await h.Check(health_pb2.HealthCheckRequest())
                latencies.append(time.perf_counter() - t0)

        t0 = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        out.append((name, time.monotonic() - t0, latencies))
    for ch in channels:
        await ch.close()
    return out


async def amain(args: argparse.Namespace, target: str) -> None:
    run = uuid.uuid4().hex[:6]
    with grpc.insecure_channel(target) as ch:
        before = op_grpc.OperatorServiceStub(ch).GetEngineStatus(op.GetEngineStatusRequest()).journal_seq
    print(f"{'concurrency':>11}  {'rpc':<13}{'calls/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}")
    total = 0
    for c in args.concurrency:
        for name, elapsed, lat in await run_level(target, c, args.seconds, run):
            if name == "TransferIn":
                total += len(lat)
            print(
                f"{c:>11}  {name:<13}{len(lat) / elapsed:>10.0f}{statistics.median(lat) * 1e3:>9.2f}"
                f"{percentile(lat, 99) * 1e3:>9.2f}{percentile(lat, 99.9) * 1e3:>10.2f}"
            )
    with grpc.insecure_channel(target) as ch:
        after = op_grpc.OperatorServiceStub(ch).GetEngineStatus(op.GetEngineStatusRequest()).journal_seq
    print(f"journal records written: {after - before} ({total} acknowledged TransferIn + account creations)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16, 64, 256]
    )
    parser.add_argument("--target", help="an already running server (default: start one)")
    args = parser.parse_args()
    if args.target is not None:
        asyncio.run(amain(args, args.target))
        return
    with (
        tempfile.TemporaryDirectory() as tmp,
        benchkit.server(Path(tmp) / "data", "--log-level", "WARNING") as target,
    ):
        asyncio.run(amain(args, target))


if __name__ == "__main__":
    main()

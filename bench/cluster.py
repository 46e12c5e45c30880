"""Several instances over one PostgreSQL (issue 10): throughput with 1, 2 and 3 instances,
failover time after ``kill -9``, and the cost of a forwarded call against a local one.

    python bench/cluster.py [--seconds 6] [--concurrency 96] [--instances 1,2,3]

It starts a throw-away PostgreSQL (``multimargin.cluster.devpg``; fsync on) and, for each
instance count, a fresh database with that many ``multimargin serve --store`` instances
(16 shards) on loopback. The load generator is one Python process (grpc.aio), ``C``
concurrent workers, each on its own account; a worker sends each call straight to the
owner of its account's shard (a routing-aware client: the owners are read from
``mm_shard_leases``), so the figures measure serving, not forwarding. ``TransferIn`` is
durable (a PostgreSQL COMMIT per group-commit batch per shard); ``CheckOrder`` is a read.
Then, with three instances: the latency of ``GetAccount`` sent to the owner vs to another
instance (forwarded, one hop), one call at a time; and ``kill -9`` of one instance under
``TransferIn`` load: the time until every shard has a live owner again, and the longest
time any worker waited for an acknowledgement across the failover (retrying with the
same request id).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
import psycopg
from multimargin.cluster import devpg
from multimargin.cluster.shards import shard_of
from multimargin.contract import contract_rpcs
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import trading_service_pb2 as trd
from multimargin.v1 import types_pb2 as t

BIN = Path(sys.executable).parent
RPCS = {r.name: r for r in contract_rpcs()}
SHARDS = 16
LEASE = 5.0


class Cluster:
    def __init__(self, url: str, work: Path) -> None:
        self.url = url
        self.work = work
        self.procs: list[tuple[subprocess.Popen[bytes], str]] = []
        self.channels: dict[str, Any] = {}

    def start(self) -> str:
        port = devpg.free_port()
        address = f"127.0.0.1:{port}"
        log = open(self.work / f"i-{port}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                str(BIN / "multimargin"),
                "serve",
                "--store",
                self.url,
                "--listen",
                address,
                "--insecure-no-auth",
                "--shards",
                str(SHARDS),
                "--lease-seconds",
                str(LEASE),
                "--log-level",
                "WARNING",
                "--data-dir",
                str(self.work / "data"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append((proc, address))
        return address

    def owners(self) -> dict[int, str]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            if conn.execute("SELECT to_regclass('mm_shard_leases')").fetchone() == (None,):
                return {}  # the first instance has not made the schema yet
            rows = conn.execute(
                "SELECT shard, address FROM mm_shard_leases WHERE owner IS NOT NULL AND expires_at > now()"
            ).fetchall()
        return {int(s): str(a) for s, a in rows}

    def wait_balanced(self, n: int, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            owners = self.owners()
            if len(owners) == SHARDS and len(set(owners.values())) == n:
                time.sleep(LEASE / 3 + 0.5)  # every instance's map is fresh, engines open
                return
            time.sleep(0.2)
        raise RuntimeError(f"{n} instances did not share the shards in {timeout}s")

    def channel(self, address: str) -> Any:
        if address not in self.channels:
            self.channels[address] = grpc.aio.insecure_channel(address)
        return self.channels[address]

    def stop(self) -> None:
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def call(channel: Any, method: str, request: Any, timeout: float = 10) -> Any:
    rpc = RPCS[method]
    stub = channel.unary_unary(
        rpc.full_method,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=rpc.response_class.FromString,
    )
    return await stub(request, timeout=timeout)


async def retrying(c: Cluster, owners: dict[int, str], account: str, method: str, request: Any) -> None:
    owner = owners.get(shard_of(account, SHARDS))
    addresses = [*([owner] if owner else []), *sorted({a for _, a in c.procs})]
    for attempt in range(400):
        try:
            await call(c.channel(addresses[attempt % len(addresses)]), method, request, timeout=5)
            return
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.INTERNAL,
                grpc.StatusCode.CANCELLED,
            ):
                raise
            await asyncio.sleep(0.05)
    raise RuntimeError("no acknowledgement after 400 attempts")


async def seed(c: Cluster, accounts: list[str]) -> dict[int, str]:
    owners = c.owners()
    any_address = c.procs[0][1]
    await retrying(
        c,
        owners,
        accounts[0],
        "UpdatePrices",
        mkt.UpdatePricesRequest(
            request_id=str(uuid.uuid4()), index_prices={"BTC": "64000"}, mark_prices={"BTCUSDT": "64000"}
        ),
    )
    del any_address

    async def one(a: str) -> None:
        await retrying(
            c,
            owners,
            a,
            "CreateAccount",
            acc.CreateAccountRequest(request_id=f"c-{a}", account_id=a, kind=t.ACCOUNT_KIND_FUTURES),
        )
        await retrying(
            c,
            owners,
            a,
            "TransferIn",
            fun.TransferInRequest(request_id=f"f-{a}", account_id=a, asset="USDT", amount="100000"),
        )

    await asyncio.gather(*(one(a) for a in accounts))
    await asyncio.sleep(1.0)  # the prices reach every shard
    return owners


async def throughput(
    c: Cluster, owners: dict[int, str], accounts: list[str], method: str, seconds: float, spread: bool = False
) -> tuple[float, float, float]:
    """calls/s, p50 ms, p99 ms over ``seconds``; ``spread``: each call to an instance in turn."""
    latencies: list[float] = []
    addresses = sorted({a for _, a in c.procs})
    end = time.monotonic() + seconds

    async def worker(i: int, a: str) -> None:
        n = 0
        owner = c.channel(owners.get(shard_of(a, SHARDS), addresses[0]))
        while time.monotonic() < end:
            if method == "TransferIn":
                req: Any = fun.TransferInRequest(
                    request_id=f"{a}-{uuid.uuid4().hex}", account_id=a, asset="USDT", amount="1"
                )
            else:
                req = trd.CheckOrderRequest(
                    account_id=a,
                    futures=t.FuturesOrder(
                        symbol="BTCUSDT", side=t.SIDE_BUY, price="64000", quantity="0.01", leverage=10
                    ),
                )
            ch = c.channel(addresses[(i + n) % len(addresses)]) if spread else owner
            started = time.perf_counter()
            for attempt in range(50):  # as the typed client: UNAVAILABLE (SHARD_MOVING) is retried
                try:
                    await call(ch, method, req)
                    break
                except grpc.aio.AioRpcError as exc:
                    if exc.code() != grpc.StatusCode.UNAVAILABLE or attempt == 49:
                        raise
                    await asyncio.sleep(0.05 * (attempt + 1))
            latencies.append(time.perf_counter() - started)
            n += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(i, a) for i, a in enumerate(accounts)))
    elapsed = time.monotonic() - started
    latencies.sort()
    return (
        len(latencies) / elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
    )


async def forward_cost(
    c: Cluster, owners: dict[int, str], accounts: list[str], n: int = 300
) -> tuple[float, float]:
    """p50 ms of GetAccount sent to the owner, and to another instance (forwarded)."""
    local, forwarded = [], []
    addresses = sorted({a for _, a in c.procs})
    for i in range(n):
        a = accounts[i % len(accounts)]
        owner = owners.get(shard_of(a, SHARDS), addresses[0])
        other = next(x for x in addresses if x != owner)
        for target, out in ((owner, local), (other, forwarded)):
            started = time.perf_counter()
            await call(c.channel(target), "GetAccount", acc.GetAccountRequest(account_id=a))
            out.append(time.perf_counter() - started)
    return statistics.median(local) * 1000, statistics.median(forwarded) * 1000


async def failover(c: Cluster, owners: dict[int, str], accounts: list[str]) -> tuple[float, float, int]:
    """kill -9 one instance under TransferIn load: seconds until every shard has a live owner
    again, the longest wait for one acknowledgement, and the acknowledged calls."""
    victim_proc, victim = c.procs[-1]
    stop = asyncio.Event()
    longest = 0.0
    acked = 0

    async def worker(a: str) -> None:
        nonlocal longest, acked
        while not stop.is_set():
            started = time.perf_counter()
            req = fun.TransferInRequest(
                request_id=f"{a}-{uuid.uuid4().hex}", account_id=a, asset="USDT", amount="1"
            )
            await retrying(c, owners, a, "TransferIn", req)
            longest = max(longest, time.perf_counter() - started)
            acked += 1

    tasks = [asyncio.create_task(worker(a)) for a in accounts]
    await asyncio.sleep(2)
    killed = time.monotonic()
    victim_proc.send_signal(signal.SIGKILL)
    moved = None
    while moved is None:
        now = await asyncio.to_thread(c.owners)
        if len(now) == SHARDS and victim not in now.values():
            moved = time.monotonic() - killed
        await asyncio.sleep(0.05)
    await asyncio.sleep(3)
    stop.set()
    await asyncio.gather(*tasks)
    return moved, longest, acked


async def measure(url: str, work: Path, n: int, seconds: float, concurrency: int, rows: list[str]) -> None:
    work.mkdir(parents=True, exist_ok=True)
    c = Cluster(url, work)
    try:
        for _ in range(n):
            c.start()
        c.wait_balanced(n)
        accounts = [f"b{n}-{i}" for i in range(concurrency)]
        owners = await seed(c, accounts)
        for method in ("TransferIn", "CheckOrder"):
            rate, p50, p99 = await throughput(c, owners, accounts, method, seconds)
            rows.append(f"| {n} | {method} (to the owner) | {rate:,.0f} | {p50:.1f} | {p99:.1f} |")
            print(rows[-1], flush=True)
        if n > 1:
            rate, p50, p99 = await throughput(c, owners, accounts, "TransferIn", seconds, spread=True)
            call = f"TransferIn (any instance: {(n - 1)}/{n} forwarded)"
            rows.append(f"| {n} | {call} | {rate:,.0f} | {p50:.1f} | {p99:.1f} |")
            print(rows[-1], flush=True)
        if n == 3:
            local, forwarded = await forward_cost(c, owners, accounts)
            rows.append(
                f"\nGetAccount one at a time, p50: {local:.2f} ms to the owner, {forwarded:.2f} ms forwarded "
                f"(+{forwarded - local:.2f} ms for the hop)."
            )
            print(rows[-1], flush=True)
            moved, longest, acked = await failover(c, owners, accounts)
            rows.append(
                f"kill -9 of one of 3 instances (lease {LEASE:.0f} s) under TransferIn load: every shard "
                f"owned again after {moved:.2f} s; the longest wait for an acknowledgement {longest:.2f} s; "
                f"{acked:,} acknowledged meanwhile."
            )
            print(rows[-1], flush=True)
    finally:
        for ch in c.channels.values():
            await ch.close()
        c.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--concurrency", type=int, default=96)
    parser.add_argument("--instances", default="1,2,3")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mm-bench-cluster-"))
    work.chmod(0o755)
    pg = devpg.start(work / "pg")
    rows = ["| instances | call | calls/s | p50 ms | p99 ms |", "|---|---|---|---|---|"]
    try:
        for n in (int(x) for x in args.instances.split(",")):
            name = f"bench_{n}_{os.getpid()}"
            with psycopg.connect(pg.url, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            url = pg.url.rsplit("/", 1)[0] + "/" + name
            asyncio.run(measure(url, work / name, n, args.seconds, args.concurrency, rows))
    except BaseException:
        print(f"failed: the instances' logs are in {work}", file=sys.stderr)
        pg.stop()
        raise
    pg.stop()
    shutil.rmtree(work, ignore_errors=True)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

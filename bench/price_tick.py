"""A price tick at scale (SPEC §8, issue "price updates at scale"): 100,000 accounts, one
asset's price moved, held by 10,000 of them. Measures UpdatePrices from request to
acknowledgement (the journal record and its events durable) over gRPC, and the latency
of concurrent CheckOrder calls from another process during the ticks against the same
calls between ticks.

    python bench/price_tick.py [--accounts 100000] [--exposed 10000] [--ticks 10]

The state is built in-process through the engine's ordinary mutations (journaled), then
served by a real `multimargin serve` recovered from that store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from multimargin.state.engine import Engine
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import market_data_service_pb2_grpc as mkt_grpc
from multimargin.v1 import trading_service_pb2 as trd
from multimargin.v1 import trading_service_pb2_grpc as trd_grpc
from multimargin.v1 import types_pb2 as t

PRICES = {"BTC": "60000", "ETH": "3000", "USDC": "1"}
MARKS = {"BTCUSDT": "60000", "ETHUSDT": "3000"}
SERVE_FLAGS = ["--insecure-no-auth"]  # a plaintext server on loopback


def _account_commands(i: int, exposed: bool) -> list[tuple[str, Any]]:
    """Create and fund one account: a margin account holding BTC with a USDT loan when
    ``exposed``, else alternately a futures account (USDT) or a margin account (ETH)."""
    aid = f"acct-{i:06d}"
    margin = exposed or i % 2 == 0
    kind = t.ACCOUNT_KIND_MARGIN if margin else t.ACCOUNT_KIND_FUTURES
    out: list[tuple[str, Any]] = [
        ("CreateAccount", acc.CreateAccountRequest(request_id=f"c{i}", account_id=aid, kind=kind))
    ]
    asset, amount = ("BTC", "1") if exposed else (("ETH", "10") if margin else ("USDT", "5000"))
    out.append(
        ("TransferIn", fun.TransferInRequest(request_id=f"t{i}", account_id=aid, asset=asset, amount=amount))
    )
    if exposed:
        out.append(
            ("Borrow", fun.BorrowRequest(request_id=f"b{i}", account_id=aid, asset="USDT", amount="20000"))
        )
    return out


async def build(data: Path, accounts: int, exposed: int) -> float:
    engine = await Engine.open(data)
    t0 = time.perf_counter()
    try:
        await engine.call(
            "UpdatePrices", mkt.UpdatePricesRequest(request_id="p0", index_prices=PRICES, mark_prices=MARKS)
        )
        step = max(1, accounts // exposed)
        chunk: list[Any] = []
        for i in range(accounts):
            chunk.append(_account_commands(i, i % step == 0 and i // step < exposed))
            if len(chunk) == 500 or i == accounts - 1:
                for stage in range(3):  # create, fund, borrow: each stage concurrent
                    calls = [c[stage] for c in chunk if len(c) > stage]
                    await asyncio.gather(*(engine.call(m, r) for m, r in calls))
                chunk = []
    finally:
        await engine.close()
    return time.perf_counter() - t0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pin(cores: str) -> list[str]:
    return (
        ["taskset", "-c", cores] if shutil.which("taskset") and os.cpu_count() and os.cpu_count() >= 2 else []
    )


def _checker(target: str, stop_at: float, out: Any) -> None:
    """A closed loop of CheckOrder calls on unexposed accounts: (start, latency) pairs."""
    channel = grpc.insecure_channel(target)
    stub = trd_grpc.TradingServiceStub(channel)
    order = t.FuturesOrder(symbol="ETHUSDT", side=t.SIDE_BUY, price="2900", quantity="0.1", leverage=10)
    samples = []
    n = 0
    while time.time() < stop_at:
        aid = f"acct-{(2 * n + 1) % 1000:06d}"  # odd ids: futures accounts, not exposed
        n += 1
        start = time.time()
        stub.CheckOrder(trd.CheckOrderRequest(account_id=aid, futures=order), timeout=10)
        samples.append((start, time.time() - start))
    out.put(samples)


def measure(data: Path, ticks: int) -> dict[str, Any]:
    port = _free_port()
    target = f"127.0.0.1:{port}"
    log = open(data.parent / "server.log", "wb")  # noqa: SIM115 - closed below
    started = time.perf_counter()
    server = subprocess.Popen(
        [
            *_pin("0"),
            str(Path(sys.executable).with_name("multimargin")),
            "serve",
            "--listen",
            target,
            "--data-dir",
            str(data),
            "--log-level",
            "WARNING",
            *SERVE_FLAGS,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        channel = grpc.insecure_channel(target)
        grpc.channel_ready_future(channel).result(timeout=300)
        market = mkt_grpc.MarketDataServiceStub(channel)
        market.GetPrices(mkt.GetPricesRequest(), timeout=300)
        recovery = time.perf_counter() - started
        spawn = multiprocessing.get_context("spawn")
        queue: Any = spawn.Queue()
        stop_at = time.time() + 4 + ticks * 1.0
        checker = spawn.Process(target=_checker, args=(target, stop_at, queue))
        checker.start()
        time.sleep(1.5)
        windows, latencies, evaluated = [], [], 0
        for k in range(ticks):
            price = str(60000 + (k % 2 * 2 - 1) * 500 * (k + 1))
            t0 = time.time()
            r = market.UpdatePrices(
                mkt.UpdatePricesRequest(request_id=f"tick-{k}", index_prices={"BTC": price}), timeout=60
            )
            t1 = time.time()
            windows.append((t0, t1))
            latencies.append(t1 - t0)
            evaluated = r.accounts_evaluated
            time.sleep(0.8)
        samples = queue.get(timeout=120)
        checker.join()
    finally:
        server.terminate()
        server.wait(60)
        log.close()
    during = [lat for start, lat in samples if any(a <= start <= b for a, b in windows)]
    between = [lat for start, lat in samples if not any(a - 0.05 <= start <= b + 0.05 for a, b in windows)]

    def p(xs: list[float], q: float) -> float:
        return statistics.quantiles(xs, n=100)[q - 1] * 1000 if len(xs) >= 2 else float("nan")

    return {
        "recovery_s": recovery,
        "accounts_evaluated": evaluated,
        "tick_ms": [x * 1000 for x in latencies],
        "check_order_during": {
            "calls": len(during),
            "p50_ms": p(during, 50),
            "p99_ms": p(during, 99),
            "max_ms": max(during, default=0) * 1000,
        },
        "check_order_between": {"calls": len(between), "p50_ms": p(between, 50), "p99_ms": p(between, 99)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--exposed", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        built = asyncio.run(build(data, args.accounts, args.exposed))
        print(f"built {args.accounts:,} accounts ({args.exposed:,} holding BTC) in {built:.0f} s")
        result = measure(data, args.ticks)
    ticks = result["tick_ms"]
    print(f"server recovered and serving in {result['recovery_s']:.1f} s")
    print(
        f"UpdatePrices(BTC), {result['accounts_evaluated']:,} accounts re-evaluated, request → durable ack:"
    )
    print(f"  p50 {statistics.median(ticks):.1f} ms   max {max(ticks):.1f} ms   (over {len(ticks)} ticks)")
    d, b = result["check_order_during"], result["check_order_between"]
    print(
        f"CheckOrder during ticks: {d['calls']} calls, p50 {d['p50_ms']:.2f} ms, p99 {d['p99_ms']:.2f} ms, "
        f"max {d['max_ms']:.1f} ms"
    )
    print(f"CheckOrder between ticks: {b['calls']} calls, p50 {b['p50_ms']:.2f} ms, p99 {b['p99_ms']:.2f} ms")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

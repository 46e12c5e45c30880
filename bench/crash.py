"""Crash campaign (issue 8, item 7): N cycles of mixed load from several client threads,
``kill -9`` of the real server at a random point, a timed restart, and verification.

    python bench/crash.py --cycles 1000 [--threads 4] [--seed 1] [--data-dir DIR]

Each cycle: start the server (timed: spawn → SERVING), verify, run the load for a
random time, then kill -9 at a random point — mostly while calls are in flight, every
fifth cycle with no call in flight. Verification after each restart:

* every acknowledged request of the cycle (and a sample of older ones), retried with its
  request id, returns the byte-identical response (a lost one would be applied anew);
* every request whose outcome the kill hid is retried to a definite outcome;
* the transfer-only accounts hold exactly the sum of their acknowledged transfers;
* after an idle kill, the state hash and journal position equal those read before it.

Prints cycles, acknowledged requests, losses (must be 0), restart time p50/max; exits
non-zero on any loss or mismatch.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import account_service_pb2_grpc as acc_grpc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import funds_service_pb2_grpc as fun_grpc
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import market_data_service_pb2_grpc as mkt_grpc
from multimargin.v1 import operator_service_pb2 as op
from multimargin.v1 import operator_service_pb2_grpc as op_grpc
from multimargin.v1 import trading_service_pb2 as trd
from multimargin.v1 import trading_service_pb2_grpc as trd_grpc
from multimargin.v1 import types_pb2 as t
from serverctl import Server, start_server

FLOW = ["flow-0", "flow-1"]  # futures accounts that only see transfers (balances checked)
TRADE = ["trade-0", "trade-1"]  # futures: orders, cancels, ledger entries
MARGIN = ["margin-0", "margin-1"]  # margin: transfers, borrows, repayments
INDEX = {"BTC": "60000", "ETH": "3000", "USDC": "1"}
MARKS = {"BTCUSDT": "60000", "ETHUSDT": "3000"}
DEADLINE = 20.0
UNKNOWN_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}


class Stubs:
    def __init__(self, channel: grpc.Channel) -> None:
        self.services = {
            "AccountService": acc_grpc.AccountServiceStub(channel),
            "FundsService": fun_grpc.FundsServiceStub(channel),
            "TradingService": trd_grpc.TradingServiceStub(channel),
            "MarketDataService": mkt_grpc.MarketDataServiceStub(channel),
            "OperatorService": op_grpc.OperatorServiceStub(channel),
        }

    def call(self, service: str, method: str, request: Any) -> Any:
        return getattr(self.services[service], method)(request, timeout=DEADLINE)


@dataclass
class Sent:
    """One mutation and what became of it."""

    service: str
    method: str
    request: Any
    response: bytes | None = None  # acknowledged: the serialized response


@dataclass
class Ledger:
    """Everything the campaign sent, and what it can check."""

    acknowledged: list[Sent] = field(default_factory=list)
    unknown: list[Sent] = field(default_factory=list)
    refused: int = 0
    flows: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(FLOW, Decimal(0)))
    open_orders: dict[str, list[str]] = field(default_factory=lambda: {a: [] for a in TRADE})
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count[int] = field(default_factory=itertools.count)

    def record(self, sent: Sent, response: Any) -> None:
        with self.lock:
            sent.response = response.SerializeToString(deterministic=True)
            self.acknowledged.append(sent)
            r = sent.request
            if sent.method == "TransferIn" and r.account_id in self.flows:
                self.flows[r.account_id] += Decimal(r.amount)
            elif sent.method == "TransferOut" and r.account_id in self.flows:
                self.flows[r.account_id] -= Decimal(r.amount)
            elif sent.method == "PlaceOrder":
                self.open_orders[r.account_id].append(response.order_id)


def next_request(rng: random.Random, ledger: Ledger, cycle: int) -> Sent:
    """A random mutation with a fresh request id."""
    rid = f"c{cycle}-{next(ledger.ids)}"
    amount = f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}"
    pick = rng.random()
    if pick < 0.25:
        a = rng.choice(FLOW)
        if rng.random() < 0.6:
            return Sent(
                "FundsService",
                "TransferIn",
                fun.TransferInRequest(request_id=rid, account_id=a, asset="USDT", amount=amount),
            )
        return Sent(
            "FundsService",
            "TransferOut",
            fun.TransferOutRequest(request_id=rid, account_id=a, asset="USDT", amount=amount),
        )
    if pick < 0.45:
        a = rng.choice(TRADE)
        o = t.FuturesOrder(
            symbol="ETHUSDT",
            side=t.SIDE_BUY,
            price=str(rng.randint(2000, 2900)),
            quantity="0.01",
            leverage=10,
        )
        return Sent(
            "TradingService", "PlaceOrder", trd.PlaceOrderRequest(request_id=rid, account_id=a, futures=o)
        )
    if pick < 0.55:
        a = rng.choice(TRADE)
        with ledger.lock:
            orders = ledger.open_orders[a]
            order_id = orders.pop(rng.randrange(len(orders))) if orders else "o-none"
        return Sent(
            "TradingService",
            "CancelOrder",
            trd.CancelOrderRequest(request_id=rid, account_id=a, order_id=order_id),
        )
    if pick < 0.65:
        entry = fun.LedgerEntry(
            kind=t.LEDGER_ENTRY_KIND_REALIZED_PNL, asset="USDT", amount=rng.choice(["", "-"]) + amount
        )
        return Sent(
            "FundsService",
            "PostLedgerEntries",
            fun.PostLedgerEntriesRequest(request_id=rid, account_id=rng.choice(TRADE), entries=[entry]),
        )
    if pick < 0.75:
        a = rng.choice(MARGIN)
        return Sent(
            "FundsService",
            "TransferIn",
            fun.TransferInRequest(request_id=rid, account_id=a, asset="USDT", amount=amount),
        )
    if pick < 0.85:
        a = rng.choice(MARGIN)
        return Sent(
            "FundsService",
            "Borrow",
            fun.BorrowRequest(request_id=rid, account_id=a, asset="USDT", amount=amount),
        )
    if pick < 0.95:
        a = rng.choice(MARGIN)
        return Sent(
            "FundsService",
            "Repay",
            fun.RepayRequest(request_id=rid, account_id=a, asset="USDT", amount=amount),
        )
    btc = str(rng.randint(58000, 62000))
    return Sent(
        "MarketDataService",
        "UpdatePrices",
        mkt.UpdatePricesRequest(request_id=rid, index_prices={"BTC": btc}, mark_prices={"BTCUSDT": btc}),
    )


def send(stubs: Stubs, ledger: Ledger, sent: Sent) -> bool:
    """Makes the call; False when the server is gone (the outcome is unknown)."""
    try:
        response = stubs.call(sent.service, sent.method, sent.request)
    except grpc.RpcError as e:
        if e.code() in UNKNOWN_CODES:
            with ledger.lock:
                ledger.unknown.append(sent)
            return False
        with ledger.lock:
            ledger.refused += 1
        return True
    ledger.record(sent, response)
    return True


def load(address: str, ledger: Ledger, cycle: int, seed: int, stop: threading.Event) -> None:
    rng = random.Random(seed)
    with grpc.insecure_channel(address) as channel:
        stubs = Stubs(channel)
        while not stop.is_set():
            if not send(stubs, ledger, next_request(rng, ledger, cycle)):
                return


def setup(address: str, ledger: Ledger) -> None:
    with grpc.insecure_channel(address) as channel:
        stubs = Stubs(channel)
        stubs.call(
            "MarketDataService",
            "UpdatePrices",
            mkt.UpdatePricesRequest(request_id="setup-prices", index_prices=INDEX, mark_prices=MARKS),
        )
        for a in FLOW + TRADE + MARGIN:
            kind = t.ACCOUNT_KIND_MARGIN if a in MARGIN else t.ACCOUNT_KIND_FUTURES
            stubs.call(
                "AccountService",
                "CreateAccount",
                acc.CreateAccountRequest(request_id=f"setup-{a}", account_id=a, kind=kind),
            )
            if a not in FLOW:
                request = fun.TransferInRequest(
                    request_id=f"setup-in-{a}", account_id=a, asset="USDT", amount="1000000"
                )
                stubs.call("FundsService", "TransferIn", request)


class Failure(Exception):
    pass


def verify(address: str, ledger: Ledger, fresh: list[Sent], rng: random.Random) -> int:
    """Checks after a restart (see module docs); returns how many acknowledged requests
    were lost (a retry that does not return the acknowledged response)."""
    lost = 0
    with grpc.insecure_channel(address) as channel:
        stubs = Stubs(channel)
        older = ledger.acknowledged[: len(ledger.acknowledged) - len(fresh)]
        sample = fresh + rng.sample(older, min(20, len(older)))
        for sent in sample:
            try:
                again = stubs.call(sent.service, sent.method, sent.request).SerializeToString(
                    deterministic=True
                )
            except grpc.RpcError as e:
                print(
                    f"LOST {sent.method} {sent.request.request_id}: retry refused {e.code().name}",
                    file=sys.stderr,
                )
                lost += 1
                continue
            if again != sent.response:
                print(
                    f"LOST {sent.method} {sent.request.request_id}: retry answered differently",
                    file=sys.stderr,
                )
                lost += 1
        # Requests the kill cut off: retried to a definite outcome (applied once either way).
        unknown, ledger.unknown = ledger.unknown, []
        for sent in unknown:
            if not send(stubs, ledger, sent):
                raise Failure(f"server unavailable while retrying {sent.request.request_id}")
        for a, expected in ledger.flows.items():
            got = stubs.call("AccountService", "GetAccount", acc.GetAccountRequest(account_id=a)).account
            balance = Decimal(got.futures.wallet.get("USDT", "0"))
            if balance != expected:
                raise Failure(f"{a}: balance {balance}, acknowledged transfers sum to {expected}")
    return lost


def status(address: str) -> op.GetEngineStatusResponse:
    with grpc.insecure_channel(address) as channel:
        response: op.GetEngineStatusResponse = Stubs(channel).call(
            "OperatorService", "GetEngineStatus", op.GetEngineStatusRequest()
        )
        return response


@dataclass
class Report:
    cycles: int = 0
    acknowledged: int = 0
    lost: int = 0
    idle_kills: int = 0
    restarts_s: list[float] = field(default_factory=list)  # spawn → SERVING
    recoveries_s: list[float] = field(default_factory=list)  # the engine's recovery, from its log

    def summary(self) -> str:
        r = sorted(self.restarts_s)
        e = sorted(self.recoveries_s) or [0.0]
        return (
            f"cycles {self.cycles}, acknowledged {self.acknowledged}, lost {self.lost}, "
            f"idle kills {self.idle_kills} (state hash checked), "
            f"restart p50 {statistics.median(r):.2f} s, p99 {_p99(r):.2f} s, max {r[-1]:.2f} s, "
            f"over 5 s {sum(x > 5 for x in r)} "
            f"(of which recovery p50 {statistics.median(e):.2f} s, p99 {_p99(e):.2f} s, max {e[-1]:.2f} s)"
        )


def _p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def campaign(
    data_dir: Path,
    cycles: int,
    threads: int,
    seed: int,
    max_load_s: float = 1.5,
    max_seconds: float | None = None,
    progress: int = 0,
) -> Report:
    """Runs ``cycles`` cycles (fewer if ``max_seconds`` runs out first); with
    ``progress``, prints a summary line every that many cycles."""
    deadline = time.monotonic() + max_seconds if max_seconds else None
    rng = random.Random(seed)
    ledger = Ledger()
    report = Report()
    server: Server = start_server(data_dir)
    try:
        setup(server.address, ledger)
        server.kill9()
        expected: op.GetEngineStatusResponse | None = None
        for cycle in range(cycles):
            if deadline is not None and time.monotonic() > deadline:
                break
            if progress and cycle and cycle % progress == 0:
                print(report.summary(), flush=True)
            server = start_server(data_dir)
            report.restarts_s.append(server.started_s)
            if (recovery := server.recovery_s()) is not None:
                report.recoveries_s.append(recovery)
            if expected is not None:
                got = status(server.address)
                if (got.state_hash, got.journal_seq) != (expected.state_hash, expected.journal_seq):
                    raise Failure(f"cycle {cycle}: state after an idle kill -9 differs: {got} vs {expected}")
            fresh = ledger.acknowledged[report.acknowledged :]
            report.lost += verify(server.address, ledger, fresh, rng)
            report.acknowledged = len(ledger.acknowledged)
            if report.lost:
                raise Failure(f"cycle {cycle}: {report.lost} acknowledged requests lost")
            stop = threading.Event()
            workers = [
                threading.Thread(
                    target=load, args=(server.address, ledger, cycle, rng.randrange(2**32), stop)
                )
                for _ in range(threads)
            ]
            for w in workers:
                w.start()
            time.sleep(rng.uniform(0.05, max_load_s))
            idle = cycle % 5 == 4
            if idle:
                stop.set()
                for w in workers:
                    w.join()
                expected = status(server.address)
                report.idle_kills += 1
            else:
                expected = None
            server.kill9()
            stop.set()
            for w in workers:
                w.join()
            report.cycles += 1
        # The last cycle's requests are verified after one more restart.
        server = start_server(data_dir)
        report.restarts_s.append(server.started_s)
        report.lost += verify(server.address, ledger, ledger.acknowledged[report.acknowledged :], rng)
        report.acknowledged = len(ledger.acknowledged)
        server.stop()
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-load-s", type=float, default=1.5, help="longest load phase of a cycle")
    parser.add_argument("--data-dir", type=Path, help="default: a temporary directory")
    parser.add_argument("--max-seconds", type=float, help="stop starting cycles after this long")
    parser.add_argument("--progress", type=int, default=25, help="a summary line every N cycles")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        t0 = time.monotonic()
        try:
            report = campaign(
                data_dir,
                args.cycles,
                args.threads,
                args.seed,
                args.max_load_s,
                args.max_seconds,
                args.progress,
            )
        except Failure as e:
            print(f"FAILED: {e}", file=sys.stderr)
            sys.exit(1)
        print(report.summary() + f"; {time.monotonic() - t0:.0f} s in all")
        sys.exit(1 if report.lost else 0)


if __name__ == "__main__":
    main()

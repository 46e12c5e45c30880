"""Recovery cost on a large account, in-process (no gRPC): a futures account with
``--orders`` open orders, then ``--mutations`` mutations on it (transfers and ledger
entries, each re-evaluating the account), then a simulated crash (the journal is
durable, no final snapshot is written) and a timed :meth:`Engine.open`.

    python bench/recovery.py [--orders 1000] [--mutations 1000] [--snapshot-every 10000]
    python bench/recovery.py --profile     # cProfile of the recovery, top 25 by cumulative time

The figure to compare with: the time each mutation cost when it was applied.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from multimargin.state.engine import Engine
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import trading_service_pb2 as trd
from multimargin.v1 import types_pb2 as t

ACCOUNT = "big"


def build_requests(orders: int, mutations: int) -> list[tuple[str, object]]:
    """Everything the large account goes through: prices, creation, funds, a position,
    ``orders`` open orders, then ``mutations`` changes."""
    out: list[tuple[str, object]] = [
        (
            "UpdatePrices",
            mkt.UpdatePricesRequest(
                request_id="p0",
                index_prices={"BTC": "60000", "ETH": "3000", "USDC": "1"},
                mark_prices={"BTCUSDT": "60000", "ETHUSDT": "3000"},
            ),
        ),
        (
            "CreateAccount",
            acc.CreateAccountRequest(request_id="c0", account_id=ACCOUNT, kind=t.ACCOUNT_KIND_FUTURES),
        ),
        (
            "TransferIn",
            fun.TransferInRequest(request_id="i0", account_id=ACCOUNT, asset="USDT", amount="100000000"),
        ),
    ]
    for i in range(orders):
        o = t.FuturesOrder(
            symbol="ETHUSDT", side=t.SIDE_BUY, price=str(2000 + i % 500), quantity="0.01", leverage=10
        )
        out.append(("PlaceOrder", trd.PlaceOrderRequest(request_id=f"o{i}", account_id=ACCOUNT, futures=o)))
    for i in range(mutations):
        if i % 2:
            out.append(
                (
                    "TransferIn",
                    fun.TransferInRequest(request_id=f"m{i}", account_id=ACCOUNT, asset="USDT", amount="1"),
                )
            )
        else:
            entry = fun.LedgerEntry(kind=t.LEDGER_ENTRY_KIND_REALIZED_PNL, asset="USDT", amount="-0.5")
            out.append(
                (
                    "PostLedgerEntries",
                    fun.PostLedgerEntriesRequest(request_id=f"m{i}", account_id=ACCOUNT, entries=[entry]),
                )
            )
    return out


async def populate(data_dir: Path, orders: int, mutations: int, snapshot_every: int) -> float:
    """Applies every request (one at a time), then "crashes": the journal is flushed and
    the store closed without the final snapshot a clean stop writes. Returns the mean
    apply time of the last ``mutations`` requests, in seconds."""
    engine = await Engine.open(data_dir, snapshot_every=snapshot_every)
    requests = build_requests(orders, mutations)
    head, tail = requests[: len(requests) - mutations], requests[len(requests) - mutations :]
    for method, request in head:
        await engine.call(method, request)
    t0 = time.perf_counter()
    for method, request in tail:
        await engine.call(method, request)
    per = (time.perf_counter() - t0) / max(1, mutations)
    await engine._store.flush()
    await engine._store.close()  # no engine.close(): no final snapshot, as after kill -9
    return per


async def reopen(data_dir: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    engine = await Engine.open(data_dir)
    elapsed = time.perf_counter() - t0
    replayed = engine.engine_status().journal_seq - engine.engine_status().snapshot_seq
    await engine.close()
    return elapsed, replayed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--mutations", type=int, default=1000)
    parser.add_argument("--snapshot-every", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        per = asyncio.run(populate(data_dir, args.orders, args.mutations, args.snapshot_every))
        print(f"apply: {per * 1e3:.2f} ms per mutation on an account with {args.orders} orders")
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
        elapsed, replayed = asyncio.run(reopen(data_dir))
        if args.profile:
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        print(
            f"recovery: {elapsed:.2f} s, {replayed} records replayed after the last snapshot "
            f"({elapsed / max(1, replayed) * 1e3:.2f} ms per record)"
        )


if __name__ == "__main__":
    main()

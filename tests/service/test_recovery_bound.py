"""Recovery after ``kill -9`` is bounded whatever the account sizes (issue 8, defect 5):
an account with the most open orders (1,000), about a thousand changes on it, then
``kill -9`` and a timed restart of the real server. Before the fix a record of such an
account cost ~15 ms to replay and the engine snapshotted by record count only, so the
replay grew with the journal; now a snapshot is due by replay cost as well.

What is asserted is the mechanism (far fewer records replayed than were written, and the
same state after); the restart time is printed, not asserted (the machine running the
tests is shared and noisy); the measured figures are in ``bench/RESULTS.md``
(``bench/recovery.py``, ``bench/crash.py``).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import rpckit
import serverkit
from rpckit import Rpc, fun, t, trd

ORDERS = 1000  # state.validate.MAX_OPEN_ORDERS
CHANGES = 1000
WINDOW = 100  # calls in flight at once


def _in_windows(calls: list[tuple[object, object]]) -> None:
    for start in range(0, len(calls), WINDOW):
        futures = [method.future(request) for method, request in calls[start : start + WINDOW]]  # type: ignore[attr-defined]
        for future in futures:
            future.result()


def test_restart_after_kill_9_is_bounded_on_an_account_with_1000_open_orders(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = serverkit.start_server(data_dir, *serverkit.TAKE_BURSTS)  # windows of 100 calls
    try:
        rpc = Rpc(server.channel)
        rpc.set_prices(rpckit.INDEX, rpckit.MARKS)
        account_id = rpc.create("FUTURES").account_id
        rpc.funds.TransferIn(
            fun.TransferInRequest(
                request_id=rpckit.rid(), account_id=account_id, asset="USDT", amount="100000000"
            )
        )
        orders = [
            (
                rpc.trading.PlaceOrder,
                trd.PlaceOrderRequest(
                    request_id=f"order-{i}",
                    account_id=account_id,
                    futures=t.FuturesOrder(
                        symbol="ETHUSDT",
                        side=t.SIDE_BUY,
                        price=str(2000 + i % 500),
                        quantity="0.01",
                        leverage=10,
                    ),
                ),
            )
            for i in range(ORDERS)
        ]
        _in_windows(orders)
        changes: list[tuple[object, object]] = []
        for i in range(CHANGES):
            if i % 2:
                request: object = fun.TransferInRequest(
                    request_id=f"change-{i}", account_id=account_id, asset="USDT", amount="1"
                )
                changes.append((rpc.funds.TransferIn, request))
            else:
                entry = fun.LedgerEntry(kind=t.LEDGER_ENTRY_KIND_REALIZED_PNL, asset="USDT", amount="-0.5")
                request = fun.PostLedgerEntriesRequest(
                    request_id=f"change-{i}", account_id=account_id, entries=[entry]
                )
                changes.append((rpc.funds.PostLedgerEntries, request))
        _in_windows(changes)
        before = rpc.status()
        account_before = rpc.account(account_id)
        assert len(account_before.futures.orders) == ORDERS
        server.signal(signal.SIGKILL)
        assert server.wait() == -signal.SIGKILL
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.wait()

    started = time.monotonic()
    with serverkit.running_server(data_dir) as second:
        restart_s = time.monotonic() - started
        rpc2 = Rpc(second.channel)
        after = rpc2.status()
        assert after.state_hash == before.state_hash and after.journal_seq == before.journal_seq
        assert rpc2.account(account_id) == account_before
        recovered = rpckit.recovered_records(second)[-1]
        # Snapshots by replay cost: far fewer than the ~2,000 changes are replayed.
        assert recovered["replayed"] < ORDERS + CHANGES
        print(f"restart {restart_s:.2f} s, replayed {recovered['replayed']} records")

"""MarketDataService and OperatorService against a real server: price updates (and
their refusals), the SPEC §8 liquidation rule on a price update (orders cancelled; then
LIQUIDATING if still liquidatable) and what a liquidating account refuses, missing
prices, and GetEngineStatus.

Prices are engine-wide, so each test gets a fresh server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import rpckit
from multimargin.v1 import event_service_pb2 as evs
from multimargin.v1 import history_pb2 as h
from rpckit import (
    FAILED_PRECONDITION,
    INVALID_ARGUMENT,
    Rpc,
    acc,
    fun,
    mkt,
    refused,
    rid,
    risk,
    t,
    trd,
    unchanged,
)

LIQUIDATING, ACTIVE = t.ACCOUNT_STATUS_LIQUIDATING, t.ACCOUNT_STATUS_ACTIVE
BUY, SELL = t.SIDE_BUY, t.SIDE_SELL


@pytest.fixture
def rpc(tmp_path: Path) -> Iterator[Rpc]:
    with rpckit.serving(tmp_path / "data") as (_, client):
        yield client


def update(
    index: dict[str, str] | None = None, marks: dict[str, str] | None = None
) -> mkt.UpdatePricesRequest:
    return mkt.UpdatePricesRequest(request_id=rid(), index_prices=index or {}, mark_prices=marks or {})


def changes_by_id(response: mkt.UpdatePricesResponse) -> dict[str, mkt.AccountRiskChange]:
    ids = [a.account_id for a in response.accounts]
    assert ids == sorted(ids)
    return {a.account_id: a for a in response.accounts}


# ---- UpdatePrices / GetPrices -----------------------------------------------------------------


def test_update_prices_replaces_the_listed_prices_only(rpc: Rpc) -> None:
    before = rpc.prices()
    assert before.prices_version == 1  # the fixture's update
    # USDT is listed at 1 whether or not anyone set it (SPEC §2).
    assert dict(before.index_prices) == {**rpckit.INDEX, "USDT": "1"}
    assert dict(before.mark_prices) == rpckit.MARKS

    btc_holder = rpc.create("MARGIN").account_id
    rpc.transfer_in(btc_holder, "BTC", "1")
    eth_holder = rpc.create("FUTURES").account_id
    rpc.transfer_in(eth_holder, "ETH", "1")
    versions = {i: rpc.account(i).version for i in (btc_holder, eth_holder)}

    r = rpc.market.UpdatePrices(update({"BTC": "61000.12345678"}, {"ETHUSDT": "3001"}))
    assert r.prices_version == 2
    # Only accounts whose figures depend on a changed price are re-evaluated; a safe,
    # unchanged one is counted, not listed.
    assert r.accounts_evaluated == 1 and not r.accounts

    after = rpc.prices()
    assert after.prices_version == 2
    assert dict(after.index_prices) == {**rpckit.INDEX, "USDT": "1", "BTC": "61000.12345678"}
    assert dict(after.mark_prices) == {**rpckit.MARKS, "ETHUSDT": "3001"}
    # Canonical form on the way out.
    rpc.market.UpdatePrices(update({"SOL": "0150.50000000"}))
    assert rpc.prices().index_prices["SOL"] == "150.5"
    assert {i: rpc.account(i).version for i in versions} == versions
    assert rpc.risk_of(btc_holder).margin.total_asset_value == "61000.12345678"


def test_update_prices_refusals_reject_the_whole_batch(rpc: Rpc) -> None:
    up = rpc.market.UpdatePrices
    with unchanged(rpc):
        prices = rpc.prices()
        for index, marks, reason, field in (
            ({"USDT": "1.0001"}, {}, "OUT_OF_RANGE", "index_prices.USDT"),
            ({"BTC": "1", "USDT": "0.99999999"}, {}, "OUT_OF_RANGE", "index_prices.USDT"),
            ({"BTC": "70000", "XRP": "1"}, {}, "UNKNOWN_ASSET", "index_prices.XRP"),
            ({"BTC": "70000"}, {"XRPUSDT": "1"}, "UNKNOWN_SYMBOL", "mark_prices.XRPUSDT"),
            ({"BTC": "0"}, {}, "OUT_OF_RANGE", "index_prices.BTC"),
            ({"BTC": "1000000000.00000001"}, {}, "OUT_OF_RANGE", "index_prices.BTC"),
            ({"BTC": "7e4"}, {}, "INVALID_DECIMAL", "index_prices.BTC"),
            ({"BTC": "70000.000000001"}, {}, "INVALID_DECIMAL", "index_prices.BTC"),
            ({}, {"BTCUSDT": "-1"}, "OUT_OF_RANGE", "mark_prices.BTCUSDT"),
            ({}, {}, "INVALID_ARGUMENT", "index_prices"),
            ({f"A{i}": "1" for i in range(1001)}, {}, "OUT_OF_RANGE", "index_prices"),
        ):
            refused(up, update(index, marks), INVALID_ARGUMENT, reason, field)
        assert rpc.prices() == prices
    # USDT at exactly 1 is accepted.
    assert rpc.market.UpdatePrices(update({"USDT": "1"})).prices_version == 2


def test_missing_prices_are_never_defaulted(tmp_path: Path) -> None:
    with rpckit.serving(tmp_path / "bare", prices=False) as (_, rpc):
        assert rpc.prices().prices_version == 0
        f = rpc.create("FUTURES").account_id
        rpc.switch(f, t.ACCOUNT_MODE_MULTI_ASSET)
        rpc.transfer_in(f, "BTC", "1")
        got = rpc.accounts.GetAccount(acc.GetAccountRequest(account_id=f))
        assert not got.HasField("risk")
        with unchanged(rpc, f):
            refused(
                rpc.risk.GetRiskSummary,
                risk.GetRiskSummaryRequest(account_id=f),
                FAILED_PRECONDITION,
                "PRICE_UNAVAILABLE",
            )
            refused(
                rpc.funds.TransferOut,
                fun.TransferOutRequest(request_id=rid(), account_id=f, asset="BTC", amount="0.1"),
                FAILED_PRECONDITION,
                "PRICE_UNAVAILABLE",
            )
            refused(
                rpc.risk.Simulate,
                risk.SimulateRequest(
                    account_id=f,
                    changes=[risk.SimulatedChange(price_shock=risk.PriceShock(asset="BTC", factor="0.5"))],
                ),
                FAILED_PRECONDITION,
                "PRICE_UNAVAILABLE",
                "changes[0].price_shock.asset",
            )
        r = rpc.market.UpdatePrices(update({"BTC": "50000"}))
        assert r.prices_version == 1 and r.accounts_evaluated == 1 and not r.accounts
        assert rpc.risk_of(f).futures.pools[0].value == {"BTC": "48750"}


# ---- SPEC §8 on a price update ----------------------------------------------------------------


def test_futures_account_becomes_liquidating_and_refuses_what_it_must(rpc: Rpc) -> None:
    f = rpc.create("FUTURES").account_id
    rpc.transfer_in(f, "USDT", "1000")
    rpc.set_position(f, symbol="BTCUSDT", size="1", entry_price="60000", leverage=100)
    rpc.place_futures(f, symbol="ETHUSDT", side=BUY, price="3000", quantity="0.1", leverage=10)
    bystander = rpc.create("FUTURES").account_id
    rpc.transfer_in(bystander, "USDT", "5")
    before = rpc.account(f)
    assert before.status == ACTIVE and len(before.futures.orders) == 1

    # Mark 59000: EM = 1000 − 1000 = 0 ≤ MM → liquidatable; cancelling the order does not help.
    r = rpc.market.UpdatePrices(update(marks={"BTCUSDT": "59000"}))
    change = changes_by_id(r)[f]
    assert (change.status, change.liquidatable, change.margin_call) == (LIQUIDATING, True, False)
    assert change.version > before.version
    assert bystander not in changes_by_id(r)
    after = rpc.account(f)
    assert after.status == LIQUIDATING and after.version == change.version
    assert not after.futures.orders
    assert list(after.futures.positions) == list(before.futures.positions)

    with unchanged(rpc, f):
        refused(
            rpc.funds.TransferOut,
            fun.TransferOutRequest(request_id=rid(), account_id=f, asset="USDT", amount="0.00000001"),
            FAILED_PRECONDITION,
            "ACCOUNT_LIQUIDATING",
        )
        opening = t.FuturesOrder(symbol="ETHUSDT", side=BUY, price="3000", quantity="0.01", leverage=10)
        check = rpc.trading.CheckOrder(trd.CheckOrderRequest(account_id=f, futures=opening))
        assert not check.accepted and check.rejections[0].reason == "ACCOUNT_LIQUIDATING"
        refused(
            rpc.trading.PlaceOrder,
            trd.PlaceOrderRequest(request_id=rid(), account_id=f, futures=opening),
            FAILED_PRECONDITION,
            "ACCOUNT_LIQUIDATING",
        )
    # Reduce-only orders are still accepted, and funds may still come in.
    reduce = t.FuturesOrder(symbol="BTCUSDT", side=SELL, price="59000", quantity="0.5")
    assert rpc.trading.CheckOrder(trd.CheckOrderRequest(account_id=f, futures=reduce)).accepted
    placed = rpc.trading.PlaceOrder(trd.PlaceOrderRequest(request_id=rid(), account_id=f, futures=reduce))
    assert placed.account.status == LIQUIDATING and len(placed.account.futures.orders) == 1
    assert rpc.transfer_in(f, "USDT", "5000").account.status == LIQUIDATING
    # A recovering price does not end the liquidation (an operator does).
    rpc.market.UpdatePrices(update(marks={"BTCUSDT": "65000"}))
    assert rpc.account(f).status == LIQUIDATING


def test_margin_accounts_become_liquidating_and_cannot_switch(rpc: Rpc) -> None:
    # Classic: 1 BTC + 100000 borrowed USDT. Pro: 1 BTC + 30000 borrowed USDT.
    classic = rpc.create("MARGIN").account_id
    rpc.transfer_in(classic, "BTC", "1")
    rpc.borrow(classic, "USDT", "100000")
    rpc.accept_terms(classic)
    rpc.place_margin(classic, base="BTC", quote="USDT", side=SELL, price="70000", quantity="0.5")
    pro = rpc.create("MARGIN").account_id
    rpc.transfer_in(pro, "BTC", "1")
    rpc.accept_terms(pro)
    rpc.switch(pro, t.ACCOUNT_MODE_PRO)
    rpc.borrow(pro, "USDT", "30000")
    assert rpc.check_switch(classic, t.ACCOUNT_MODE_PRO).allowed

    r = changes_by_id(rpc.market.UpdatePrices(update({"BTC": "500"})))
    for account_id in (classic, pro):
        assert (r[account_id].status, r[account_id].liquidatable, r[account_id].margin_call) == (
            LIQUIDATING,
            True,
            True,
        )
        account = rpc.account(account_id)
        assert account.status == LIQUIDATING and not account.margin.orders

    for account_id, target in ((classic, t.ACCOUNT_MODE_PRO), (pro, t.ACCOUNT_MODE_CLASSIC)):
        check = rpc.check_switch(account_id, target)
        assert not check.allowed and "ACCOUNT_LIQUIDATING" in [u.reason for u in check.unmet]
        with unchanged(rpc, account_id):
            refused(
                rpc.accounts.SwitchMode,
                acc.SwitchModeRequest(request_id=rid(), account_id=account_id, target_mode=target),
                FAILED_PRECONDITION,
                check.unmet[0].reason,
            )
            refused(
                rpc.funds.Borrow,
                fun.BorrowRequest(request_id=rid(), account_id=account_id, asset="USDT", amount="1"),
                FAILED_PRECONDITION,
                "ACCOUNT_LIQUIDATING",
            )
            refused(
                rpc.funds.TransferOut,
                fun.TransferOutRequest(request_id=rid(), account_id=account_id, asset="USDT", amount="1"),
                FAILED_PRECONDITION,
                "ACCOUNT_LIQUIDATING",
            )
            order = t.MarginOrder(base="BTC", quote="USDT", side=SELL, price="500", quantity="0.1")
            check_order = rpc.trading.CheckOrder(trd.CheckOrderRequest(account_id=account_id, margin=order))
            assert [x.reason for x in check_order.rejections] == ["ACCOUNT_LIQUIDATING"]
            refused(
                rpc.trading.PlaceOrder,
                trd.PlaceOrderRequest(request_id=rid(), account_id=account_id, margin=order),
                FAILED_PRECONDITION,
                "ACCOUNT_LIQUIDATING",
            )
    # Repaying is still possible.
    r2 = rpc.funds.Repay(fun.RepayRequest(request_id=rid(), account_id=classic, asset="USDT", amount="1000"))
    assert r2.account.status == LIQUIDATING and r2.principal_repaid == "999.55"


def test_cancelling_the_orders_can_end_the_liquidation_risk(rpc: Rpc) -> None:
    # Pro: an open BUY of 1 BTC at 60000 has an open-order loss once BTC falls; that loss
    # alone makes the account liquidatable, so cancelling the order is enough (SPEC §8).
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDT", "20000")
    rpc.accept_terms(m)
    rpc.switch(m, t.ACCOUNT_MODE_PRO)
    rpc.borrow(m, "USDT", "40000")
    placed = rpc.place_margin(m, base="BTC", quote="USDT", side=BUY, price="60000", quantity="1")
    assert rpc.risk_of(m).margin.open_order_loss == "0"

    r = changes_by_id(rpc.market.UpdatePrices(update({"BTC": "41000"})))
    assert (r[m].status, r[m].liquidatable, r[m].version) == (ACTIVE, False, placed.account.version + 1)
    after = rpc.account(m)
    assert after.status == ACTIVE and not after.margin.orders and after.version == r[m].version
    assert dict(after.margin.holdings) == dict(placed.account.margin.holdings)
    # The events say so: the order cancelled for the liquidation, and no liquidation.
    seq = rpc.status().event_seq
    stream = rpc.events.WatchEvents(evs.WatchEventsRequest(account_ids=[m]), timeout=30)
    risk_events = []
    for message in stream:
        if message.event.kind not in (h.EVENT_KIND_INTEREST_CHARGED, h.EVENT_KIND_REPAID):
            risk_events.append(message.event)
        if message.event.seq >= seq or message.event.kind == h.EVENT_KIND_ORDERS_CANCELLED:
            break
    stream.cancel()
    (cancelled,) = risk_events
    assert (cancelled.kind, cancelled.cancel_reason, list(cancelled.order_ids)) == (
        h.EVENT_KIND_ORDERS_CANCELLED,
        h.CANCEL_REASON_LIQUIDATION,
        [placed.order_id],
    )
    assert cancelled.risk.margin.liquidatable  # the figures that called for it
    # Placed again now, the order is accepted (SPEC §6 checks free funds only) but the
    # re-evaluation after the change cancels it at once (SPEC §8).
    again = rpc.place_margin(m, base="BTC", quote="USDT", side=BUY, price="60000", quantity="1")
    assert again.account.status == ACTIVE and not again.account.margin.orders


# ---- OperatorService ------------------------------------------------------------------------


def test_engine_status_follows_the_journal(rpc: Rpc) -> None:
    s0 = rpc.status()
    assert s0.journal_seq == 2  # the rulebook, the fixture's prices
    assert (s0.accounts, s0.snapshot_seq) == (0, 0)
    assert len(s0.state_hash) == 64 and int(s0.state_hash, 16) >= 0

    f = rpc.create("FUTURES").account_id
    s1 = rpc.status()
    assert (s1.journal_seq, s1.accounts) == (3, 1) and s1.state_hash != s0.state_hash
    rpc.transfer_in(f, "USDT", "1")
    s2 = rpc.status()
    assert s2.journal_seq == 4 and s2.state_hash != s1.state_hash

    # Reads and refusals journal nothing and change nothing.
    rpc.account(f)
    rpc.risk_of(f)
    with pytest.raises(grpc.RpcError):
        rpc.transfer_in(f, "USDT", "-1")
    assert rpc.status() == s2


def test_a_settlement_price_move_re_evaluates_its_positions(rpc: Rpc) -> None:
    # SPEC §5.2: position MM and upnl are valued at p(settlement); an account with a
    # USDC-settled position depends on the USDC index price even without USDC in its wallet.
    f = rpc.create("FUTURES").account_id
    rpc.transfer_in(f, "USDT", "1000")
    rpc.switch(f, t.ACCOUNT_MODE_MULTI_ASSET)
    rpc.set_prices({"USDC": "1"}, {"BTCUSDC": "59500"})
    rpc.set_position(f, symbol="BTCUSDC", size="1", entry_price="60000", leverage=100)
    assert not rpc.risk_of(f).futures.liquidatable
    r = rpc.market.UpdatePrices(update({"USDC": "1.25"}))
    change = changes_by_id(r)[f]
    assert change.liquidatable and change.status == LIQUIDATING

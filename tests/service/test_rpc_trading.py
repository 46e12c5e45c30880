"""TradingService and RiskService against a real server: positions, the order check
(every rejection reason), placing and cancelling orders; risk summaries equal to
:func:`multimargin.evaluate` of the same state, and simulations that change nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import multimargin
import pytest
import rpckit
from rpckit import (
    FAILED_PRECONDITION,
    INVALID_ARGUMENT,
    NOT_FOUND,
    Rpc,
    ceil8,
    new_id,
    refused,
    rid,
    risk,
    risk_result,
    scenario_of,
    t,
    trd,
    unchanged,
    wire,
)

BUY, SELL = t.SIDE_BUY, t.SIDE_SELL
MULTI, PRO = t.ACCOUNT_MODE_MULTI_ASSET, t.ACCOUNT_MODE_PRO


@pytest.fixture(scope="module")
def rpc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rpc]:
    with rpckit.serving(tmp_path_factory.mktemp("trading") / "data") as (_, client):
        yield client


def position_request(account_id: str, **position: Any) -> trd.SetPositionRequest:
    return trd.SetPositionRequest(request_id=rid(), account_id=account_id, position=t.Position(**position))


def check_futures(rpc: Rpc, account_id: str, **order: Any) -> trd.CheckOrderResponse:
    return rpc.trading.CheckOrder(
        trd.CheckOrderRequest(account_id=account_id, futures=t.FuturesOrder(**order))
    )


def place_futures(
    account_id: str, expected_version: int | None = None, **order: Any
) -> trd.PlaceOrderRequest:
    request = trd.PlaceOrderRequest(request_id=rid(), account_id=account_id, futures=t.FuturesOrder(**order))
    if expected_version is not None:
        request.expected_version = expected_version
    return request


def futures_account(rpc: Rpc, usdt: str = "10000", mode: int | None = None) -> str:
    f = rpc.create("FUTURES").account_id
    if mode is not None:
        rpc.switch(f, mode)
    rpc.transfer_in(f, "USDT", usdt)
    return f


# ---- SetPosition --------------------------------------------------------------------------


def test_set_position_creates_replaces_and_removes(rpc: Rpc) -> None:
    f = futures_account(rpc)
    a = rpc.set_position(f, symbol="ETHUSDT", size="-2", entry_price="3100", leverage=10)
    a = rpc.set_position(f, symbol="BTCUSDT", size="0.1", entry_price="59000", leverage=20)
    assert [(p.symbol, p.size) for p in a.futures.positions] == [("BTCUSDT", "0.1"), ("ETHUSDT", "-2")]
    assert a.version == 4
    a = rpc.set_position(f, symbol="BTCUSDT", size="0.25", entry_price="59500.5", leverage=25)
    (btc,) = [p for p in a.futures.positions if p.symbol == "BTCUSDT"]
    assert (btc.size, btc.entry_price, btc.leverage, btc.isolated, btc.isolated_margin) == (
        "0.25",
        "59500.5",
        25,
        False,
        "",
    )
    # An isolated position is a pool of its own.
    a = rpc.set_position(
        f, symbol="SOLUSDT", size="10", entry_price="140", leverage=5, isolated=True, isolated_margin="300"
    )
    (sol,) = [p for p in a.futures.positions if p.symbol == "SOLUSDT"]
    assert sol.isolated and sol.isolated_margin == "300"
    pools = {p.id: p for p in rpc.risk_of(f).futures.pools}
    assert set(pools) == {"USDT", "ISOLATED:SOLUSDT"}
    assert pools["ISOLATED:SOLUSDT"].effective_margin == "400"  # 300 + 10 × (150 − 140)

    # Size "0" removes the position; entry price and leverage are then not required.
    a = rpc.set_position(f, symbol="SOLUSDT", size="0")
    a = rpc.set_position(f, symbol="ETHUSDT", size="0", entry_price="3100", leverage=10)
    assert [p.symbol for p in a.futures.positions] == ["BTCUSDT"]
    assert [p.id for p in rpc.risk_of(f).futures.pools] == ["USDT"]


def test_set_position_refusals_change_nothing(rpc: Rpc) -> None:
    multi = futures_account(rpc, mode=MULTI)
    single = futures_account(rpc)
    margin = rpc.create("MARGIN").account_id
    sp = rpc.trading.SetPosition
    ok = {"size": "1", "entry_price": "250", "leverage": 5}
    with unchanged(rpc, multi, single, margin):
        # SPEC §9: MULTI_ASSET allows only cross, traded, linear USDT/USDC STANDARD contracts.
        # The refusal names the field at fault.
        for position, field in (
            ({"symbol": "TSLAUSDT", **ok}, "position.symbol"),
            ({"symbol": "BTCUSDT", **ok, "isolated": True, "isolated_margin": "100"}, "position.isolated"),
            ({"symbol": "BTCUSDT", **ok, "airdrop": True}, "position.airdrop"),
        ):
            refused(
                sp,
                position_request(multi, **position),
                FAILED_PRECONDITION,
                "CONTRACT_NOT_ALLOWED_IN_MODE",
                field,
            )
        # INVERSE contracts are refused in every mode.
        for account_id in (multi, single):
            refused(
                sp,
                position_request(account_id, symbol="BTCUSD", **ok),
                INVALID_ARGUMENT,
                "CONTRACT_NOT_SUPPORTED",
                "position.symbol",
            )
        refused(
            sp,
            position_request(margin, symbol="BTCUSDT", **ok),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "account_id",
        )
        refused(
            sp,
            position_request(single, symbol="XRPUSDT", **ok),
            INVALID_ARGUMENT,
            "UNKNOWN_SYMBOL",
            "position.symbol",
        )
        refused(
            sp,
            trd.SetPositionRequest(request_id=rid(), account_id=single),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "position",
        )
        refused(
            sp,
            position_request(single, symbol="BTCUSDT", size="1", entry_price="250", leverage=0),
            INVALID_ARGUMENT,
            "OUT_OF_RANGE",
            "position.leverage",
        )
        refused(
            sp,
            position_request(single, symbol="BTCUSDT", size="1", leverage=5),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "position.entry_price",
        )
        refused(
            sp,
            position_request(single, symbol="BTCUSDT", size="1.000000001", entry_price="1", leverage=5),
            INVALID_ARGUMENT,
            "INVALID_DECIMAL",
            "position.size",
        )
    # The same contracts are fine in SINGLE_ASSET, and USDC-settled ones in MULTI_ASSET.
    rpc.set_position(single, symbol="TSLAUSDT", **ok)
    rpc.set_position(single, symbol="BTCUSDT", **ok, isolated=True, isolated_margin="100")
    rpc.set_position(multi, symbol="BTCUSDC", **ok)


# ---- CheckOrder / PlaceOrder / CancelOrder ----------------------------------------------------


def test_check_order_accepts_and_reports_the_margin(rpc: Rpc) -> None:
    f = futures_account(rpc, "1000")
    with unchanged(rpc, f):
        c = check_futures(rpc, f, symbol="BTCUSDT", side=BUY, price="59000", quantity="0.01", leverage=7)
    assert c.accepted and not c.rejections
    assert c.order_initial_margin == wire(ceil8(Decimal("590") / 7)) == "84.28571429"
    assert c.available == "1000" and c.version == rpc.account(f).version

    # A reduce-only order (against the current position) opens nothing: IM 0, always accepted.
    rpc.set_position(f, symbol="BTCUSDT", size="0.5", entry_price="60000", leverage=100)
    c = check_futures(rpc, f, symbol="BTCUSDT", side=SELL, price="61000", quantity="0.5")
    assert c.accepted and c.order_initial_margin == "0"
    # A BUY of 0.7 against a short of 0.5 opens 0.2 (leverage from the position).
    rpc.set_position(f, symbol="BTCUSDT", size="-0.5", entry_price="60000", leverage=100)
    c = check_futures(rpc, f, symbol="BTCUSDT", side=BUY, price="60000", quantity="0.7")
    assert c.accepted and c.order_initial_margin == "120"


@pytest.mark.parametrize(
    ("order", "reasons"),
    [
        ({"symbol": "BTCUSDT", "price": "60000", "quantity": "2", "leverage": 10}, ["INSUFFICIENT_MARGIN"]),
        (
            {"symbol": "BTCUSDT", "price": "60000", "quantity": "0.01", "leverage": 126},
            ["LEVERAGE_EXCEEDS_TIER"],
        ),
        # 20 BTC × 60000 = 1.2M: past tier 1 (max 125x) even though the order alone fits the margin.
        (
            {"symbol": "BTCUSDT", "price": "60000", "quantity": "20", "leverage": 125},
            ["LEVERAGE_EXCEEDS_TIER"],
        ),
        # SOLUSDT's last tier is bounded at 5M notional.
        (
            {"symbol": "SOLUSDT", "price": "150", "quantity": "40000", "leverage": 100},
            ["RISK_LIMIT_EXCEEDED", "INSUFFICIENT_MARGIN"],
        ),
    ],
)
def test_futures_order_rejections(rpc: Rpc, order: dict[str, Any], reasons: list[str]) -> None:
    f = futures_account(rpc, "10000")
    with unchanged(rpc, f):
        c = check_futures(rpc, f, side=BUY, **order)
        assert not c.accepted
        assert [r.reason for r in c.rejections] == reasons
        assert all(r.message for r in c.rejections)
        r = refused(
            rpc.trading.PlaceOrder, place_futures(f, side=BUY, **order), FAILED_PRECONDITION, reasons[0]
        )
        if len(reasons) > 1:
            assert [v[0] for v in r.violations] == reasons


def test_order_not_allowed_in_multi_asset_mode(rpc: Rpc) -> None:
    f = futures_account(rpc, mode=MULTI)
    order = {"symbol": "TSLAUSDT", "side": BUY, "price": "250", "quantity": "1", "leverage": 5}
    with unchanged(rpc, f):
        c = check_futures(rpc, f, **order)
        assert [r.reason for r in c.rejections] == ["CONTRACT_NOT_ALLOWED_IN_MODE"]
        refused(
            rpc.trading.PlaceOrder,
            place_futures(f, **order),
            FAILED_PRECONDITION,
            "CONTRACT_NOT_ALLOWED_IN_MODE",
        )
        inverse = t.FuturesOrder(**{**order, "symbol": "BTCUSD"})
        refused(
            rpc.trading.CheckOrder,
            trd.CheckOrderRequest(account_id=f, futures=inverse),
            INVALID_ARGUMENT,
            "CONTRACT_NOT_SUPPORTED",
            "futures.symbol",
        )
        refused(
            rpc.trading.PlaceOrder,
            trd.PlaceOrderRequest(request_id=rid(), account_id=f, futures=inverse),
            INVALID_ARGUMENT,
            "CONTRACT_NOT_SUPPORTED",
            "futures.symbol",
        )


def test_margin_order_check_uses_free_balance(rpc: Rpc) -> None:
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDT", "1000")
    rpc.transfer_in(m, "BTC", "0.1")

    def check(**order: Any) -> trd.CheckOrderResponse:
        return rpc.trading.CheckOrder(trd.CheckOrderRequest(account_id=m, margin=t.MarginOrder(**order)))

    buy = {"base": "BTC", "quote": "USDT", "side": BUY, "price": "60000"}
    c = check(**buy, quantity="0.01")
    assert (c.accepted, c.available, c.order_initial_margin) == (True, "1000", "")
    c = check(**buy, quantity="0.02")
    assert not c.accepted and [r.reason for r in c.rejections] == ["INSUFFICIENT_BALANCE"]
    c = check(base="BTC", quote="USDT", side=SELL, price="60000", quantity="0.1")
    assert c.accepted and c.available == "0.1"

    placed = rpc.place_margin(m, **buy, quantity="0.01", order_id="gw-1")
    assert placed.order_id == "gw-1"
    # The open BUY locks 600 USDT: only 400 is free now.
    c = check(**buy, quantity="0.01")
    assert not c.accepted and c.available == "400"
    with unchanged(rpc, m):
        refused(
            rpc.trading.PlaceOrder,
            trd.PlaceOrderRequest(
                request_id=rid(), account_id=m, margin=t.MarginOrder(**buy, quantity="0.01")
            ),
            FAILED_PRECONDITION,
            "INSUFFICIENT_BALANCE",
        )
    rpc.trading.CancelOrder(trd.CancelOrderRequest(request_id=rid(), account_id=m, order_id="gw-1"))
    assert check(**buy, quantity="0.01").available == "1000"


def test_place_order_records_the_order(rpc: Rpc) -> None:
    f = futures_account(rpc, "1000")
    order = {"symbol": "ETHUSDT", "side": BUY, "price": "2900", "quantity": "1.5", "leverage": 10}
    check = check_futures(rpc, f, **order)
    assert check.accepted
    placed = rpc.trading.PlaceOrder(
        place_futures(f, **order, order_id="gw-77", expected_version=check.version)
    )
    assert placed.order_id == "gw-77" and placed.account.version == check.version + 1
    (recorded,) = placed.account.futures.orders
    assert recorded == t.FuturesOrder(order_id="gw-77", **order)
    # Without an id the engine assigns one; orders stay in placement order.
    second = rpc.trading.PlaceOrder(
        place_futures(f, symbol="BTCUSDT", side=SELL, price="61000", quantity="0.01", leverage=5)
    )
    assert second.order_id and second.order_id != "gw-77"
    assert [o.order_id for o in second.account.futures.orders] == ["gw-77", second.order_id]
    # The open orders reserve their initial margin: 435 + 122.
    (pool,) = rpc.risk_of(f).futures.pools
    assert (pool.initial_margin, pool.available) == ("557", "443")

    with unchanged(rpc, f):
        refused(
            rpc.trading.PlaceOrder,
            place_futures(f, **order, order_id="gw-77"),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "futures.order_id",
        )
        refused(
            rpc.trading.PlaceOrder,
            trd.PlaceOrderRequest(
                request_id=rid(),
                account_id=f,
                margin=t.MarginOrder(base="BTC", quote="USDT", side=BUY, price="1", quantity="1"),
            ),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "account_id",
        )
        refused(
            rpc.trading.PlaceOrder,
            trd.PlaceOrderRequest(request_id=rid(), account_id=f),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "order",
        )
        refused(
            rpc.trading.PlaceOrder,
            place_futures(f, symbol="BTCUSDT", side=BUY, price="60000", quantity="0.01"),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "futures.leverage",
        )
        refused(
            rpc.trading.PlaceOrder,
            place_futures(new_id(), **order),
            NOT_FOUND,
            "ACCOUNT_NOT_FOUND",
            "account_id",
        )


def test_cancel_order(rpc: Rpc) -> None:
    f = futures_account(rpc, "1000")
    placed = rpc.trading.PlaceOrder(
        place_futures(f, symbol="ETHUSDT", side=BUY, price="3000", quantity="1", leverage=10)
    )
    cancel = rpc.trading.CancelOrder
    with unchanged(rpc, f):
        refused(
            cancel,
            trd.CancelOrderRequest(request_id=rid(), account_id=f, order_id="no-such-order"),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "order_id",
        )
        refused(
            cancel,
            trd.CancelOrderRequest(request_id=rid(), account_id=f, order_id=""),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "order_id",
        )
        refused(
            cancel,
            trd.CancelOrderRequest(request_id=rid(), account_id=new_id(), order_id=placed.order_id),
            NOT_FOUND,
            "ACCOUNT_NOT_FOUND",
            "account_id",
        )
    done = cancel(trd.CancelOrderRequest(request_id=rid(), account_id=f, order_id=placed.order_id)).account
    assert not done.futures.orders and done.version == placed.account.version + 1
    assert rpc.risk_of(f).futures.pools[0].available == "1000"
    # Gone: a second cancel is an unknown order.
    refused(
        cancel,
        trd.CancelOrderRequest(request_id=rid(), account_id=f, order_id=placed.order_id),
        INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        "order_id",
    )


# ---- GetRiskSummary = multimargin.evaluate ---------------------------------------------------------


def build_futures_single(rpc: Rpc) -> str:
    f = futures_account(rpc, "5000")
    rpc.transfer_in(f, "USDC", "2000")
    rpc.transfer_in(f, "BTC", "0.3")  # not collateral in SINGLE_ASSET
    rpc.set_position(f, symbol="BTCUSDT", size="0.1", entry_price="58000", leverage=20)
    rpc.set_position(f, symbol="ETHUSDC", size="-2", entry_price="3100.5", leverage=10)
    rpc.set_position(
        f, symbol="SOLUSDT", size="10", entry_price="140", leverage=5, isolated=True, isolated_margin="300"
    )
    rpc.place_futures(f, symbol="BTCUSDT", side=SELL, price="61000", quantity="0.05")
    rpc.place_futures(f, symbol="ETHUSDT", side=BUY, price="2900", quantity="1", leverage=25)
    rpc.place_futures(f, symbol="SOLUSDT", side=BUY, price="149", quantity="3", leverage=7)
    return f


def build_futures_multi(rpc: Rpc) -> str:
    f = rpc.create("FUTURES").account_id
    rpc.switch(f, MULTI)
    for asset, amount in (("BTC", "0.5"), ("ETH", "150"), ("MX", "25000"), ("USDC", "100")):
        rpc.transfer_in(f, asset, amount)
    rpc.post(f, ("USDT", "-2000.5"))
    rpc.set_position(f, symbol="BTCUSDT", size="1", entry_price="61000", leverage=50)
    rpc.set_position(f, symbol="ETHUSDC", size="-5", entry_price="2950", leverage=20)
    rpc.place_futures(f, symbol="SOLUSDT", side=BUY, price="140", quantity="100", leverage=10)
    return f


def build_margin_classic(rpc: Rpc, region: str = "") -> str:
    m = rpc.create("MARGIN", region=region).account_id
    for asset, amount in (("BTC", "0.3"), ("ETH", "2"), ("MX", "10000"), ("DOGE", "50000")):
        rpc.transfer_in(m, asset, amount)
    rpc.borrow(m, "USDT", "5000")
    rpc.borrow(m, "ETH", "0.5")
    rpc.place_margin(m, base="ETH", quote="USDT", side=SELL, price="3100", quantity="1")
    rpc.place_margin(m, base="BTC", quote="USDT", side=BUY, price="59000", quantity="0.01")
    return m


def build_margin_pro(rpc: Rpc, region: str = "") -> str:
    m = build_margin_classic(rpc, region)
    rpc.accept_terms(m)
    rpc.switch(m, PRO)
    rpc.borrow(m, "BTC", "0.05")
    rpc.place_margin(m, base="SOL", quote="USDT", side=BUY, price="160", quantity="5")
    return m


BUILDERS: dict[str, Callable[[Rpc], str]] = {
    "empty-futures": lambda rpc: rpc.create("FUTURES").account_id,
    "empty-margin": lambda rpc: rpc.create("MARGIN").account_id,
    "futures-single": build_futures_single,
    "futures-multi": build_futures_multi,
    "margin-classic": build_margin_classic,
    "margin-pro": build_margin_pro,
    "margin-pro-restricted-region": lambda rpc: build_margin_pro(rpc, "FR"),
}


@pytest.mark.parametrize("shape", list(BUILDERS))
def test_risk_summary_equals_evaluate_of_the_same_state(rpc: Rpc, shape: str) -> None:
    account_id = BUILDERS[shape](rpc)
    got = rpc.accounts.GetAccount(rpckit.acc.GetAccountRequest(account_id=account_id))
    summary = rpc.risk.GetRiskSummary(risk.GetRiskSummaryRequest(account_id=account_id))
    assert summary.version == got.account.version
    assert summary.risk == got.risk
    assert got.account.status == t.ACCOUNT_STATUS_ACTIVE

    expected = multimargin.evaluate(scenario_of(got.account, rpc.prices()))
    assert risk_result(summary.risk, got.account.mode) == expected


def test_risk_summary_of_an_unknown_account(rpc: Rpc) -> None:
    refused(
        rpc.risk.GetRiskSummary,
        risk.GetRiskSummaryRequest(account_id=new_id()),
        NOT_FOUND,
        "ACCOUNT_NOT_FOUND",
        "account_id",
    )


# ---- Simulate ---------------------------------------------------------------------------------


def simulate(rpc: Rpc, account_id: str, *changes: risk.SimulatedChange) -> risk.SimulateResponse:
    return rpc.risk.Simulate(risk.SimulateRequest(account_id=account_id, changes=list(changes)))


def test_simulate_without_changes_is_the_risk_summary(rpc: Rpc) -> None:
    f = build_futures_single(rpc)
    with unchanged(rpc, f):
        sim = simulate(rpc, f)
    assert sim.risk == rpc.risk_of(f) and sim.version == rpc.account(f).version


def test_simulate_futures_changes_nothing_and_matches_evaluate(rpc: Rpc) -> None:
    f = build_futures_single(rpc)
    account, prices = rpc.account(f), rpc.prices()
    changes = [
        risk.SimulatedChange(price_shock=risk.PriceShock(asset="BTC", factor="0.33333333")),
        risk.SimulatedChange(price_shock=risk.PriceShock(symbol="BTCUSDT", price="55000.5")),
        risk.SimulatedChange(transfer=risk.SimulatedTransfer(asset="USDT", amount="-1000.5")),
        risk.SimulatedChange(
            position=t.Position(symbol="ETHUSDT", size="3", entry_price="2990", leverage=15)
        ),
        risk.SimulatedChange(position=t.Position(symbol="SOLUSDT", size="0")),
        risk.SimulatedChange(
            futures_order=t.FuturesOrder(
                symbol="BTCUSDT", side=BUY, price="54000", quantity="0.2", leverage=20
            )
        ),
    ]
    with unchanged(rpc, f):
        sim = simulate(rpc, f, *changes)
    assert sim.version == account.version

    expected = scenario_of(account, prices)
    btc = (Decimal(prices.index_prices["BTC"]) * Decimal("0.33333333")).quantize(Decimal("1e-8"), ROUND_FLOOR)
    expected["prices"]["BTC"] = wire(btc)
    expected["marks"]["BTCUSDT"] = "55000.5"
    wallet = expected["account"]["wallet"]
    wallet["USDT"] = wire(Decimal(wallet["USDT"]) - Decimal("1000.5"))
    positions = [p for p in expected["account"]["positions"] if p["symbol"] != "SOLUSDT"]
    positions.append({"symbol": "ETHUSDT", "size": "3", "entry_price": "2990", "leverage": 15})
    expected["account"]["positions"] = positions
    expected["account"]["orders"].append(
        {"symbol": "BTCUSDT", "side": "BUY", "price": "54000", "quantity": "0.2", "leverage": 20}
    )
    assert risk_result(sim.risk, account.mode) == multimargin.evaluate(expected)
    assert sim.risk != rpc.risk_of(f)


@pytest.mark.parametrize("builder", [build_margin_classic, build_margin_pro])
def test_simulate_margin_changes_nothing_and_matches_evaluate(
    rpc: Rpc, builder: Callable[[Rpc], str]
) -> None:
    m = builder(rpc)
    account, prices = rpc.account(m), rpc.prices()
    changes = [
        risk.SimulatedChange(borrow=risk.SimulatedBorrow(asset="USDT", amount="1000")),
        risk.SimulatedChange(transfer=risk.SimulatedTransfer(asset="BTC", amount="0.1")),
        risk.SimulatedChange(transfer=risk.SimulatedTransfer(asset="MX", amount="-10000")),
        risk.SimulatedChange(
            margin_order=t.MarginOrder(base="SOL", quote="USDT", side=BUY, price="150", quantity="10")
        ),
        risk.SimulatedChange(price_shock=risk.PriceShock(asset="ETH", price="2500")),
    ]
    with unchanged(rpc, m):
        sim = simulate(rpc, m, *changes)
    assert sim.version == account.version

    expected = copy.deepcopy(scenario_of(account, prices))
    a = expected["account"]

    def add(book: dict[str, str], asset: str, amount: str) -> None:
        total = Decimal(book.get(asset, "0")) + Decimal(amount)
        if total:
            book[asset] = wire(total)
        else:
            book.pop(asset, None)

    # A simulated borrow is applied as Borrow applies it, first hour's interest included.
    add(a["holdings"], "USDT", "1000")
    add(a["borrowed"], "USDT", "1000")
    add(a["interest"], "USDT", wire(ceil8(Decimal(1000) * Decimal("0.0000045"))))
    add(a["holdings"], "BTC", "0.1")
    add(a["holdings"], "MX", "-10000")
    a["orders"].append({"base": "SOL", "quote": "USDT", "side": "BUY", "price": "150", "quantity": "10"})
    expected["prices"]["ETH"] = "2500"
    assert risk_result(sim.risk, account.mode) == multimargin.evaluate(expected)


def test_simulate_a_no_op_usdt_shock(rpc: Rpc) -> None:
    m = build_margin_classic(rpc)
    sim = simulate(rpc, m, risk.SimulatedChange(price_shock=risk.PriceShock(asset="USDT", factor="1")))
    assert sim.risk == rpc.risk_of(m)


def test_simulate_refusals(rpc: Rpc) -> None:
    m = build_margin_classic(rpc)
    f = futures_account(rpc)
    sim = rpc.risk.Simulate

    def request(account_id: str, *changes: risk.SimulatedChange) -> risk.SimulateRequest:
        return risk.SimulateRequest(account_id=account_id, changes=list(changes))

    with unchanged(rpc, m, f):
        refused(sim, request(new_id()), NOT_FOUND, "ACCOUNT_NOT_FOUND", "account_id")
        refused(sim, request(m, risk.SimulatedChange()), INVALID_ARGUMENT, "INVALID_ARGUMENT", "changes[0]")
        refused(
            sim,
            request(
                m, *[risk.SimulatedChange(transfer=risk.SimulatedTransfer(asset="USDT", amount="1"))] * 101
            ),
            INVALID_ARGUMENT,
            "OUT_OF_RANGE",
            "changes",
        )
        # Margin holdings cannot go negative, even in a simulation.
        refused(
            sim,
            request(m, risk.SimulatedChange(transfer=risk.SimulatedTransfer(asset="SOL", amount="-1"))),
            INVALID_ARGUMENT,
            "OUT_OF_RANGE",
            "changes[0].transfer.amount",
        )
        refused(
            sim,
            request(m, risk.SimulatedChange(price_shock=risk.PriceShock(asset="USDT", price="1.01"))),
            INVALID_ARGUMENT,
            "OUT_OF_RANGE",
            "changes[0].price_shock.asset",
        )
        # p(USDT) is 1 whether or not it was ever listed: it cannot move, by price or factor.
        refused(
            sim,
            request(m, risk.SimulatedChange(price_shock=risk.PriceShock(asset="USDT", factor="1.1"))),
            INVALID_ARGUMENT,
            "OUT_OF_RANGE",
            "changes[0].price_shock.asset",
        )
        refused(
            sim,
            request(m, risk.SimulatedChange(price_shock=risk.PriceShock(asset="BTC", factor="1e-3"))),
            INVALID_ARGUMENT,
            "INVALID_DECIMAL",
            "changes[0].price_shock.factor",
        )
        refused(
            sim,
            request(m, risk.SimulatedChange(price_shock=risk.PriceShock(symbol="XRPUSDT", price="1"))),
            INVALID_ARGUMENT,
            "UNKNOWN_SYMBOL",
            "changes[0].price_shock.symbol",
        )
        refused(
            sim,
            request(
                m,
                risk.SimulatedChange(
                    position=t.Position(symbol="BTCUSDT", size="1", entry_price="1", leverage=1)
                ),
            ),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "account_id",
        )
        refused(
            sim,
            request(f, risk.SimulatedChange(borrow=risk.SimulatedBorrow(asset="USDT", amount="1"))),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "account_id",
        )
        # DOGE cannot be borrowed: the simulated state is outside the state domain.
        refused(
            sim,
            request(m, risk.SimulatedChange(borrow=risk.SimulatedBorrow(asset="DOGE", amount="1"))),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "changes",
        )


def test_generated_order_ids_never_replace_an_open_order(rpc: Rpc) -> None:
    f = futures_account(rpc, usdt="100000")
    version = rpc.account(f).version
    # A caller-chosen id equal to the id the engine would generate next-but-one.
    taken = f"o{version + 2}"
    rpc.place_futures(
        f, order_id=taken, symbol="ETHUSDT", side=t.SIDE_BUY, price="3000", quantity="1", leverage=10
    )
    r = rpc.place_futures(f, symbol="ETHUSDT", side=t.SIDE_BUY, price="2000", quantity="2", leverage=10)
    assert r.order_id != taken
    orders = {o.order_id: (o.price, o.quantity) for o in r.account.futures.orders}
    assert orders == {taken: ("3000", "1"), r.order_id: ("2000", "2")}


def test_an_order_keeps_the_leverage_it_was_accepted_with(rpc: Rpc) -> None:
    # SPEC §5.1: an order without leverage takes the position's; fixed at acceptance, so
    # closing or re-levering the position neither re-margins nor orphans the order.
    f = futures_account(rpc, usdt="100000")
    rpc.set_position(f, symbol="ETHUSDT", size="1", entry_price="3000", leverage=10)
    r = rpc.place_futures(f, symbol="ETHUSDT", side=t.SIDE_BUY, price="3000", quantity="2")
    (order,) = r.account.futures.orders
    assert order.HasField("leverage") and order.leverage == 10
    closed = rpc.set_position(f, symbol="ETHUSDT", size="0")
    assert not closed.futures.positions and len(closed.futures.orders) == 1
    (pool,) = rpc.risk_of(f).futures.pools
    assert pool.initial_margin == "600"  # 2 × 3000 / 10

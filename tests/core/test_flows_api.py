"""The Python face of the core's money flows (SPEC §6–§8) and typed settings (§3.4):
result shapes match the TypedDicts, errors carry SPEC §11 reasons and request fields,
cancelled orders are named by their ids."""

from __future__ import annotations

from typing import Any, get_type_hints

import multimargin
import pytest
from multimargin.errors import InvalidInputError, PriceUnavailableError, RuleViolationError
from multimargin.flowtypes import Flow, FlowRecord, RiskFigures, RiskTransition

RB = multimargin.default_rulebook()


def keys(td: Any) -> set[str]:
    return set(get_type_hints(td))


def margin(**state: Any) -> multimargin.Account:
    return multimargin.Account.from_state(RB, {"kind": "MARGIN", **state})


def futures(**state: Any) -> multimargin.Account:
    return multimargin.Account.from_state(RB, {"kind": "FUTURES", **state})


def order(order_id: str, qty: str) -> dict[str, str]:
    return {
        "order_id": order_id,
        "base": "BTC",
        "quote": "USDT",
        "side": "BUY",
        "price": "100",
        "quantity": qty,
    }


def test_settings_are_typed_with_spec_defaults() -> None:
    s = RB.settings
    assert (s.liquidation_threshold("FUTURES"), s.liquidation_threshold("CLASSIC")) == ("1", "1.1")
    assert (s.mcr_default("CLASSIC"), s.mcr_default("PRO"), s.mcr_range) == ("1.3", "1.5", ("1.3", "2"))
    assert (s.classic_transfer_bar, s.pro_switch_in_bar, s.restricted_imr_floor) == ("2", "2", "0.1112")
    assert s.payer_order[0] == "USDT" and "FR" in s.restricted_regions
    assert s.linear_settlement_assets == ["USDC", "USDT"]
    assert s.check_mcr("1.30000000") == "1.3"
    with pytest.raises(InvalidInputError) as e:
        s.check_mcr("2.00000001")
    assert (e.value.reason, e.value.field) == ("OUT_OF_RANGE", "ratio")
    with pytest.raises(InvalidInputError) as e:
        s.liquidation_threshold("SPOT")  # type: ignore[arg-type]
    assert (e.value.reason, e.value.field) == ("INVALID_ARGUMENT", "mode")
    liability = s.liability("USDT")
    assert liability is not None and set(liability) == {
        "hourly_rate",
        "interest_free",
        "mmr",
        "auto_repay_threshold",
        "auto_repay_ratio",
    }
    assert s.liability("SOL") is None and s.borrow_hourly_rate("USDT") == "0.0000045"
    with pytest.raises(InvalidInputError) as e:
        s.discount("XRP")
    assert (e.value.reason, e.value.field) == ("UNKNOWN_ASSET", "asset")
    assert multimargin.Settings(RB).payer_order == s.payer_order


def test_flows_return_new_values_and_records() -> None:
    market = multimargin.Market(RB, {"BTC": "60000"})
    flow = multimargin.borrow(margin(holdings={"USDT": "1000"}), market, "USDT", "100")
    assert set(flow) == keys(Flow)
    assert (flow["holdings"], flow["borrowed"], flow["interest"]) == (
        {"USDT": "1100"},
        {"USDT": "100"},
        {"USDT": "0.00045"},
    )
    (record,) = flow["records"]
    assert set(record) == keys(FlowRecord)
    assert (record["kind"], record["amount"], record["base"], record["payer_asset"]) == (
        "INTEREST",
        "0.00045",
        "100",
        "",
    )
    paid = multimargin.transfer_in(futures(wallet={"USDT": "-10"}), "USDT", "25")
    assert paid["wallet"] == {"USDT": "15"} and paid["records"][0]["kind"] == "REPAY_TRANSFER_IN"


def test_refusals_carry_reason_and_request_field() -> None:
    market = multimargin.Market(RB, {"BTC": "60000"})
    acct = futures(mode="MULTI_ASSET", wallet={"USDT": "-100", "BTC": "1"})
    cases: list[tuple[Any, type[Exception], str, str | None]] = [
        (
            lambda: multimargin.repay_futures(acct, market, "USDT", "USDT", "1"),
            InvalidInputError,
            "INVALID_ARGUMENT",
            "payer_asset",
        ),
        (
            lambda: multimargin.repay_futures(acct, market, "USDT", "BTC", "101"),
            InvalidInputError,
            "OUT_OF_RANGE",
            "amount",
        ),
        (
            lambda: multimargin.repay_futures(acct, multimargin.Market(RB), "USDT", "BTC"),
            PriceUnavailableError,
            "PRICE_UNAVAILABLE",
            "payer_asset",
        ),
        (
            lambda: multimargin.transfer_out(acct, market, "BTC", "1e3"),
            InvalidInputError,
            "INVALID_DECIMAL",
            "amount",
        ),
        (
            lambda: multimargin.borrow(acct, market, "USDT", "1"),
            InvalidInputError,
            "INVALID_ARGUMENT",
            "account_id",
        ),
        (
            lambda: multimargin.post_ledger_entries(acct, [("BTC", "1"), ("XRP", "1")]),
            InvalidInputError,
            "UNKNOWN_ASSET",
            "entries[1].asset",
        ),
        (
            lambda: multimargin.repay_margin(margin(holdings={"USDT": "5"}), market, "USDT"),
            InvalidInputError,
            "OUT_OF_RANGE",
            "all",  # repay all of nothing
        ),
        (
            lambda: multimargin.transfer_out(
                margin(status="LIQUIDATING", holdings={"USDT": "5"}), market, "USDT", "1"
            ),
            RuleViolationError,
            "ACCOUNT_LIQUIDATING",
            None,
        ),
    ]
    for call, cls, reason, field in cases:
        with pytest.raises(cls) as e:
            call()
        assert (e.value.reason, e.value.field) == (reason, field)  # type: ignore[attr-defined]


def test_ledger_cancels_newest_orders_by_id() -> None:
    acct = margin(holdings={"USDT": "1000"}, orders=[order("a", "3"), order("b", "4"), order("c", "2")])
    flow = multimargin.post_ledger_entries(acct, [("USDT", "-550")])
    assert (flow["cancel_orders"], flow["cancel_order_indices"]) == (["c", "b"], [2, 1])
    assert multimargin.margin_balances(acct) == {"USDT": {"holdings": "1000", "locked": "900", "free": "100"}}


def test_risk_transition_and_unknown_prices() -> None:
    market = multimargin.Market(RB, {"BTC": "60000"}, {"BTCUSDT": "60000"})
    pos = {"symbol": "BTCUSDT", "size": "1", "entry_price": "60000", "leverage": 100}
    fut = {"symbol": "BTCUSDT", "side": "BUY", "price": "50000", "quantity": "1", "order_id": "o1"}
    acct = futures(wallet={"USDT": "100"}, positions=[pos], orders=[fut])
    t = multimargin.risk_transition(acct, market)
    assert t is not None and set(t) == keys(RiskTransition)
    assert (t["action"], t["status"], t["cancel_orders"], t["may_end_liquidation"]) == (
        "LIQUIDATION_STARTED",
        "LIQUIDATING",
        ["o1"],
        False,
    )
    assert t["figures"] is not None and set(t["figures"]) == keys(RiskFigures)
    assert (t["figures"]["pool"], t["figures"]["numerator"], t["figures"]["denominator"]) == (
        "USDT",
        "100",
        "240",  # 60,000 × the default BTCUSDT mmr 0.004
    )
    # No mark price: the account cannot be judged and is left alone.
    assert multimargin.risk_transition(acct, multimargin.Market(RB, {"BTC": "60000"}, {})) is None
    with pytest.raises(PriceUnavailableError):
        multimargin.may_end_liquidation(acct, multimargin.Market(RB))

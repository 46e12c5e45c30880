"""SPEC v1.2 input through the Python API: unknown keys are refused with their path,
``_`` keys are comments, the engine state form, and VIP borrow limits."""

from __future__ import annotations

import copy
from typing import Any

import multimargin
import pytest

FUTURES: dict[str, Any] = {
    "prices": {"BTC": "60000"},
    "marks": {"BTCUSDT": "60000"},
    "account": {
        "kind": "FUTURES",
        "mode": "SINGLE_ASSET",
        "wallet": {"USDT": "10000"},
        "positions": [{"symbol": "BTCUSDT", "size": "0.1", "entry_price": "60000", "leverage": 10}],
        "orders": [{"symbol": "BTCUSDT", "side": "BUY", "price": "59000", "quantity": "0.1", "leverage": 10}],
    },
}
MARGIN: dict[str, Any] = {
    "prices": {"BTC": "60000"},
    "account": {
        "kind": "MARGIN",
        "mode": "CLASSIC",
        "holdings": {"USDT": "10000"},
        "mcr": {"CLASSIC": "1.3"},
        "orders": [{"base": "BTC", "quote": "USDT", "side": "BUY", "price": "50000", "quantity": "0.1"}],
    },
}


def with_key(base: dict[str, Any], path: list[str | int], key: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with ``key`` set in the object at ``path``."""
    doc = copy.deepcopy(base)
    target: Any = doc
    for step in path:
        target = target[step]
    target[key] = value
    return doc


def refused(scenario: dict[str, Any]) -> multimargin.InvalidInputError:
    with pytest.raises(multimargin.InvalidInputError) as err:
        multimargin.evaluate(scenario)
    return err.value


def test_the_base_scenarios_are_valid() -> None:
    assert multimargin.evaluate(FUTURES)["pools"]
    assert "max_borrow" in multimargin.evaluate(MARGIN)


@pytest.mark.parametrize(
    ("base", "path", "key", "field"),
    [
        (FUTURES, [], "mark", "mark"),
        (MARGIN, ["account"], "holding", "account.holding"),
        (FUTURES, ["account"], "walet", "account.walet"),
        (FUTURES, ["account"], "holdings", "account.holdings"),
        (FUTURES, ["account"], "status", "account.status"),
        (MARGIN, ["account"], "pro_terms_accepted", "account.pro_terms_accepted"),
        (FUTURES, ["account", "positions", 0], "sise", "account.positions[0].sise"),
        (FUTURES, ["account", "orders", 0], "reduce_only", "account.orders[0].reduce_only"),
        (MARGIN, ["account", "orders", 0], "qty", "account.orders[0].qty"),
        (MARGIN, ["account", "mcr"], "Pro", "account.mcr.Pro"),
    ],
)
def test_a_misspelt_key_names_its_path(
    base: dict[str, Any], path: list[str | int], key: str, field: str
) -> None:
    e = refused(with_key(base, path, key, "1"))
    assert (e.reason, e.field) == ("INVALID_ARGUMENT", field)
    assert field in str(e)


@pytest.mark.parametrize(
    ("path", "key", "field"),
    [
        ([], "contract", "rulebook.contract"),
        (["assets", "USDT"], "liabilty", "rulebook.assets.USDT.liabilty"),
        (["assets", "USDT", "borrow"], "vip_limit", "rulebook.assets.USDT.borrow.vip_limit"),
        (["contracts", "BTCUSDT"], "max_leverage", "rulebook.contracts.BTCUSDT.max_leverage"),
        (["settings"], "liquidation_ratio", "rulebook.settings.liquidation_ratio"),
    ],
)
def test_a_misspelt_rulebook_key_names_its_path(path: list[str], key: str, field: str) -> None:
    rulebook = with_key(multimargin.default_rulebook().to_dict(), path, key, "1")
    with pytest.raises(multimargin.InvalidInputError) as err:
        multimargin.Rulebook(rulebook)
    assert (err.value.reason, err.value.field) == ("INVALID_ARGUMENT", field)
    # The same rulebook inside a scenario is refused the same way.
    assert refused({**MARGIN, "rulebook": rulebook}).field == field


def test_underscore_keys_are_comments() -> None:
    commented = with_key(FUTURES, [], "_comment", "what this scenario shows")
    commented = with_key(commented, ["account"], "_why", {"any": ["thing"]})
    commented = with_key(commented, ["account", "positions", 0], "_note", 1)
    commented = with_key(commented, ["account", "wallet"], "_x", "not an asset")
    assert multimargin.evaluate(commented) == multimargin.evaluate(FUTURES)
    rulebook = with_key(multimargin.default_rulebook().to_dict(), ["assets", "BTC"], "_c", "note")
    rulebook["_comment"] = "the default, annotated"
    assert multimargin.Rulebook(rulebook).assets == multimargin.default_rulebook().assets


def test_account_is_strict_and_from_state_takes_the_engine_flags() -> None:
    rb = multimargin.default_rulebook()
    state = {**FUTURES["account"], "status": "LIQUIDATING", "sub_account": True, "copy_trading": False}
    with pytest.raises(multimargin.InvalidInputError) as err:
        multimargin.Account(rb, state)
    assert err.value.field == "account.status"
    acct = multimargin.Account.from_state(rb, state)
    assert (acct.kind, acct.mode) == ("FUTURES", "SINGLE_ASSET")
    # The state form is the account's status: a liquidating account refuses an opening order.
    market = multimargin.Market(rb, FUTURES["prices"], FUTURES["marks"])
    order = {"symbol": "BTCUSDT", "side": "BUY", "price": "60000", "quantity": "0.01", "order_id": "o-9"}
    check = rb.check_order(acct, market, order)
    assert not check["accepted"] and check["rejections"][0]["reason"] == "ACCOUNT_LIQUIDATING"
    margin_state = {**MARGIN["account"], "status": "ACTIVE", "pro_terms_accepted": True, "vip_level": 2}
    assert multimargin.Account.from_state(rb, margin_state).kind == "MARGIN"
    # Still strict about anything else.
    with pytest.raises(multimargin.InvalidInputError) as err:
        multimargin.Account.from_state(rb, {**margin_state, "copy_trading": True})
    assert err.value.field == "account.copy_trading"


def test_an_order_to_check_is_strict() -> None:
    rb = multimargin.default_rulebook()
    acct = multimargin.Account(rb, FUTURES["account"])
    market = multimargin.Market(rb, FUTURES["prices"], FUTURES["marks"])
    order = {"symbol": "BTCUSDT", "side": "BUY", "price": "60000", "quantity": "0.01", "levrage": 10}
    with pytest.raises(multimargin.InvalidInputError) as err:
        rb.check_order(acct, market, order)
    assert (err.value.reason, err.value.field) == ("INVALID_ARGUMENT", "order.levrage")


VIP_RULEBOOK = multimargin.default_rulebook().to_dict()
VIP_RULEBOOK["assets"]["BTC"]["borrow"]["vip_limits"] = [[0, "0.5"], [3, "2"], [7, "10"]]


def btc_max_borrow(mode: str, vip_level: int | None, borrowed: str) -> str:
    account: dict[str, Any] = {
        "kind": "MARGIN",
        "mode": mode,
        "holdings": {"USDT": "10000000"},
        "borrowed": {"BTC": borrowed},
    }
    if vip_level is not None:
        account["vip_level"] = vip_level
    result = multimargin.evaluate({"rulebook": VIP_RULEBOOK, "prices": {"BTC": "60000"}, "account": account})
    max_borrow: dict[str, str] = result["max_borrow"]
    return max_borrow.get("BTC", "0")


@pytest.mark.parametrize("mode", ["CLASSIC", "PRO"])
def test_max_borrow_is_capped_by_the_vip_limit(mode: str) -> None:
    assert btc_max_borrow(mode, None, "0.1") == "0.4"  # default level 0
    assert btc_max_borrow(mode, 4, "0.1") == "1.9"
    assert btc_max_borrow(mode, 9, "0.1") == "9.9"
    assert btc_max_borrow(mode, 0, "1") == "0"  # already beyond the limit


def test_vip_limit_getter_and_level_validation() -> None:
    rb = multimargin.Rulebook(VIP_RULEBOOK)
    assert [rb.vip_limit("BTC", level) for level in (0, 2, 3, 6, 7, 9)] == [
        "0.5",
        "0.5",
        "2",
        "2",
        "10",
        "10",
    ]
    assert rb.vip_limit("USDT", 5) is None
    with pytest.raises(multimargin.InvalidInputError) as err:
        rb.vip_limit("BTC", 10)
    assert err.value.reason == "OUT_OF_RANGE"
    with pytest.raises(multimargin.InvalidInputError) as err:
        rb.vip_limit("DOGE2", 1)
    assert err.value.reason == "UNKNOWN_ASSET"
    for level, reason in [(10, "OUT_OF_RANGE"), (-1, "OUT_OF_RANGE"), ("1", "INVALID_ARGUMENT")]:
        e = refused(with_key(MARGIN, ["account"], "vip_level", level))
        assert (e.reason, e.field) == (reason, "account.vip_level")

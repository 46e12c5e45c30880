"""The Python API: compiled forms, batch, errors, conversions."""

from __future__ import annotations

import sys
import threading
import time
from decimal import Decimal
from typing import Any

import multimargin
import pytest
from support import vector_cases

RANDOM = [c for c in vector_cases() if c.file.startswith("random")]
ETH_350 = {
    "prices": {"ETH": "4000"},
    "account": {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"ETH": "350"}},
}


def test_compiled_form_matches_scenario_evaluation() -> None:
    rb = multimargin.Rulebook(RANDOM[0].file_rulebook)
    for vc in RANDOM[:60]:
        market = multimargin.Market(rb, vc.case["prices"], vc.case["marks"])
        account = multimargin.Account(rb, vc.case["account"])
        assert rb.evaluate(account, market) == multimargin._core.evaluate_scenario(vc.scenario())


def test_batch_matches_single_calls_in_order() -> None:
    rb = multimargin.Rulebook(RANDOM[0].file_rulebook)
    # One market for the batch: the accounts of the cases priced like the first one.
    prices, marks = RANDOM[0].case["prices"], RANDOM[0].case["marks"]
    market = multimargin.Market(rb, prices, marks)
    accounts = [multimargin.Account(rb, vc.case["account"]) for vc in RANDOM]
    singles = [rb.evaluate(a, market) for a in accounts]
    assert len(singles) == len(RANDOM) >= 300
    assert rb.evaluate_many(accounts, market) == singles
    # Different accounts give different results, so a batch in the wrong order fails.
    assert rb.evaluate_many(accounts[::-1], market) == singles[::-1] != singles


def test_batch_error_names_the_account_index() -> None:
    rb = multimargin.default_rulebook()
    market = multimargin.Market(rb, {"BTC": "60000"})
    ok = multimargin.Account(rb, {"kind": "FUTURES", "wallet": {"USDT": "1"}})
    needs_eth = multimargin.Account(rb, {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"ETH": "1"}})
    with pytest.raises(multimargin.PriceUnavailableError) as err:
        rb.evaluate_many([ok, ok, needs_eth], market)
    assert err.value.reason == "PRICE_UNAVAILABLE"
    assert err.value.field is not None and err.value.field.startswith("accounts[2]")


def test_batch_releases_the_gil() -> None:
    rb = multimargin.default_rulebook()
    market = multimargin.Market(rb, {"BTC": "60000", "ETH": "3000"}, {"BTCUSDT": "60100"})
    acct = multimargin.Account(
        rb,
        {
            "kind": "FUTURES",
            "mode": "MULTI_ASSET",
            "wallet": {"BTC": "3", "ETH": "250", "USDT": "-1000"},
            "positions": [{"symbol": "BTCUSDT", "size": "1", "entry_price": "60000", "leverage": 20}],
        },
    )
    accounts = [acct] * 100_000
    ticks = 0
    done = threading.Event()
    started = threading.Event()

    def spin() -> None:
        nonlocal ticks
        started.set()
        while not done.is_set():
            ticks += 1
            time.sleep(1e-6)  # gives the GIL back at once, so the main thread never waits on it

    # With the switch interval far longer than the test, the interpreter never takes the
    # GIL from the main thread: the spinner can run during the batch only if the batch
    # releases the GIL itself. (At the default 5 ms it would get a turn in any case.)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        t = threading.Thread(target=spin)
        t.start()
        started.wait()
        before = ticks
        start = time.perf_counter()
        rb.evaluate_many(accounts, market)
        elapsed = time.perf_counter() - start
        during = ticks - before
        done.set()
        t.join()
    finally:
        sys.setswitchinterval(interval)
    # Converting the results to Python holds the GIL (and lets the spinner in for a
    # moment now and then); the computation must not: the spinner, which gives the GIL
    # back after every step, advances at least once per 50 ms of the batch on average.
    assert during >= elapsed / 0.05, f"the other thread advanced {during} times in {elapsed:.2f}s"


def test_errors_form_one_hierarchy_with_reason_and_field() -> None:
    with pytest.raises(multimargin.InvalidInputError) as err:
        multimargin.evaluate({"account": {"kind": "FUTURES", "wallet": {"USDT": "1.000000000"}}})
    e = err.value
    assert isinstance(e, ValueError) and isinstance(e, multimargin.MarginError)
    assert (e.reason, e.field) == ("INVALID_DECIMAL", "account.wallet.USDT")
    assert "account.wallet.USDT" in str(e) and "INVALID_DECIMAL" in str(e)

    with pytest.raises(multimargin.PriceUnavailableError) as err2:
        multimargin.evaluate({"account": {"kind": "MARGIN", "holdings": {"BTC": "1"}}})
    assert not isinstance(err2.value, ValueError)
    assert (err2.value.reason, err2.value.field) == ("PRICE_UNAVAILABLE", "prices.BTC")


@pytest.mark.parametrize(
    ("rulebook", "field", "reason"),
    [
        ({"assets": {}}, "rulebook.assets", "INVALID_ARGUMENT"),
        (
            {
                "assets": {
                    "ETH": {
                        "collateral_tiers": [["100", "0.9"], ["50", "0.8"]],
                        "haircut_tiers": [[None, "1"]],
                        "discount": "1",
                    }
                }
            },
            "rulebook.assets.ETH.collateral_tiers[1][0]",
            "OUT_OF_RANGE",
        ),
        ("not json", "rulebook", "INVALID_ARGUMENT"),
    ],
)
def test_invalid_rulebooks_name_the_field(rulebook: Any, field: str, reason: str) -> None:
    with pytest.raises(multimargin.InvalidInputError) as err:
        multimargin.Rulebook(rulebook)
    assert (err.value.field, err.value.reason) == (field, reason)


def test_python_decimals_are_accepted_floats_are_not() -> None:
    base: dict[str, Any] = {"prices": {"ETH": Decimal("4000")}}
    base["account"] = {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"ETH": Decimal("3.5E+2")}}
    assert multimargin.evaluate(base)["pools"][0]["effective_margin"] == "1080000"
    base["account"]["wallet"]["ETH"] = 350.0
    with pytest.raises(multimargin.InvalidInputError) as err:
        multimargin.evaluate(base)
    assert err.value.reason == "INVALID_DECIMAL"
    base["account"]["wallet"]["ETH"] = Decimal("NaN")
    with pytest.raises(multimargin.InvalidInputError):
        multimargin.evaluate(base)


def test_account_compiled_for_another_rulebook_is_refused() -> None:
    rb1 = multimargin.default_rulebook()
    rb2 = multimargin.Rulebook(multimargin.default_rulebook_json())
    acct = multimargin.Account(rb1, {"kind": "FUTURES"})
    with pytest.raises(multimargin.InvalidInputError) as err:
        rb2.evaluate(acct, multimargin.Market(rb2))
    assert err.value.field == "account"


def test_unsupported_input_types_are_input_errors() -> None:
    with pytest.raises(multimargin.InvalidInputError):
        multimargin.evaluate({"account": {"kind": "FUTURES", "wallet": {"USDT": object()}}})
    with pytest.raises(multimargin.InvalidInputError):
        multimargin.evaluate({"account": {"kind": "FUTURES", "wallet": {1: "1"}}})


def test_check_decimal_and_conversions_follow_spec() -> None:
    assert multimargin.check_decimal("007.50", "amount", "amount") == "7.5"
    for bad, reason in [("0", "OUT_OF_RANGE"), ("1e3", "INVALID_DECIMAL"), (5, "INVALID_DECIMAL")]:
        with pytest.raises(multimargin.InvalidInputError) as err:
            multimargin.check_decimal(bad, "amount", "request.amount")
        assert (err.value.reason, err.value.field) == (reason, "request.amount")
    # SPEC §7.2 and §7.3 examples.
    assert multimargin.conversion_cost("1000", "1", "30000", "0.9") == "0.03703704"
    assert multimargin.conversion_cost("35000", "1", "60000", "0.95") == "0.61403509"
    # SPEC §7.1 examples.
    assert multimargin.futures_hourly_interest("1000", "100", "0.00001") == "0.009"
    assert multimargin.margin_hourly_interest("1000", "0.00001") == "0.01"


def test_default_rulebook_is_used_when_scenario_has_none() -> None:
    rb = multimargin.default_rulebook()
    assert {"USDT", "USDC", "BTC", "ETH", "MX"} <= set(rb.assets)
    assert "BTCUSDT" in rb.contracts
    result = multimargin.evaluate(ETH_350)
    assert result["pools"][0]["value"] == {"ETH": "1080000"}


def test_explain_lists_tier_slices() -> None:
    x = multimargin.explain(ETH_350)
    eth = x["pools"][0]["assets"][0]
    assert [(s["quantity"], s["rate"], s["value"]) for s in eth["slices"]] == [
        ("100", "0.9", "360000"),
        ("100", "0.8", "320000"),
        ("100", "0.7", "280000"),
        ("50", "0.6", "120000"),
    ]

"""The batch forms: `evaluate_batch` (compact results read on demand, selected fields,
per-account errors) and `evaluate_many(errors="return")`."""

from __future__ import annotations

from typing import Any

import multimargin
import pytest
from support import vector_cases

RANDOM = [c for c in vector_cases() if c.file.startswith("random")]


def _batch() -> tuple[multimargin.Rulebook, multimargin.Market, list[multimargin.Account]]:
    rb = multimargin.Rulebook(RANDOM[0].file_rulebook)
    market = multimargin.Market(rb, RANDOM[0].case["prices"], RANDOM[0].case["marks"])
    accounts = [multimargin.Account(rb, vc.case["account"]) for vc in RANDOM]
    return rb, market, accounts


def _singles(
    rb: multimargin.Rulebook, market: multimargin.Market, accounts: list[multimargin.Account]
) -> list[Any]:
    """Each account's dict, or the error a single call raises."""
    out: list[Any] = []
    for a in accounts:
        try:
            out.append(rb.evaluate(a, market))
        except multimargin.MarginError as e:
            out.append((e.reason, e.field))
    return out


def test_compact_results_match_single_calls_in_order() -> None:
    rb, market, accounts = _batch()
    singles = _singles(rb, market, accounts)
    results = rb.evaluate_batch(accounts, market, errors="return")
    assert len(results) == len(singles) >= 300
    kinds = set()
    for i, (r, single) in enumerate(zip(results, singles, strict=True)):
        if isinstance(single, tuple):
            assert isinstance(r, multimargin.MarginError)
            assert (r.reason, r.field) == (
                single[0],
                f"accounts[{i}].{single[1]}" if single[1] else f"accounts[{i}]",
            )
            continue
        assert isinstance(r, multimargin.Result)
        kinds.add((r.kind, single.get("net_collateral") is not None))
        assert r.to_dict() == single
        assert list(single) == r.keys()
        assert r.liquidatable is single["liquidatable"]
        assert r.margin_call is single.get("margin_call")
        assert r.margin_level == (single["margin_level"] if r.kind == "MARGIN" else None)
        for key, value in single.items():
            assert key in r and r[key] == value == r.get(key)
    # Futures, Classic and Pro accounts were all compared.
    assert kinds == {("FUTURES", False), ("MARGIN", False), ("MARGIN", True)}
    liquidatable, transfer = results.column("liquidatable"), results.column("max_transfer_out")
    for i, s in enumerate(singles):
        if isinstance(s, dict):
            assert (liquidatable[i], transfer[i]) == (s["liquidatable"], s["max_transfer_out"])
        else:
            assert isinstance(liquidatable[i], multimargin.MarginError)
    # A batch in another order gives the results in that order.
    reversed_results = rb.evaluate_batch(accounts[::-1], market, errors="return")
    dicts = [r if isinstance(r, multimargin.MarginError) else r.to_dict() for r in reversed_results]
    assert [d for d in dicts if isinstance(d, dict)] == [s for s in singles[::-1] if isinstance(s, dict)]


def test_fields_select_the_mapping_view() -> None:
    rb = multimargin.default_rulebook()
    market = multimargin.Market(rb, {"BTC": "60000", "ETH": "3000"})
    margin = multimargin.Account(
        rb,
        {
            "kind": "MARGIN",
            "mode": "PRO",
            "holdings": {"USDT": "1000", "BTC": "1"},
            "borrowed": {"USDT": "500"},
        },
    )
    futures = multimargin.Account(rb, {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"ETH": "2"}})
    fields = ["liquidatable", "margin_call", "margin_level"]
    results = rb.evaluate_batch([margin, futures], market, fields=fields)
    full = rb.evaluate(margin, market)
    m, f = results[0], results[1]
    assert isinstance(m, multimargin.Result) and isinstance(f, multimargin.Result)
    assert m.to_dict() == {k: full[k] for k in fields}
    assert m.keys() == ["margin_level", "liquidatable", "margin_call"]  # SPEC §10 order
    # A futures result has only `liquidatable` of these keys.
    assert f.to_dict() == {"liquidatable": False} and f.keys() == ["liquidatable"]
    assert "max_borrow" not in m and m.get("max_borrow") is None
    with pytest.raises(KeyError):
        m["max_borrow"]
    with pytest.raises(KeyError):
        results.column("max_borrow")
    assert results.column("margin_call") == [full["margin_call"], None]
    assert results.to_dicts() == [{k: full[k] for k in fields}, {"liquidatable": False}]
    assert rb.evaluate_many([margin, futures], market, fields=fields) == results.to_dicts()
    # The attributes read the whole evaluation whatever the selection.
    assert m.margin_level == full["margin_level"] and m.margin_call is full["margin_call"]
    with pytest.raises(multimargin.InvalidInputError) as err:
        rb.evaluate_batch([margin], market, fields=["liquidatable", "equity"])
    assert (err.value.reason, err.value.field) == ("INVALID_ARGUMENT", "fields[1]")


def test_errors_return_keeps_each_failure_in_its_slot() -> None:
    rb = multimargin.default_rulebook()
    market = multimargin.Market(rb, {"BTC": "60000"})
    ok = multimargin.Account(rb, {"kind": "FUTURES", "wallet": {"USDT": "1"}})
    needs_eth = multimargin.Account(rb, {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"ETH": "1"}})
    other_rb = multimargin.Rulebook(multimargin.default_rulebook_json())
    foreign = multimargin.Account(other_rb, {"kind": "FUTURES", "wallet": {"USDT": "1"}})
    accounts = [ok, needs_eth, ok, foreign, needs_eth]

    results = rb.evaluate_batch(accounts, market, errors="return")
    assert [i for i, _ in results.errors()] == [1, 3, 4]
    for i in (1, 4):
        e = results[i]
        assert isinstance(e, multimargin.PriceUnavailableError)
        assert (e.reason, e.field) == ("PRICE_UNAVAILABLE", f"accounts[{i}].prices.ETH")
    foreign_err = results[3]
    assert isinstance(foreign_err, multimargin.InvalidInputError) and foreign_err.field == "accounts[3]"
    assert results[0] is not results[0]  # a new view per read, of the same figures
    assert isinstance(results[-1], multimargin.MarginError) and isinstance(results[-3], multimargin.Result)
    with pytest.raises(IndexError):
        results[5]
    with pytest.raises(IndexError):
        results[-6]

    many = rb.evaluate_many(accounts, market, errors="return")
    assert many[0] == many[2] == rb.evaluate(ok, market)
    assert (
        isinstance(many[1], multimargin.PriceUnavailableError) and many[1].field == "accounts[1].prices.ETH"
    )
    assert isinstance(many[3], multimargin.InvalidInputError) and many[3].field == "accounts[3]"
    assert isinstance(many[4], multimargin.PriceUnavailableError)

    # "raise" (the default): the first failing account, by index, fails the call.
    for call in (rb.evaluate_many, rb.evaluate_batch):
        with pytest.raises(multimargin.PriceUnavailableError) as err:
            call(accounts, market)
        assert err.value.field == "accounts[1].prices.ETH"
    with pytest.raises(multimargin.InvalidInputError) as bad:
        rb.evaluate_batch(accounts, market, errors="ignore")  # type: ignore[call-overload]
    assert bad.value.field == "errors"


def test_results_are_frozen_and_empty_batches_work() -> None:
    rb = multimargin.default_rulebook()
    market = multimargin.Market(rb)
    results = rb.evaluate_batch([], market)
    assert len(results) == 0 and list(results) == [] and results.to_dicts() == [] and results.errors() == []
    acct = multimargin.Account(rb, {"kind": "FUTURES", "wallet": {"USDT": "1"}})
    r = rb.evaluate_batch([acct], market)[0]
    assert isinstance(r, multimargin.Result)
    with pytest.raises(AttributeError):
        r.liquidatable = True  # type: ignore[misc]
    assert repr(r) == "Result(kind='FUTURES', liquidatable=False)"
    assert repr(rb.evaluate_batch([acct, acct], market)) == "Results(len=2, failed=0)"

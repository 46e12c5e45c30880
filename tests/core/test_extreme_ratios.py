"""Reported ratios on extreme in-range input (SPEC §1: overflow on in-range input is a bug).

Holdings of 10^15 at prices of 10^9 against a debt (or a position) of 10^-8 at a price of
10^-8 give margin levels of 10^33..10^42, beyond the core's 8-digit i128; the engine must
report them exactly (rounded down), as the reference model does."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import multimargin
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import model
from support import engine_outcome as engine
from support import reference_outcome as reference

BIG, TOP, TINY = "1000000000000000", "1000000000", "0.00000001"
RULEBOOK = multimargin.default_rulebook().to_dict()
COLLATERAL = ["BTC", "ETH", "MX", "DOGE", "USDT", "USDC"]


def prices(debt_price: str) -> dict[str, str]:
    return {"USDT": "1", "USDC": "1", "BTC": TOP, "ETH": TOP, "MX": TOP, "SOL": debt_price, "DOGE": TOP}


def margin(mode: str, holdings: dict[str, str], debt: str, debt_price: str) -> dict[str, Any]:
    return {
        "rulebook": RULEBOOK,
        "prices": prices(debt_price),
        "account": {"kind": "MARGIN", "mode": mode, "holdings": holdings, "borrowed": {"SOL": debt}},
    }


def futures(wallet: dict[str, str], size: str, mark: str) -> dict[str, Any]:
    return {
        "rulebook": RULEBOOK,
        "prices": prices(TINY),
        "marks": {"BTCUSDT": mark},
        "account": {
            "kind": "FUTURES",
            "mode": "MULTI_ASSET",
            "wallet": wallet,
            "positions": [{"symbol": "BTCUSDT", "size": size, "entry_price": mark, "leverage": 1}],
        },
    }


FULL = dict.fromkeys(["BTC", "ETH", "MX", "DOGE", "USDT"], BIG)


@pytest.mark.parametrize(
    ("scenario", "path", "level"),
    [
        (margin("CLASSIC", FULL, TINY, TINY), ("margin_level",), "40000000010000000000000000000000000000000"),
        (
            margin("CLASSIC", FULL, TINY, TINY),
            ("collateral_margin_level",),
            "27500000010000000296900000000000000000000",
        ),
        (margin("PRO", FULL, TINY, TINY), ("margin_level",), "550000000200000005937999999999999999999980"),
        (
            futures({"BTC": BIG, "ETH": BIG, "USDT": BIG}, TINY, TINY),
            ("pools", 0, "margin_level"),
            "2500976450000000000000000000000000",
        ),
    ],
)
def test_levels_beyond_the_reported_decimal_are_exact(
    scenario: dict[str, Any], path: tuple[Any, ...], level: str
) -> None:
    got: Any = engine(scenario)
    assert got == reference(scenario)
    for key in path:
        got = got[key]
    assert got == level


def units(max_units: int) -> st.SearchStrategy[str]:
    """Decimals biased to the extremes: 10^-8, the maximum, and anything between."""
    n = st.one_of(st.sampled_from([1, 2, 3, max_units, max_units - 1]), st.integers(1, max_units))
    return n.map(lambda u: model.format_decimal(Fraction(u, 10**8)))


QUANTITY, PRICE = units(10**15 * 10**8), units(10**9 * 10**8)
SMALL = units(1000)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(
    mode=st.sampled_from(["CLASSIC", "PRO"]),
    holdings=st.dictionaries(st.sampled_from(COLLATERAL), QUANTITY, min_size=1),
    debt=SMALL,
    debt_price=SMALL,
)
def test_margin_levels_on_extreme_input_equal_the_reference(
    mode: str, holdings: dict[str, str], debt: str, debt_price: str
) -> None:
    scenario = margin(mode, holdings, debt, debt_price)
    assert engine(scenario) == reference(scenario)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(
    wallet=st.dictionaries(st.sampled_from(["BTC", "ETH", "USDT", "USDC"]), QUANTITY, min_size=1),
    size=SMALL,
    mark=st.one_of(SMALL, PRICE),
)
def test_futures_levels_on_extreme_input_equal_the_reference(
    wallet: dict[str, str], size: str, mark: str
) -> None:
    scenario = futures(wallet, size, mark)
    assert engine(scenario) == reference(scenario)


@settings(max_examples=100, deadline=None, database=None)
@given(amount=QUANTITY, debt_price=PRICE, payer_price=SMALL, discount=units(10**8))
def test_conversions_beyond_the_reported_decimal_are_exact(
    amount: str, debt_price: str, payer_price: str, discount: str
) -> None:
    # SPEC §7.2/§7.3 in exact fractions: a cost of 10^15 × 10^9 / 10^-16 is 10^40.
    a, pd, ps, k = (Fraction(x) for x in (amount, debt_price, payer_price, discount))
    cost = model.format_decimal(Fraction(math.ceil(a * pd / (ps * k) * 10**8), 10**8))
    cover = model.format_decimal(Fraction(math.floor(a * ps * k / pd * 10**8), 10**8))
    assert multimargin.conversion_cost(amount, debt_price, payer_price, discount) == cost
    assert multimargin.conversion_cover(amount, payer_price, discount, debt_price) == cover

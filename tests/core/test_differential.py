"""Differential tests: the Rust engine against the slow reference model
(tests/reference/model.py) on generated scenarios — both kinds, all modes, values
across tier bounds and near the range limits, and inputs with one injected fault."""

from __future__ import annotations

from typing import Any

import multimargin
import pytest
from hypothesis import HealthCheck, given, settings
from reference import strategies
from support import engine_outcome as engine
from support import reference_outcome as reference

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    database=None,
)


@SETTINGS
@given(strategies.scenarios())
def test_engine_equals_reference_on_valid_scenarios(scenario: dict[str, Any]) -> None:
    expected = reference(scenario)
    assert not isinstance(expected, str), f"generator produced an invalid scenario: {expected}"
    assert engine(scenario) == expected


@SETTINGS
@given(strategies.scenarios(multimargin.default_rulebook().to_dict()))
def test_engine_equals_reference_with_the_default_rulebook(scenario: dict[str, Any]) -> None:
    assert engine(scenario) == reference(scenario)


@SETTINGS
@given(strategies.invalid_scenarios())
def test_engine_refuses_what_the_reference_refuses(pair: tuple[dict[str, Any], str]) -> None:
    scenario, reason = pair
    assert reference(scenario) == reason
    assert engine(scenario) == reason


BASE = strategies.load_rulebook()


@pytest.mark.parametrize(
    "scenario",
    [
        # A zero-rate collateral asset needs no price: its value is 0 whatever the price.
        {"prices": {}, "account": {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"XYZ": "3"}}},
        # Classic mode uses no order prices (open-order loss is Pro only).
        {
            "prices": {},
            "account": {
                "kind": "MARGIN",
                "mode": "CLASSIC",
                "holdings": {"USDT": "100"},
                "orders": [{"base": "SOL", "quote": "USDT", "side": "BUY", "price": "10", "quantity": "1"}],
            },
        },
        # A size-0 position is no position, even on an INVERSE contract.
        {
            "account": {
                "kind": "FUTURES",
                "wallet": {"USDT": "5"},
                "positions": [{"symbol": "BTCUSD", "size": "0", "entry_price": "1", "leverage": 1}],
            }
        },
        # Keys that begin with `_` are comments (SPEC v1.2), wherever they are.
        {
            "_comment": "x",
            "account": {"kind": "MARGIN", "holdings": {"USDT": "1", "_u": "?"}, "mcr": {"_classic": "9"}},
        },
    ],
    ids=["zero-rate-unpriced", "classic-order-unpriced", "inverse-size-0", "comment-keys"],
)
def test_spec_readings_agree(scenario: dict[str, Any]) -> None:
    scenario = {"rulebook": BASE, **scenario}
    result = engine(scenario)
    assert not isinstance(result, str), result
    assert result == reference(scenario)

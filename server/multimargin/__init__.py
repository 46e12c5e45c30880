"""multimargin: a multi-asset margin and collateral engine.

The math runs in Rust (``multimargin._core``); this package is its Python face:

>>> import multimargin
>>> result = multimargin.evaluate({
...     "prices": {"ETH": "4000"},
...     "account": {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"ETH": "350"}},
... })
>>> result["pools"][0]["effective_margin"]
'1080000'

For repeated use, compile once and evaluate many times:

>>> rb = multimargin.default_rulebook()
>>> market = multimargin.Market(rb, prices={"ETH": "4000"})
>>> acct = multimargin.Account(rb, {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"ETH": "350"}})
>>> rb.evaluate(acct, market)["max_transfer_out"]
{'ETH': '350'}
>>> len(rb.evaluate_many([acct, acct], market))
2

A batch whose figures are read on demand (no dict per account), and whose failing
accounts keep their error in their slot instead of failing the whole batch:

>>> broke = multimargin.Account(rb, {"kind": "MARGIN", "holdings": {"BTC": "1"}})
>>> results = rb.evaluate_batch([acct, broke], market, errors="return")
>>> results[0].liquidatable, results[0]["max_transfer_out"]
(False, {'ETH': '350'})
>>> results.errors()[0][1].reason
'PRICE_UNAVAILABLE'
>>> rb.evaluate_batch([acct], market, fields=["liquidatable"])[0].to_dict()
{'liquidatable': False}
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any

from multimargin._core import (
    Account,
    Market,
    Result,
    Results,
    Rulebook,
    Settings,
    borrow,
    check_decimal,
    conversion_cost,
    conversion_cover,
    evaluate_scenario,
    explain_scenario,
    futures_hourly_interest,
    interest_hour,
    margin_balances,
    margin_hourly_interest,
    may_end_liquidation,
    post_ledger_entries,
    repay_futures,
    repay_margin,
    risk_flags_many,
    risk_transition,
    threshold_auto_repay,
    transfer_in,
    transfer_out,
)
from multimargin.errors import (
    AccountNotFoundError,
    DeadlineExceededError,
    InternalError,
    InvalidInputError,
    MarginError,
    OverloadedError,
    PriceUnavailableError,
    ResourceExhaustedError,
    RuleViolationError,
    UnavailableError,
    VersionConflictError,
)
from multimargin.flowtypes import Flow, FlowRecord, RiskTransition
from multimargin.scenario_types import EvaluationResult, Explanation, ScenarioDoc

__all__ = [
    "Account",
    "AccountNotFoundError",
    "DeadlineExceededError",
    "Flow",
    "FlowRecord",
    "InternalError",
    "InvalidInputError",
    "MarginError",
    "Market",
    "OverloadedError",
    "PriceUnavailableError",
    "ResourceExhaustedError",
    "Result",
    "Results",
    "RiskTransition",
    "RuleViolationError",
    "Rulebook",
    "Settings",
    "UnavailableError",
    "VersionConflictError",
    "borrow",
    "check_decimal",
    "conversion_cost",
    "conversion_cover",
    "default_rulebook",
    "default_rulebook_json",
    "evaluate",
    "explain",
    "futures_hourly_interest",
    "interest_hour",
    "margin_balances",
    "margin_hourly_interest",
    "may_end_liquidation",
    "post_ledger_entries",
    "repay_futures",
    "repay_margin",
    "risk_flags_many",
    "risk_transition",
    "threshold_auto_repay",
    "transfer_in",
    "transfer_out",
]

Scenario = ScenarioDoc | Mapping[str, Any] | str


def default_rulebook_json() -> str:
    """The text of the shipped default rulebook (``rulebooks/default.json``)."""
    return resources.files("multimargin").joinpath("rulebooks/default.json").read_text("utf-8")


@functools.cache
def default_rulebook() -> Rulebook:
    """The shipped default rulebook, compiled once per process."""
    return Rulebook(default_rulebook_json())


def evaluate(scenario: Scenario) -> EvaluationResult:
    """Evaluates a SPEC §10 scenario (a dict or JSON text) and returns the §10 result.

    A scenario without ``rulebook`` uses :func:`default_rulebook`. Refused input raises a
    :class:`MarginError` subclass carrying ``reason`` and ``field``.
    """
    return evaluate_scenario(scenario, default_rulebook())


def explain(scenario: Scenario) -> Explanation:
    """A breakdown of a scenario's evaluation: tier slices, requirements, each reported
    total's exact parts (converted to USDT), thresholds with the distance to each, and the
    constraint that binds each max borrow and max transfer-out (see ``scenario_types``)."""
    return explain_scenario(scenario, default_rulebook())

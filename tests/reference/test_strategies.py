"""The strategies generate what they promise: valid scenarios the model accepts,
covering the interesting regions; invalid ones refused with their reason."""

from __future__ import annotations

import json
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from . import model as m
from .strategies import (
    RANDOM_1,
    any_json_scenarios,
    futures_scenarios,
    invalid_scenarios,
    load_rulebook,
    margin_scenarios,
    scenarios,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
RULEBOOK = load_rulebook(RANDOM_1)


# --------------------------------------------------------------------------
# features of a scenario and its result (what "interesting" means)
# --------------------------------------------------------------------------


def _dec(text: Any) -> Fraction:
    return Fraction(text)


def _near(x: Fraction, bound: Fraction, step: Fraction) -> str | None:
    if x == bound:
        return "on-tier-bound"
    if 0 < abs(x - bound) <= step:
        return "next-to-tier-bound"
    return None


def amount_features(scenario: dict[str, Any]) -> set[str]:
    """Magnitudes and spellings of every decimal in the scenario."""
    out: set[str] = set()
    account = scenario["account"]
    quantities: list[str] = []
    for name in ("wallet", "holdings", "borrowed", "interest"):
        quantities += account.get(name, {}).values()
    quantities += [p["size"] for p in account.get("positions", [])]
    quantities += [o["quantity"] for o in account.get("orders", [])]
    prices = list(scenario.get("prices", {}).values()) + list(scenario.get("marks", {}).values())
    for text in quantities + prices:
        canonical = m.format_decimal(_dec(text))
        if text != canonical:
            out.add("non-canonical-spelling")
        if abs(_dec(text)) == Fraction(1, 10**8):
            out.add("tiny-1e-8")
    if any(abs(_dec(q)) >= 10**14 for q in quantities):
        out.add("quantity-near-1e15")
    if any(_dec(p) >= 10**8 for p in prices):
        out.add("price-near-1e9")
    if any(len(m.format_decimal(_dec(p)).partition(".")[2]) == 8 for p in prices):
        out.add("price-8-decimals")
    return out


def futures_features(u: m.Rulebook, scenario: dict[str, Any], result: dict[str, Any]) -> set[str]:
    account = scenario["account"]
    mode = account.get("mode", m.SINGLE_ASSET)
    out = {f"FUTURES/{mode}"}
    marks = {s: _dec(v) for s, v in scenario["marks"].items()}
    step = Fraction(1, 10**8)
    sizes = {}
    for p in account["positions"]:
        size = _dec(p["size"])
        sizes[p["symbol"]] = size
        if size == 0:
            out.add("zero-size-position")
            continue
        out.add("long" if size > 0 else "short")
        if p.get("isolated"):
            out.add("isolated-position")
        if p.get("airdrop"):
            out.add("airdrop-position")
        notional = abs(size) * marks[p["symbol"]]
        for bound, _ in u.contracts[p["symbol"]].mmr_tiers:
            if bound is not None and (hit := _near(notional, bound, step * marks[p["symbol"]])):
                out.add(hit)
                out.add("risk-tier-" + hit)
    for o in account["orders"]:
        if "leverage" not in o:
            out.add("order-default-leverage")
        held = sizes.get(o["symbol"], Fraction(0))
        if held != 0 and (o["side"] == "BUY") == (held < 0):
            qty = _dec(o["quantity"])
            out.add("order-reduces" if qty <= abs(held) else "order-flips")
            if qty == abs(held):
                out.add("order-closes-exactly")
    for asset, text in account["wallet"].items():
        amount = _dec(text)
        if amount < 0:
            out.add("negative-wallet")
        if mode == m.MULTI_ASSET and amount > 0:
            for bound, _ in u.assets[asset].collateral_tiers:
                if bound is not None and (hit := _near(amount, bound, step)):
                    out.add(hit)
                    out.add("collateral-tier-" + hit)
    for pool in result["pools"]:
        out.add("pool-liquidatable" if pool["liquidatable"] else "pool-not-liquidatable")
        if pool["margin_level"] is None:
            out.add("pool-margin-level-null")
        if pool["id"].startswith("ISOLATED:"):
            out.add("isolated-pool")
    for asset, text in result["max_transfer_out"].items():
        if _dec(text) < _dec(account["wallet"][asset]):
            out.add("futures-transfer-out-partial")
    out |= futures_edges(u, scenario)
    return out


def futures_edges(u: m.Rulebook, scenario: dict[str, Any]) -> set[str]:
    """A pool within one 10^-8 step of its liquidation or available ≥ 0 edge."""
    account = m.parse_account(scenario["account"], u)
    market = m.parse_market(scenario, u)
    assert isinstance(account, m.FuturesAccount)
    out = set()
    threshold = u.settings.liquidation[m.FUTURES]
    biggest = max([Fraction(1), *market.prices.values()])
    for spec in m.pool_specs(account, u):
        f = m.pool_figures(spec, account, account.wallet, u, market)
        tolerance = biggest * Fraction(2, 10**8)
        if (
            f.maintenance_margin > 0
            and abs(f.effective_margin - threshold * f.maintenance_margin) <= tolerance
        ):
            out.add("futures-liquidation-edge")
        if abs(f.available) <= tolerance:
            out.add("futures-available-edge")
    return out


def margin_features(u: m.Rulebook, scenario: dict[str, Any], result: dict[str, Any]) -> set[str]:
    account = scenario["account"]
    mode = account.get("mode", m.CLASSIC)
    out = {f"MARGIN/{mode}"}
    prices = {a: _dec(v) for a, v in scenario["prices"].items()} | {"USDT": Fraction(1)}
    step = Fraction(1, 10**8)
    region = account.get("region")
    if mode == m.PRO:
        restricted = region in u.settings.restricted_regions
        out.add("pro-restricted-region" if restricted else "pro-unrestricted-region")
    out.add(f"classic-leverage-{account.get('classic_leverage', 'default')}")
    if "mcr" in account:
        out.add("mcr-given")
    if "vip_level" in account:
        out.add("vip-level-given")
    holdings = {a: _dec(v) for a, v in account.get("holdings", {}).items()}
    borrowed = {a: _dec(v) for a, v in account.get("borrowed", {}).items()}
    interest = {a: _dec(v) for a, v in account.get("interest", {}).items()}
    if any(borrowed.values()):
        out.add("borrowed")
    if any(interest.values()):
        out.add("interest")
    if account.get("orders"):
        out.add("margin-orders")
    for asset, amount in holdings.items():
        for bound, _ in u.assets[asset].haircut_tiers:
            if (
                bound is not None
                and amount
                and (hit := _near(amount * prices[asset], bound, step * prices[asset]))
            ):
                out.add(hit)
                out.add("haircut-tier-" + hit)
    for asset in u.assets:
        spec = u.assets[asset]
        if not spec.borrow_enabled:
            continue
        assert spec.borrow is not None and spec.borrow.pro_mmr is not None
        if asset not in prices:
            out.add("max-borrow-no-price")
            continue
        debt = borrowed.get(asset, Fraction(0)) + interest.get(asset, Fraction(0))
        for bound, _ in spec.borrow.pro_mmr:
            if (
                bound is not None
                and debt
                and (hit := _near(debt * prices[asset], bound, step * prices[asset]))
            ):
                out.add(hit)
                out.add("pro-tier-" + hit)
        got = _dec(result["max_borrow"].get(asset, "0"))
        limit = spec.borrow.classic_limit
        if mode == m.CLASSIC and got > 0 and borrowed.get(asset, Fraction(0)) + got == limit:
            out.add("max-borrow-at-classic-limit")
        last = spec.borrow.pro_mmr[-1][0]
        if mode == m.PRO and got > 0 and last is not None and (debt + got + step) * prices[asset] > last:
            out.add("max-borrow-at-pro-limit")
        if got > 0:
            out.add(f"{mode}-max-borrow-positive")
        vip_limit = spec.borrow.vip_limit(account.get("vip_level", 0))
        if vip_limit is not None:
            out.add("vip-limits")
            principal = borrowed.get(asset, Fraction(0))
            if got > 0 and principal + got == vip_limit:
                out.add(f"{mode}-max-borrow-at-vip-limit")
            if principal > vip_limit:
                out.add("vip-limit-exceeded")
    for asset, text in result["max_transfer_out"].items():
        if _dec(text) < holdings[asset]:
            out.add(f"{mode}-transfer-out-partial")
    out.add("margin-liquidatable" if result["liquidatable"] else "margin-not-liquidatable")
    if result["margin_call"] and not result["liquidatable"]:
        out.add("margin-call-only")
    out |= margin_edges(u, scenario)
    return out


def margin_edges(u: m.Rulebook, scenario: dict[str, Any]) -> set[str]:
    """The account within one 10^-8 step of its liquidation / margin-call edge."""
    account = m.parse_account(scenario["account"], u)
    market = m.parse_market(scenario, u)
    assert isinstance(account, m.MarginAccount)
    state = m.MarginState(account.holdings, account.borrowed, account.interest)
    f = m.margin_figures(state, account, u, market)
    tolerance = max([Fraction(1), *market.prices.values()]) * Fraction(2, 10**8)
    out = set()
    if account.mode == m.CLASSIC:
        tl = f.total_liability_value
        if tl == 0:
            return out
        ta = f.total_asset_value
        if abs(ta - u.settings.liquidation[m.CLASSIC] * tl) <= tolerance:
            out.add("classic-liquidation-edge")
        if abs(ta - account.mcr[m.CLASSIC] * tl) <= tolerance:
            out.add("classic-margin-call-edge")
        return out
    mm = f.maintenance_margin
    assert mm is not None
    if mm > 0 and abs(f.pro_equity - u.settings.liquidation[m.PRO] * mm) <= tolerance:
        out.add("pro-liquidation-edge")
    if mm > 0 and abs(f.pro_equity - account.mcr[m.PRO] * mm) <= tolerance:
        out.add("pro-margin-call-edge")
    if mm > 0 and abs(f.available) <= tolerance:
        out.add("pro-available-edge")
    return out


def features(scenario: dict[str, Any], result: dict[str, Any]) -> set[str]:
    u = m.parse_rulebook(scenario["rulebook"])
    kind = scenario["account"]["kind"]
    out = amount_features(scenario)
    if kind == m.FUTURES:
        out |= futures_features(u, scenario, result)
    else:
        out |= margin_features(u, scenario, result)
    if scenario["account"].get("region") is None:
        out.add("no-region")
    return out


COMMON_REQUIRED = {
    "tiny-1e-8",
    "quantity-near-1e15",
    "price-near-1e9",
    "price-8-decimals",
    "non-canonical-spelling",
    "on-tier-bound",
    "next-to-tier-bound",
    "no-region",
}
FUTURES_REQUIRED = COMMON_REQUIRED | {
    "FUTURES/SINGLE_ASSET",
    "FUTURES/MULTI_ASSET",
    "isolated-position",
    "isolated-pool",
    "airdrop-position",
    "zero-size-position",
    "long",
    "short",
    "order-default-leverage",
    "order-reduces",
    "order-flips",
    "order-closes-exactly",
    "negative-wallet",
    "pool-liquidatable",
    "pool-not-liquidatable",
    "pool-margin-level-null",
    "futures-transfer-out-partial",
    "futures-liquidation-edge",
    "futures-available-edge",
    "collateral-tier-on-tier-bound",
    "collateral-tier-next-to-tier-bound",
    "risk-tier-next-to-tier-bound",
}
MARGIN_REQUIRED = COMMON_REQUIRED | {
    "MARGIN/CLASSIC",
    "MARGIN/PRO",
    "pro-restricted-region",
    "pro-unrestricted-region",
    "classic-leverage-3",
    "classic-leverage-5",
    "classic-leverage-default",
    "mcr-given",
    "borrowed",
    "interest",
    "margin-orders",
    "margin-liquidatable",
    "margin-not-liquidatable",
    "margin-call-only",
    "max-borrow-no-price",
    "max-borrow-at-classic-limit",
    "max-borrow-at-pro-limit",
    "CLASSIC-max-borrow-positive",
    "PRO-max-borrow-positive",
    "CLASSIC-transfer-out-partial",
    "PRO-transfer-out-partial",
    "classic-liquidation-edge",
    "classic-margin-call-edge",
    "pro-liquidation-edge",
    "pro-margin-call-edge",
    "pro-available-edge",
    "haircut-tier-next-to-tier-bound",
    "pro-tier-next-to-tier-bound",
    "vip-level-given",
    "vip-limits",
    "vip-limit-exceeded",
    "CLASSIC-max-borrow-at-vip-limit",
    "PRO-max-borrow-at-vip-limit",
}


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=SLOW)
@given(scenarios(RULEBOOK))
def test_scenarios_are_accepted_by_the_model(scenario: dict[str, Any]) -> None:
    json.dumps(scenario)  # plain JSON data
    result = m.evaluate(scenario)
    for feature in sorted(features(scenario, result)):
        event(feature)


@pytest.mark.parametrize(
    ("strategy", "required"),
    [
        pytest.param(futures_scenarios, FUTURES_REQUIRED, id="futures"),
        pytest.param(margin_scenarios, MARGIN_REQUIRED, id="margin"),
    ],
)
def test_scenarios_cover_the_interesting_regions(strategy: Any, required: set[str]) -> None:
    """Over a fixed (derandomized) sample, every interesting region is hit at least once.
    Deterministic for a given hypothesis version; if a change to the strategies makes
    a feature disappear, the message lists the counts."""
    seen: Counter[str] = Counter()

    @settings(max_examples=250, deadline=None, suppress_health_check=SLOW, derandomize=True, database=None)
    @given(strategy(RULEBOOK))
    def collect(scenario: dict[str, Any]) -> None:
        seen.update(features(scenario, m.evaluate(scenario)))

    collect()
    missing = sorted(required - set(seen))
    assert not missing, f"never generated: {missing}; seen: {dict(seen)}"


@settings(max_examples=200, deadline=None, suppress_health_check=SLOW)
@given(invalid_scenarios(RULEBOOK))
def test_invalid_scenarios_are_refused_with_their_reason(pair: tuple[dict[str, Any], str]) -> None:
    scenario, reason = pair
    json.dumps(scenario)
    with pytest.raises(m.SpecError) as refused:
        m.evaluate(scenario)
    event(reason)
    assert refused.value.reason == reason, str(refused.value)


@settings(max_examples=100, deadline=None, suppress_health_check=SLOW)
@given(any_json_scenarios(RULEBOOK, include_rulebook=False))
def test_any_json_scenarios_evaluate_or_refuse(scenario: dict[str, Any]) -> None:
    try:
        m.evaluate(scenario, RULEBOOK)
        event("accepted")
    except m.SpecError as refused:
        event(refused.reason)


def _anchor_rulebooks() -> list[Any]:
    document = json.loads((VECTORS / "anchors.json").read_text(encoding="utf-8"))
    out, seen = [], []
    for case in document["cases"]:
        if "rulebook" in case and case["rulebook"] not in seen:
            seen.append(case["rulebook"])
            out.append(pytest.param(case["rulebook"], id=f"anchors:{case['name']}"))
    return out


OTHER_RULEBOOKS = [
    pytest.param(VECTORS / "anchors.json", id="anchors.json-file"),  # USDT only, no contracts
    pytest.param(str(VECTORS / "errors.json"), id="errors.json-file"),
    *_anchor_rulebooks(),
]


@pytest.mark.parametrize("source", OTHER_RULEBOOKS)
def test_strategies_follow_other_rulebooks(source: Any) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=SLOW, database=None)
    @given(scenarios(source), invalid_scenarios(source))
    def check(scenario: dict[str, Any], pair: tuple[dict[str, Any], str]) -> None:
        m.evaluate(scenario)
        bad, reason = pair
        with pytest.raises(m.SpecError) as refused:
            m.evaluate(bad)
        assert refused.value.reason == reason, str(refused.value)

    check()


def test_rulebook_loads_from_a_path_or_a_vector_file(tmp_path: Path) -> None:
    path = tmp_path / "rulebook.json"
    path.write_text(json.dumps(RULEBOOK), encoding="utf-8")
    assert load_rulebook(path) == RULEBOOK == load_rulebook(str(RANDOM_1))
    assert isinstance(st.one_of(scenarios(path)), st.SearchStrategy)

"""An asset's two collateral tables as curves, every value from the Rust core.

* ``collateral_tiers`` (futures MULTI_ASSET, SPEC §5.2): collateral counted for a wallet
  of ``q`` of the asset, in the asset itself: the core evaluates a one-asset
  MULTI_ASSET account with the asset priced at 1, so the pool's value is
  ``tiered(q, collateral_tiers)``. A bounded last row is the **cap**.
* ``haircut_tiers`` (margin, SPEC §6): collateral value of holdings worth ``v`` USDT:
  a one-asset CLASSIC account with the asset priced at 1, so its ``collateral_value``
  is ``tiered(v, haircut_tiers)``.

Tiered sums are piecewise linear between the tier bounds, so the core is asked at the
bounds (and past the last one); the slices (rate per range) come from its ``explain``.

>>> c = collateral_curve(multimargin.default_rulebook().to_dict(), "BTC")
>>> c.cap
Decimal('100')
>>> [(str(p.base), str(p.value)) for p in c.points][:3]
[('0', '0'), ('1', '0.975'), ('5', '4.855')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import multimargin
from multimargin.pictures.stress import floor8

#: How far past the last bound a curve goes (× that bound), and where an unbounded
#: single-row table stops.
PAST_LAST = Decimal("1.25")
NO_BOUNDS_END = Decimal(1_000_000)


@dataclass(frozen=True)
class TierPoint:
    """The tiered sum at one base amount."""

    base: Decimal
    value: Decimal


@dataclass(frozen=True)
class Slice:
    """One tier as the core explains it: the rate applied between two base amounts."""

    start: Decimal
    end: Decimal
    rate: Decimal


@dataclass(frozen=True)
class TierCurve:
    """A tier table's sum at its breakpoints, its slices, and its cap (bounded last row)."""

    asset: str
    table: str
    unit: str
    points: tuple[TierPoint, ...]
    slices: tuple[Slice, ...]
    cap: Decimal | None


def _bases(rows: list[list[Any]]) -> tuple[list[Decimal], Decimal | None]:
    bounds = [Decimal(r[0]) for r in rows if r[0] is not None]
    cap = bounds[-1] if rows[-1][0] is not None else None
    end = floor8(bounds[-1] * PAST_LAST) if bounds else NO_BOUNDS_END
    return [Decimal(0), *bounds, end], cap


def _curve(
    rulebook: Mapping[str, Any],
    asset: str,
    table: str,
    unit: str,
    account: Mapping[str, Any],
    value_of: Any,
    slices_of: Any,
) -> TierCurve:
    if asset not in rulebook["assets"]:
        raise multimargin.InvalidInputError(f"unknown asset {asset!r}", "UNKNOWN_ASSET", "asset")
    bases, cap = _bases(rulebook["assets"][asset][table])
    key = "wallet" if account["kind"] == "FUTURES" else "holdings"

    def scenario(amount: Decimal) -> dict[str, Any]:
        text = format(amount.normalize(), "f")
        return {"rulebook": rulebook, "prices": {asset: "1"}, "account": {**account, key: {asset: text}}}

    points = tuple(TierPoint(b, Decimal(value_of(multimargin.evaluate(scenario(b))))) for b in bases)
    explained = slices_of(multimargin.explain(scenario(bases[-1])))
    slices = tuple(Slice(Decimal(s["from"]), Decimal(s["to"]), Decimal(s["rate"])) for s in explained)
    return TierCurve(asset, table, unit, points, slices, cap)


def collateral_curve(rulebook: Mapping[str, Any], asset: str) -> TierCurve:
    """``collateral_tiers`` of ``asset``: collateral (in the asset) against wallet quantity."""
    return _curve(
        rulebook,
        asset,
        "collateral_tiers",
        asset,
        {"kind": "FUTURES", "mode": "MULTI_ASSET"},
        lambda r: r["pools"][0]["value"].get(asset, "0"),
        lambda x: next((a["slices"] for a in x["pools"][0]["assets"] if a["asset"] == asset), []),
    )


def haircut_curve(rulebook: Mapping[str, Any], asset: str) -> TierCurve:
    """``haircut_tiers`` of ``asset``: collateral value against holdings value (USDT)."""
    return _curve(
        rulebook,
        asset,
        "haircut_tiers",
        "USDT",
        {"kind": "MARGIN", "mode": "CLASSIC"},
        lambda r: r["collateral_value"],
        lambda x: next((a["haircut_slices"] for a in x["assets"] if a["asset"] == asset), []),
    )


__all__ = ["Slice", "TierCurve", "TierPoint", "collateral_curve", "haircut_curve"]

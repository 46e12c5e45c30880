"""Interest settlement and threshold auto-repay of one account (SPEC §7.1, §7.3): the
engine's side — which accounts, which hours, which records; every figure comes from
the core."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import multimargin
from multimargin.state.events import history_entry, record
from multimargin.state.model import ZERO, AccountState, add, dec, fmt, sub


def charge_interest(rules: dict[str, Any], a: AccountState, hour_ns: int) -> int:
    """Charges one hour's interest (SPEC §7.1) to ``a``; returns the number of charges."""
    charges = 0
    assets = rules["assets"]
    if a.futures is not None:
        for asset, balance in sorted(a.f.wallet.items()):
            section = assets[asset].get("liability")
            if balance >= 0 or section is None:
                continue
            charged = dec(
                multimargin.futures_hourly_interest(
                    fmt(-balance), section["interest_free"], section["hourly_rate"]
                )
            )
            if charged == 0:
                continue
            a.f.wallet[asset] = sub(balance, charged)
            charges += 1
            base = max(ZERO, sub(-balance, dec(section["interest_free"])))
            _record_interest(a, hour_ns, asset, charged, base, section["hourly_rate"])
    else:
        for asset, principal in sorted(a.m.borrowed.items()):
            rate = assets[asset].get("borrow", {}).get("hourly_rate")
            if principal <= 0 or rate is None:
                continue
            charged = dec(multimargin.margin_hourly_interest(fmt(principal), rate))
            if charged == 0:
                continue
            a.m.interest[asset] = add(a.m.interest.get(asset, ZERO), charged)
            charges += 1
            _record_interest(a, hour_ns, asset, charged, principal, rate)
    return charges


def _record_interest(
    a: AccountState, hour_ns: int, asset: str, charged: Decimal, base: Decimal, rate: str
) -> None:
    entry = history_entry(
        "INTEREST", asset=asset, amount=fmt(charged), interest_base=fmt(base), hourly_rate=rate
    )
    entry.time.FromNanoseconds(hour_ns)
    record(a, entry)

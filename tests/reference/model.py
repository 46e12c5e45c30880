"""Reference model of SPEC.md v1.2 (§1-§6, §10, §11): slow, exact, literal.

This is the oracle for differential tests against the Rust engine. It is
written from the SPEC text alone:

* every number is a ``fractions.Fraction`` (exact; no binary floats);
* every formula is one small function that cites the section it transcribes;
* every "largest multiple of 10^-8" (max transfer-out, max borrow) is found by
  integer bisection over 10^-8 steps of the predicate *as worded* in the SPEC,
  re-evaluating the account with the changed amount, never by inverting the
  tier functions.

>>> rb = {"assets": {"USDT": {"collateral_tiers": [[None, "1"]],
...                           "haircut_tiers": [[None, "1"]], "discount": "1"}}}
>>> evaluate({"account": {"kind": "MARGIN", "holdings": {"USDT": "10"}}}, rb)["max_transfer_out"]
{'USDT': '10'}

The test suite imports this as ``reference.model`` (tests/ is on sys.path).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from math import ceil, floor
from typing import Any

__all__ = ["SpecError", "evaluate", "format_decimal", "parse_rulebook"]

ZERO = Fraction(0)
ONE = Fraction(1)
SCALE = 10**8  # SPEC §1: 8 fractional digits
STEP = Fraction(1, SCALE)

MAX_QUANTITY = Fraction(10**15)  # SPEC §1 ranges table
MAX_PRICE = Fraction(10**9)
MAX_RATE = Fraction(10)
MAX_BOUND = Fraction(10**18)
MAX_LEVERAGE = 1000

FUTURES, MARGIN = "FUTURES", "MARGIN"
SINGLE_ASSET, MULTI_ASSET = "SINGLE_ASSET", "MULTI_ASSET"
CLASSIC, PRO = "CLASSIC", "PRO"
MODES = {FUTURES: (SINGLE_ASSET, MULTI_ASSET), MARGIN: (CLASSIC, PRO)}
DEFAULT_MODE = {FUTURES: SINGLE_ASSET, MARGIN: CLASSIC}  # SPEC §4
BUY, SELL = "BUY", "SELL"
LINEAR, INVERSE = "LINEAR", "INVERSE"
CATEGORIES = ("STANDARD", "STOCK", "PREDICTION")
MULTI_ASSET_SETTLEMENTS = ("USDT", "USDC")  # SPEC §9

# SPEC §3.4 defaults
DEFAULT_LIQUIDATION = {FUTURES: Fraction(1), CLASSIC: Fraction("1.1"), PRO: Fraction(1)}
DEFAULT_MCR = {CLASSIC: Fraction("1.3"), PRO: Fraction("1.5")}
DEFAULT_MCR_RANGE = (Fraction("1.3"), Fraction(2))
DEFAULT_CLASSIC_TRANSFER_BAR = Fraction(2)
DEFAULT_PRO_SWITCH_IN_BAR = Fraction(2)
DEFAULT_RESTRICTED_REGIONS = (
    *("FR", "GB", "PT", "AT", "AE", "IT", "SE", "MT", "FI"),
    *("NO", "LU", "IE", "GI", "DK", "PL", "BH", "SC", "AU"),
)
DEFAULT_RESTRICTED_IMR_FLOOR = Fraction("0.1112")
CLASSIC_LEVERAGES = (3, 5)  # SPEC §3.4 / §4
DEFAULT_CLASSIC_LEVERAGE = 3

# SPEC §1 wire form: -?[0-9]+(\.[0-9]+)?  (ASCII digits only)
DECIMAL_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")
REGION_RE = re.compile(r"[A-Z]{2}")


class SpecError(Exception):
    """A refused input (SPEC §11): ``reason`` is the reason code, ``field`` the path.

    >>> SpecError("OUT_OF_RANGE", "prices.ETH").reason
    'OUT_OF_RANGE'
    """

    def __init__(self, reason: str, field: str | None = None, message: str = "") -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{reason} at {field}: {message}" if field else f"{reason}: {message}")


# --------------------------------------------------------------------------
# SPEC §1: numbers
# --------------------------------------------------------------------------


def floor8(x: Fraction) -> Fraction:
    """Round toward -inf to a multiple of 10^-8 (SPEC §1 "down")."""
    return Fraction(floor(x * SCALE), SCALE)


def ceil8(x: Fraction) -> Fraction:
    """Round toward +inf to a multiple of 10^-8 (SPEC §1 "up")."""
    return Fraction(ceil(x * SCALE), SCALE)


def format_decimal(x: Fraction) -> str:
    """SPEC §1 output form of a multiple of 10^-8: no trailing zeros, "0" not "-0".

    >>> [format_decimal(Fraction(v)) for v in ("1080000", "0.5", "-3.25", "-0")]
    ['1080000', '0.5', '-3.25', '0']
    """
    units = x * SCALE
    if units.denominator != 1:
        raise ValueError(f"{x} is not a multiple of 10^-8")
    n = int(units)
    sign = "-" if n < 0 else ""
    whole, frac = divmod(abs(n), SCALE)
    text = str(whole)
    if frac:
        text += "." + f"{frac:08d}".rstrip("0")
    return sign + text


def parse_decimal(raw: Any, field: str) -> Fraction:
    """SPEC §1 wire form: a JSON string, at most 8 digits after the point as written."""
    if isinstance(raw, bool) or not isinstance(raw, str):
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            # SPEC §11: a decimal sent as a JSON number is INVALID_DECIMAL
            raise SpecError("INVALID_DECIMAL", field, "decimal sent as a JSON number")
        raise SpecError("INVALID_ARGUMENT", field, f"expected a decimal string, got {raw!r}")
    if DECIMAL_RE.fullmatch(raw) is None:
        raise SpecError("INVALID_DECIMAL", field, f"malformed decimal {raw!r}")
    if "." in raw and len(raw.split(".", 1)[1]) > 8:
        raise SpecError("INVALID_DECIMAL", field, f"more than 8 fractional digits in {raw!r}")
    return Fraction(raw)  # "-0" is 0


def check_range(
    x: Fraction, field: str, low: Fraction, high: Fraction, *, low_open: bool = False
) -> Fraction:
    """SPEC §1 input domain: OUT_OF_RANGE naming the field."""
    below = x <= low if low_open else x < low
    if below or x > high:
        bracket = "(" if low_open else "["
        raise SpecError("OUT_OF_RANGE", field, f"{x} outside {bracket}{low}, {high}]")
    return x


def signed_quantity(raw: Any, field: str) -> Fraction:
    """Wallet balances, position sizes: |x| <= 10^15."""
    return check_range(parse_decimal(raw, field), field, -MAX_QUANTITY, MAX_QUANTITY)


def nonneg_quantity(raw: Any, field: str) -> Fraction:
    """Holdings, borrowed, interest, isolated margin, limits, thresholds: 0 <= x <= 10^15."""
    return check_range(parse_decimal(raw, field), field, ZERO, MAX_QUANTITY)


def positive_amount(raw: Any, field: str) -> Fraction:
    """Order quantity: 0 < x <= 10^15."""
    return check_range(parse_decimal(raw, field), field, ZERO, MAX_QUANTITY, low_open=True)


def price_value(raw: Any, field: str) -> Fraction:
    """Index, mark, order and entry prices: 0 < p <= 10^9."""
    return check_range(parse_decimal(raw, field), field, ZERO, MAX_PRICE, low_open=True)


def unit_ratio(raw: Any, field: str) -> Fraction:
    """Collateral and haircut ratios, auto-repay ratio: 0 <= r <= 1."""
    return check_range(parse_decimal(raw, field), field, ZERO, ONE)


def discount_ratio(raw: Any, field: str) -> Fraction:
    """Discount: 0 < r <= 1."""
    return check_range(parse_decimal(raw, field), field, ZERO, ONE, low_open=True)


def rate_value(raw: Any, field: str) -> Fraction:
    """IMR, MMR, interest rates, thresholds, bars, the IMR floor: 0 <= r <= 10."""
    return check_range(parse_decimal(raw, field), field, ZERO, MAX_RATE)


def tier_bound(raw: Any, field: str) -> Fraction:
    """Tier bounds: 0 < bound <= 10^18."""
    return check_range(parse_decimal(raw, field), field, ZERO, MAX_BOUND, low_open=True)


def leverage_value(raw: Any, field: str) -> int:
    """Leverage, max leverage: a JSON integer (not a bool, not a string), 1 <= L <= 1000."""
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise SpecError("INVALID_ARGUMENT", field, f"leverage must be a JSON integer, got {raw!r}")
    if not 1 <= raw <= MAX_LEVERAGE:
        raise SpecError("OUT_OF_RANGE", field, f"leverage {raw} outside [1, {MAX_LEVERAGE}]")
    return raw


# --------------------------------------------------------------------------
# JSON structure helpers (missing field / wrong type -> INVALID_ARGUMENT)
# --------------------------------------------------------------------------


def as_object(raw: Any, field: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SpecError("INVALID_ARGUMENT", field, "expected a JSON object")
    return raw


def as_list(raw: Any, field: str) -> list[Any]:
    if not isinstance(raw, list):
        raise SpecError("INVALID_ARGUMENT", field, "expected a JSON array")
    return raw


def as_bool(raw: Any, field: str) -> bool:
    if not isinstance(raw, bool):
        raise SpecError("INVALID_ARGUMENT", field, "expected true or false")
    return raw


def as_string(raw: Any, field: str) -> str:
    if not isinstance(raw, str):
        raise SpecError("INVALID_ARGUMENT", field, "expected a string")
    return raw


def as_enum(raw: Any, field: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if not isinstance(raw, str) or raw not in allowed:
        raise SpecError("INVALID_ARGUMENT", field, f"expected one of {allowed}, got {raw!r}")
    return raw


def required(obj: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in obj or obj[key] is None:
        raise SpecError("INVALID_ARGUMENT", f"{path}.{key}" if path else key, "missing field")
    return obj[key]


def optional(obj: Mapping[str, Any], key: str) -> Any:
    """An optional field; JSON null counts as absent."""
    return obj.get(key)


def is_comment(key: str) -> bool:
    """SPEC §3.1 / §10 (v1.2): keys that begin with `_` are comments and are ignored."""
    return key.startswith("_")


def only_keys(raw: Any, path: str, allowed: Iterable[str]) -> dict[str, Any]:
    """A JSON object holding no key outside `allowed` (comments aside): SPEC §3.1 / §10
    v1.2, an unknown key is INVALID_ARGUMENT with its path as the field."""
    obj = as_object(raw, path)
    allowed = frozenset(allowed)
    for key in obj:
        if not is_comment(key) and key not in allowed:
            raise SpecError("INVALID_ARGUMENT", f"{path}.{key}" if path else key, "unknown key")
    return obj


def entries(raw: Any, path: str) -> list[tuple[str, Any]]:
    """The entries of an object keyed by asset codes or symbols, comments left out."""
    return [(k, v) for k, v in as_object(raw, path).items() if not is_comment(k)]


# --------------------------------------------------------------------------
# SPEC §3.1: tier tables and the tiered sum
# --------------------------------------------------------------------------

Bound = Fraction | None  # None = unbounded (JSON null)
Table = tuple[tuple[Bound, Fraction], ...]  # rows of (up_to, rate)


def tiered_slices(x: Fraction, table: Table) -> Fraction:
    """SPEC §3.1: Σ_i rate_i × max(0, min(x, up_to_i) − up_to_{i−1}), up_to_0 = 0.

    The part of x above a bounded last row contributes 0 (a collateral cap).

    >>> eth = ((Fraction(100), Fraction("0.9")), (Fraction(200), Fraction("0.8")),
    ...        (Fraction(300), Fraction("0.7")), (Fraction(400), Fraction("0.6")))
    >>> tiered_slices(Fraction(350), eth) * 4000
    Fraction(1080000, 1)
    """
    total = ZERO
    previous = ZERO
    for up_to, rate in table:
        top = x if up_to is None else min(x, up_to)
        total += rate * max(ZERO, top - previous)
        if up_to is None:
            break
        previous = up_to
    return total


def tiered_collateral(x: Fraction, table: Table) -> Fraction:
    """SPEC §3.1 collateral / haircut table: slices; above a bounded last row counts 0."""
    return tiered_slices(x, table)


def tiered_requirement(x: Fraction, table: Table) -> Fraction:
    """SPEC §3.1 requirement table (IMR / MMR): beyond a bounded last row the
    last row's rate applies to the excess, so a requirement is never understated."""
    total = tiered_slices(x, table)
    last_up_to, last_rate = table[-1]
    if last_up_to is not None and x > last_up_to:
        total += last_rate * (x - last_up_to)
    return total


def last_bound(table: Table) -> Bound:
    """The `up_to` of the last row when it is bounded (a limit, SPEC §3.1), else None."""
    return table[-1][0]


# --------------------------------------------------------------------------
# SPEC §3: the rulebook
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Liability:
    hourly_rate: Fraction
    interest_free: Fraction
    mmr: Fraction
    auto_repay_threshold: Fraction
    auto_repay_ratio: Fraction


@dataclass(frozen=True)
class Borrow:
    enabled: bool
    hourly_rate: Fraction | None
    classic_limit: Fraction | None
    pro_imr: Table | None  # Pro tiers split into (up_to, imr) and (up_to, mmr) tables
    pro_mmr: Table | None
    vip_limits: tuple[tuple[int, Fraction], ...] = ()  # SPEC §3.2 v1.2: (level, limit)

    def vip_limit(self, level: int) -> Fraction | None:
        """SPEC §3.2: the limit of the row with the highest level ≤ the account's level."""
        limit = None
        for row_level, row_limit in self.vip_limits:
            if row_level <= level:
                limit = row_limit
        return limit


@dataclass(frozen=True)
class Asset:
    code: str
    collateral_tiers: Table
    haircut_tiers: Table
    discount: Fraction
    liability: Liability | None
    borrow: Borrow | None

    @property
    def borrow_enabled(self) -> bool:
        return self.borrow is not None and self.borrow.enabled


@dataclass(frozen=True)
class Contract:
    symbol: str
    settlement: str
    kind: str
    category: str
    mmr_tiers: Table  # risk_tiers (up_to, mmr)
    max_leverage: tuple[int, ...]


@dataclass(frozen=True)
class Settings:
    liquidation: dict[str, Fraction]
    classic_transfer_bar: Fraction
    mcr_default: dict[str, Fraction]
    mcr_range: tuple[Fraction, Fraction]
    pro_switch_in_bar: Fraction
    restricted_regions: frozenset[str]
    restricted_imr_floor: Fraction
    payer_order: tuple[str, ...]


@dataclass(frozen=True)
class Rulebook:
    assets: dict[str, Asset]
    contracts: dict[str, Contract]
    settings: Settings


def parse_tier_rows(
    raw: Any,
    path: str,
    rate_parsers: tuple[Callable[[Any, str], Any], ...],
) -> list[tuple[Bound, tuple[Any, ...]]]:
    """SPEC §3.1 structure: a non-empty list of rows [up_to, rate...]; up_to strictly
    increasing; only the last row may be null. Structural faults INVALID_ARGUMENT,
    ordering faults OUT_OF_RANGE."""
    rows_raw = as_list(raw, path)
    if not rows_raw:
        raise SpecError("INVALID_ARGUMENT", path, "a tier table has at least one row")
    rows: list[tuple[Bound, tuple[Any, ...]]] = []
    previous: Fraction | None = None
    for i, row in enumerate(rows_raw):
        row_path = f"{path}[{i}]"
        row = as_list(row, row_path)
        if len(row) != 1 + len(rate_parsers):
            raise SpecError("INVALID_ARGUMENT", row_path, f"expected {1 + len(rate_parsers)} columns")
        if row[0] is None:
            if i != len(rows_raw) - 1:
                raise SpecError("INVALID_ARGUMENT", f"{row_path}[0]", "null up_to before the last row")
            up_to: Bound = None
        else:
            up_to = tier_bound(row[0], f"{row_path}[0]")
            if previous is not None and up_to <= previous:
                raise SpecError("OUT_OF_RANGE", f"{row_path}[0]", "up_to not strictly increasing")
            previous = up_to
        rates = tuple(parse(row[j + 1], f"{row_path}[{j + 1}]") for j, parse in enumerate(rate_parsers))
        rows.append((up_to, rates))
    return rows


def check_monotone(values: list[Any], path: str, column: int, *, increasing: bool) -> None:
    """SPEC §3.1 rate ordering (OUT_OF_RANGE)."""
    for i in range(1, len(values)):
        bad = values[i] < values[i - 1] if increasing else values[i] > values[i - 1]
        if bad:
            order = "non-decreasing" if increasing else "non-increasing"
            raise SpecError("OUT_OF_RANGE", f"{path}[{i}][{column}]", f"must be {order}")


def parse_collateral_table(raw: Any, path: str) -> Table:
    """Collateral and haircut tables: rates in [0, 1], non-increasing (SPEC §3.1)."""
    rows = parse_tier_rows(raw, path, (unit_ratio,))
    check_monotone([r[0] for _, r in rows], path, 1, increasing=False)
    return tuple((up_to, r[0]) for up_to, r in rows)


def parse_pro_tiers(raw: Any, path: str) -> tuple[Table, Table]:
    """Pro tiers [up_to, imr, mmr]: rates non-decreasing, IMR >= MMR on every row."""
    rows = parse_tier_rows(raw, path, (rate_value, rate_value))
    check_monotone([r[0] for _, r in rows], path, 1, increasing=True)
    check_monotone([r[1] for _, r in rows], path, 2, increasing=True)
    for i, (_, (imr, mmr)) in enumerate(rows):
        if imr < mmr:
            raise SpecError("OUT_OF_RANGE", f"{path}[{i}][1]", "IMR below MMR")
    return (
        tuple((up_to, r[0]) for up_to, r in rows),
        tuple((up_to, r[1]) for up_to, r in rows),
    )


def parse_risk_tiers(raw: Any, path: str) -> tuple[Table, tuple[int, ...]]:
    """Contract risk tiers [up_to, mmr, max_leverage]: mmr non-decreasing,
    max_leverage non-increasing (SPEC §3.1)."""
    rows = parse_tier_rows(raw, path, (rate_value, leverage_value))
    check_monotone([r[0] for _, r in rows], path, 1, increasing=True)
    check_monotone([r[1] for _, r in rows], path, 2, increasing=False)
    return tuple((up_to, r[0]) for up_to, r in rows), tuple(r[1] for _, r in rows)


LIABILITY_KEYS = ("hourly_rate", "interest_free", "mmr", "auto_repay_threshold", "auto_repay_ratio")
BORROW_KEYS = ("enabled", "hourly_rate", "classic_limit", "pro_tiers", "vip_limits")
ASSET_KEYS = ("collateral_tiers", "haircut_tiers", "discount", "liability", "borrow")
CONTRACT_KEYS = ("settlement", "kind", "category", "risk_tiers")
SETTINGS_KEYS = (
    *("payer_order", "restricted_regions", "restricted_imr_floor", "liquidation"),
    *("mcr_default", "mcr_range", "classic_transfer_bar", "pro_switch_in_bar"),
)
MAX_VIP_LEVEL = 9


def vip_level_value(raw: Any, field: str) -> int:
    """SPEC §3.2 / §4: a VIP level is a JSON integer 0–9 (a non-integer is
    INVALID_ARGUMENT, an integer outside 0–9 OUT_OF_RANGE)."""
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise SpecError("INVALID_ARGUMENT", field, f"a VIP level is a JSON integer, got {raw!r}")
    if not 0 <= raw <= MAX_VIP_LEVEL:
        raise SpecError("OUT_OF_RANGE", field, f"VIP level {raw} outside [0, {MAX_VIP_LEVEL}]")
    return raw


def parse_vip_limits(raw: Any, path: str) -> tuple[tuple[int, Fraction], ...]:
    """SPEC §3.2 `vip_limits`: rows [level, max borrowed principal]; non-empty, first
    row level 0 (INVALID_ARGUMENT); levels strictly increase and limits never decrease
    (OUT_OF_RANGE); a limit is a non-negative quantity."""
    rows_raw = as_list(raw, path)
    if not rows_raw:
        raise SpecError("INVALID_ARGUMENT", path, "vip_limits has at least one row")
    rows: list[tuple[int, Fraction]] = []
    for i, row in enumerate(rows_raw):
        row_path = f"{path}[{i}]"
        row = as_list(row, row_path)
        if len(row) != 2:
            raise SpecError("INVALID_ARGUMENT", row_path, "expected [level, limit]")
        level = vip_level_value(row[0], f"{row_path}[0]")
        limit = nonneg_quantity(row[1], f"{row_path}[1]")
        if i == 0 and level != 0:
            raise SpecError("INVALID_ARGUMENT", f"{row_path}[0]", "the first row is level 0")
        if rows and level <= rows[-1][0]:
            raise SpecError("OUT_OF_RANGE", f"{row_path}[0]", "levels not strictly increasing")
        if rows and limit < rows[-1][1]:
            raise SpecError("OUT_OF_RANGE", f"{row_path}[1]", "limits decreasing")
        rows.append((level, limit))
    return tuple(rows)


def parse_liability(raw: Any, path: str) -> Liability:
    """SPEC §3.2 `liability`: all five fields required when the section is present."""
    obj = only_keys(raw, path, LIABILITY_KEYS)
    return Liability(
        hourly_rate=rate_value(required(obj, "hourly_rate", path), f"{path}.hourly_rate"),
        interest_free=nonneg_quantity(required(obj, "interest_free", path), f"{path}.interest_free"),
        mmr=rate_value(required(obj, "mmr", path), f"{path}.mmr"),
        auto_repay_threshold=nonneg_quantity(
            required(obj, "auto_repay_threshold", path), f"{path}.auto_repay_threshold"
        ),
        auto_repay_ratio=unit_ratio(required(obj, "auto_repay_ratio", path), f"{path}.auto_repay_ratio"),
    )


def parse_borrow(raw: Any, path: str) -> Borrow:
    """SPEC §3.2 `borrow`: `enabled` required; when enabled also hourly_rate,
    classic_limit and pro_tiers; optional vip_limits. (Present fields are validated even
    when disabled.)"""
    obj = only_keys(raw, path, BORROW_KEYS)
    enabled = as_bool(required(obj, "enabled", path), f"{path}.enabled")

    def field(key: str, parse: Callable[[Any, str], Any]) -> Any:
        value = required(obj, key, path) if enabled else optional(obj, key)
        return None if value is None else parse(value, f"{path}.{key}")

    hourly_rate = field("hourly_rate", rate_value)
    classic_limit = field("classic_limit", nonneg_quantity)
    pro = field("pro_tiers", parse_pro_tiers)
    vip_raw = optional(obj, "vip_limits")
    return Borrow(
        enabled=enabled,
        hourly_rate=hourly_rate,
        classic_limit=classic_limit,
        pro_imr=None if pro is None else pro[0],
        pro_mmr=None if pro is None else pro[1],
        vip_limits=() if vip_raw is None else parse_vip_limits(vip_raw, f"{path}.vip_limits"),
    )


def parse_asset(code: str, raw: Any, path: str) -> Asset:
    """SPEC §3.2 asset."""
    obj = only_keys(raw, path, ASSET_KEYS)
    liability_raw = optional(obj, "liability")
    borrow_raw = optional(obj, "borrow")
    return Asset(
        code=code,
        collateral_tiers=parse_collateral_table(
            required(obj, "collateral_tiers", path), f"{path}.collateral_tiers"
        ),
        haircut_tiers=parse_collateral_table(required(obj, "haircut_tiers", path), f"{path}.haircut_tiers"),
        discount=discount_ratio(required(obj, "discount", path), f"{path}.discount"),
        liability=None if liability_raw is None else parse_liability(liability_raw, f"{path}.liability"),
        borrow=None if borrow_raw is None else parse_borrow(borrow_raw, f"{path}.borrow"),
    )


def parse_contract(symbol: str, raw: Any, path: str, assets: Mapping[str, Asset]) -> Contract:
    """SPEC §3.3 contract; it settles in a known asset."""
    obj = only_keys(raw, path, CONTRACT_KEYS)
    settlement = as_string(required(obj, "settlement", path), f"{path}.settlement")
    if settlement not in assets:
        raise SpecError("UNKNOWN_ASSET", f"{path}.settlement", f"unknown asset {settlement!r}")
    kind = as_enum(required(obj, "kind", path), f"{path}.kind", (LINEAR, INVERSE))
    category = as_enum(required(obj, "category", path), f"{path}.category", CATEGORIES)
    mmr_tiers, max_leverage = parse_risk_tiers(required(obj, "risk_tiers", path), f"{path}.risk_tiers")
    return Contract(symbol, settlement, kind, category, mmr_tiers, max_leverage)


def parse_settings(raw: Any, path: str, assets: Mapping[str, Asset]) -> Settings:
    """SPEC §3.4 settings, with the defaults for those left out."""
    obj = only_keys(raw, path, SETTINGS_KEYS)

    liquidation = dict(DEFAULT_LIQUIDATION)
    liq_raw = optional(obj, "liquidation")
    if liq_raw is not None:
        liq_obj = only_keys(liq_raw, f"{path}.liquidation", (FUTURES, CLASSIC, PRO))
        for key in (FUTURES, CLASSIC, PRO):
            if optional(liq_obj, key) is not None:
                liquidation[key] = rate_value(liq_obj[key], f"{path}.liquidation.{key}")

    def rate_setting(key: str, default: Fraction) -> Fraction:
        value = optional(obj, key)
        return default if value is None else rate_value(value, f"{path}.{key}")

    classic_transfer_bar = rate_setting("classic_transfer_bar", DEFAULT_CLASSIC_TRANSFER_BAR)
    pro_switch_in_bar = rate_setting("pro_switch_in_bar", DEFAULT_PRO_SWITCH_IN_BAR)
    restricted_imr_floor = rate_setting("restricted_imr_floor", DEFAULT_RESTRICTED_IMR_FLOOR)

    mcr_range = DEFAULT_MCR_RANGE
    range_raw = optional(obj, "mcr_range")
    if range_raw is not None:
        range_path = f"{path}.mcr_range"
        pair = as_list(range_raw, range_path)
        if len(pair) != 2:
            raise SpecError("INVALID_ARGUMENT", range_path, "expected [low, high]")
        low = rate_value(pair[0], f"{range_path}[0]")
        high = rate_value(pair[1], f"{range_path}[1]")
        if low > high:
            raise SpecError("OUT_OF_RANGE", f"{range_path}[1]", "high below low")
        mcr_range = (low, high)

    mcr_default = dict(DEFAULT_MCR)
    mcr_raw = optional(obj, "mcr_default")
    if mcr_raw is not None:
        mcr_obj = only_keys(mcr_raw, f"{path}.mcr_default", (CLASSIC, PRO))
        for key in (CLASSIC, PRO):
            if optional(mcr_obj, key) is not None:
                mcr_default[key] = parse_decimal(mcr_obj[key], f"{path}.mcr_default.{key}")
    for key in (CLASSIC, PRO):  # a margin-call ratio lies inside mcr_range (SPEC §1)
        check_range(mcr_default[key], f"{path}.mcr_default.{key}", *mcr_range)

    regions: Iterable[str] = DEFAULT_RESTRICTED_REGIONS
    regions_raw = optional(obj, "restricted_regions")
    if regions_raw is not None:
        regions = []
        for i, region in enumerate(as_list(regions_raw, f"{path}.restricted_regions")):
            regions.append(parse_region(region, f"{path}.restricted_regions[{i}]"))

    payer_order: tuple[str, ...] = tuple(assets)  # default: the order of the rulebook's assets
    payer_raw = optional(obj, "payer_order")
    if payer_raw is not None:
        payers = []
        for i, code in enumerate(as_list(payer_raw, f"{path}.payer_order")):
            payers.append(known_asset(code, f"{path}.payer_order[{i}]", assets))
        payer_order = tuple(payers)

    return Settings(
        liquidation=liquidation,
        classic_transfer_bar=classic_transfer_bar,
        mcr_default=mcr_default,
        mcr_range=mcr_range,
        pro_switch_in_bar=pro_switch_in_bar,
        restricted_regions=frozenset(regions),
        restricted_imr_floor=restricted_imr_floor,
        payer_order=payer_order,
    )


def parse_region(raw: Any, field: str) -> str:
    """ISO 3166-1 alpha-2: two upper-case letters (SPEC §3.1, §4)."""
    if not isinstance(raw, str) or REGION_RE.fullmatch(raw) is None:
        raise SpecError("INVALID_ARGUMENT", field, f"region must be two upper-case letters, got {raw!r}")
    return raw


def known_asset(raw: Any, field: str, assets: Mapping[str, Asset]) -> str:
    code = as_string(raw, field)
    if code not in assets:
        raise SpecError("UNKNOWN_ASSET", field, f"unknown asset {code!r}")
    return code


def parse_rulebook(raw: Any, path: str = "rulebook") -> Rulebook:
    """SPEC §3 / §10: validate a rulebook. Unknown keys are refused (v1.2).

    >>> parse_rulebook({"assets": {}}).settings.mcr_default["PRO"]
    Fraction(3, 2)
    """
    obj = only_keys(raw, path, ("assets", "contracts", "settings"))
    assets_entries = entries(required(obj, "assets", path), f"{path}.assets")
    assets = {code: parse_asset(code, a, f"{path}.assets.{code}") for code, a in assets_entries}
    contracts_raw = optional(obj, "contracts")
    contracts_entries = [] if contracts_raw is None else entries(contracts_raw, f"{path}.contracts")
    contracts = {
        symbol: parse_contract(symbol, c, f"{path}.contracts.{symbol}", assets)
        for symbol, c in contracts_entries
    }
    settings_raw = optional(obj, "settings")
    settings = parse_settings({} if settings_raw is None else settings_raw, f"{path}.settings", assets)
    return Rulebook(assets, contracts, settings)


# --------------------------------------------------------------------------
# SPEC §2: market data
# --------------------------------------------------------------------------


class Market:
    """Index prices p(a) (p(USDT) = 1) and marks m(s). A price is needed only when
    it multiplies a non-zero quantity; a needed missing price is PRICE_UNAVAILABLE."""

    def __init__(self, prices: dict[str, Fraction], marks: dict[str, Fraction]) -> None:
        self.prices = prices
        self.marks = marks

    def has_price(self, asset: str) -> bool:
        return asset == "USDT" or asset in self.prices

    def index(self, asset: str) -> Fraction:
        if asset == "USDT":
            return ONE  # SPEC §2: p(USDT) = 1
        if asset not in self.prices:
            raise SpecError("PRICE_UNAVAILABLE", f"prices.{asset}", f"no index price for {asset}")
        return self.prices[asset]

    def value(self, asset: str, quantity: Fraction) -> Fraction:
        """quantity × p(asset), asking for the price only when quantity != 0."""
        if quantity == 0:
            return ZERO
        return quantity * self.index(asset)

    def mark(self, symbol: str) -> Fraction:
        if symbol not in self.marks:
            raise SpecError("PRICE_UNAVAILABLE", f"marks.{symbol}", f"no mark price for {symbol}")
        return self.marks[symbol]


def parse_market(scenario: Mapping[str, Any], rulebook: Rulebook) -> Market:
    """SPEC §2: prices of known assets, USDT = 1; marks of known contracts."""
    prices: dict[str, Fraction] = {}
    prices_raw = optional(scenario, "prices")
    for asset, raw in entries({} if prices_raw is None else prices_raw, "prices"):
        field = f"prices.{asset}"
        if asset not in rulebook.assets:
            raise SpecError("UNKNOWN_ASSET", field, f"unknown asset {asset!r}")
        prices[asset] = price_value(raw, field)
        if asset == "USDT" and prices[asset] != 1:
            raise SpecError("OUT_OF_RANGE", field, "the USDT price is 1")
    marks: dict[str, Fraction] = {}
    marks_raw = optional(scenario, "marks")
    for symbol, raw in entries({} if marks_raw is None else marks_raw, "marks"):
        field = f"marks.{symbol}"
        if symbol not in rulebook.contracts:
            raise SpecError("UNKNOWN_SYMBOL", field, f"unknown contract {symbol!r}")
        marks[symbol] = price_value(raw, field)
    return Market(prices, marks)


# --------------------------------------------------------------------------
# SPEC §4: accounts
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    symbol: str
    size: Fraction
    entry_price: Fraction
    leverage: int
    isolated: bool
    isolated_margin: Fraction
    airdrop: bool


@dataclass(frozen=True)
class FuturesOrder:
    symbol: str
    side: str
    price: Fraction
    quantity: Fraction
    leverage: int


@dataclass(frozen=True)
class FuturesAccount:
    mode: str
    region: str | None
    wallet: dict[str, Fraction]
    positions: tuple[Position, ...]  # non-zero sizes only (size 0 = no position)
    orders: tuple[FuturesOrder, ...]


@dataclass(frozen=True)
class MarginOrder:
    base: str
    quote: str
    side: str
    price: Fraction
    quantity: Fraction


@dataclass(frozen=True)
class MarginAccount:
    mode: str
    region: str | None
    holdings: dict[str, Fraction]
    borrowed: dict[str, Fraction]
    interest: dict[str, Fraction]
    orders: tuple[MarginOrder, ...]
    classic_leverage: int
    mcr: dict[str, Fraction]
    vip_level: int = 0  # SPEC §4 (v1.2): default 0


def parse_asset_map(
    obj: Mapping[str, Any], key: str, path: str, rulebook: Rulebook, parse: Callable[[Any, str], Fraction]
) -> dict[str, Fraction]:
    raw = optional(obj, key)
    out: dict[str, Fraction] = {}
    for asset, value in entries({} if raw is None else raw, f"{path}.{key}"):
        field = f"{path}.{key}.{asset}"
        if asset not in rulebook.assets:
            raise SpecError("UNKNOWN_ASSET", field, f"unknown asset {asset!r}")
        out[asset] = parse(value, field)
    return out


def parse_list(obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
    raw = optional(obj, key)
    return [] if raw is None else as_list(raw, f"{path}.{key}")


def known_contract(raw: Any, field: str, rulebook: Rulebook) -> Contract:
    symbol = as_string(raw, field)
    if symbol not in rulebook.contracts:
        raise SpecError("UNKNOWN_SYMBOL", field, f"unknown contract {symbol!r}")
    return rulebook.contracts[symbol]


def check_contract_allowed(
    contract: Contract, mode: str, field: str, *, isolated: bool = False, airdrop: bool = False
) -> None:
    """SPEC §5.1: INVERSE is refused in every mode; SPEC §5.2 / §9: MULTI_ASSET only
    takes cross, non-airdropped positions and orders on LINEAR STANDARD USDT/USDC contracts."""
    if contract.kind == INVERSE:
        raise SpecError("CONTRACT_NOT_SUPPORTED", field, f"{contract.symbol} is INVERSE")
    if mode == MULTI_ASSET:
        if contract.category != "STANDARD" or contract.settlement not in MULTI_ASSET_SETTLEMENTS:
            raise SpecError("CONTRACT_NOT_ALLOWED_IN_MODE", field, f"{contract.symbol} in MULTI_ASSET")
        if isolated or airdrop:
            raise SpecError("CONTRACT_NOT_ALLOWED_IN_MODE", field, "isolated or airdrop in MULTI_ASSET")


def parse_futures_account(
    obj: dict[str, Any], mode: str, region: str | None, rulebook: Rulebook
) -> FuturesAccount:
    """SPEC §4 / §5.1 futures state."""
    path = "account"
    wallet = parse_asset_map(obj, "wallet", path, rulebook, signed_quantity)

    positions: list[Position] = []
    seen: set[str] = set()
    for i, raw in enumerate(parse_list(obj, "positions", path)):
        p_path = f"{path}.positions[{i}]"
        p = only_keys(raw, p_path, POSITION_KEYS)
        contract = known_contract(required(p, "symbol", p_path), f"{p_path}.symbol", rulebook)
        if contract.symbol in seen:  # SPEC §4: at most one position per symbol
            raise SpecError("INVALID_ARGUMENT", f"{p_path}.symbol", "duplicate position")
        seen.add(contract.symbol)
        isolated_raw = optional(p, "isolated")
        airdrop_raw = optional(p, "airdrop")
        margin_raw = optional(p, "isolated_margin")
        position = Position(
            symbol=contract.symbol,
            size=signed_quantity(required(p, "size", p_path), f"{p_path}.size"),
            entry_price=price_value(required(p, "entry_price", p_path), f"{p_path}.entry_price"),
            leverage=leverage_value(required(p, "leverage", p_path), f"{p_path}.leverage"),
            isolated=False if isolated_raw is None else as_bool(isolated_raw, f"{p_path}.isolated"),
            isolated_margin=ZERO
            if margin_raw is None
            else nonneg_quantity(margin_raw, f"{p_path}.isolated_margin"),
            airdrop=False if airdrop_raw is None else as_bool(airdrop_raw, f"{p_path}.airdrop"),
        )
        if position.size == 0:
            continue  # SPEC §5.1: a size of 0 means no position and is ignored
        check_contract_allowed(
            contract, mode, f"{p_path}.symbol", isolated=position.isolated, airdrop=position.airdrop
        )
        if not position.isolated:
            position = replace(position, isolated_margin=ZERO)  # ignored when cross
        positions.append(position)

    by_symbol = {pos.symbol: pos for pos in positions}
    orders: list[FuturesOrder] = []
    for i, raw in enumerate(parse_list(obj, "orders", path)):
        o_path = f"{path}.orders[{i}]"
        o = only_keys(raw, o_path, (*FUTURES_ORDER_KEYS, "order_id"))
        contract = known_contract(required(o, "symbol", o_path), f"{o_path}.symbol", rulebook)
        side = as_enum(required(o, "side", o_path), f"{o_path}.side", (BUY, SELL))
        price = price_value(required(o, "price", o_path), f"{o_path}.price")
        quantity = positive_amount(required(o, "quantity", o_path), f"{o_path}.quantity")
        leverage_raw = optional(o, "leverage")
        if leverage_raw is not None:
            leverage = leverage_value(leverage_raw, f"{o_path}.leverage")
        elif contract.symbol in by_symbol:  # SPEC §5.1: default = the position's leverage
            leverage = by_symbol[contract.symbol].leverage
        else:
            raise SpecError("INVALID_ARGUMENT", f"{o_path}.leverage", "required when there is no position")
        check_contract_allowed(contract, mode, f"{o_path}.symbol")
        orders.append(FuturesOrder(contract.symbol, side, price, quantity, leverage))

    if mode == SINGLE_ASSET:  # SPEC §5.2: a negative non-settlement wallet is invalid
        settlements = single_asset_settlements(rulebook)
        for asset, balance in wallet.items():
            if balance < 0 and asset not in settlements:
                raise SpecError(
                    "INVALID_ARGUMENT", f"{path}.wallet.{asset}", "negative non-settlement wallet"
                )

    return FuturesAccount(mode, region, wallet, tuple(positions), tuple(orders))


def parse_margin_account(
    obj: dict[str, Any], mode: str, region: str | None, rulebook: Rulebook
) -> MarginAccount:
    """SPEC §4 / §6 margin state."""
    path = "account"
    holdings = parse_asset_map(obj, "holdings", path, rulebook, nonneg_quantity)
    borrowed = parse_asset_map(obj, "borrowed", path, rulebook, nonneg_quantity)
    interest = parse_asset_map(obj, "interest", path, rulebook, nonneg_quantity)
    for key, amounts in (("borrowed", borrowed), ("interest", interest)):
        for asset, amount in amounts.items():
            # SPEC §3.2: an asset that cannot be borrowed cannot carry borrowed or interest
            if amount != 0 and not rulebook.assets[asset].borrow_enabled:
                raise SpecError("INVALID_ARGUMENT", f"{path}.{key}.{asset}", f"{asset} is not borrowable")

    orders: list[MarginOrder] = []
    for i, raw in enumerate(parse_list(obj, "orders", path)):
        o_path = f"{path}.orders[{i}]"
        o = only_keys(raw, o_path, (*MARGIN_ORDER_KEYS, "order_id"))
        base = known_asset(required(o, "base", o_path), f"{o_path}.base", rulebook.assets)
        quote = known_asset(required(o, "quote", o_path), f"{o_path}.quote", rulebook.assets)
        side = as_enum(required(o, "side", o_path), f"{o_path}.side", (BUY, SELL))
        price = price_value(required(o, "price", o_path), f"{o_path}.price")
        quantity = positive_amount(required(o, "quantity", o_path), f"{o_path}.quantity")
        if base == quote:  # SPEC §6: base != quote
            raise SpecError("INVALID_ARGUMENT", f"{o_path}.quote", "base and quote are the same asset")
        orders.append(MarginOrder(base, quote, side, price, quantity))

    leverage_raw = optional(obj, "classic_leverage")
    classic_leverage = DEFAULT_CLASSIC_LEVERAGE
    if leverage_raw is not None:
        field = f"{path}.classic_leverage"
        classic_leverage = leverage_value(leverage_raw, field)
        if classic_leverage not in CLASSIC_LEVERAGES:
            raise SpecError("OUT_OF_RANGE", field, "classic leverage is 3 or 5")

    mcr = dict(rulebook.settings.mcr_default)  # SPEC §4: default mcr_default
    mcr_raw = optional(obj, "mcr")
    if mcr_raw is not None:
        mcr_obj = only_keys(mcr_raw, f"{path}.mcr", (CLASSIC, PRO))
        for key in (CLASSIC, PRO):
            if optional(mcr_obj, key) is not None:
                field = f"{path}.mcr.{key}"
                mcr[key] = check_range(
                    parse_decimal(mcr_obj[key], field), field, *rulebook.settings.mcr_range
                )

    vip_raw = optional(obj, "vip_level")
    vip_level = 0 if vip_raw is None else vip_level_value(vip_raw, f"{path}.vip_level")

    return MarginAccount(
        mode, region, holdings, borrowed, interest, tuple(orders), classic_leverage, mcr, vip_level
    )


# SPEC §10 (v1.2): the keys each object of a scenario may hold.
SCENARIO_KEYS = ("rulebook", "prices", "marks", "account")
ACCOUNT_KEYS = {
    FUTURES: ("kind", "mode", "region", "wallet", "positions", "orders"),
    MARGIN: (
        *("kind", "mode", "region", "holdings", "borrowed", "interest"),
        *("classic_leverage", "mcr", "orders", "vip_level"),
    ),
}
POSITION_KEYS = ("symbol", "size", "entry_price", "leverage", "isolated", "isolated_margin", "airdrop")
FUTURES_ORDER_KEYS = ("symbol", "side", "price", "quantity", "leverage")
MARGIN_ORDER_KEYS = ("base", "quote", "side", "price", "quantity")


def parse_account(raw: Any, rulebook: Rulebook) -> FuturesAccount | MarginAccount:
    path = "account"
    obj = as_object(raw, path)
    kind = as_enum(required(obj, "kind", path), f"{path}.kind", MODES)
    only_keys(obj, path, ACCOUNT_KEYS[kind])
    mode_raw = optional(obj, "mode")
    mode = DEFAULT_MODE[kind] if mode_raw is None else as_enum(mode_raw, f"{path}.mode", MODES[kind])
    region_raw = optional(obj, "region")
    region = None if region_raw is None else parse_region(region_raw, f"{path}.region")
    if kind == FUTURES:
        return parse_futures_account(obj, mode, region, rulebook)
    return parse_margin_account(obj, mode, region, rulebook)


# --------------------------------------------------------------------------
# SPEC §5.1: positions and orders
# --------------------------------------------------------------------------


def upnl(position: Position, mark: Fraction) -> Fraction:
    """SPEC §5.1: upnl = size × (m(s) − entry_price)."""
    return position.size * (mark - position.entry_price)


def notional(position: Position, mark: Fraction) -> Fraction:
    """SPEC §5.1: notional = |size| × m(s)."""
    return abs(position.size) * mark


def position_mm(position: Position, contract: Contract, mark: Fraction) -> Fraction:
    """SPEC §5.1: MM(pos) = tiered(notional, risk_tiers.mmr) (a requirement table)."""
    return tiered_requirement(notional(position, mark), contract.mmr_tiers)


def position_im(position: Position, mark: Fraction) -> Fraction:
    """SPEC §5.1: IM(pos) = ceil8(notional / leverage) — a named rounding step."""
    return ceil8(notional(position, mark) / position.leverage)


def opening_qty(order: FuturesOrder, position_size: Fraction) -> Fraction:
    """SPEC §5.1: the order quantity beyond what would close the current position on
    the opposite side (BUY 5 against −3 opens 2)."""
    closable = max(ZERO, -position_size) if order.side == BUY else max(ZERO, position_size)
    return max(ZERO, order.quantity - closable)


def order_im(order: FuturesOrder, position_size: Fraction) -> Fraction:
    """SPEC §5.1: IM(order) = ceil8(opening_qty × price / leverage)."""
    return ceil8(opening_qty(order, position_size) * order.price / order.leverage)


# --------------------------------------------------------------------------
# SPEC §5.2: pools
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolSpec:
    id: str
    isolated: bool
    assets: tuple[str, ...]  # wallet assets held by a cross pool
    positions: tuple[Position, ...]
    orders: tuple[FuturesOrder, ...]


@dataclass(frozen=True)
class PoolFigures:
    """Exact (unrounded) figures of one pool."""

    id: str
    equity: dict[str, Fraction]
    value: dict[str, Fraction]
    effective_margin: Fraction
    initial_margin: Fraction
    maintenance_margin: Fraction

    @property
    def available(self) -> Fraction:
        return self.effective_margin - self.initial_margin  # SPEC §5.2

    def liquidatable(self, threshold: Fraction) -> bool:
        """SPEC §5.2: EM < 0, or MM > 0 and EM ≤ liquidation.FUTURES × MM."""
        em, mm = self.effective_margin, self.maintenance_margin
        return em < 0 or (mm > 0 and em <= threshold * mm)


def single_asset_settlements(rulebook: Rulebook) -> set[str]:
    """SPEC §5.2: the settlement assets of the rulebook's LINEAR contracts."""
    return {c.settlement for c in rulebook.contracts.values() if c.kind == LINEAR}


def pool_specs(account: FuturesAccount, rulebook: Rulebook) -> list[PoolSpec]:
    """SPEC §5.2 / §10: the pools, in output order (CROSS, settlement-asset pools,
    ISOLATED:<symbol>; asset codes and symbols in code-point order)."""
    contracts = rulebook.contracts
    cross = [p for p in account.positions if not p.isolated]
    isolated = sorted((p for p in account.positions if p.isolated), key=lambda p: p.symbol)
    specs: list[PoolSpec] = []
    if account.mode == MULTI_ASSET:
        # one pool CROSS holding every asset, every cross position and every order
        specs.append(PoolSpec("CROSS", False, tuple(sorted(rulebook.assets)), tuple(cross), account.orders))
    else:
        for c in sorted(single_asset_settlements(rulebook)):
            positions = tuple(p for p in cross if contracts[p.symbol].settlement == c)
            orders = tuple(o for o in account.orders if contracts[o.symbol].settlement == c)
            if account.wallet.get(c, ZERO) != 0 or positions or orders:
                specs.append(PoolSpec(c, False, (c,), positions, orders))
    for p in isolated:
        specs.append(PoolSpec(f"ISOLATED:{p.symbol}", True, (), (p,), ()))
    return specs


def cross_asset_value(asset: Asset, equity: Fraction, market: Market, multi_asset: bool) -> Fraction:
    """SPEC §5.2 value[a]: tiered(equity, collateral_tiers) × p(a) when equity > 0 in
    MULTI_ASSET; equity × p(a) otherwise (no ratio on a negative balance)."""
    if equity > 0 and multi_asset:
        return market.value(asset.code, tiered_collateral(equity, asset.collateral_tiers))
    return market.value(asset.code, equity)


def liability_margin(rulebook: Rulebook, equity: Mapping[str, Fraction], market: Market) -> Fraction:
    """SPEC §5.2: Σ_a liability[a] × liability.mmr[a] × p(a), liability = max(0, −equity)."""
    total = ZERO
    for code, eq in equity.items():
        section = rulebook.assets[code].liability
        if section is None:
            continue  # an asset without `liability` adds no liability margin
        total += market.value(code, max(ZERO, -eq) * section.mmr)
    return total


def position_size_on(account: FuturesAccount, symbol: str) -> Fraction:
    for p in account.positions:
        if p.symbol == symbol:
            return p.size
    return ZERO


def cross_pool_figures(
    spec: PoolSpec,
    account: FuturesAccount,
    wallet: Mapping[str, Fraction],
    rulebook: Rulebook,
    market: Market,
) -> PoolFigures:
    """SPEC §5.2 cross pool: equity, value, EM, MM, IM."""
    contracts = rulebook.contracts
    multi = account.mode == MULTI_ASSET
    equity = {a: wallet.get(a, ZERO) for a in spec.assets}
    for p in spec.positions:
        equity[contracts[p.symbol].settlement] += upnl(p, market.mark(p.symbol))
    value = {a: cross_asset_value(rulebook.assets[a], eq, market, multi) for a, eq in equity.items()}
    liabilities = liability_margin(rulebook, equity, market)
    mm = liabilities
    im = liabilities
    for p in spec.positions:
        c = contracts[p.symbol].settlement
        mark = market.mark(p.symbol)
        mm += market.value(c, position_mm(p, contracts[p.symbol], mark))
        im += market.value(c, position_im(p, mark))
    for o in spec.orders:
        c = contracts[o.symbol].settlement
        im += market.value(c, order_im(o, position_size_on(account, o.symbol)))
    return PoolFigures(spec.id, equity, value, sum(value.values(), ZERO), im, mm)


def isolated_pool_figures(spec: PoolSpec, rulebook: Rulebook, market: Market) -> PoolFigures:
    """SPEC §5.2 isolated pool: EM = (isolated_margin + upnl) × p(c), MM = MM(pos) × p(c),
    IM = IM(pos) × p(c), equity = {c: isolated_margin + upnl}, value = {c: EM}."""
    (p,) = spec.positions
    contract = rulebook.contracts[p.symbol]
    c = contract.settlement
    mark = market.mark(p.symbol)
    eq = p.isolated_margin + upnl(p, mark)
    em = market.value(c, eq)
    mm = market.value(c, position_mm(p, contract, mark))
    im = market.value(c, position_im(p, mark))
    return PoolFigures(spec.id, {c: eq}, {c: em}, em, im, mm)


def pool_figures(
    spec: PoolSpec,
    account: FuturesAccount,
    wallet: Mapping[str, Fraction],
    rulebook: Rulebook,
    market: Market,
) -> PoolFigures:
    if spec.isolated:
        return isolated_pool_figures(spec, rulebook, market)
    return cross_pool_figures(spec, account, wallet, rulebook, market)


# --------------------------------------------------------------------------
# "largest multiple of 10^-8" by bisection (SPEC §5.3, §6.1-§6.3)
# --------------------------------------------------------------------------


def largest_multiple(upper: Fraction, holds: Callable[[Fraction], bool]) -> Fraction:
    """The largest multiple of 10^-8, X, with 0 ≤ X ≤ upper and holds(X); 0 when it
    already fails at 0. `holds` must be monotone (true, then false), as SPEC §6.3 states.

    >>> largest_multiple(Fraction(10), lambda x: 3 * x <= 1)
    Fraction(33333333, 100000000)
    """
    high = floor(upper * SCALE)  # in units of 10^-8
    if high <= 0 or not holds(ZERO):
        return ZERO
    if holds(Fraction(high, SCALE)):
        return Fraction(high, SCALE)
    low = 0  # invariant: holds(low) and not holds(high)
    while high - low > 1:
        mid = (low + high) // 2
        if holds(Fraction(mid, SCALE)):
            low = mid
        else:
            high = mid
    return Fraction(low, SCALE)


# --------------------------------------------------------------------------
# SPEC §5: futures evaluation
# --------------------------------------------------------------------------


def futures_max_transfer_out(
    asset: str, account: FuturesAccount, specs: list[PoolSpec], rulebook: Rulebook, market: Market
) -> Fraction:
    """SPEC §5.3: the largest multiple of 10^-8, T, 0 ≤ T ≤ max(0, wallet[a]), such that
    after wallet[a] −= T every cross pool of the current state containing a has
    available ≥ 0. An asset outside every pool goes up to its positive wallet."""
    balance = account.wallet.get(asset, ZERO)
    upper = max(ZERO, balance)
    containing = [s for s in specs if not s.isolated and asset in s.assets]
    if not containing:
        return floor8(upper)

    def holds(amount: Fraction) -> bool:
        wallet = dict(account.wallet)
        wallet[asset] = balance - amount
        return all(pool_figures(s, account, wallet, rulebook, market).available >= 0 for s in containing)

    return largest_multiple(upper, holds)


def pool_result(fig: PoolFigures, threshold: Fraction) -> dict[str, Any]:
    """SPEC §10 pool, each number rounded from its own exact value (SPEC §1)."""
    em, mm = fig.effective_margin, fig.maintenance_margin
    return {
        "id": fig.id,
        "effective_margin": format_decimal(floor8(em)),
        "initial_margin": format_decimal(ceil8(fig.initial_margin)),
        "maintenance_margin": format_decimal(ceil8(mm)),
        "available": format_decimal(floor8(fig.available)),
        "margin_level": None if mm == 0 else format_decimal(floor8(em / mm)),
        "liquidatable": fig.liquidatable(threshold),
        "equity": rounded_map(fig.equity, floor8),
        "value": rounded_map(fig.value, floor8),
    }


def rounded_map(values: Mapping[str, Fraction], rounding: Callable[[Fraction], Fraction]) -> dict[str, str]:
    """SPEC §10: list every entry non-zero after rounding, codes in code-point order."""
    out = {}
    for key in sorted(values):
        rounded = rounding(values[key])
        if rounded != 0:
            out[key] = format_decimal(rounded)
    return out


def evaluate_futures(account: FuturesAccount, rulebook: Rulebook, market: Market) -> dict[str, Any]:
    """SPEC §10 futures result: pools, liquidatable, max_transfer_out."""
    threshold = rulebook.settings.liquidation[FUTURES]
    specs = pool_specs(account, rulebook)
    figures = [pool_figures(s, account, account.wallet, rulebook, market) for s in specs]
    max_transfer_out = {
        a: futures_max_transfer_out(a, account, specs, rulebook, market)
        for a, balance in account.wallet.items()
        if balance > 0
    }
    return {
        "pools": [pool_result(f, threshold) for f in figures],
        "liquidatable": any(f.liquidatable(threshold) for f in figures),
        "max_transfer_out": rounded_map(max_transfer_out, floor8),
    }


# --------------------------------------------------------------------------
# SPEC §6: margin evaluation
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MarginState:
    """The quantities a margin computation reads; max borrow / transfer-out vary them."""

    holdings: dict[str, Fraction]
    borrowed: dict[str, Fraction]
    interest: dict[str, Fraction]

    def liability(self, asset: str) -> Fraction:
        """SPEC §6: liability[a] = borrowed[a] + interest[a]."""
        return self.borrowed.get(asset, ZERO) + self.interest.get(asset, ZERO)

    def assets(self) -> list[str]:
        return sorted(set(self.holdings) | set(self.borrowed) | set(self.interest))

    def changed(self, asset: str, holdings_delta: Fraction, borrowed_delta: Fraction) -> MarginState:
        holdings = dict(self.holdings)
        borrowed = dict(self.borrowed)
        holdings[asset] = holdings.get(asset, ZERO) + holdings_delta
        borrowed[asset] = borrowed.get(asset, ZERO) + borrowed_delta
        return MarginState(holdings, borrowed, self.interest)


def locked_amounts(orders: Iterable[MarginOrder]) -> dict[str, Fraction]:
    """SPEC §6: a BUY locks quantity × price of the quote asset, a SELL locks quantity of the base."""
    locked: dict[str, Fraction] = {}
    for o in orders:
        if o.side == BUY:
            locked[o.quote] = locked.get(o.quote, ZERO) + o.quantity * o.price
        else:
            locked[o.base] = locked.get(o.base, ZERO) + o.quantity
    return locked


def free_amount(asset: str, state: MarginState, orders: Iterable[MarginOrder]) -> Fraction:
    """SPEC §6: free[a] = max(0, holdings[a] − locked[a]), exact."""
    return max(ZERO, state.holdings.get(asset, ZERO) - locked_amounts(orders).get(asset, ZERO))


def total_asset_value(state: MarginState, market: Market) -> Fraction:
    """SPEC §6: TA = Σ_a holdings[a] × p(a)."""
    return sum((market.value(a, q) for a, q in state.holdings.items()), ZERO)


def total_liability_value(state: MarginState, market: Market) -> Fraction:
    """SPEC §6: TL = Σ_a liability[a] × p(a)."""
    return sum((market.value(a, state.liability(a)) for a in state.assets()), ZERO)


def collateral_value(state: MarginState, rulebook: Rulebook, market: Market) -> Fraction:
    """SPEC §6: CV = Σ_a tiered(holdings[a] × p(a), haircut_tiers[a])."""
    return sum(
        (
            tiered_collateral(market.value(a, q), rulebook.assets[a].haircut_tiers)
            for a, q in state.holdings.items()
        ),
        ZERO,
    )


def initial_risk_ratio(classic_leverage: int) -> Fraction:
    """SPEC §3.4: R = L / (L − 1)."""
    return Fraction(classic_leverage, classic_leverage - 1)


def order_valuation(asset: str, quantity: Fraction, rulebook: Rulebook, market: Market) -> Fraction:
    """SPEC §6.2: V(asset, qty) = qty × p(asset) × w(asset), w = first haircut-tier rate."""
    return market.value(asset, quantity) * rulebook.assets[asset].haircut_tiers[0][1]


def open_order_loss(orders: Iterable[MarginOrder], rulebook: Rulebook, market: Market) -> Fraction:
    """SPEC §6.2: OOL = Σ_orders max(0, V(give) − V(get)); a BUY gives quantity × price
    of quote and gets quantity of base, a SELL the reverse."""
    total = ZERO
    for o in orders:
        quote_amount = o.quantity * o.price
        if o.side == BUY:
            give = order_valuation(o.quote, quote_amount, rulebook, market)
            get = order_valuation(o.base, o.quantity, rulebook, market)
        else:
            give = order_valuation(o.base, o.quantity, rulebook, market)
            get = order_valuation(o.quote, quote_amount, rulebook, market)
        total += max(ZERO, give - get)
    return total


def pro_imr_table(asset: Asset, region: str | None, settings: Settings) -> Table:
    """SPEC §6.2: for a restricted region each IMR row is raised to at least
    restricted_imr_floor (MMR unchanged)."""
    assert asset.borrow is not None and asset.borrow.pro_imr is not None
    table = asset.borrow.pro_imr
    if region is not None and region in settings.restricted_regions:
        floor_rate = settings.restricted_imr_floor
        table = tuple((up_to, max(rate, floor_rate)) for up_to, rate in table)
    return table


def pro_mmr_table(asset: Asset) -> Table:
    assert asset.borrow is not None and asset.borrow.pro_mmr is not None
    return asset.borrow.pro_mmr


def liability_value(asset: str, state: MarginState, market: Market) -> Fraction:
    """SPEC §6.2: LV_x = liability[x] × p(x)."""
    return market.value(asset, state.liability(asset))


def pro_initial_margin(
    state: MarginState, account: MarginAccount, rulebook: Rulebook, market: Market
) -> Fraction:
    """SPEC §6.2: IM = Σ_x tiered(LV_x, IMR_x)."""
    total = ZERO
    for x in state.assets():
        lv = liability_value(x, state, market)
        if lv != 0:
            total += tiered_requirement(
                lv, pro_imr_table(rulebook.assets[x], account.region, rulebook.settings)
            )
    return total


def pro_maintenance_margin(state: MarginState, rulebook: Rulebook, market: Market) -> Fraction:
    """SPEC §6.2: MM = Σ_x tiered(LV_x, MMR_x)."""
    total = ZERO
    for x in state.assets():
        lv = liability_value(x, state, market)
        if lv != 0:
            total += tiered_requirement(lv, pro_mmr_table(rulebook.assets[x]))
    return total


@dataclass(frozen=True)
class MarginFigures:
    """Exact figures of a margin account (Pro fields are None in CLASSIC)."""

    total_asset_value: Fraction
    total_liability_value: Fraction
    collateral_value: Fraction
    open_order_loss: Fraction | None = None
    initial_margin: Fraction | None = None
    maintenance_margin: Fraction | None = None

    @property
    def net_collateral(self) -> Fraction:
        """SPEC §6.2: NC = CV − TL."""
        return self.collateral_value - self.total_liability_value

    @property
    def pro_equity(self) -> Fraction:
        """NC − OOL."""
        assert self.open_order_loss is not None
        return self.net_collateral - self.open_order_loss

    @property
    def available(self) -> Fraction:
        """SPEC §6.2: available = NC − OOL − IM."""
        assert self.initial_margin is not None
        return self.pro_equity - self.initial_margin


def margin_figures(
    state: MarginState, account: MarginAccount, rulebook: Rulebook, market: Market
) -> MarginFigures:
    ta = total_asset_value(state, market)
    tl = total_liability_value(state, market)
    cv = collateral_value(state, rulebook, market)
    if account.mode == CLASSIC:
        return MarginFigures(ta, tl, cv)
    return MarginFigures(
        ta,
        tl,
        cv,
        open_order_loss=open_order_loss(account.orders, rulebook, market),
        initial_margin=pro_initial_margin(state, account, rulebook, market),
        maintenance_margin=pro_maintenance_margin(state, rulebook, market),
    )


def within_quantity_caps(state: MarginState, asset: str) -> bool:
    """SPEC §6.3: holdings[x] + B and borrowed[x] + B stay within 10^15."""
    return state.holdings.get(asset, ZERO) <= MAX_QUANTITY and state.borrowed.get(asset, ZERO) <= MAX_QUANTITY


def max_borrow(
    asset: str, state: MarginState, account: MarginAccount, rulebook: Rulebook, market: Market
) -> Fraction:
    """SPEC §6.1 / §6.2 / §6.3 max borrow of x, by bisection on the worded constraint
    after holdings[x] += B, borrowed[x] += B."""
    spec = rulebook.assets[asset]
    if not spec.borrow_enabled or not market.has_price(asset):
        return ZERO  # SPEC §6.3
    assert spec.borrow is not None
    vip_limit = spec.borrow.vip_limit(account.vip_level)

    def within_vip_limit(after: MarginState) -> bool:
        """SPEC §6.3 (v1.2): borrowed[x] + B ≤ the VIP level's limit, both modes."""
        return vip_limit is None or after.borrowed[asset] <= vip_limit

    if account.mode == CLASSIC:
        r = initial_risk_ratio(account.classic_leverage)
        classic_limit = spec.borrow.classic_limit
        assert classic_limit is not None

        def holds(b: Fraction) -> bool:
            after = state.changed(asset, b, b)
            fig = margin_figures(after, account, rulebook, market)
            return (
                within_quantity_caps(after, asset)
                and within_vip_limit(after)
                and after.borrowed[asset] <= classic_limit  # SPEC §6.1: borrowed[x] + B ≤ classic_limit
                and fig.collateral_value >= r * fig.total_liability_value  # CV ≥ R × TL
            )

    else:
        limit = last_bound(pro_mmr_table(spec))

        def holds(b: Fraction) -> bool:
            after = state.changed(asset, b, b)
            fig = margin_figures(after, account, rulebook, market)
            # SPEC §6.2: LV_x within the last bounded up_to (interest included, §6.3)
            within_tiers = limit is None or liability_value(asset, after, market) <= limit
            return (
                within_quantity_caps(after, asset)
                and within_vip_limit(after)
                and within_tiers
                and fig.available >= 0
            )

    return largest_multiple(MAX_QUANTITY, holds)


def margin_max_transfer_out(
    asset: str, state: MarginState, account: MarginAccount, rulebook: Rulebook, market: Market
) -> Fraction:
    """SPEC §6.1 / §6.2 max transfer-out of x: 0 ≤ T ≤ floor8(free[x]); after
    holdings[x] −= T: Classic `TL = 0 or CV ≥ classic_transfer_bar × TL`, Pro `available ≥ 0`."""
    upper = floor8(free_amount(asset, state, account.orders))
    bar = rulebook.settings.classic_transfer_bar

    def holds(t: Fraction) -> bool:
        after = state.changed(asset, -t, ZERO)
        fig = margin_figures(after, account, rulebook, market)
        if account.mode == CLASSIC:
            tl = fig.total_liability_value
            return tl == 0 or fig.collateral_value >= bar * tl
        return fig.available >= 0

    return largest_multiple(upper, holds)


def optional_ratio(numerator: Fraction, denominator: Fraction) -> str | None:
    """A reported ratio: rounded down, null when the denominator is 0 (SPEC §1, §10)."""
    return None if denominator == 0 else format_decimal(floor8(numerator / denominator))


def evaluate_margin(account: MarginAccount, rulebook: Rulebook, market: Market) -> dict[str, Any]:
    """SPEC §10 CLASSIC / PRO result."""
    settings = rulebook.settings
    state = MarginState(account.holdings, account.borrowed, account.interest)
    fig = margin_figures(state, account, rulebook, market)
    ta, tl, cv = fig.total_asset_value, fig.total_liability_value, fig.collateral_value
    borrowable = sorted(code for code, a in rulebook.assets.items() if a.borrow_enabled)
    borrow_map = rounded_map({x: max_borrow(x, state, account, rulebook, market) for x in borrowable}, floor8)
    transfer_map = rounded_map(
        {
            x: margin_max_transfer_out(x, state, account, rulebook, market)
            for x, q in account.holdings.items()
            if q > 0
        },
        floor8,
    )
    result: dict[str, Any] = {
        "total_asset_value": format_decimal(floor8(ta)),
        "total_liability_value": format_decimal(ceil8(tl)),
        "collateral_value": format_decimal(floor8(cv)),
    }
    if account.mode == CLASSIC:
        # SPEC §6.1
        result["margin_level"] = optional_ratio(ta, tl)
        result["collateral_margin_level"] = optional_ratio(cv, tl)
        result["liquidatable"] = tl > 0 and ta <= settings.liquidation[CLASSIC] * tl
        result["margin_call"] = tl > 0 and ta <= account.mcr[CLASSIC] * tl
    else:
        # SPEC §6.2
        assert fig.open_order_loss is not None and fig.initial_margin is not None
        mm = fig.maintenance_margin
        assert mm is not None
        equity = fig.pro_equity  # NC − OOL
        result["net_collateral"] = format_decimal(floor8(fig.net_collateral))
        result["open_order_loss"] = format_decimal(ceil8(fig.open_order_loss))
        result["initial_margin"] = format_decimal(ceil8(fig.initial_margin))
        result["maintenance_margin"] = format_decimal(ceil8(mm))
        result["available"] = format_decimal(floor8(fig.available))
        result["margin_level"] = optional_ratio(equity, mm)
        result["liquidatable"] = equity < 0 or (mm > 0 and equity <= settings.liquidation[PRO] * mm)
        result["margin_call"] = equity < 0 or (mm > 0 and equity <= account.mcr[PRO] * mm)
    result["max_borrow"] = borrow_map
    result["max_transfer_out"] = transfer_map
    return result


# --------------------------------------------------------------------------
# SPEC §10: the scenario
# --------------------------------------------------------------------------


def evaluate(scenario: dict[str, Any], default_rulebook: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate a §10 scenario (parsed JSON) and return the §10 result.

    Uses the scenario's `rulebook`, else `default_rulebook`. Raises SpecError with
    the §11 reason for a refused input.
    """
    obj = as_object(scenario, "scenario")
    only_keys(obj, "", SCENARIO_KEYS)
    rulebook_raw = optional(obj, "rulebook")
    if rulebook_raw is None:
        rulebook_raw = default_rulebook
    if rulebook_raw is None:
        raise SpecError("INVALID_ARGUMENT", "rulebook", "no rulebook in the scenario and no default")
    rulebook = parse_rulebook(rulebook_raw)
    market = parse_market(obj, rulebook)
    account = parse_account(required(obj, "account", ""), rulebook)
    if isinstance(account, FuturesAccount):
        return evaluate_futures(account, rulebook, market)
    return evaluate_margin(account, rulebook, market)

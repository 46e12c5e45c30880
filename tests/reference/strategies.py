"""Hypothesis strategies of §10 scenarios for differential tests.

* ``scenarios(rulebook)`` — VALID scenarios (the model accepts every one), both
  kinds and all four modes, with amounts drawn to straddle tier bounds
  (bound ± 10^-8 and exactly on it), tiny values (10^-8), values near the range
  limits (10^15 quantities, 10^9 prices), prices with 8 decimals, equivalent
  spellings of decimals ("1.50000000", "007", "-0"), and states tuned onto the
  liquidation / margin-call / available boundaries (± 10^-8).
* ``invalid_scenarios(rulebook)`` — ``(scenario, reason)`` pairs: a valid scenario
  with exactly one fault injected, and the §11 reason it must be refused with.
* ``any_json_scenarios(rulebook)`` — a mix of both (scenario dicts only).

``rulebook`` is a rulebook dict, a path to a JSON file holding a rulebook or a
vector file (its ``rulebook`` is used), or None for ``tests/vectors/random-1.json``.
Scenarios carry the rulebook (``include_rulebook=True``) so they are
self-contained; pass ``include_rulebook=False`` to rely on an engine default.

Example (a differential test)::

    @settings(max_examples=200, deadline=None)
    @given(scenarios("path/to/rulebook.json"))
    def test_engine_matches_model(scenario):
        assert diff(model.evaluate(scenario), engine.evaluate(scenario)) == []
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from . import model as m

__all__ = [
    "RANDOM_1",
    "any_json_scenarios",
    "futures_scenarios",
    "invalid_scenarios",
    "load_rulebook",
    "margin_scenarios",
    "scenarios",
]

RANDOM_1 = Path(__file__).resolve().parent.parent / "vectors" / "random-1.json"
SCALE = m.SCALE
MAX_QUANTITY_UNITS = 10**15 * SCALE
MAX_PRICE_UNITS = 10**9 * SCALE
UNRESTRICTED_CANDIDATES = ("JP", "US", "BR", "SG", "CH", "KR", "CA")
COVER_FACTORS = tuple(Fraction(x) for x in ("0.05", "0.5", "1", "1.1", "1.3", "1.5", "2", "3", "5", "20"))
ROUND_PRICES = (1, 2, 4, 5, 10, 20, 25, 50, 100, 1000, 2000, 2500, 3000, 10000, 20000, 50000, 100000)

RulebookSource = dict[str, Any] | str | Path | None


def load_rulebook(source: RulebookSource = None) -> dict[str, Any]:
    """A rulebook dict from a dict, a rulebook JSON file or a vector file (None: random-1)."""
    if source is None:
        source = RANDOM_1
    if isinstance(source, (str, Path)):
        source = json.loads(Path(source).read_text(encoding="utf-8"))
    assert isinstance(source, dict)
    if "assets" not in source and isinstance(source.get("rulebook"), dict):
        source = source["rulebook"]
    return source


@dataclass(frozen=True)
class Universe:
    """What a rulebook allows, read once through the model's own validation."""

    raw: dict[str, Any]
    rb: m.Rulebook
    assets: tuple[str, ...]
    borrowable: tuple[str, ...]
    linear: tuple[str, ...]  # contracts allowed in SINGLE_ASSET
    multi: tuple[str, ...]  # contracts allowed in MULTI_ASSET (§9)
    not_multi: tuple[str, ...]  # LINEAR contracts MULTI_ASSET refuses
    inverse: tuple[str, ...]
    settlements: tuple[str, ...]  # SINGLE_ASSET settlement assets (§5.2)
    restricted: tuple[str, ...]
    unrestricted: tuple[str, ...]

    @classmethod
    def of(cls, source: RulebookSource) -> Universe:
        raw = load_rulebook(source)
        rb = m.parse_rulebook(raw)
        contracts = rb.contracts.values()
        linear = tuple(c.symbol for c in contracts if c.kind == m.LINEAR)
        multi = tuple(
            c.symbol
            for c in contracts
            if c.kind == m.LINEAR and c.category == "STANDARD" and c.settlement in m.MULTI_ASSET_SETTLEMENTS
        )
        restricted = tuple(sorted(rb.settings.restricted_regions))
        return cls(
            raw=raw,
            rb=rb,
            assets=tuple(rb.assets),
            borrowable=tuple(a for a, spec in rb.assets.items() if spec.borrow_enabled),
            linear=linear,
            multi=multi,
            not_multi=tuple(s for s in linear if s not in multi),
            inverse=tuple(c.symbol for c in contracts if c.kind == m.INVERSE),
            settlements=tuple(sorted(m.single_asset_settlements(rb))),
            restricted=restricted,
            unrestricted=tuple(r for r in UNRESTRICTED_CANDIDATES if r not in restricted),
        )


# --------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------


def units(n: int) -> Fraction:
    return Fraction(n, SCALE)


def log_units(max_units: int) -> st.SearchStrategy[int]:
    """1 ≤ n ≤ max_units, spread evenly over orders of magnitude."""
    digits = len(str(max_units))
    return st.integers(1, digits).flatmap(lambda d: st.integers(10 ** (d - 1), min(10**d - 1, max_units)))


def straddle(points: Iterable[Fraction], max_units: int, min_units: int = 1) -> list[int]:
    """Each point (made a multiple of 10^-8 both ways) and ± 10^-8 around it."""
    out: set[int] = set()
    for p in points:
        for base in (m.floor8(p), m.ceil8(p)):
            for d in (-1, 0, 1):
                n = int(base * SCALE) + d
                if min_units <= n <= max_units:
                    out.add(n)
    return sorted(out)


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Pick a strategy with the given integer weights (st.one_of would merge duplicates)."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


def amounts(
    points: Iterable[Fraction] = (), *, max_units: int = MAX_QUANTITY_UNITS, zero: bool = False
) -> st.SearchStrategy[Fraction]:
    """Positive amounts ≤ max (optionally 0): everyday magnitudes, any magnitude, whole
    numbers, tiny values, the range limit, and points straddled by ± 10^-8."""
    near = straddle(points, max_units)
    choices: list[tuple[int, st.SearchStrategy[int]]] = [
        (12, log_units(min(max_units, 10**7 * SCALE))),  # everyday: 10^-8 .. 10^7
        (4, log_units(max_units)),  # any magnitude up to the limit
        (4, st.integers(1, min(10**5, max_units // SCALE) or 1).map(lambda n: min(n * SCALE, max_units))),
        (3, st.sampled_from([1, 2, 3, 10, 12345678]).map(lambda n: min(n, max_units))),  # tiny
        (1, st.sampled_from(sorted({max_units, max_units - 1, max_units // 3}))),  # the limit
    ]
    if near:  # about half the draws straddle a point: on it, or 10^-8 either side
        choices.append((24, st.sampled_from(near)))
    if zero:
        choices.append((2, st.just(0)))
    return weighted(*choices).map(units)


def prices() -> st.SearchStrategy[Fraction]:
    """0 < p ≤ 10^9: 8-decimal prices, round prices, any magnitude, the limits."""
    eight_decimals = st.tuples(log_units(10**6), st.integers(1, SCALE - 1)).map(
        lambda t: t[0] * SCALE + t[1]  # 1 .. 10^6 with 8 decimals
    )
    return weighted(
        (10, eight_decimals),
        (6, st.sampled_from(ROUND_PRICES).map(lambda p: p * SCALE)),
        (4, log_units(MAX_PRICE_UNITS)),  # any magnitude, 10^-8 .. 10^9
        (1, st.sampled_from([1, 3, MAX_PRICE_UNITS, MAX_PRICE_UNITS - 1])),  # the limits
    ).map(units)


def near_price(reference: Fraction) -> st.SearchStrategy[Fraction]:
    """A price at or near `reference` (entry vs mark, order price vs fair price)."""
    factors = [
        Fraction(1),
        Fraction(99, 100),
        Fraction(101, 100),
        Fraction(9, 10),
        Fraction(11, 10),
        Fraction(1, 2),
        Fraction(2),
    ]

    def scaled(f: Fraction) -> Fraction:
        return min(max(m.floor8(reference * f), units(1)), units(MAX_PRICE_UNITS))

    return weighted((3, st.sampled_from(factors).map(scaled)), (1, prices()))


def spelled(x: Fraction) -> st.SearchStrategy[str]:
    """The canonical §1 form of x, or (one time in three) an equivalent accepted spelling."""
    canonical = m.format_decimal(x)
    sign = "-" if canonical.startswith("-") else ""
    whole, _, frac = canonical.lstrip("-").partition(".")
    variants = [
        f"{sign}{whole}.{frac.ljust(8, '0')}",  # trailing zeros (8 digits as written)
        f"{sign}00{whole}" + (f".{frac}" if frac else ""),  # leading zeros
    ]
    if x == 0:
        variants += ["-0", "-0.0", "0.00000000"]
    return weighted((2, st.just(canonical)), (1, st.sampled_from(variants)))


def signed(x: Fraction, negative: bool) -> Fraction:
    return -x if negative else x


def leverages(contract: m.Contract) -> st.SearchStrategy[int]:
    return st.one_of(
        st.sampled_from(sorted(set(contract.max_leverage) | {1, 2, 3, 5, 10, 20})),
        st.integers(1, m.MAX_LEVERAGE),
    )


def table_bounds(table: m.Table) -> list[Fraction]:
    return [b for b, _ in table if b is not None]


# --------------------------------------------------------------------------
# boundary tuning: move one amount onto the edge of a monotone condition
# --------------------------------------------------------------------------


def threshold(low: int, high: int, ok: Callable[[int], bool]) -> int | None:
    """The least n in [low, high] with ok(n) for a monotone ok (false..., true...)."""
    if not ok(high):
        return None
    if ok(low):
        return low
    while high - low > 1:
        mid = (low + high) // 2
        if ok(mid):
            high = mid
        else:
            low = mid
    return high


def futures_state(u: Universe, scenario: dict[str, Any]) -> tuple[m.FuturesAccount, m.Market]:
    account = m.parse_account(scenario["account"], u.rb)
    assert isinstance(account, m.FuturesAccount)
    return account, m.parse_market(scenario, u.rb)


def margin_state(u: Universe, scenario: dict[str, Any]) -> tuple[m.MarginAccount, m.Market]:
    account = m.parse_account(scenario["account"], u.rb)
    assert isinstance(account, m.MarginAccount)
    return account, m.parse_market(scenario, u.rb)


def pool_condition(kind: str, threshold_rate: Fraction) -> Callable[[m.PoolFigures], bool]:
    if kind == "available":
        return lambda f: f.available >= 0
    return lambda f: not f.liquidatable(threshold_rate)


@st.composite
def tune_futures(draw: st.DrawFn, u: Universe, scenario: dict[str, Any]) -> dict[str, Any]:
    """Put one pool exactly on (or 10^-8 around) its liquidation or available ≥ 0 edge,
    by moving a wallet balance (cross pool) or the isolated margin."""
    account, market = futures_state(u, scenario)
    specs = m.pool_specs(account, u.rb)
    if not specs:
        return scenario
    spec = draw(st.sampled_from(specs))
    condition = pool_condition(
        draw(st.sampled_from(["liquidation", "available"])), u.rb.settings.liquidation[m.FUTURES]
    )
    raw_account = scenario["account"]
    if spec.isolated:
        position = spec.positions[0]
        index = next(i for i, p in enumerate(raw_account["positions"]) if p["symbol"] == position.symbol)

        def ok_isolated(n: int) -> bool:
            tuned = replace(spec, positions=(replace(position, isolated_margin=units(n)),))
            return condition(m.isolated_pool_figures(tuned, u.rb, market))

        edge = threshold(0, MAX_QUANTITY_UNITS, ok_isolated)
        if edge is None:
            return scenario
        n = min(max(edge + draw(st.sampled_from([-1, 0, 1])), 0), MAX_QUANTITY_UNITS)
        raw_account["positions"][index]["isolated_margin"] = m.format_decimal(units(n))
        return scenario
    asset = draw(st.sampled_from(spec.assets))
    if not market.has_price(asset):
        return scenario
    can_be_negative = account.mode == m.MULTI_ASSET or asset in u.settlements
    low = -MAX_QUANTITY_UNITS if can_be_negative else 0

    def ok_cross(n: int) -> bool:
        wallet = {**account.wallet, asset: units(n)}
        return condition(m.cross_pool_figures(spec, account, wallet, u.rb, market))

    edge = threshold(low, MAX_QUANTITY_UNITS, ok_cross)
    if edge is None:
        return scenario
    n = min(max(edge + draw(st.sampled_from([-1, 0, 1])), low), MAX_QUANTITY_UNITS)
    raw_account.setdefault("wallet", {})[asset] = m.format_decimal(units(n))
    return scenario


@st.composite
def tune_margin(draw: st.DrawFn, u: Universe, scenario: dict[str, Any]) -> dict[str, Any]:
    """Put the account exactly on (or 10^-8 around) its liquidation, margin-call,
    available ≥ 0 or max-borrow (CV ≥ R × TL) edge by moving one holding."""
    account, market = margin_state(u, scenario)
    # a holding that moves the collateral value: priced, with a positive haircut rate
    candidates = [a for a in u.assets if market.has_price(a) and u.rb.assets[a].haircut_tiers[0][1] > 0]
    if not candidates:
        return scenario
    asset = draw(st.sampled_from(candidates))
    settings = u.rb.settings
    mode = account.mode
    what = draw(st.sampled_from(["liquidation", "margin_call", "second"]))

    def ok(n: int) -> bool:
        holdings = {**account.holdings, asset: units(n)}
        state = m.MarginState(holdings, account.borrowed, account.interest)
        fig = m.margin_figures(state, account, u.rb, market)
        tl = fig.total_liability_value
        if mode == m.CLASSIC:
            ta = fig.total_asset_value
            if what == "liquidation":
                return not (tl > 0 and ta <= settings.liquidation[m.CLASSIC] * tl)
            if what == "margin_call":
                return not (tl > 0 and ta <= account.mcr[m.CLASSIC] * tl)
            return fig.collateral_value >= m.initial_risk_ratio(account.classic_leverage) * tl
        mm = fig.maintenance_margin
        assert mm is not None
        equity = fig.pro_equity
        if what == "liquidation":
            return not (equity < 0 or (mm > 0 and equity <= settings.liquidation[m.PRO] * mm))
        if what == "margin_call":
            return not (equity < 0 or (mm > 0 and equity <= account.mcr[m.PRO] * mm))
        return fig.available >= 0

    edge = threshold(0, MAX_QUANTITY_UNITS, ok)
    if edge is None or edge == 0:
        return scenario
    n = min(max(edge + draw(st.sampled_from([-1, 0, 1])), 0), MAX_QUANTITY_UNITS)
    scenario["account"].setdefault("holdings", {})[asset] = m.format_decimal(units(n))
    return scenario


# --------------------------------------------------------------------------
# prices and marks
# --------------------------------------------------------------------------


@st.composite
def draw_prices(draw: st.DrawFn, u: Universe) -> dict[str, Fraction]:
    return {a: draw(prices()) for a in u.assets if a != "USDT"}


@st.composite
def spell_market(
    draw: st.DrawFn,
    u: Universe,
    index: dict[str, Fraction],
    marks: dict[str, Fraction],
    needed_assets: set[str],
    needed_marks: set[str],
) -> dict[str, Any]:
    """Prices and marks as wire strings; unneeded ones are sometimes left out (§2)."""
    out_prices: dict[str, str] = {}
    for a in u.assets:
        if a == "USDT":
            if "USDT" in u.rb.assets and draw(st.booleans()):
                out_prices["USDT"] = draw(st.sampled_from(["1", "1.00000000", "01"]))
            continue
        if a in needed_assets or draw(st.integers(0, 3)) > 0:
            out_prices[a] = draw(spelled(index[a]))
    out_marks = {
        s: draw(spelled(p)) for s, p in marks.items() if s in needed_marks or draw(st.integers(0, 3)) > 0
    }
    return {"prices": out_prices, "marks": out_marks}


def region_strategy(u: Universe) -> st.SearchStrategy[str | None]:
    """No region, a restricted one or an unrestricted one, about a third each."""
    groups: list[Sequence[str | None]] = [[None]]
    if u.restricted:
        groups.append(u.restricted)
    if u.unrestricted:
        groups.append(u.unrestricted)
    return st.sampled_from(groups).flatmap(st.sampled_from)


# --------------------------------------------------------------------------
# futures (§5)
# --------------------------------------------------------------------------


@st.composite
def futures_scenarios(
    draw: st.DrawFn, source: RulebookSource | Universe = None, *, include_rulebook: bool = True
) -> dict[str, Any]:
    """A valid FUTURES scenario, SINGLE_ASSET or MULTI_ASSET (§5, §10)."""
    u = source if isinstance(source, Universe) else Universe.of(source)
    mode = draw(st.sampled_from([m.SINGLE_ASSET, m.MULTI_ASSET]))
    tradable = u.linear if mode == m.SINGLE_ASSET else u.multi
    index = draw(draw_prices(u))
    marks = {s: draw(prices()) for s in u.rb.contracts}
    needed_assets: set[str] = set()
    needed_marks: set[str] = set()

    positions: list[dict[str, Any]] = []
    sizes: dict[str, Fraction] = {}
    symbols = (
        draw(st.lists(st.sampled_from(tradable), unique=True, max_size=min(4, len(tradable))))
        if tradable
        else []
    )
    for symbol in symbols:
        contract = u.rb.contracts[symbol]
        mark = marks[symbol]
        size_points = [b / mark for b in table_bounds(contract.mmr_tiers)]  # notional on a risk tier bound
        size = signed(draw(amounts(size_points, zero=True)), draw(st.booleans()))
        entry = draw(near_price(mark))
        position: dict[str, Any] = {
            "symbol": symbol,
            "size": draw(spelled(size)),
            "entry_price": draw(spelled(entry)),
            "leverage": draw(leverages(contract)),
        }
        if mode == m.SINGLE_ASSET and draw(st.booleans()):
            position["isolated"] = True
            margin_choice = draw(st.integers(0, 3))
            if margin_choice > 0:  # otherwise the default 0
                position["isolated_margin"] = draw(
                    spelled(draw(amounts([abs(size) * mark / position["leverage"]], zero=True)))
                )
        elif draw(st.integers(0, 4)) == 0:
            position["isolated"] = False
        if mode == m.SINGLE_ASSET and draw(st.integers(0, 5)) == 0:
            position["airdrop"] = True
        if size != 0:
            sizes[symbol] = size
            needed_marks.add(symbol)
            needed_assets.add(contract.settlement)
        positions.append(position)

    orders: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 4)) if tradable else 0):
        # orders mostly against an open position (reducing, closing exactly, flipping)
        symbol = draw(st.sampled_from(sorted(sizes) if sizes and draw(st.booleans()) else tradable))
        contract = u.rb.contracts[symbol]
        held = abs(sizes.get(symbol, Fraction(0)))
        closing = m.BUY if sizes.get(symbol, Fraction(0)) < 0 else m.SELL
        order: dict[str, Any] = {
            "symbol": symbol,
            "side": draw(st.sampled_from([closing, closing, m.BUY, m.SELL])),
            "price": draw(spelled(draw(near_price(marks[symbol])))),
            # opening_qty straddles 0: quantity = |position| ± 10^-8
            "quantity": draw(spelled(draw(amounts([held] if held else [])))),
        }
        if symbol not in sizes or draw(st.booleans()):
            order["leverage"] = draw(leverages(contract))
        needed_assets.add(contract.settlement)
        orders.append(order)

    wallet: dict[str, str] = {}
    for asset in draw(st.lists(st.sampled_from(u.assets), unique=True, max_size=len(u.assets))):
        may_be_negative = mode == m.MULTI_ASSET or asset in u.settlements
        points = table_bounds(u.rb.assets[asset].collateral_tiers) if mode == m.MULTI_ASSET else []
        amount = signed(draw(amounts(points, zero=True)), may_be_negative and draw(st.integers(0, 3)) == 0)
        wallet[asset] = draw(spelled(amount))
        if amount != 0:
            needed_assets.add(asset)

    # a wallet of the order of the margin requirement (k × Σ notional / leverage)
    requirement = sum(
        (
            abs(sizes[p["symbol"]]) * marks[p["symbol"]] / p["leverage"]
            for p in positions
            if p["symbol"] in sizes
        ),
        Fraction(0),
    )
    if requirement and draw(st.booleans()):
        funded = [u.rb.contracts[s].settlement for s in sizes] if mode == m.SINGLE_ASSET else list(u.assets)
        asset = draw(st.sampled_from(sorted(set(funded))))
        price = Fraction(1) if asset == "USDT" else index[asset]
        k = draw(st.sampled_from(COVER_FACTORS))
        wallet[asset] = m.format_decimal(min(m.floor8(k * requirement / price), Fraction(10**15)))
        needed_assets.add(asset)

    account: dict[str, Any] = {"kind": m.FUTURES}
    if mode != m.SINGLE_ASSET or draw(st.booleans()):
        account["mode"] = mode
    region = draw(region_strategy(u))
    if region is not None:
        account["region"] = region
    account.update(wallet=wallet, positions=positions, orders=orders)
    scenario: dict[str, Any] = {
        "prices": {a: m.format_decimal(p) for a, p in index.items()},
        "marks": {s: m.format_decimal(p) for s, p in marks.items()},
        "account": account,
    }
    if draw(st.integers(0, 2)) == 0:
        scenario = draw(tune_futures(u, scenario))
        needed_assets |= {a for a, v in scenario["account"]["wallet"].items() if Fraction(v) != 0}
    scenario.update(draw(spell_market(u, index, marks, needed_assets, needed_marks)))
    if include_rulebook:
        scenario["rulebook"] = copy.deepcopy(u.raw)
    return scenario


# --------------------------------------------------------------------------
# margin (§6)
# --------------------------------------------------------------------------


@st.composite
def margin_scenarios(
    draw: st.DrawFn, source: RulebookSource | Universe = None, *, include_rulebook: bool = True
) -> dict[str, Any]:
    """A valid MARGIN scenario, CLASSIC or PRO (§6, §10)."""
    u = source if isinstance(source, Universe) else Universe.of(source)
    settings = u.rb.settings
    mode = draw(st.sampled_from([m.CLASSIC, m.PRO]))
    index = draw(draw_prices(u))
    p = {**index, "USDT": Fraction(1)}
    needed_assets: set[str] = set()

    borrowed: dict[str, Fraction] = {}
    interest: dict[str, Fraction] = {}
    loans = st.lists(st.sampled_from(u.borrowable), unique=True, min_size=draw(st.sampled_from([0, 1, 1, 1])))
    loan_assets = draw(loans) if u.borrowable else []
    for asset in (
        draw(st.lists(st.sampled_from(u.borrowable), unique=True, max_size=3)) if u.borrowable else []
    ):
        # accrual-sized interest (≤ 10^4), or anything in range
        interest[asset] = draw(st.one_of(log_units(10**4 * SCALE).map(units), amounts(zero=True)))
    for asset in loan_assets:
        borrow = u.rb.assets[asset].borrow
        assert borrow is not None and borrow.classic_limit is not None and borrow.pro_mmr is not None
        # borrowed principal on classic_limit, liability value (interest included) on a
        # Pro tier bound, each ± 10^-8
        owed = interest.get(asset, Fraction(0))
        points = [borrow.classic_limit] + [b / p[asset] - owed for b in table_bounds(borrow.pro_mmr)]
        borrowed[asset] = draw(amounts(points, zero=True))

    holdings: dict[str, Fraction] = {}
    debt_value = sum((p[a] * (borrowed.get(a, 0) + interest.get(a, 0)) for a in u.borrowable), Fraction(0))
    if debt_value and draw(st.booleans()):
        # collateral of the order of the debt, so margin levels land near the thresholds
        asset = draw(st.sampled_from(u.assets))
        k = draw(st.sampled_from(COVER_FACTORS))
        holdings[asset] = min(m.floor8(k * debt_value / p[asset]), Fraction(10**15))
    for asset in draw(st.lists(st.sampled_from([a for a in u.assets if a not in holdings]), unique=True)):
        haircut_points = [b / p[asset] for b in table_bounds(u.rb.assets[asset].haircut_tiers)]
        if asset in borrowed and draw(st.booleans()):
            # borrowed funds still held, plus or minus some own funds
            extra = draw(amounts(zero=True))
            amount = (
                borrowed[asset] + extra if draw(st.booleans()) else max(borrowed[asset] - extra, Fraction(0))
            )
            holdings[asset] = min(amount, Fraction(10**15))
        else:
            holdings[asset] = draw(amounts(haircut_points, zero=True))

    orders: list[dict[str, Any]] = []
    if len(u.assets) >= 2:
        for _ in range(draw(st.integers(0, 3))):
            base, quote = draw(st.lists(st.sampled_from(u.assets), unique=True, min_size=2, max_size=2))
            fair = m.floor8(p[base] / p[quote]) or Fraction(1, SCALE)
            orders.append(
                {
                    "base": base,
                    "quote": quote,
                    "side": draw(st.sampled_from([m.BUY, m.SELL])),
                    "price": draw(spelled(draw(near_price(min(fair, Fraction(10**9)))))),
                    "quantity": draw(
                        spelled(draw(st.one_of(amounts(), log_units(10**3 * SCALE).map(units))))
                    ),
                }
            )
            needed_assets |= {base, quote}

    account: dict[str, Any] = {"kind": m.MARGIN}
    if mode != m.CLASSIC or draw(st.booleans()):
        account["mode"] = mode
    region = draw(region_strategy(u))
    if region is not None:
        account["region"] = region
    account["holdings"] = {a: draw(spelled(v)) for a, v in holdings.items()}
    account["borrowed"] = {a: draw(spelled(v)) for a, v in borrowed.items()}
    account["interest"] = {a: draw(spelled(v)) for a, v in interest.items()}
    account["orders"] = orders
    leverage = draw(st.sampled_from([None, *m.CLASSIC_LEVERAGES]))
    if leverage is not None:
        account["classic_leverage"] = leverage
    low, high = settings.mcr_range
    mcr_values = st.one_of(
        st.sampled_from([low, high]),
        st.integers(int(low * SCALE), int(high * SCALE)).map(units),
    )
    mcr = {key: draw(spelled(draw(mcr_values))) for key in (m.CLASSIC, m.PRO) if draw(st.integers(0, 2)) == 0}
    if mcr:
        account["mcr"] = mcr
    vip_level = draw(st.sampled_from([None, *range(m.MAX_VIP_LEVEL + 1)]))
    if vip_level is not None:
        account["vip_level"] = vip_level
    for amounts_map in (holdings, borrowed, interest):
        needed_assets |= {a for a, v in amounts_map.items() if v != 0}

    scenario: dict[str, Any] = {"prices": {}, "marks": {}, "account": account}
    scenario["prices"] = {a: m.format_decimal(v) for a, v in index.items()}
    if draw(st.integers(0, 2)) > 0:
        scenario = draw(tune_margin(u, scenario))
        needed_assets |= {a for a, v in scenario["account"]["holdings"].items() if Fraction(v) != 0}
    marks = {s: draw(prices()) for s in u.rb.contracts}
    scenario.update(draw(spell_market(u, index, marks, needed_assets, set())))
    if include_rulebook:
        scenario["rulebook"] = copy.deepcopy(u.raw)
        if u.borrowable and draw(st.booleans()):
            add_vip_limits(draw, u, scenario["rulebook"], borrowed)
    return scenario


def add_vip_limits(
    draw: st.DrawFn, u: Universe, rulebook: dict[str, Any], borrowed: dict[str, Fraction]
) -> None:
    """SPEC §3.2 (v1.2) `vip_limits` on some borrowable assets: levels from 0, strictly
    increasing; limits non-decreasing and straddling the borrowed principal, so that the
    VIP cap binds, is met exactly or is already exceeded."""
    for asset in draw(st.lists(st.sampled_from(u.borrowable), unique=True, min_size=1)):
        others = draw(st.lists(st.integers(1, m.MAX_VIP_LEVEL), unique=True, max_size=3))
        levels = [0, *sorted(others)]
        points = [borrowed.get(asset, Fraction(0))]
        limits = sorted(draw(amounts(points, zero=True)) for _ in levels)
        rows = [[level, draw(spelled(limit))] for level, limit in zip(levels, limits, strict=True)]
        rulebook["assets"][asset]["borrow"]["vip_limits"] = rows


def scenarios(
    rulebook: RulebookSource = None, *, include_rulebook: bool = True
) -> st.SearchStrategy[dict[str, Any]]:
    """VALID §10 scenarios for `rulebook`, both kinds and all four modes."""
    u = Universe.of(rulebook)
    return st.one_of(
        futures_scenarios(u, include_rulebook=include_rulebook),
        margin_scenarios(u, include_rulebook=include_rulebook),
    )


# --------------------------------------------------------------------------
# invalid scenarios: one injected fault and its §11 reason
# --------------------------------------------------------------------------

BAD_DECIMALS = (
    "1e5",
    "+1",
    ".5",
    "1.",
    " 1",
    "1 ",
    "",
    "abc",
    "1,5",
    "1.000000000",
    "0x10",
    "1.2.3",
    "--1",
    "\u0661",
)
JSON_NUMBERS = (100, 1.5, 0)
ABOVE_QUANTITY = "1000000000000000.00000001"
ABOVE_PRICE = "1000000000.00000001"


@dataclass
class Fault:
    """A mutation: applies to a scenario in place and returns the expected reason."""

    name: str
    applies: Callable[[Universe, dict[str, Any]], bool]
    apply: Callable[[st.DrawFn, Universe, dict[str, Any]], str]


def decimal_fields(scenario: dict[str, Any]) -> list[tuple[Any, Any, str]]:
    """(container, key, kind) of every decimal in prices, marks and account."""
    out: list[tuple[Any, Any, str]] = []
    for key in scenario.get("prices", {}):
        out.append((scenario["prices"], key, "price"))
    for key in scenario.get("marks", {}):
        out.append((scenario["marks"], key, "price"))
    account = scenario["account"]
    for name, kind in (
        ("wallet", "signed"),
        ("holdings", "nonneg"),
        ("borrowed", "nonneg"),
        ("interest", "nonneg"),
    ):
        for key in account.get(name, {}):
            out.append((account[name], key, kind if name != "wallet" else "wallet"))
    for position in account.get("positions", []):
        out.append((position, "size", "signed"))
        out.append((position, "entry_price", "price"))
        if "isolated_margin" in position:
            out.append((position, "isolated_margin", "nonneg"))
    for order in account.get("orders", []):
        out.append((order, "price", "price"))
        out.append((order, "quantity", "positive"))
    return out


def _bad_decimal(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    container, key, _ = draw(st.sampled_from(decimal_fields(s)))
    container[key] = draw(st.sampled_from(BAD_DECIMALS + JSON_NUMBERS))
    return "INVALID_DECIMAL"


def _out_of_range(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    container, key, kind = draw(st.sampled_from(decimal_fields(s)))
    values = {
        "price": ["0", "-0.00000001", "-1", ABOVE_PRICE],
        "signed": [ABOVE_QUANTITY, "-" + ABOVE_QUANTITY],
        "wallet": [ABOVE_QUANTITY],  # a negative one could also be a SINGLE_ASSET fault
        "nonneg": ["-0.00000001", ABOVE_QUANTITY],
        "positive": ["0", "-1", ABOVE_QUANTITY],
    }[kind]
    container[key] = draw(st.sampled_from(values))
    if container is s.get("prices") and key == "USDT":
        container[key] = draw(st.sampled_from(["1.01", "0.99999999", "2"]))
    return "OUT_OF_RANGE"


def _usdt_price(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    s["prices"]["USDT"] = draw(st.sampled_from(["1.01", "0.99999999", "1.00000001", "2"]))
    return "OUT_OF_RANGE"


def _bad_leverage(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    holders = [
        x for x in s["account"].get("positions", []) + s["account"].get("orders", []) if "leverage" in x
    ]
    target = draw(st.sampled_from(holders))
    value = draw(st.sampled_from([0, -5, 1001, 10**6, "10", 10.0, True]))
    target["leverage"] = value
    return "OUT_OF_RANGE" if isinstance(value, int) and not isinstance(value, bool) else "INVALID_ARGUMENT"


def _unknown_asset(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    account = s["account"]
    where = draw(st.sampled_from(["prices", "map", "order"]))
    code = draw(st.sampled_from(["FOO", "usdt", "BTC2", "XX"]).filter(lambda c: c not in u.rb.assets))
    if where == "prices":
        s["prices"][code] = "1"
    elif where == "order" and account["kind"] == m.MARGIN and account.get("orders"):
        order = draw(st.sampled_from(account["orders"]))
        order[draw(st.sampled_from(["base", "quote"]))] = code
    else:
        name = (
            "wallet"
            if account["kind"] == m.FUTURES
            else draw(st.sampled_from(["holdings", "borrowed", "interest"]))
        )
        account.setdefault(name, {})[code] = "1"
    return "UNKNOWN_ASSET"


def _unknown_symbol(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    symbol = draw(st.sampled_from(["FOOUSDT", "btcusdt", "X"]).filter(lambda c: c not in u.rb.contracts))
    positions = s["account"].get("positions", [])
    if positions and draw(st.booleans()):
        draw(st.sampled_from(positions))["symbol"] = symbol
    else:
        s["marks"][symbol] = "100"
    return "UNKNOWN_SYMBOL"


def _bad_enum(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    account = s["account"]
    options = ["kind", "mode"] + (["side"] if account.get("orders") else [])
    which = draw(st.sampled_from(options))
    if which == "kind":
        account["kind"] = draw(st.sampled_from(["SPOT", "futures", 1]))
    elif which == "mode":
        other = m.CLASSIC if account["kind"] == m.FUTURES else m.MULTI_ASSET
        account["mode"] = draw(st.sampled_from(["CROSS", other, "single_asset"]))
    else:
        draw(st.sampled_from(account["orders"]))["side"] = draw(st.sampled_from(["HOLD", "buy", ""]))
    return "INVALID_ARGUMENT"


def _missing_field(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    account = s["account"]
    holders: list[tuple[dict[str, Any], str]] = [(account, "kind")]
    for position in account.get("positions", []):
        holders += [(position, k) for k in ("symbol", "size", "entry_price", "leverage")]
    for order in account.get("orders", []):
        keys = ("side", "price", "quantity") + (
            ("base", "quote") if account["kind"] == m.MARGIN else ("symbol",)
        )
        holders += [(order, k) for k in keys]
    container, key = draw(st.sampled_from(holders))
    del container[key]
    return "INVALID_ARGUMENT"


def _region(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    s["account"]["region"] = draw(st.sampled_from(["jp", "JPN", "J", "", "1A", 7]))
    return "INVALID_ARGUMENT"


def position_symbols(s: dict[str, Any]) -> set[str]:
    return {p["symbol"] for p in s["account"].get("positions", [])}


def nonzero_positions(s: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in s["account"].get("positions", []) if Fraction(p["size"]) != 0]


def _missing_price(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    account = s["account"]
    if account["kind"] == m.MARGIN:
        held = [a for a, v in account.get("holdings", {}).items() if a != "USDT" and Fraction(v) != 0]
        s["prices"].pop(draw(st.sampled_from(held)), None)
    else:
        position = draw(st.sampled_from(nonzero_positions(s)))
        s["marks"].pop(position["symbol"], None)
    return "PRICE_UNAVAILABLE"


def _margin_missing_price_applies(u: Universe, s: dict[str, Any]) -> bool:
    account = s["account"]
    if account["kind"] == m.MARGIN:
        return any(a != "USDT" and Fraction(v) != 0 for a, v in account.get("holdings", {}).items())
    return bool(nonzero_positions(s))


def _free_symbol(u: Universe, s: dict[str, Any], pool: Sequence[str]) -> list[str]:
    taken = {p["symbol"] for p in s["account"].get("positions", [])}
    return [x for x in pool if x not in taken]


def _inverse(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    account = s["account"]
    symbol = draw(st.sampled_from(u.inverse))
    if draw(st.booleans()) and _free_symbol(u, s, u.inverse):
        symbol = draw(st.sampled_from(_free_symbol(u, s, u.inverse)))
        account["positions"].append({"symbol": symbol, "size": "1", "entry_price": "100", "leverage": 10})
        s["marks"][symbol] = "100"
    else:
        account["orders"].append(
            {"symbol": symbol, "side": "BUY", "price": "100", "quantity": "1", "leverage": 10}
        )
    return "CONTRACT_NOT_SUPPORTED"


def _not_in_multi(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    account = s["account"]
    choices = []
    if u.not_multi:
        choices.append("contract")
    if nonzero_positions(s):
        choices.append("flag")
    which = draw(st.sampled_from(choices))
    if which == "flag":
        position = draw(st.sampled_from(nonzero_positions(s)))
        position[draw(st.sampled_from(["isolated", "airdrop"]))] = True
        return "CONTRACT_NOT_ALLOWED_IN_MODE"
    symbol = draw(st.sampled_from(u.not_multi))
    if _free_symbol(u, s, [symbol]) and draw(st.booleans()):
        account["positions"].append({"symbol": symbol, "size": "-2", "entry_price": "100", "leverage": 5})
        s["marks"][symbol] = "100"
    else:
        account["orders"].append(
            {"symbol": symbol, "side": "SELL", "price": "100", "quantity": "1", "leverage": 5}
        )
    return "CONTRACT_NOT_ALLOWED_IN_MODE"


def _duplicate_position(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    positions = s["account"]["positions"]
    positions.append(copy.deepcopy(draw(st.sampled_from(nonzero_positions(s)))))
    return "INVALID_ARGUMENT"


def _negative_non_settlement(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    asset = draw(st.sampled_from([a for a in u.assets if a not in u.settlements]))
    s["account"].setdefault("wallet", {})[asset] = "-1"
    return "INVALID_ARGUMENT"


def _borrowed_not_borrowable(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    asset = draw(st.sampled_from([a for a in u.assets if a not in u.borrowable]))
    s["account"].setdefault(draw(st.sampled_from(["borrowed", "interest"])), {})[asset] = "0.00000001"
    return "INVALID_ARGUMENT"


def _same_base_quote(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    order = draw(st.sampled_from(s["account"]["orders"]))
    order["quote"] = order["base"]
    return "INVALID_ARGUMENT"


def _order_without_leverage(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    account = s["account"]
    allowed = u.multi if account.get("mode") == m.MULTI_ASSET else u.linear
    symbol = draw(st.sampled_from([x for x in allowed if x not in position_symbols(s)]))
    account["orders"].append({"symbol": symbol, "side": "BUY", "price": "100", "quantity": "1"})
    return "INVALID_ARGUMENT"


def _mcr_out_of_range(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    low, high = u.rb.settings.mcr_range
    candidates = [high + units(1), high + 1] + ([low - units(1)] if low > 0 else [])
    s["account"].setdefault("mcr", {})[draw(st.sampled_from([m.CLASSIC, m.PRO]))] = m.format_decimal(
        draw(st.sampled_from(candidates))
    )
    return "OUT_OF_RANGE"


def _classic_leverage(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    value = draw(st.sampled_from([0, 1001, -3, "3", True, 3.0]))
    s["account"]["classic_leverage"] = value
    return "OUT_OF_RANGE" if type(value) is int else "INVALID_ARGUMENT"


def _wrong_container(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    account = s["account"]
    keys = ["orders"] + (
        ["wallet", "positions"] if account["kind"] == m.FUTURES else ["holdings", "borrowed"]
    )
    account[draw(st.sampled_from(keys))] = draw(st.sampled_from(["x", 1, True]))
    return "INVALID_ARGUMENT"


# Keys no object of a scenario or rulebook takes (SPEC §10 v1.2: refused, INVALID_ARGUMENT).
MISSPELT_KEYS = ("walet", "holding", "sise", "qty", "leverge", "reduce_only", "liabilty", "Mode", "vip")
# Keys of the other account kind, and the engine's state keys, refused in a scenario.
FOREIGN_KEYS = {
    m.FUTURES: ("holdings", "borrowed", "classic_leverage", "mcr", "vip_level", "status", "sub_account"),
    m.MARGIN: ("wallet", "positions", "status", "pro_terms_accepted", "copy_trading"),
}


def _unknown_key(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    account = s["account"]
    if draw(st.booleans()):
        account[draw(st.sampled_from(FOREIGN_KEYS[account["kind"]]))] = draw(st.sampled_from(["1", 1, True]))
        return "INVALID_ARGUMENT"
    targets: list[dict[str, Any]] = [s, account, *account.get("positions", []), *account.get("orders", [])]
    if "mcr" in account:
        targets.append(account["mcr"])
    target = draw(st.sampled_from(targets))
    target[draw(st.sampled_from(MISSPELT_KEYS))] = draw(st.sampled_from(["1", 1, None, {}, []]))
    return "INVALID_ARGUMENT"


def _misspelt_in_rulebook(draw: st.DrawFn, rb: dict[str, Any]) -> None:
    """A misspelt key in one object of the rulebook (not in a map of codes)."""
    assets = list(rb["assets"].values())
    targets = [rb, *assets, *rb.get("contracts", {}).values()]
    targets += [a[k] for a in assets for k in ("liability", "borrow") if isinstance(a.get(k), dict)]
    settings = rb.setdefault("settings", {})
    targets += [settings, *(v for v in settings.values() if isinstance(v, dict))]
    target = draw(st.sampled_from(targets))
    target[draw(st.sampled_from(MISSPELT_KEYS))] = draw(st.sampled_from(["1", 1, None, {}, []]))


def _vip_level(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    value = draw(st.sampled_from([10, -1, 1000, "1", 1.5, True, [0]]))
    s["account"]["vip_level"] = value
    return "OUT_OF_RANGE" if type(value) is int else "INVALID_ARGUMENT"


VIP_TABLE_FAULTS = (
    ("INVALID_ARGUMENT", []),
    ("INVALID_ARGUMENT", [[1, "5"]]),
    ("INVALID_ARGUMENT", [[0, "5"], ["2", "6"]]),
    ("INVALID_ARGUMENT", [[0, "5", "6"]]),
    ("INVALID_ARGUMENT", "0:5"),
    ("OUT_OF_RANGE", [[0, "5"], [0, "6"]]),
    ("OUT_OF_RANGE", [[0, "5"], [3, "8"], [2, "9"]]),
    ("OUT_OF_RANGE", [[0, "5"], [2, "4.99999999"]]),
    ("OUT_OF_RANGE", [[0, "5"], [10, "6"]]),
    ("OUT_OF_RANGE", [[0, "-1"]]),
    ("OUT_OF_RANGE", [[0, "1000000000000000.00000001"]]),
    ("INVALID_DECIMAL", [[0, 5]]),
)


def _rulebook_fault(draw: st.DrawFn, u: Universe, s: dict[str, Any]) -> str:
    rb = s["rulebook"] = copy.deepcopy(u.raw)
    asset = draw(st.sampled_from(u.assets))
    spec = rb["assets"][asset]
    faults: list[tuple[str, Callable[[], None]]] = [
        ("INVALID_ARGUMENT", lambda: spec.__setitem__("collateral_tiers", [])),
        ("INVALID_ARGUMENT", lambda: spec.pop("haircut_tiers")),
        ("INVALID_ARGUMENT", lambda: spec.__setitem__("haircut_tiers", [[None, "1"], ["100", "0.5"]])),
        ("OUT_OF_RANGE", lambda: spec.__setitem__("collateral_tiers", [["200", "0.9"], ["100", "0.8"]])),
        ("OUT_OF_RANGE", lambda: spec.__setitem__("collateral_tiers", [["100", "0.5"], ["200", "0.9"]])),
        ("OUT_OF_RANGE", lambda: spec.__setitem__("haircut_tiers", [[None, "1.5"]])),
        ("OUT_OF_RANGE", lambda: spec.__setitem__("discount", draw(st.sampled_from(["0", "1.00000001"])))),
        ("INVALID_DECIMAL", lambda: spec.__setitem__("discount", 1)),
        ("UNKNOWN_ASSET", lambda: rb.setdefault("settings", {}).__setitem__("payer_order", ["FOO"])),
        ("INVALID_ARGUMENT", lambda: rb.setdefault("settings", {}).__setitem__("restricted_regions", ["fr"])),
        ("INVALID_ARGUMENT", lambda: _misspelt_in_rulebook(draw, rb)),
    ]
    if u.borrowable:
        borrower = rb["assets"][draw(st.sampled_from(u.borrowable))]["borrow"]
        faults.append(
            ("OUT_OF_RANGE", lambda: borrower.__setitem__("pro_tiers", [["50000", "0.01", "0.05"]]))
        )
        faults.append(("INVALID_ARGUMENT", lambda: borrower.pop("pro_tiers")))
        vip_reason, vip_rows = draw(st.sampled_from(VIP_TABLE_FAULTS))
        faults.append((vip_reason, lambda: borrower.__setitem__("vip_limits", copy.deepcopy(vip_rows))))
    if u.rb.contracts:
        contract = rb["contracts"][draw(st.sampled_from(sorted(u.rb.contracts)))]
        faults.append(
            (
                "OUT_OF_RANGE",
                lambda: contract.__setitem__("risk_tiers", [["1000", "0.01", 50], [None, "0.02", 100]]),
            )
        )
        faults.append(
            (
                "OUT_OF_RANGE",
                lambda: contract.__setitem__("risk_tiers", [["1000", "0.02", 50], [None, "0.01", 20]]),
            )
        )
        faults.append(("UNKNOWN_ASSET", lambda: contract.__setitem__("settlement", "FOO")))
        faults.append(("INVALID_ARGUMENT", lambda: contract.__setitem__("kind", "PERPETUAL")))
    reason, apply = draw(st.sampled_from(faults))
    apply()
    return reason


def _is_futures(s: dict[str, Any]) -> bool:
    return bool(s["account"]["kind"] == m.FUTURES)


def _mode(s: dict[str, Any]) -> str:
    account = s["account"]
    return str(account.get("mode", m.DEFAULT_MODE[account["kind"]]))


FAULTS = (
    Fault("bad decimal", lambda u, s: bool(decimal_fields(s)), _bad_decimal),
    Fault("out of range", lambda u, s: bool(decimal_fields(s)), _out_of_range),
    Fault("usdt price", lambda u, s: "USDT" in u.rb.assets, _usdt_price),
    Fault(
        "leverage",
        lambda u, s: any(
            "leverage" in x for x in s["account"].get("positions", []) + s["account"].get("orders", [])
        ),
        _bad_leverage,
    ),
    Fault("unknown asset", lambda u, s: True, _unknown_asset),
    Fault("unknown symbol", lambda u, s: True, _unknown_symbol),
    Fault("enum", lambda u, s: True, _bad_enum),
    Fault("missing field", lambda u, s: True, _missing_field),
    Fault("region", lambda u, s: True, _region),
    Fault("missing price", _margin_missing_price_applies, _missing_price),
    # SINGLE_ASSET only: in MULTI_ASSET an INVERSE contract is also not allowed in the mode
    Fault(
        "inverse", lambda u, s: _is_futures(s) and _mode(s) == m.SINGLE_ASSET and bool(u.inverse), _inverse
    ),
    Fault(
        "not in multi",
        lambda u, s: (
            _is_futures(s) and _mode(s) == m.MULTI_ASSET and bool(u.not_multi or nonzero_positions(s))
        ),
        _not_in_multi,
    ),
    Fault("duplicate", lambda u, s: _is_futures(s) and bool(nonzero_positions(s)), _duplicate_position),
    Fault(
        "negative non-settlement",
        lambda u, s: (
            _is_futures(s) and _mode(s) == m.SINGLE_ASSET and any(a not in u.settlements for a in u.assets)
        ),
        _negative_non_settlement,
    ),
    Fault(
        "order without leverage",
        lambda u, s: (
            _is_futures(s)
            and any(
                x not in position_symbols(s) for x in (u.multi if _mode(s) == m.MULTI_ASSET else u.linear)
            )
        ),
        _order_without_leverage,
    ),
    Fault(
        "not borrowable",
        lambda u, s: not _is_futures(s) and any(a not in u.borrowable for a in u.assets),
        _borrowed_not_borrowable,
    ),
    Fault(
        "same base quote",
        lambda u, s: not _is_futures(s) and bool(s["account"].get("orders")),
        _same_base_quote,
    ),
    Fault("mcr", lambda u, s: not _is_futures(s), _mcr_out_of_range),
    Fault("classic leverage", lambda u, s: not _is_futures(s), _classic_leverage),
    Fault("container", lambda u, s: True, _wrong_container),
    Fault("unknown key", lambda u, s: True, _unknown_key),
    Fault("vip level", lambda u, s: not _is_futures(s), _vip_level),
    Fault("rulebook", lambda u, s: "rulebook" in s, _rulebook_fault),
)


@st.composite
def _invalid(draw: st.DrawFn, u: Universe, include_rulebook: bool) -> tuple[dict[str, Any], str]:
    scenario = copy.deepcopy(draw(st.one_of(futures_scenarios(u), margin_scenarios(u))))
    scenario.setdefault("prices", {})
    scenario.setdefault("marks", {})
    applicable = [f for f in FAULTS if f.applies(u, scenario)]
    fault = draw(st.sampled_from(applicable))
    reason = fault.apply(draw, u, scenario)
    if not include_rulebook and fault.name != "rulebook":
        scenario.pop("rulebook", None)
    return scenario, reason


def invalid_scenarios(
    rulebook: RulebookSource = None, *, include_rulebook: bool = True
) -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    """(scenario, reason): a valid scenario with one injected fault and its §11 reason."""
    return _invalid(Universe.of(rulebook), include_rulebook)


def any_json_scenarios(
    rulebook: RulebookSource = None, *, include_rulebook: bool = True
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid and invalid scenarios mixed, for error-path differential tests."""
    u = Universe.of(rulebook)
    return st.one_of(
        futures_scenarios(u, include_rulebook=include_rulebook),
        margin_scenarios(u, include_rulebook=include_rulebook),
        _invalid(u, include_rulebook).map(lambda pair: pair[0]),
    )

"""A price stress of one account: its risk at each move of one asset's price.

Which prices move (``asset`` = A):

* the index price of A, when the market has one;
* the mark of every LINEAR contract whose symbol is A followed by its settlement asset
  (A = BTC moves BTCUSDT and BTCUSDC, not ETHUSDT; INVERSE contracts are never margined).

The **reference price** P0 is A's index price, or when there is none the mark of the
first moved contract in code-point order. A move ``m`` sets the reference to
``P = floor8(P0 × (1 + m))``; every other moved price ``x0`` becomes
``floor8(x0 × P / P0)`` (the same relative move, rounded down to 10^-8 as the Simulate
RPC's factor is). A state is therefore a function of P alone, which lets the liquidation
price be refined by bisection over P on the 10^-8 grid. Those roundings are the only
arithmetic here; every risk figure comes from the Rust core (``multimargin.evaluate``)
or, for a live account, from the server's Simulate RPC.

>>> stress = Stress.of_scenario({
...     "prices": {"ETH": "3000"},
...     "account": {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"USDT": "1000"},
...                 "positions": [{"symbol": "ETHUSDT", "size": "1", "entry_price": "3000", "leverage": 10}]},
...     "marks": {"ETHUSDT": "3000"}}, "ETH")
>>> (stress.reference, stress.moved)
('ETH', ('ETH', 'ETHUSDT'))
>>> [p.price for p in stress.run(Decimal("-0.5"), Decimal("0"), 2)]
[Decimal('1500.00000000'), Decimal('2250.00000000'), Decimal('3000')]
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

import multimargin
from multimargin.results import RiskSummary

if TYPE_CHECKING:
    from multimargin.client import Client

STEP = Decimal("0.00000001")
_WIDE = decimal.Context(prec=80)  # products of two prices and a ratio, without rounding

Prices = dict[str, Decimal]
#: Risk of the account at (index prices, mark prices) that differ from the base only in the moved ones.
Evaluator = Callable[[Prices, Prices], RiskSummary]


def floor8(x: Decimal) -> Decimal:
    """``x`` rounded down to 8 fractional digits (SPEC §1 floor8)."""
    return x.quantize(STEP, rounding=ROUND_FLOOR, context=_WIDE)


def parse_move(text: str) -> Decimal:
    """A move as a fraction: ``"-50%"`` → -0.5, ``"0.2"`` → 0.2.

    >>> parse_move("-12.5%"), parse_move("+50%"), parse_move("0.1")
    (Decimal('-0.125'), Decimal('0.5'), Decimal('0.1'))
    """
    raw = text.strip()
    try:
        value = Decimal(raw[:-1]) / 100 if raw.endswith("%") else Decimal(raw)
    except decimal.InvalidOperation:
        raise ValueError(f"not a move: {text!r} (e.g. -50% or -0.5)") from None
    if not value.is_finite() or value <= -1:
        raise ValueError(f"a move must be above -100%: {text!r}")
    return value


def moved_contracts(rulebook: Mapping[str, Any], asset: str) -> list[str]:
    """The LINEAR contracts whose symbol is ``asset`` + settlement asset, in code-point order."""
    return sorted(
        symbol
        for symbol, c in rulebook["contracts"].items()
        if c["kind"] == "LINEAR" and symbol == asset + c["settlement"]
    )


@dataclass(frozen=True)
class Point:
    """The account at one price of the reference (move = P / P0 − 1, as requested)."""

    move: Decimal
    price: Decimal
    risk: RiskSummary

    @property
    def liquidatable(self) -> bool:
        """Whether the core says the account is liquidatable at this price."""
        return self.risk.liquidatable


@dataclass(frozen=True)
class Stress:
    """An account, its market, and the prices one asset's move changes (see the module)."""

    asset: str
    index: Prices
    marks: Prices
    reference: str  # the asset, or the symbol whose mark is the reference price
    moved: tuple[str, ...]  # the asset (if it has an index price) and the moved symbols
    evaluator: Evaluator = field(repr=False, compare=False)
    kind: str = "FUTURES"
    mode: str = "MULTI_ASSET"
    thresholds: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def base_price(self) -> Decimal:
        """P0: the reference price before any move."""
        return self.index[self.reference] if self.reference in self.index else self.marks[self.reference]

    def prices_at(self, price: Decimal) -> tuple[Prices, Prices]:
        """The index and mark prices when the reference is at ``price``."""
        p0 = self.base_price
        index, marks = dict(self.index), dict(self.marks)
        for book in (index, marks):
            for name in self.moved:
                if name in book:
                    moved = (
                        price
                        if name == self.reference
                        else _WIDE.divide(_WIDE.multiply(book[name], price), p0)
                    )
                    book[name] = floor8(moved)
        return index, marks

    def at(self, price: Decimal, move: Decimal | None = None) -> Point:
        """The account evaluated with the reference at ``price``."""
        if move is None:
            move = _WIDE.divide(price, self.base_price) - 1
        return Point(move, price, self.evaluator(*self.prices_at(price)))

    def run(self, start: Decimal, stop: Decimal, steps: int) -> list[Point]:
        """The account at ``steps + 1`` evenly spaced moves from ``start`` to ``stop``."""
        p0 = self.base_price
        points = []
        for k in range(steps + 1):
            move = start + _WIDE.divide((stop - start) * k, Decimal(steps)) if steps else start
            price = p0 if move == 0 else floor8(_WIDE.multiply(p0, 1 + move))
            if price <= 0:
                raise ValueError(f"a move of {move:%} takes the price to {price}")
            points.append(self.at(price, move))
        return points

    def levels(self, points: Sequence[Point]) -> dict[str, list[Decimal | None]]:
        """The margin levels shown: the account's (margin), or each pool's (futures,
        named by pool id when there are several); None where MM (or TL) is 0."""
        if self.kind != "FUTURES":
            return {"": [p.risk.margin_level for p in points]}
        pools = points[0].risk.pools if points else ()
        return {
            (pool.id if len(pools) > 1 else ""): [p.risk.pools[i].margin_level for p in points]
            for i, pool in enumerate(pools)
        }

    def liquidation_prices(self, points: Sequence[Point]) -> list[Point]:
        """Where a move from the current price first makes the account liquidatable, on
        each side: walking the points outward from P0, the first liquidatable one and
        the safe one before it bound a bisection over the reference price on the 10^-8
        grid. Each answer is liquidatable, and one 10^-8 step toward P0 is not. None when
        the account is already liquidatable at P0 or no point is."""
        current = self.at(self.base_price, Decimal(0))
        if current.liquidatable:
            return []
        found = []
        below = sorted((p for p in points if p.price < current.price), key=lambda p: p.price, reverse=True)
        above = sorted((p for p in points if p.price > current.price), key=lambda p: p.price)
        for side in (below, above):
            safe = current
            for point in side:
                if point.liquidatable:
                    found.append(self._bisect(point, safe))
                    break
                safe = point
        return sorted(found, key=lambda p: p.price)

    def _bisect(self, liquidatable: Point, safe: Point) -> Point:
        bad, good = liquidatable, safe
        while abs(good.price - bad.price) > STEP:
            mid = floor8(_WIDE.divide(bad.price + good.price, Decimal(2)))
            if mid in (bad.price, good.price):  # adjacent after rounding
                break
            probe = self.at(mid)
            if probe.liquidatable:
                bad = probe
            else:
                good = probe
        return bad

    @staticmethod
    def of_scenario(scenario: Mapping[str, Any], asset: str) -> Stress:
        """A stress of a SPEC §10 scenario, evaluated by :func:`multimargin.evaluate`."""
        rulebook = (
            multimargin.Rulebook(scenario["rulebook"]).to_dict()
            if "rulebook" in scenario
            else multimargin.default_rulebook().to_dict()
        )
        account = scenario["account"]

        def evaluate(index: Prices, marks: Prices) -> RiskSummary:
            shocked = {
                **scenario,
                "prices": {k: _text(v) for k, v in index.items()},
                "marks": {k: _text(v) for k, v in marks.items()},
            }
            return RiskSummary.of_result(multimargin.evaluate(shocked))

        kind = account.get("kind", "")
        mode = account.get("mode") or ("SINGLE_ASSET" if kind == "FUTURES" else "CLASSIC")
        return Stress.build(
            asset,
            {k: Decimal(v) for k, v in scenario.get("prices", {}).items()},
            {k: Decimal(v) for k, v in scenario.get("marks", {}).items()},
            rulebook,
            evaluate,
            kind,
            mode,
            account.get("mcr", {}).get(mode),
        )

    @staticmethod
    def of_server(client: Client, account_id: str, asset: str, rulebook: Mapping[str, Any]) -> Stress:
        """A stress of a live account, evaluated by the server's Simulate RPC (its
        rulebook, its prices); ``rulebook`` names the contracts and the thresholds."""
        from multimargin.v1 import risk_service_pb2 as risk

        view = client.get_account(account_id)
        prices = client.get_prices()
        index, marks = dict(prices.index), dict(prices.marks)
        symbols = [s for s in moved_contracts(rulebook, asset) if s in marks]

        def evaluate(shocked_index: Prices, shocked_marks: Prices) -> RiskSummary:
            shocks = (
                [risk.PriceShock(asset=asset, price=_text(shocked_index[asset]))] if asset in index else []
            )
            shocks += [risk.PriceShock(symbol=s, price=_text(shocked_marks[s])) for s in symbols]
            return client.simulate(account_id, [risk.SimulatedChange(price_shock=x) for x in shocks])

        account = view.account
        mcr = None
        if account.margin is not None:
            mcr = account.margin.mcr_pro if account.mode == "PRO" else account.margin.mcr_classic
        return Stress.build(asset, index, marks, rulebook, evaluate, account.kind, account.mode, mcr)

    @staticmethod
    def build(
        asset: str,
        index: Prices,
        marks: Prices,
        rulebook: Mapping[str, Any],
        evaluator: Evaluator,
        kind: str,
        mode: str,
        mcr: str | Decimal | None = None,
    ) -> Stress:
        """A stress over ``index``/``marks``; thresholds from the rulebook's settings (SPEC §3.4)."""
        symbols = [s for s in moved_contracts(rulebook, asset) if s in marks]
        moved = ([asset] if asset in index else []) + symbols
        if not moved:
            raise ValueError(f"{asset} has no index price, and no priced contract has it as its base")
        if asset == "USDT":
            raise ValueError("the USDT price is 1 by definition (SPEC §2) and cannot move")
        settings = rulebook["settings"]
        thresholds = {
            "liquidation": Decimal(settings["liquidation"][mode if kind == "MARGIN" else "FUTURES"])
        }
        if kind == "MARGIN":
            thresholds["margin call"] = Decimal(mcr if mcr is not None else settings["mcr_default"][mode])
        return Stress(asset, index, marks, moved[0], tuple(moved), evaluator, kind, mode, thresholds)


def _text(x: Decimal) -> str:
    """A decimal in the SPEC §1 wire form."""
    text = format(x, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


__all__ = ["Evaluator", "Point", "Stress", "floor8", "moved_contracts", "parse_move"]

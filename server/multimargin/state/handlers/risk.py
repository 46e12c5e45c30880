"""RiskService: risk summaries and what-if simulation (SPEC §5–§6, §10)."""

from __future__ import annotations

from decimal import Decimal

import multimargin
from multimargin.errors import (
    InvalidInputError,
    PriceUnavailableError,
)
from multimargin.state import validate as v
from multimargin.state.convert import (
    risk_message,
)
from multimargin.state.handlers.common import (
    Context,
    Mutation,
    Query,
    evaluate,
    in_range,
    require_kind,
)
from multimargin.state.handlers.trading import (
    apply_position,
    futures_order_of,
    margin_order_of,
    position_of,
)
from multimargin.state.model import (
    ZERO,
    add,
    dec,
    fmt,
)
from multimargin.v1 import risk_service_pb2 as risk


def get_risk_summary(ctx: Context, req: risk.GetRiskSummaryRequest) -> risk.GetRiskSummaryResponse:
    a = ctx.account(v.identifier(req.account_id, "account_id"))
    summary = risk_message(evaluate(ctx, a), ctx.rulebook_version)
    return risk.GetRiskSummaryResponse(version=a.version, risk=summary)


def simulate(ctx: Context, req: risk.SimulateRequest) -> risk.SimulateResponse:
    """SPEC §10 result after hypothetical changes, applied in order to copies."""
    live = ctx.account(v.identifier(req.account_id, "account_id"))
    v.count(len(req.changes), v.MAX_SIMULATED_CHANGES, "changes")
    a = live.clone()
    index, marks = dict(ctx.index_prices), dict(ctx.mark_prices)
    for i, change in enumerate(req.changes):
        path = f"changes[{i}]"
        which = change.WhichOneof("change")
        if which == "price_shock":
            _shock(ctx, change.price_shock, index, marks, f"{path}.price_shock")
        elif which == "transfer":
            asset = v.asset(ctx.rulebook, change.transfer.asset, f"{path}.transfer.asset")
            amount = v.decimal(change.transfer.amount, "signed_quantity", f"{path}.transfer.amount")
            balances = a.f.wallet if a.futures is not None else a.m.holdings
            balances[asset] = in_range(
                add(balances.get(asset, ZERO), amount),
                f"{path}.transfer.amount",
                signed=a.futures is not None,
            )
        elif which == "borrow":
            require_kind(a, "MARGIN", "a simulated borrow")
            asset = v.asset(ctx.rulebook, change.borrow.asset, f"{path}.borrow.asset")
            amount = v.decimal(change.borrow.amount, "amount", f"{path}.borrow.amount")
            a.m.holdings[asset] = add(a.m.holdings.get(asset, ZERO), amount)
            a.m.borrowed[asset] = add(a.m.borrowed.get(asset, ZERO), amount)
            rate = ctx.rulebook.settings.borrow_hourly_rate(asset)
            if rate is not None:
                # As Borrow applies it: the first hour's interest is charged at once (SPEC §7.1).
                charged = dec(multimargin.margin_hourly_interest(fmt(amount), rate))
                a.m.interest[asset] = add(a.m.interest.get(asset, ZERO), charged)
        elif which == "position":
            require_kind(a, "FUTURES", "a simulated position")
            apply_position(a, position_of(ctx, change.position, f"{path}.position"))
        elif which == "futures_order":
            require_kind(a, "FUTURES", "a simulated futures order")
            o = futures_order_of(ctx, change.futures_order, f"{path}.futures_order")
            a.f.orders[o.order_id or f"sim{i}"] = o
        elif which == "margin_order":
            require_kind(a, "MARGIN", "a simulated margin order")
            mo = margin_order_of(ctx, change.margin_order, f"{path}.margin_order")
            a.m.orders[mo.order_id or f"sim{i}"] = mo
        else:
            raise InvalidInputError("names no change", "INVALID_ARGUMENT", path)
    market = multimargin.Market(ctx.rulebook, index, marks)
    try:
        result = evaluate(ctx, a, market)
    except InvalidInputError as e:
        raise InvalidInputError(f"the simulated state is invalid: {e.message}", e.reason, "changes") from None
    return risk.SimulateResponse(version=live.version, risk=risk_message(result, ctx.rulebook_version))


def _shock(ctx: Context, s: risk.PriceShock, index: dict[str, str], marks: dict[str, str], path: str) -> None:
    target = s.WhichOneof("target")
    move = s.WhichOneof("move")
    if target is None:
        raise InvalidInputError("names no asset or symbol", "INVALID_ARGUMENT", f"{path}.asset")
    if move is None:
        raise InvalidInputError("gives no price or factor", "INVALID_ARGUMENT", f"{path}.price")
    if target == "asset":
        key = v.asset(ctx.rulebook, s.asset, f"{path}.asset")
        book = index
    else:
        key = v.symbol(ctx.rulebook, s.symbol, f"{path}.symbol")
        book = marks
    if move == "price":
        new = v.decimal(s.price, "price", f"{path}.price")
    else:
        factor = v.decimal(s.factor, "rate", f"{path}.factor")
        # p(USDT) = 1 always (SPEC §2), listed or not.
        current = "1" if target == "asset" and key == "USDT" else book.get(key)
        if current is None:
            raise PriceUnavailableError(
                f"no price for {key} to shock", "PRICE_UNAVAILABLE", f"{path}.{target}"
            )
        # The shocked price is rounded down to 8 digits and must stay a valid price.
        shocked = (dec(current) * factor).quantize(Decimal("0.00000001"), rounding="ROUND_FLOOR")
        new = v.decimal(fmt(shocked), "price", f"{path}.factor")
    if target == "asset" and key == "USDT" and new != 1:
        raise InvalidInputError("the USDT index price is 1 by definition", "OUT_OF_RANGE", f"{path}.asset")
    book[key] = fmt(new)


MUTATIONS: dict[str, Mutation] = {}

QUERIES: dict[str, Query] = {"GetRiskSummary": get_risk_summary, "Simulate": simulate}

"""TradingService: positions, the pre-trade check, open orders (SPEC §5.1, §5.4, §6)."""

from __future__ import annotations

import re
from typing import Any

import multimargin
from multimargin.errors import (
    InvalidInputError,
)
from multimargin.state import validate as v
from multimargin.state.convert import (
    SIDE_NAME,
    account_message,
    enum_name,
)
from multimargin.state.handlers.common import (
    Context,
    Mutation,
    Outcome,
    Query,
    check_version,
    refuse,
    require_kind,
    store,
)
from multimargin.state.model import (
    ZERO,
    AccountState,
    FuturesOrder,
    MarginOrder,
    Position,
)
from multimargin.v1 import trading_service_pb2 as trd
from multimargin.v1 import types_pb2 as t


def position_of(ctx: Context, p: t.Position, path: str) -> Position:
    symbol = v.symbol(ctx.rulebook, p.symbol, f"{path}.symbol")
    size = v.decimal(p.size, "signed_quantity", f"{path}.size")
    if size == 0 and not p.entry_price and not p.leverage:
        # Size "0" removes the position; entry_price and leverage are required only when
        # size is not 0 (types.proto), so a bare close is accepted.
        return Position(symbol=symbol, size=size, entry_price=ZERO, leverage=0)
    return Position(
        symbol=symbol,
        size=size,
        entry_price=v.decimal(p.entry_price, "price", f"{path}.entry_price"),
        leverage=v.leverage(p.leverage, f"{path}.leverage"),
        isolated=p.isolated,
        isolated_margin=v.decimal(p.isolated_margin, "quantity", f"{path}.isolated_margin")
        if p.isolated and p.isolated_margin
        else ZERO,
        airdrop=p.airdrop,
    )


def apply_position(a: AccountState, p: Position) -> None:
    """A position snapshot replaces the previous one; size 0 closes it."""
    if p.size == 0:
        a.f.positions.pop(p.symbol, None)
    else:
        a.f.positions[p.symbol] = p


def set_position(ctx: Context, req: trd.SetPositionRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    require_kind(a, "FUTURES", "SetPosition")
    if not req.HasField("position"):
        raise InvalidInputError("is required", "INVALID_ARGUMENT", "position")
    p = position_of(ctx, req.position, "position")
    apply_position(a, p)
    try:
        a = store(ctx, a)
    except multimargin.MarginError as e:
        # The core names the account path; the caller sent `position`.
        field = re.sub(r"^account\.positions\[\d+\]", "position", e.field or "")
        raise type(e)(e.message, e.reason, field or None) from None
    return Outcome(trd.SetPositionResponse(account=account_message(a)), [a])


def order_of(ctx: Context, a: AccountState, req: Any, path_prefix: str = "") -> FuturesOrder | MarginOrder:
    """The order of a CheckOrder/PlaceOrder request, validated (without its id)."""
    which = req.WhichOneof("order")
    if which is None:
        raise InvalidInputError("is required (futures or margin)", "INVALID_ARGUMENT", f"{path_prefix}order")
    if which == "futures":
        require_kind(a, "FUTURES", "a futures order")
        return futures_order_of(ctx, req.futures, f"{path_prefix}futures")
    require_kind(a, "MARGIN", "a margin order")
    return margin_order_of(ctx, req.margin, f"{path_prefix}margin")


def futures_order_of(ctx: Context, o: t.FuturesOrder, path: str) -> FuturesOrder:
    return FuturesOrder(
        order_id=o.order_id,
        symbol=v.symbol(ctx.rulebook, o.symbol, f"{path}.symbol"),
        side=enum_name(SIDE_NAME, o.side, f"{path}.side"),
        price=v.decimal(o.price, "price", f"{path}.price"),
        quantity=v.decimal(o.quantity, "amount", f"{path}.quantity"),
        leverage=v.leverage(o.leverage, f"{path}.leverage") if o.HasField("leverage") else None,
    )


def margin_order_of(ctx: Context, o: t.MarginOrder, path: str) -> MarginOrder:
    base = v.asset(ctx.rulebook, o.base, f"{path}.base")
    quote = v.asset(ctx.rulebook, o.quote, f"{path}.quote")
    if base == quote:
        raise InvalidInputError("base and quote must differ", "INVALID_ARGUMENT", f"{path}.quote")
    return MarginOrder(
        order_id=o.order_id,
        base=base,
        quote=quote,
        side=enum_name(SIDE_NAME, o.side, f"{path}.side"),
        price=v.decimal(o.price, "price", f"{path}.price"),
        quantity=v.decimal(o.quantity, "amount", f"{path}.quantity"),
    )


def core_order_check(
    ctx: Context, a: AccountState, o: FuturesOrder | MarginOrder, path: str
) -> dict[str, Any]:
    """The core's pre-trade check; errors name the request's order fields."""
    try:
        return dict(ctx.rulebook.check_order(ctx.compiled(a.account_id), ctx.market, o.scenario()))
    except InvalidInputError as e:
        field = (
            e.field.replace("order.", f"{path}.", 1) if e.field and e.field.startswith("order") else e.field
        )
        raise InvalidInputError(e.message, e.reason, field) from None


def order_scenario(ctx: Context, a: AccountState, req: Any) -> dict[str, Any]:
    """``order_of(ctx, a, req).scenario()`` — the same checks in the same order, the
    same object — without the intermediate order (no Decimal round-trip): the core's
    canonical decimal strings go straight into the core's order object."""
    which = req.WhichOneof("order")
    if which is None:
        raise InvalidInputError("is required (futures or margin)", "INVALID_ARGUMENT", "order")
    rb = ctx.rulebook
    if which == "futures":
        require_kind(a, "FUTURES", "a futures order")
        o = req.futures
        out: dict[str, Any] = {
            "symbol": v.symbol(rb, o.symbol, "futures.symbol"),
            "side": enum_name(SIDE_NAME, o.side, "futures.side"),
            "price": v.decimal_text(o.price, "price", "futures.price"),
            "quantity": v.decimal_text(o.quantity, "amount", "futures.quantity"),
        }
        if o.HasField("leverage"):
            out["leverage"] = v.leverage(o.leverage, "futures.leverage")
        return out
    require_kind(a, "MARGIN", "a margin order")
    m = req.margin
    base = v.asset(rb, m.base, "margin.base")
    quote = v.asset(rb, m.quote, "margin.quote")
    if base == quote:
        raise InvalidInputError("base and quote must differ", "INVALID_ARGUMENT", "margin.quote")
    return {
        "base": base,
        "quote": quote,
        "side": enum_name(SIDE_NAME, m.side, "margin.side"),
        "price": v.decimal_text(m.price, "price", "margin.price"),
        "quantity": v.decimal_text(m.quantity, "amount", "margin.quantity"),
    }


def check_order(ctx: Context, req: trd.CheckOrderRequest) -> trd.CheckOrderResponse:
    a = ctx.account(req.account_id)
    scenario = order_scenario(ctx, a, req)
    try:
        check = ctx.rulebook.check_order(ctx.compiled(a.account_id), ctx.market, scenario)
    except InvalidInputError as e:
        field = e.field
        if field and field.startswith("order"):
            field = field.replace("order.", f"{req.WhichOneof('order')}.", 1)
        raise InvalidInputError(e.message, e.reason, field) from None
    rejections = check["rejections"]
    return trd.CheckOrderResponse(
        accepted=check["accepted"],
        rejections=[t.UnmetCondition(reason=r["reason"], message=r["message"]) for r in rejections]
        if rejections
        else None,
        order_initial_margin=check["requirement"] if a.kind == "FUTURES" else "",
        available=check["available"],
        version=a.version,
    )


def place_order(ctx: Context, req: trd.PlaceOrderRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    o = order_of(ctx, a, req)
    which = req.WhichOneof("order") or "order"
    orders: dict[str, Any] = a.f.orders if a.futures is not None else a.m.orders
    if o.order_id:
        v.identifier(o.order_id, f"{which}.order_id")
        if o.order_id in orders:
            raise InvalidInputError(
                f"order {o.order_id} is already open", "INVALID_ARGUMENT", f"{which}.order_id"
            )
    else:
        # Deterministic, so that journal replay assigns the same id; never an open one.
        o.order_id = f"o{a.version + 1}"
        k = 1
        while o.order_id in orders:
            k += 1
            o.order_id = f"o{a.version + 1}.{k}"
    if len(orders) >= v.MAX_OPEN_ORDERS:
        raise InvalidInputError(
            f"an account holds at most {v.MAX_OPEN_ORDERS} open orders", "OUT_OF_RANGE", which
        )
    check = core_order_check(ctx, a, o, which)
    refuse([{"reason": r["reason"], "message": r["message"]} for r in check["rejections"]])
    if isinstance(o, FuturesOrder) and o.leverage is None:
        # SPEC §5.1: the default is the position's leverage — fixed when the order is
        # accepted, so a later position change does not re-margin (or orphan) it.
        o.leverage = a.f.positions[o.symbol].leverage
    orders[o.order_id] = o
    a = store(ctx, a)
    return Outcome(trd.PlaceOrderResponse(account=account_message(a), order_id=o.order_id), [a])


def cancel_order(ctx: Context, req: trd.CancelOrderRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    orders: dict[str, Any] = a.f.orders if a.futures is not None else a.m.orders
    if not req.order_id:
        raise InvalidInputError("is required", "INVALID_ARGUMENT", "order_id")
    if req.order_id not in orders:
        raise InvalidInputError(f"no open order {req.order_id}", "INVALID_ARGUMENT", "order_id")
    del orders[req.order_id]
    a = store(ctx, a)
    return Outcome(trd.CancelOrderResponse(account=account_message(a)), [a])


MUTATIONS: dict[str, Mutation] = {
    "SetPosition": set_position,
    "PlaceOrder": place_order,
    "CancelOrder": cancel_order,
}

QUERIES: dict[str, Query] = {"CheckOrder": check_order}

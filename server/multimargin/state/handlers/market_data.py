"""MarketDataService: index and mark prices; re-evaluation after a price update (SPEC §2, §8)."""

from __future__ import annotations

import multimargin
from multimargin.errors import (
    InvalidInputError,
)
from multimargin.state import validate as v
from multimargin.state.handlers.common import (
    Context,
    Mutation,
    Outcome,
    Query,
    bump,
    risk_rule,
)
from multimargin.state.model import (
    AccountState,
    fmt,
)
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import types_pb2 as t


def validated_prices(
    ctx: Context, index: dict[str, str], marks: dict[str, str], prefix: str = ""
) -> tuple[dict[str, str], dict[str, str]]:
    """Index and mark prices checked per SPEC §1–§2 (USDT is 1), canonical strings."""
    out_i, out_m = {}, {}
    for asset, price in sorted(index.items()):
        f = f"{prefix}index_prices.{asset}"
        v.asset(ctx.rulebook, asset, f)
        p = v.decimal(price, "price", f)
        if asset == "USDT" and p != 1:
            raise InvalidInputError("the USDT index price is 1 by definition", "OUT_OF_RANGE", f)
        out_i[asset] = fmt(p)
    for sym, price in sorted(marks.items()):
        f = f"{prefix}mark_prices.{sym}"
        v.symbol(ctx.rulebook, sym, f)
        out_m[sym] = fmt(v.decimal(price, "price", f))
    return out_i, out_m


def update_prices(ctx: Context, req: mkt.UpdatePricesRequest) -> Outcome:
    if not req.index_prices and not req.mark_prices:
        raise InvalidInputError("give at least one index or mark price", "INVALID_ARGUMENT", "index_prices")
    v.count(len(req.index_prices) + len(req.mark_prices), v.MAX_BATCH, "index_prices")
    index, marks = validated_prices(ctx, dict(req.index_prices), dict(req.mark_prices))
    new_index = {**ctx.index_prices, **index}
    new_marks = {**ctx.mark_prices, **marks}
    market = multimargin.Market(ctx.rulebook, new_index, new_marks)
    # SPEC §8: only the accounts exposed to a changed price are re-evaluated — first in
    # one batch for their flags (the core, without the GIL); the full rule runs only
    # where a flag calls for a change.
    ids = sorted(ctx.exposed(index, marks))
    flags = multimargin.risk_flags_many([ctx.compiled(i) for i in ids], market)
    affected: list[AccountState] = []
    report = []
    for account_id, flag in zip(ids, flags, strict=True):
        if flag is None:
            continue  # a price is missing: such an account is left as it is
        live = ctx.account(account_id)
        liquidatable, margin_call = flag
        a = live
        if (liquidatable and live.status == "ACTIVE") or margin_call != live.margin_call:
            a = live.clone()
            rule = risk_rule(ctx.rulebook, market, a)
            if rule is not None:
                liquidatable, margin_call = rule["liquidatable"], rule["margin_call"]
            if a.digest() != ctx.account_digest(account_id):
                a = bump(a)
                affected.append(a)
        if liquidatable or margin_call or a is not live:
            liquidating = a.status == "LIQUIDATING"
            report.append(
                mkt.AccountRiskChange(
                    account_id=account_id,
                    version=a.version,
                    status=t.ACCOUNT_STATUS_LIQUIDATING if liquidating else t.ACCOUNT_STATUS_ACTIVE,
                    liquidatable=liquidatable,
                    margin_call=margin_call,
                )
            )
    response = mkt.UpdatePricesResponse(
        prices_version=ctx.prices_version + 1, accounts=report, accounts_evaluated=len(ids)
    )
    return Outcome(response, affected, prices=(new_index, new_marks))


def get_prices(ctx: Context, req: mkt.GetPricesRequest) -> mkt.GetPricesResponse:
    index = dict(ctx.index_prices)
    if "USDT" in ctx.rulebook.assets:
        index["USDT"] = "1"  # SPEC §2: p(USDT) = 1, always
    return mkt.GetPricesResponse(
        index_prices=index, mark_prices=ctx.mark_prices, prices_version=ctx.prices_version
    )


MUTATIONS: dict[str, Mutation] = {"UpdatePrices": update_prices}

QUERIES: dict[str, Query] = {"GetPrices": get_prices}

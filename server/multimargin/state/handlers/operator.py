"""OperatorService: engine status, interest settlement, ending a liquidation, VIP levels
(SPEC §3.2, §7.1, §8)."""

from __future__ import annotations

import multimargin
from multimargin.errors import InvalidInputError, RuleViolationError
from multimargin.state import events
from multimargin.state.convert import account_message
from multimargin.state.handlers.common import (
    Context,
    Mutation,
    Outcome,
    Query,
    bump,
    check_version,
    compile_account,
    require_kind,
    risk_rule,
    store,
)
from multimargin.state.liability import auto_repay, charge_interest
from multimargin.state.model import compact_json
from multimargin.v1 import history_pb2 as h
from multimargin.v1 import operator_service_pb2 as op

HOUR_NS = 3600 * 10**9
MAX_HOURS_PER_SETTLEMENT = 24 * 366  # a year of missed hours at most per call


def get_engine_status(ctx: Context, req: op.GetEngineStatusRequest) -> op.GetEngineStatusResponse:
    result: op.GetEngineStatusResponse = ctx.engine_status()
    return result


def settlement_hours(ctx: Context, as_of_ns: int) -> range:
    """The UTC hour boundaries RunSettlement(as_of) settles (SPEC §7.1): every whole
    hour after the last settled one, up to ``as_of``. The first settlement of a store
    settles the latest boundary only (it starts the clock)."""
    if as_of_ns > ctx.ts_ns:
        raise InvalidInputError("is in the future", "OUT_OF_RANGE", "as_of")
    if as_of_ns < ctx.settled_through:
        raise InvalidInputError("is before the last settled hour", "OUT_OF_RANGE", "as_of")
    last = as_of_ns // HOUR_NS * HOUR_NS
    first = ctx.settled_through + HOUR_NS if ctx.settled_through else last
    hours = range(first, last + 1, HOUR_NS)
    if len(hours) > MAX_HOURS_PER_SETTLEMENT:
        raise InvalidInputError(
            f"settles {len(hours)} hours; settle at most {MAX_HOURS_PER_SETTLEMENT} per call",
            "OUT_OF_RANGE",
            "as_of",
        )
    return hours


def run_settlement(ctx: Context, req: op.RunSettlementRequest) -> Outcome:
    if not req.HasField("as_of"):
        raise InvalidInputError("is required", "INVALID_ARGUMENT", "as_of")
    try:
        as_of = req.as_of.ToNanoseconds()
    except ValueError:  # seconds or nanos outside the Timestamp range (a fuzz finding)
        raise InvalidInputError(
            "is not a valid timestamp (0001-01-01 to 9999-12-31, nanos 0-999999999)", "OUT_OF_RANGE", "as_of"
        ) from None
    hours = settlement_hours(ctx, as_of)
    changed = []
    charges = 0
    for account_id in sorted(ctx.account_ids()):
        live = ctx.account(account_id)
        a = live.clone()
        charges += charge_interest(ctx.rulebook, a, hours)
        if a.events:
            # Interest grew a debt: auto-repay above the threshold (SPEC §7.3), then §8.
            compiled = auto_repay(ctx.market, a, compile_account(ctx.rulebook, a))
            risk_rule(ctx.rulebook, ctx.market, a, compiled)
        if a.digest() != ctx.account_digest(account_id):
            changed.append(bump(a))
    last = hours[-1] if hours else ctx.settled_through
    response = op.RunSettlementResponse(
        hours_settled=len(hours), charges=charges, accounts_changed=len(changed)
    )
    if last:
        response.settled_through.FromNanoseconds(last)
    return Outcome(response, changed, settled_through=last)


def end_liquidation(ctx: Context, req: op.EndLiquidationRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    if a.status != "LIQUIDATING":
        raise InvalidInputError(
            f"account {a.account_id} is not being liquidated", "INVALID_ARGUMENT", "account_id"
        )
    compiled = ctx.compiled(a.account_id)
    if not multimargin.may_end_liquidation(compiled, ctx.market):
        raise RuleViolationError(
            "the account is still liquidatable; the liquidation cannot end",
            "MARGIN_LEVEL_TOO_LOW",
            "account_id",
        )
    a.status = "ACTIVE"
    events.raise_event(a, h.EVENT_KIND_LIQUIDATION_ENDED, dict(ctx.rulebook.evaluate(compiled, ctx.market)))
    a = store(ctx, a)
    return Outcome(op.EndLiquidationResponse(account=account_message(a)), [a])


def set_vip_level(ctx: Context, req: op.SetVipLevelRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    require_kind(a, "MARGIN", "SetVipLevel")
    if not 0 <= req.vip_level <= 9:
        raise InvalidInputError("a VIP level is 0–9", "OUT_OF_RANGE", "vip_level")
    a.m.vip_level = req.vip_level
    a = store(ctx, a)
    return Outcome(op.SetVipLevelResponse(account=account_message(a)), [a])


def _candidate(ctx: Context, text: str) -> tuple[multimargin.Rulebook, multimargin.Market, str]:
    """A candidate rulebook, validated on its own and against every account, with the
    current prices of what it still knows."""
    if not text:
        raise InvalidInputError("is required", "INVALID_ARGUMENT", "rulebook_json")
    try:
        compact = compact_json(text)
    except ValueError as e:
        raise InvalidInputError(f"is not JSON: {e}", "INVALID_ARGUMENT", "rulebook_json") from None
    rb = multimargin.Rulebook(compact)
    index = {k: p for k, p in ctx.index_prices.items() if k in rb.assets}
    marks = {k: p for k, p in ctx.mark_prices.items() if k in rb.contracts}
    return rb, multimargin.Market(rb, index, marks), compact


def _impacts(
    ctx: Context, rb: multimargin.Rulebook, market: multimargin.Market
) -> tuple[list[str], list[tuple[bool, bool] | None], list[op.RulebookImpact]]:
    """Every account's SPEC §8 flags under the candidate, and those that cross."""
    ids = sorted(ctx.account_ids())
    compiled = []
    for account_id in ids:
        try:
            compiled.append(compile_account(rb, ctx.account(account_id)))
        except multimargin.MarginError as e:
            raise InvalidInputError(
                f"the rulebook does not fit account {account_id}: {e.message}", e.reason, "rulebook_json"
            ) from None
    before = multimargin.risk_flags_many([ctx.compiled(i) for i in ids], ctx.market)
    after = multimargin.risk_flags_many(compiled, market)
    crossings = [
        op.RulebookImpact(
            account_id=i,
            liquidatable_before=b[0],
            liquidatable_after=f[0],
            margin_call_before=b[1],
            margin_call_after=f[1],
        )
        for i, b, f in zip(ids, before, after, strict=True)
        if b is not None and f is not None and b != f
    ]
    return ids, after, crossings


def preview_rulebook(ctx: Context, req: op.PreviewRulebookRequest) -> op.PreviewRulebookResponse:
    rb, market, _ = _candidate(ctx, req.rulebook_json)
    ids, _, crossings = _impacts(ctx, rb, market)
    return op.PreviewRulebookResponse(
        rulebook_version=ctx.rulebook_version, crossings=crossings, accounts_evaluated=len(ids)
    )


def reload_rulebook(ctx: Context, req: op.ReloadRulebookRequest) -> Outcome:
    rb, market, compact = _candidate(ctx, req.rulebook_json)
    ids, after, crossings = _impacts(ctx, rb, market)
    changed = []
    for account_id, flags in zip(ids, after, strict=True):
        live = ctx.account(account_id)
        if flags is None or not ((flags[0] and live.status == "ACTIVE") or flags[1] != live.margin_call):
            continue
        # SPEC §8 under the new parameters.
        a = live.clone()
        risk_rule(rb, market, a)
        a.compiled = None
        if a.digest() != ctx.account_digest(account_id):
            changed.append(bump(a))
    response = op.ReloadRulebookResponse(rulebook_version=ctx.rulebook_version + 1, changed=crossings)
    return Outcome(response, changed, rulebook=compact)


MUTATIONS: dict[str, Mutation] = {
    "RunSettlement": run_settlement,
    "EndLiquidation": end_liquidation,
    "SetVipLevel": set_vip_level,
    "ReloadRulebook": reload_rulebook,
}

QUERIES: dict[str, Query] = {"GetEngineStatus": get_engine_status, "PreviewRulebook": preview_rulebook}

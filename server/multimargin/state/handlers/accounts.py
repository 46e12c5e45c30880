"""AccountService: creating accounts, flags, Pro terms, modes, margin-call ratio and
classic leverage (SPEC §4, §9)."""

from __future__ import annotations

from multimargin.errors import (
    InvalidInputError,
    PriceUnavailableError,
    RuleViolationError,
)
from multimargin.state import validate as v
from multimargin.state.convert import (
    KIND_NAME,
    MODE_NAME,
    account_message,
    enum_name,
    risk_message,
)
from multimargin.state.handlers.common import (
    Context,
    Mutation,
    Outcome,
    Query,
    check_version,
    compile_account,
    evaluate,
    refuse,
    require_kind,
    store,
)
from multimargin.state.model import (
    AccountState,
    FuturesState,
    MarginState,
    dec,
    fmt,
)
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import types_pb2 as t


def create_account(ctx: Context, req: acc.CreateAccountRequest) -> Outcome:
    account_id = v.identifier(req.account_id, "account_id")
    kind = enum_name(KIND_NAME, req.kind, "kind")
    region = v.region(req.region)
    if ctx.has_account(account_id):
        raise InvalidInputError(f"account {account_id} already exists", "INVALID_ARGUMENT", "account_id")
    if kind == "FUTURES":
        a = AccountState(account_id, kind, "SINGLE_ASSET", region, futures=FuturesState())
        a.f.sub_account = req.sub_account
        a.f.copy_trading = req.copy_trading
    else:
        for name in ("sub_account", "copy_trading"):
            if getattr(req, name):
                raise InvalidInputError(f"{name} applies to futures accounts", "INVALID_ARGUMENT", name)
        settings = ctx.rulebook.settings  # SPEC §3.4 mcr_default, from the core
        a = AccountState(
            account_id,
            kind,
            "CLASSIC",
            region,
            margin=MarginState(
                mcr_classic=dec(settings.mcr_default("CLASSIC")), mcr_pro=dec(settings.mcr_default("PRO"))
            ),
        )
    compile_account(ctx.rulebook, a)
    return Outcome(acc.CreateAccountResponse(account=account_message(a)), [a])


def set_account_flags(ctx: Context, req: acc.SetAccountFlagsRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    require_kind(a, "FUTURES", "SetAccountFlags")
    conditions = []
    if req.HasField("copy_trading") and req.copy_trading and not a.f.copy_trading and a.mode == "MULTI_ASSET":
        conditions.append(
            {"reason": "COPY_TRADING_ON", "message": "copy trading cannot be turned on in MULTI_ASSET mode"}
        )
    if req.HasField("sub_account") and req.sub_account and not a.f.sub_account and a.mode == "MULTI_ASSET":
        conditions.append({"reason": "SUB_ACCOUNT", "message": "a sub-account cannot use MULTI_ASSET mode"})
    refuse(conditions)
    if req.HasField("copy_trading"):
        a.f.copy_trading = req.copy_trading
    if req.HasField("sub_account"):
        a.f.sub_account = req.sub_account
    a = store(ctx, a)
    return Outcome(acc.SetAccountFlagsResponse(account=account_message(a)), [a])


def accept_pro_terms(ctx: Context, req: acc.AcceptProTermsRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    require_kind(a, "MARGIN", "AcceptProTerms")
    terms = v.text(req.terms_version, "terms_version", 32)
    if not terms:
        raise InvalidInputError("is required", "INVALID_ARGUMENT", "terms_version")
    if not req.quiz_passed:
        raise RuleViolationError(
            "the Pro quiz must be passed to accept the Pro terms", "PRO_TERMS_NOT_ACCEPTED", "quiz_passed"
        )
    a.m.pro_terms_accepted = True
    a.m.pro_terms_version = terms
    a = store(ctx, a)
    return Outcome(acc.AcceptProTermsResponse(account=account_message(a)), [a])


def target_mode(a: AccountState, value: int, field: str = "target_mode") -> str:
    mode = enum_name(MODE_NAME, value, field)
    allowed = ("SINGLE_ASSET", "MULTI_ASSET") if a.kind == "FUTURES" else ("CLASSIC", "PRO")
    if mode not in allowed:
        raise InvalidInputError(f"{mode} is not a mode of {a.kind} accounts", "INVALID_ARGUMENT", field)
    return mode


def mode_switch_conditions(ctx: Context, a: AccountState, mode: str) -> list[dict[str, str]]:
    """Every unmet SPEC §9 condition of switching ``a`` to ``mode``."""
    return list(ctx.rulebook.check_mode_switch(ctx.compiled(a.account_id), ctx.market, mode))


def switch_mode(ctx: Context, req: acc.SwitchModeRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    mode = target_mode(a, req.target_mode)
    refuse(mode_switch_conditions(ctx, a, mode))
    if mode != a.mode:
        a.mode = mode
        if mode == "PRO":
            if not a.m.pro_entered:
                # SPEC §9: the first time, the Pro MCR becomes the default.
                a.m.mcr_pro = dec(ctx.rulebook.settings.mcr_default("PRO"))
            a.m.pro_entered = True
        a = store(ctx, a)
    return Outcome(acc.SwitchModeResponse(account=account_message(a)), [a])


def set_margin_call_ratio(ctx: Context, req: acc.SetMarginCallRatioRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    require_kind(a, "MARGIN", "SetMarginCallRatio")
    mode = target_mode(a, req.mode, "mode")
    # SPEC §9: within mcr_range (the core's check; OUT_OF_RANGE at `ratio`).
    ratio = dec(ctx.rulebook.settings.check_mcr(fmt(v.decimal(req.ratio, "rate", "ratio")), "ratio"))
    if mode == "CLASSIC":
        a.m.mcr_classic = ratio
    else:
        a.m.mcr_pro = ratio
    a = store(ctx, a)
    return Outcome(acc.SetMarginCallRatioResponse(account=account_message(a)), [a])


def set_classic_leverage(ctx: Context, req: acc.SetClassicLeverageRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    require_kind(a, "MARGIN", "SetClassicLeverage")
    if req.leverage not in (3, 5):
        raise InvalidInputError("classic leverage is 3 or 5", "OUT_OF_RANGE", "leverage")
    if req.leverage == a.m.classic_leverage and a.mode == "CLASSIC":
        return Outcome(acc.SetClassicLeverageResponse(account=account_message(a)), [])
    conditions = list(
        ctx.rulebook.check_classic_leverage(ctx.compiled(a.account_id), ctx.market, req.leverage)
    )
    for c in conditions:
        if c["reason"] == "INVALID_ARGUMENT":
            # Not in CLASSIC mode: the request does not apply to the account (like a wrong
            # kind), so INVALID_ARGUMENT, not a FAILED_PRECONDITION carrying that reason.
            raise InvalidInputError(c["message"], "INVALID_ARGUMENT", "account_id")
    refuse(conditions)
    a.m.classic_leverage = req.leverage
    a = store(ctx, a)
    return Outcome(acc.SetClassicLeverageResponse(account=account_message(a)), [a])


def get_account(ctx: Context, req: acc.GetAccountRequest) -> acc.GetAccountResponse:
    a = ctx.account(v.identifier(req.account_id, "account_id"))
    out = acc.GetAccountResponse(account=account_message(a))
    try:
        out.risk.CopyFrom(risk_message(evaluate(ctx, a), ctx.rulebook_version))
    except PriceUnavailableError:
        out.ClearField("risk")
    return out


def list_accounts(ctx: Context, req: acc.ListAccountsRequest) -> acc.ListAccountsResponse:
    if req.page_size < 0:
        raise InvalidInputError("must be ≥ 0", "OUT_OF_RANGE", "page_size")
    size = min(req.page_size or 100, 1000)
    ids = sorted(i for i in ctx.account_ids() if i > req.page_token)
    page = ids[:size]
    out = acc.ListAccountsResponse(next_page_token=page[-1] if len(ids) > size else "")
    for i in page:
        a = ctx.account(i)
        out.accounts.add(
            account_id=a.account_id,
            kind=account_message(a).kind,
            mode=account_message(a).mode,
            status=t.ACCOUNT_STATUS_LIQUIDATING if a.status == "LIQUIDATING" else t.ACCOUNT_STATUS_ACTIVE,
            version=a.version,
        )
    return out


def check_mode_switch(ctx: Context, req: acc.CheckModeSwitchRequest) -> acc.CheckModeSwitchResponse:
    a = ctx.account(v.identifier(req.account_id, "account_id"))
    mode = target_mode(a, req.target_mode)
    unmet = mode_switch_conditions(ctx, a, mode)
    return acc.CheckModeSwitchResponse(
        allowed=not unmet,
        unmet=[t.UnmetCondition(reason=c["reason"], message=c["message"]) for c in unmet],
        version=a.version,
    )


MUTATIONS: dict[str, Mutation] = {
    "CreateAccount": create_account,
    "SetAccountFlags": set_account_flags,
    "AcceptProTerms": accept_pro_terms,
    "SwitchMode": switch_mode,
    "SetMarginCallRatio": set_margin_call_ratio,
    "SetClassicLeverage": set_classic_leverage,
}

QUERIES: dict[str, Query] = {
    "GetAccount": get_account,
    "ListAccounts": list_accounts,
    "CheckModeSwitch": check_mode_switch,
}

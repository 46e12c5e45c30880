"""What each RPC decides and changes (SPEC §4–§9).

A mutation handler reads the live state through a :class:`Context`, validates the whole
request, works on copies, and returns an :class:`Outcome` (the response and the new
states); it never changes live state itself. The engine applies an outcome only after
the handler returned, so a refused or failed request changes nothing. Handlers are
deterministic functions of (state, request, ``ctx.ts_ns``), which is what makes journal
replay reproduce the state exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import multimargin
from multimargin import Rulebook
from multimargin.errors import (
    InvalidInputError,
    PriceUnavailableError,
    RuleViolationError,
    VersionConflictError,
)
from multimargin.state import validate as v
from multimargin.state.convert import (
    KIND_NAME,
    LEDGER_KIND_NAME,
    MODE_NAME,
    SIDE_NAME,
    account_message,
    enum_name,
    risk_message,
)
from multimargin.state.model import (
    MAX_QUANTITY,
    ZERO,
    AccountState,
    FuturesOrder,
    FuturesState,
    MarginOrder,
    MarginState,
    Position,
    add,
    dec,
    fmt,
    sub,
)
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import risk_service_pb2 as risk
from multimargin.v1 import trading_service_pb2 as trd
from multimargin.v1 import types_pb2 as t


class Context(Protocol):
    """What handlers may read: the rulebook, the market and the accounts."""

    rulebook: Rulebook
    rules: dict[str, Any]  # the rulebook as JSON data (parameters the flows read)
    market: multimargin.Market
    index_prices: dict[str, str]
    mark_prices: dict[str, str]
    prices_version: int
    ts_ns: int

    def account(self, account_id: str, field: str = "account_id") -> AccountState: ...
    def has_account(self, account_id: str) -> bool: ...
    def account_digest(self, account_id: str) -> bytes | None: ...
    def account_ids(self) -> Iterable[str]: ...


@dataclass
class Outcome:
    """The result of a mutation: the response and what to store."""

    response: Any
    accounts: list[AccountState] = field(default_factory=list)
    prices: tuple[dict[str, str], dict[str, str]] | None = None


# ---- shared checks -------------------------------------------------------------------


def compile_account(rb: Rulebook, a: AccountState) -> multimargin.Account:
    """The account compiled by the core (which re-validates the whole state)."""
    return multimargin.Account.from_state(rb, a.scenario())


def evaluate(ctx: Context, a: AccountState, market: multimargin.Market | None = None) -> dict[str, Any]:
    """The SPEC §10 result of an account at the current (or given) market."""
    return ctx.rulebook.evaluate(compile_account(ctx.rulebook, a), market or ctx.market)


def check_version(a: AccountState, req: Any) -> None:
    """Optimistic concurrency: a stale ``expected_version`` is ABORTED."""
    if req.HasField("expected_version") and req.expected_version != a.version:
        raise VersionConflictError(
            f"expected version {req.expected_version}, the account is at version {a.version}"
        )


def require_kind(a: AccountState, kind: str, what: str) -> None:
    """Wrong-kind operations (a borrow on a futures account) are INVALID_ARGUMENT."""
    if a.kind != kind:
        raise InvalidInputError(
            f"{what} applies to {kind} accounts; {a.account_id} is a {a.kind} account",
            "INVALID_ARGUMENT",
            "account_id",
        )


def require_active(a: AccountState, what: str) -> None:
    """A liquidating account refuses borrows, transfers out and opening orders (SPEC §8)."""
    if a.status == "LIQUIDATING":
        raise RuleViolationError(
            f"{what} is refused while the account is being liquidated", "ACCOUNT_LIQUIDATING"
        )


def refuse(conditions: list[dict[str, str]]) -> None:
    """Raises a refusal listing every unmet condition (SPEC §9), if there is any."""
    if conditions:
        listed = [(c["reason"], c["message"]) for c in conditions]
        raise RuleViolationError("; ".join(m for _, m in listed), listed[0][0], None, conditions=listed)


def bump(a: AccountState) -> AccountState:
    """The next version of a changed account."""
    a.version += 1
    return a


def in_range(value: Decimal, field: str, *, signed: bool = True) -> Decimal:
    """A resulting balance must stay within SPEC §1 quantity ranges."""
    low = -MAX_QUANTITY if signed else ZERO
    if not low <= value <= MAX_QUANTITY:
        raise InvalidInputError(
            f"the resulting balance {fmt(value)} would leave the SPEC §1 range", "OUT_OF_RANGE", field
        )
    return value


def liquidation_rule(
    rb: Rulebook, market: multimargin.Market, a: AccountState, compiled: multimargin.Account | None = None
) -> tuple[AccountState, dict[str, Any] | None]:
    """SPEC §8: a liquidatable account first has all its open orders cancelled; if it is
    still liquidatable it becomes LIQUIDATING. Returns the account and its evaluation at
    ``market`` after the rule (None when a price is missing: such an account is left as
    it is). ``compiled`` is ``a`` already compiled."""
    try:
        result = rb.evaluate(compiled or compile_account(rb, a), market)
        if a.status == "LIQUIDATING" or not result["liquidatable"]:
            return a, result
        orders = a.f.orders if a.futures is not None else a.m.orders
        if orders:
            orders.clear()
            result = rb.evaluate(compile_account(rb, a), market)
        if result["liquidatable"]:
            a.status = "LIQUIDATING"
        return a, result
    except PriceUnavailableError:
        return a, None


def store(ctx: Context, a: AccountState) -> AccountState:
    """Final checks of a changed account: the core accepts the state; the liquidation
    rule is applied; the version moves on — unless nothing changed at all (e.g. a flag
    set to its value), which keeps the version."""
    a, _ = liquidation_rule(ctx.rulebook, ctx.market, a, compile_account(ctx.rulebook, a))
    if a.digest() == ctx.account_digest(a.account_id):
        return a
    return bump(a)


# ---- accounts ------------------------------------------------------------------------


def create_account(ctx: Context, req: acc.CreateAccountRequest) -> Outcome:
    account_id = v.identifier(req.account_id, "account_id")
    kind = enum_name(KIND_NAME, req.kind, "kind")
    region = v.region(req.region)
    if ctx.has_account(account_id):
        raise InvalidInputError(f"account {account_id} already exists", "INVALID_ARGUMENT", "account_id")
    rb_settings = ctx.rules.get("settings", {})
    if kind == "FUTURES":
        a = AccountState(account_id, kind, "SINGLE_ASSET", region, futures=FuturesState())
        a.f.sub_account = req.sub_account
        a.f.copy_trading = req.copy_trading
    else:
        for name in ("sub_account", "copy_trading"):
            if getattr(req, name):
                raise InvalidInputError(f"{name} applies to futures accounts", "INVALID_ARGUMENT", name)
        defaults = rb_settings.get("mcr_default", {})
        a = AccountState(
            account_id,
            kind,
            "CLASSIC",
            region,
            margin=MarginState(
                mcr_classic=dec(defaults.get("CLASSIC", "1.3")), mcr_pro=dec(defaults.get("PRO", "1.5"))
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
    return list(ctx.rulebook.check_mode_switch(compile_account(ctx.rulebook, a), ctx.market, mode))


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
                default = ctx.rules.get("settings", {}).get("mcr_default", {}).get("PRO", "1.5")
                a.m.mcr_pro = dec(default)
            a.m.pro_entered = True
        a = store(ctx, a)
    return Outcome(acc.SwitchModeResponse(account=account_message(a)), [a])


def set_margin_call_ratio(ctx: Context, req: acc.SetMarginCallRatioRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    require_kind(a, "MARGIN", "SetMarginCallRatio")
    mode = target_mode(a, req.mode, "mode")
    ratio = v.decimal(req.ratio, "rate", "ratio")
    low, high = (dec(x) for x in ctx.rules.get("settings", {}).get("mcr_range", ["1.3", "2"]))
    if not low <= ratio <= high:
        raise InvalidInputError(
            f"must lie in the margin-call range [{fmt(low)}, {fmt(high)}]", "OUT_OF_RANGE", "ratio"
        )
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
        ctx.rulebook.check_classic_leverage(compile_account(ctx.rulebook, a), ctx.market, req.leverage)
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


# ---- money ---------------------------------------------------------------------------


def transfer_in(ctx: Context, req: fun.TransferInRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    asset = v.asset(ctx.rulebook, req.asset, "asset")
    amount = v.decimal(req.amount, "amount", "amount")
    repaid = ZERO
    if a.futures is not None:
        before = a.f.wallet.get(asset, ZERO)
        # SPEC §7.3: a transfer into a negative wallet repays first.
        repaid = min(amount, -before) if before < 0 else ZERO
        a.f.wallet[asset] = in_range(add(before, amount), "amount")
    else:
        a.m.holdings[asset] = in_range(add(a.m.holdings.get(asset, ZERO), amount), "amount", signed=False)
    a = store(ctx, a)
    return Outcome(fun.TransferInResponse(account=account_message(a), repaid=fmt(repaid)), [a])


def transfer_out(ctx: Context, req: fun.TransferOutRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    asset = v.asset(ctx.rulebook, req.asset, "asset")
    amount = v.decimal(req.amount, "amount", "amount")
    require_active(a, "a transfer out")
    limit = dec(evaluate(ctx, a)["max_transfer_out"].get(asset, "0"))
    if amount > limit:
        raise RuleViolationError(
            f"{fmt(amount)} {asset} exceeds the max transfer-out {fmt(limit)}",
            "EXCEEDS_MAX_TRANSFER",
            "amount",
        )
    if a.futures is not None:
        a.f.wallet[asset] = sub(a.f.wallet.get(asset, ZERO), amount)
    else:
        a.m.holdings[asset] = sub(a.m.holdings.get(asset, ZERO), amount)
    a = store(ctx, a)
    return Outcome(fun.TransferOutResponse(account=account_message(a)), [a])


def settlement_assets(ctx: Context) -> set[str]:
    """Assets that settle a LINEAR contract (SINGLE_ASSET pool assets, SPEC §5.2)."""
    return {c["settlement"] for c in ctx.rules.get("contracts", {}).values() if c.get("kind") == "LINEAR"}


def post_ledger_entries(ctx: Context, req: fun.PostLedgerEntriesRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    v.count(len(req.entries), v.MAX_BATCH, "entries", at_least=1)
    balances = a.f.wallet if a.futures is not None else a.m.holdings
    last_entry: dict[str, int] = {}
    for i, e in enumerate(req.entries):
        path = f"entries[{i}]"
        enum_name(LEDGER_KIND_NAME, e.kind, f"{path}.kind")
        asset = v.asset(ctx.rulebook, e.asset, f"{path}.asset")
        amount = v.decimal(e.amount, "signed_quantity", f"{path}.amount")
        if amount == 0:
            raise InvalidInputError(
                "a ledger entry moves a non-zero amount", "OUT_OF_RANGE", f"{path}.amount"
            )
        v.text(e.memo, f"{path}.memo", v.MAX_MEMO)
        balances[asset] = add(balances.get(asset, ZERO), amount)
        last_entry[asset] = i
    # The batch is one change: only the resulting balances must be valid.
    for asset, i in last_entry.items():
        field = f"entries[{i}].amount"
        in_range(balances[asset], field)
        if balances[asset] >= 0:
            continue
        if a.margin is not None:
            # Spot legs and fees never overdraw holdings (SPEC §6: holdings ≥ 0).
            raise RuleViolationError(
                f"{asset} holdings would become {fmt(balances[asset])}", "INSUFFICIENT_BALANCE", field
            )
        if a.mode == "SINGLE_ASSET" and asset not in settlement_assets(ctx):
            raise RuleViolationError(
                f"in SINGLE_ASSET mode only a settlement asset may go negative; {asset} would become "
                f"{fmt(balances[asset])}",
                "INSUFFICIENT_BALANCE",
                field,
            )
    a = store(ctx, a)
    return Outcome(fun.PostLedgerEntriesResponse(account=account_message(a)), [a])


def borrow(ctx: Context, req: fun.BorrowRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    require_kind(a, "MARGIN", "Borrow")
    asset = v.asset(ctx.rulebook, req.asset, "asset")
    amount = v.decimal(req.amount, "amount", "amount")
    require_active(a, "a borrow")
    limit = dec(evaluate(ctx, a)["max_borrow"].get(asset, "0"))
    if amount > limit:
        raise RuleViolationError(
            f"{fmt(amount)} {asset} exceeds the max borrow {fmt(limit)}", "EXCEEDS_MAX_BORROW", "amount"
        )
    rate = ctx.rules["assets"][asset]["borrow"]["hourly_rate"]
    # SPEC §7.1: the first hour's interest is charged when the loan is made.
    charged = dec(multimargin.margin_hourly_interest(fmt(amount), rate))
    m = a.m
    m.holdings[asset] = add(m.holdings.get(asset, ZERO), amount)
    m.borrowed[asset] = add(m.borrowed.get(asset, ZERO), amount)
    m.interest[asset] = add(m.interest.get(asset, ZERO), charged)
    a = store(ctx, a)
    return Outcome(fun.BorrowResponse(account=account_message(a), interest_charged=fmt(charged)), [a])


def _price(ctx: Context, asset: str, field: str) -> str:
    price = "1" if asset == "USDT" else ctx.index_prices.get(asset)
    if price is None:
        raise PriceUnavailableError(f"no index price for {asset}", "PRICE_UNAVAILABLE", field)
    return price


def repay(ctx: Context, req: fun.RepayRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    debt_asset = v.asset(ctx.rulebook, req.asset, "asset")
    amount = v.decimal(req.amount, "amount", "amount")
    payer = v.asset(ctx.rulebook, req.payer_asset, "payer_asset") if req.payer_asset else ""
    if payer == debt_asset:
        payer = ""
    assets = ctx.rules["assets"]

    def cost(of: str) -> Decimal:
        return dec(
            multimargin.conversion_cost(
                fmt(amount),
                _price(ctx, debt_asset, "asset"),
                _price(ctx, of, "payer_asset"),
                assets[of]["discount"],
            )
        )

    interest_paid = principal_paid = ZERO
    payer_amount = ZERO
    if a.futures is not None:
        # SPEC §7.3 manual repay: another asset pays for the debt at a discount.
        w = a.f.wallet
        debt = -w.get(debt_asset, ZERO) if w.get(debt_asset, ZERO) < 0 else ZERO
        if not payer:
            raise InvalidInputError(
                "a futures repay names the paying asset (SPEC §7.3)", "INVALID_ARGUMENT", "payer_asset"
            )
        if amount > debt:
            raise InvalidInputError(f"exceeds the debt of {fmt(debt)} {debt_asset}", "OUT_OF_RANGE", "amount")
        payer_amount = cost(payer)
        if w.get(payer, ZERO) < payer_amount:
            raise RuleViolationError(
                f"repaying costs {fmt(payer_amount)} {payer}; the wallet holds {fmt(w.get(payer, ZERO))}",
                "INSUFFICIENT_BALANCE",
                "payer_asset",
            )
        was_liquidatable = evaluate(ctx, a)["liquidatable"]
        w[debt_asset] = add(w.get(debt_asset, ZERO), amount)
        w[payer] = sub(w[payer], payer_amount)
        principal_paid = amount
        if not was_liquidatable and evaluate(ctx, a)["liquidatable"]:
            raise RuleViolationError(
                "the repayment would make the account liquidatable", "INSUFFICIENT_MARGIN", "amount"
            )
    else:
        # SPEC §7.4: interest first, then principal; from free holdings.
        m = a.m
        owed = m.liability(debt_asset)
        if amount > owed:
            raise InvalidInputError(
                f"exceeds the liability of {fmt(owed)} {debt_asset}", "OUT_OF_RANGE", "amount"
            )
        source = payer or debt_asset
        payer_amount = cost(payer) if payer else amount
        free = m.free(source)
        if payer_amount > free:
            raise RuleViolationError(
                f"repaying needs {fmt(payer_amount)} free {source}; {fmt(free)} is free",
                "INSUFFICIENT_BALANCE",
                "payer_asset" if payer else "amount",
            )
        interest_paid = min(amount, m.interest.get(debt_asset, ZERO))
        principal_paid = sub(amount, interest_paid)
        m.interest[debt_asset] = sub(m.interest.get(debt_asset, ZERO), interest_paid)
        m.borrowed[debt_asset] = sub(m.borrowed.get(debt_asset, ZERO), principal_paid)
        m.holdings[source] = sub(m.holdings[source], payer_amount)
    a = store(ctx, a)
    return Outcome(
        fun.RepayResponse(
            account=account_message(a),
            repaid=fmt(amount),
            payer_asset=payer or debt_asset,
            payer_amount=fmt(payer_amount),
            interest_repaid=fmt(interest_paid),
            principal_repaid=fmt(principal_paid),
        ),
        [a],
    )


# ---- trading -------------------------------------------------------------------------


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
        return dict(ctx.rulebook.check_order(compile_account(ctx.rulebook, a), ctx.market, o.scenario()))
    except InvalidInputError as e:
        field = (
            e.field.replace("order.", f"{path}.", 1) if e.field and e.field.startswith("order") else e.field
        )
        raise InvalidInputError(e.message, e.reason, field) from None


def check_order(ctx: Context, req: trd.CheckOrderRequest) -> trd.CheckOrderResponse:
    a = ctx.account(req.account_id)
    o = order_of(ctx, a, req)
    check = core_order_check(ctx, a, o, req.WhichOneof("order") or "order")
    return trd.CheckOrderResponse(
        accepted=check["accepted"],
        rejections=[t.UnmetCondition(reason=r["reason"], message=r["message"]) for r in check["rejections"]],
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


# ---- market data ---------------------------------------------------------------------


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


def references(a: AccountState, contracts: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The assets and symbols an account's figures depend on."""
    if a.futures is not None:
        symbols = set(a.f.positions) | {o.symbol for o in a.f.orders.values()}
        # Requirements and upnl are valued at the settlement asset's price (SPEC §5.2).
        assets = set(a.f.wallet) | {contracts[s]["settlement"] for s in symbols}
    else:
        assets = set(a.m.holdings) | set(a.m.borrowed) | set(a.m.interest)
        assets |= {x for o in a.m.orders.values() for x in (o.base, o.quote)}
        symbols = set()
    return assets, symbols


def update_prices(ctx: Context, req: mkt.UpdatePricesRequest) -> Outcome:
    if not req.index_prices and not req.mark_prices:
        raise InvalidInputError("give at least one index or mark price", "INVALID_ARGUMENT", "index_prices")
    v.count(len(req.index_prices) + len(req.mark_prices), v.MAX_BATCH, "index_prices")
    index, marks = validated_prices(ctx, dict(req.index_prices), dict(req.mark_prices))
    new_index = {**ctx.index_prices, **index}
    new_marks = {**ctx.mark_prices, **marks}
    market = multimargin.Market(ctx.rulebook, new_index, new_marks)
    changed_assets, changed_symbols = set(index), set(marks)
    affected: list[AccountState] = []
    report = []
    for account_id in sorted(ctx.account_ids()):
        live = ctx.account(account_id)
        assets, symbols = references(live, ctx.rules.get("contracts", {}))
        if not (assets & changed_assets or symbols & changed_symbols):
            continue
        a = live.clone()
        before = (a.status, len(a.f.orders if a.futures is not None else a.m.orders))
        # SPEC §8: re-evaluated at the new prices; liquidation rule applied.
        a, result = liquidation_rule(ctx.rulebook, market, a)
        flags = (result["liquidatable"], result.get("margin_call", False)) if result else (False, False)
        if (a.status, len(a.f.orders if a.futures is not None else a.m.orders)) != before:
            a = bump(a)
            affected.append(a)
        report.append(
            mkt.AccountRiskChange(
                account_id=a.account_id,
                version=a.version,
                status=t.ACCOUNT_STATUS_LIQUIDATING if a.status == "LIQUIDATING" else t.ACCOUNT_STATUS_ACTIVE,
                liquidatable=flags[0],
                margin_call=flags[1],
            )
        )
    response = mkt.UpdatePricesResponse(prices_version=ctx.prices_version + 1, accounts=report)
    return Outcome(response, affected, prices=(new_index, new_marks))


# ---- queries -------------------------------------------------------------------------


def get_account(ctx: Context, req: acc.GetAccountRequest) -> acc.GetAccountResponse:
    a = ctx.account(v.identifier(req.account_id, "account_id"))
    out = acc.GetAccountResponse(account=account_message(a))
    try:
        out.risk.CopyFrom(risk_message(evaluate(ctx, a)))
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


def get_risk_summary(ctx: Context, req: risk.GetRiskSummaryRequest) -> risk.GetRiskSummaryResponse:
    a = ctx.account(v.identifier(req.account_id, "account_id"))
    return risk.GetRiskSummaryResponse(version=a.version, risk=risk_message(evaluate(ctx, a)))


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
            rate = ctx.rules["assets"][asset].get("borrow", {}).get("hourly_rate")
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
    return risk.SimulateResponse(version=live.version, risk=risk_message(result))


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


def get_prices(ctx: Context, req: mkt.GetPricesRequest) -> mkt.GetPricesResponse:
    index = dict(ctx.index_prices)
    if "USDT" in ctx.rulebook.assets:
        index["USDT"] = "1"  # SPEC §2: p(USDT) = 1, always
    return mkt.GetPricesResponse(
        index_prices=index, mark_prices=ctx.mark_prices, prices_version=ctx.prices_version
    )


Mutation = Callable[[Context, Any], Outcome]
Query = Callable[[Context, Any], Any]

MUTATIONS: dict[str, Mutation] = {
    "CreateAccount": create_account,
    "SetAccountFlags": set_account_flags,
    "AcceptProTerms": accept_pro_terms,
    "SwitchMode": switch_mode,
    "SetMarginCallRatio": set_margin_call_ratio,
    "SetClassicLeverage": set_classic_leverage,
    "TransferIn": transfer_in,
    "TransferOut": transfer_out,
    "PostLedgerEntries": post_ledger_entries,
    "Borrow": borrow,
    "Repay": repay,
    "SetPosition": set_position,
    "PlaceOrder": place_order,
    "CancelOrder": cancel_order,
    "UpdatePrices": update_prices,
}

QUERIES: dict[str, Query] = {
    "GetAccount": get_account,
    "ListAccounts": list_accounts,
    "CheckModeSwitch": check_mode_switch,
    "CheckOrder": check_order,
    "GetRiskSummary": get_risk_summary,
    "Simulate": simulate,
    "GetPrices": get_prices,
}

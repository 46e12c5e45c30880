"""FundsService: transfers, ledger entries, borrowing and repayment (SPEC §6–§7)."""

from __future__ import annotations

from decimal import Decimal

import multimargin
from multimargin.errors import (
    InvalidInputError,
    PriceUnavailableError,
    RuleViolationError,
)
from multimargin.state import validate as v
from multimargin.state.convert import (
    LEDGER_KIND_NAME,
    account_message,
    enum_name,
)
from multimargin.state.events import history_entry, record
from multimargin.state.handlers.common import (
    Context,
    Mutation,
    Outcome,
    Query,
    check_version,
    evaluate,
    in_range,
    require_active,
    require_kind,
    store,
)
from multimargin.state.model import (
    ZERO,
    AccountState,
    add,
    dec,
    fmt,
    sub,
)
from multimargin.v1 import funds_service_pb2 as fun


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
        if repaid:
            record(
                a,
                history_entry(
                    "REPAY_TRANSFER_IN",
                    asset=asset,
                    amount=fmt(repaid),
                    payer_asset=asset,
                    payer_amount=fmt(repaid),
                ),
            )
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


def repay_amount(req: fun.RepayRequest | fun.RepayLiabilityRequest) -> Decimal | None:
    """The requested amount, or None to repay all (SPEC §7.4, ours)."""
    if req.all:
        if req.amount:
            raise InvalidInputError("give an amount or all, not both", "INVALID_ARGUMENT", "amount")
        return None
    return v.decimal(req.amount, "amount", "amount")


def repay(ctx: Context, req: fun.RepayRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    debt_asset = v.asset(ctx.rulebook, req.asset, "asset")
    payer = v.asset(ctx.rulebook, req.payer_asset, "payer_asset") if req.payer_asset else ""
    if payer == debt_asset:
        payer = ""
    return _repay(ctx, a, debt_asset, payer, repay_amount(req))


def repay_liability(ctx: Context, req: fun.RepayLiabilityRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    require_kind(a, "FUTURES", "RepayLiability")
    debt_asset = v.asset(ctx.rulebook, req.debt_asset, "debt_asset")
    payer = v.asset(ctx.rulebook, req.payer_asset, "payer_asset")
    if payer == debt_asset:
        raise InvalidInputError(
            "the payer must differ from the debt asset", "INVALID_ARGUMENT", "payer_asset"
        )
    outcome = _repay(ctx, a, debt_asset, payer, repay_amount(req))
    entry = outcome.accounts[0].events[-1].entry if outcome.accounts[0].events else None
    response = fun.RepayLiabilityResponse(account=outcome.response.account)
    if entry is not None:
        response.entry.CopyFrom(entry)
        response.entry.time.FromNanoseconds(ctx.ts_ns)
    outcome.response = response
    return outcome


def _repay(ctx: Context, a: AccountState, debt_asset: str, payer: str, requested: Decimal | None) -> Outcome:
    assets = ctx.rules["assets"]
    if a.futures is not None:
        owed = -a.f.wallet.get(debt_asset, ZERO) if a.f.wallet.get(debt_asset, ZERO) < 0 else ZERO
    else:
        owed = a.m.liability(debt_asset)
    if requested is None and owed == 0:
        raise InvalidInputError(f"there is no {debt_asset} liability to repay", "OUT_OF_RANGE", "all")
    amount = owed if requested is None else requested

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
        debt = owed
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
    record(
        a,
        history_entry(
            "REPAY_MANUAL",
            asset=debt_asset,
            amount=fmt(amount),
            interest_repaid=fmt(interest_paid) if a.margin is not None else "",
            principal_repaid=fmt(principal_paid) if a.margin is not None else "",
            payer_asset=payer or debt_asset,
            payer_amount=fmt(payer_amount),
            asset_price=_price(ctx, debt_asset, "asset") if payer else "",
            payer_price=_price(ctx, payer, "payer_asset") if payer else "",
            discount=assets[payer]["discount"] if payer else "",
        ),
    )
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


MUTATIONS: dict[str, Mutation] = {
    "TransferIn": transfer_in,
    "TransferOut": transfer_out,
    "PostLedgerEntries": post_ledger_entries,
    "Borrow": borrow,
    "Repay": repay,
    "RepayLiability": repay_liability,
}


def list_history(ctx: Context, req: fun.ListHistoryRequest) -> fun.ListHistoryResponse:
    """SPEC §7.5: the account's repayments and interest charges, newest first; the
    page token continues below the oldest entry already returned (stable while new
    entries arrive) and is signed, so a forged one is refused."""
    a = ctx.account(v.identifier(req.account_id, "account_id"))
    if not 0 <= req.page_size <= 1000:
        raise InvalidInputError("must be 0–1000", "OUT_OF_RANGE", "page_size")
    size = req.page_size or 100
    before = ctx.history_cursor(a.account_id, req.page_token) if req.page_token else None
    rows = ctx.history(a.account_id, before, size + 1)
    out = fun.ListHistoryResponse(version=a.version)
    for _, event in rows[:size]:
        out.entries.append(event.entry)
    if len(rows) > size:
        out.next_page_token = ctx.history_token(a.account_id, rows[size - 1][0])
    return out


QUERIES: dict[str, Query] = {"ListHistory": list_history}

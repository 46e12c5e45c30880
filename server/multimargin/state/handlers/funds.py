"""FundsService: transfers, ledger entries, borrowing and repayment (SPEC §6–§7)."""

from __future__ import annotations

import multimargin
from multimargin.errors import InvalidInputError
from multimargin.state import validate as v
from multimargin.state.convert import (
    LEDGER_KIND_NAME,
    account_message,
    enum_name,
)
from multimargin.state.handlers.common import (
    Context,
    Mutation,
    Outcome,
    Query,
    check_version,
    require_kind,
    store,
)
from multimargin.state.liability import apply_flow
from multimargin.state.model import AccountState, fmt
from multimargin.v1 import funds_service_pb2 as fun


def transfer_in(ctx: Context, req: fun.TransferInRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    asset = v.asset(ctx.rulebook, req.asset, "asset")
    amount = v.decimal_text(req.amount, "amount", "amount")
    # SPEC §7.3: a futures transfer into a negative wallet repays first (a record).
    flow = multimargin.transfer_in(ctx.compiled(a.account_id), asset, amount)
    apply_flow(a, flow)
    repaid = flow["records"][0]["amount"] if flow["records"] else "0"
    a = store(ctx, a, flow["account"])
    return Outcome(fun.TransferInResponse(account=account_message(a), repaid=repaid), [a])


def transfer_out(ctx: Context, req: fun.TransferOutRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    asset = v.asset(ctx.rulebook, req.asset, "asset")
    amount = v.decimal_text(req.amount, "amount", "amount")
    # Not while liquidating; within the max transfer-out (SPEC §5.3, §6.1, §6.2, §8).
    flow = multimargin.transfer_out(ctx.compiled(a.account_id), ctx.market, asset, amount)
    apply_flow(a, flow)
    a = store(ctx, a, flow["account"])
    return Outcome(fun.TransferOutResponse(account=account_message(a)), [a])


def post_ledger_entries(ctx: Context, req: fun.PostLedgerEntriesRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    v.count(len(req.entries), v.MAX_BATCH, "entries", at_least=1)
    entries = []
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
        entries.append((asset, fmt(amount)))
    # The batch is one change (the core checks the resulting balances); holdings left
    # below locked funds cancel the newest orders locking them (SPEC §7.4).
    flow = multimargin.post_ledger_entries(ctx.compiled(a.account_id), entries)
    apply_flow(a, flow)
    a = store(ctx, a, flow["account"])
    return Outcome(fun.PostLedgerEntriesResponse(account=account_message(a)), [a])


def borrow(ctx: Context, req: fun.BorrowRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    require_kind(a, "MARGIN", "Borrow")
    asset = v.asset(ctx.rulebook, req.asset, "asset")
    amount = v.decimal(req.amount, "amount", "amount")
    # Within the max borrow, not while liquidating; the first hour's interest is charged
    # at once (SPEC §6.3, §7.1) and recorded like every interest charge (§7.5).
    flow = multimargin.borrow(ctx.compiled(a.account_id), ctx.market, asset, fmt(amount))
    apply_flow(a, flow)
    charged = flow["records"][0]["amount"]
    a = store(ctx, a, flow["account"])
    return Outcome(fun.BorrowResponse(account=account_message(a), interest_charged=charged), [a])


def repay_amount(req: fun.RepayRequest | fun.RepayLiabilityRequest) -> str | None:
    """The requested amount, or None to repay all (SPEC §7.4, ours)."""
    if req.all:
        if req.amount:
            raise InvalidInputError("give an amount or all, not both", "INVALID_ARGUMENT", "amount")
        return None
    return fmt(v.decimal(req.amount, "amount", "amount"))


def repay(ctx: Context, req: fun.RepayRequest) -> Outcome:
    a = ctx.account(req.account_id).clone()
    check_version(a, req)
    debt_asset = v.asset(ctx.rulebook, req.asset, "asset")
    payer = v.asset(ctx.rulebook, req.payer_asset, "payer_asset") if req.payer_asset else ""
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
    # The REPAID entry (the §8 rule may raise events after it).
    events = outcome.accounts[0].events
    entry = next((e.entry for e in reversed(events) if e.HasField("entry")), None)
    response = fun.RepayLiabilityResponse(account=outcome.response.account)
    if entry is not None:
        response.entry.CopyFrom(entry)
        response.entry.time.FromNanoseconds(ctx.ts_ns)
    outcome.response = response
    return outcome


def _repay(ctx: Context, a: AccountState, debt_asset: str, payer: str, amount: str | None) -> Outcome:
    compiled = ctx.compiled(a.account_id)
    if a.futures is not None:
        # SPEC §7.3 manual repay: another asset pays for the debt at a discount.
        flow = multimargin.repay_futures(compiled, ctx.market, debt_asset, payer, amount)
    else:
        # SPEC §7.4: interest first, then principal; from free holdings.
        flow = multimargin.repay_margin(compiled, ctx.market, debt_asset, amount, payer or None)
    apply_flow(a, flow)
    (r,) = flow["records"]
    a = store(ctx, a, flow["account"])
    return Outcome(
        fun.RepayResponse(
            account=account_message(a),
            repaid=r["amount"],
            payer_asset=r["payer_asset"],
            payer_amount=r["payer_amount"],
            # A futures debt has no interest part: all of it is principal.
            interest_repaid=r["interest_repaid"] or "0",
            principal_repaid=r["principal_repaid"] or r["amount"],
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

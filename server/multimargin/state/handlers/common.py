"""What every handler shares: the Context it reads, the Outcome it returns, and the
checks and rules common to several services (SPEC §4–§9).

A mutation handler reads the live state through a :class:`Context`, validates the whole
request, works on copies, and returns an :class:`Outcome` (the response and the new
states); it never changes live state itself. The engine applies an outcome only after
the handler returned, so a refused or failed request changes nothing. Handlers are
deterministic functions of (state, request, ``ctx.ts_ns``), which is what makes journal
replay reproduce the state exactly.
"""

from __future__ import annotations

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
from multimargin.flowtypes import RiskTransition
from multimargin.state.events import raise_event
from multimargin.state.liability import auto_repay, cancel_orders
from multimargin.state.liability import compile_account as compile_account  # re-exported
from multimargin.state.model import (
    MAX_QUANTITY,
    ZERO,
    AccountState,
    fmt,
)
from multimargin.v1 import history_pb2 as h


class Context(Protocol):
    """What handlers may read: the rulebook, the market and the accounts."""

    rulebook: Rulebook
    rules: dict[str, Any]  # the rulebook as JSON data (parameters the flows read)
    market: multimargin.Market
    index_prices: dict[str, str]
    mark_prices: dict[str, str]
    prices_version: int
    ts_ns: int
    settled_through: int  # the last settled UTC hour boundary, ns; 0 before the first
    rulebook_version: int  # the version of the rulebook in effect

    def account(self, account_id: str, field: str = "account_id") -> AccountState: ...
    def has_account(self, account_id: str) -> bool: ...
    def account_digest(self, account_id: str) -> bytes | None: ...
    def account_ids(self) -> Iterable[str]: ...
    def compiled(self, account_id: str) -> multimargin.Account: ...
    def exposed(self, assets: Iterable[str], symbols: Iterable[str]) -> set[str]: ...
    def engine_status(self) -> Any: ...
    def history(self, account_id: str, before: int | None, limit: int) -> list[tuple[int, Any]]: ...
    def history_token(self, account_id: str, seq: int) -> str: ...
    def history_cursor(self, account_id: str, token: str) -> int: ...


@dataclass
class Outcome:
    """The result of a mutation: the response and what to store."""

    response: Any
    accounts: list[AccountState] = field(default_factory=list)
    prices: tuple[dict[str, str], dict[str, str]] | None = None
    settled_through: int | None = None  # RunSettlement: the new last settled hour
    rulebook: str | None = None  # ReloadRulebook: the new rulebook (compact JSON)


# ---- shared checks -------------------------------------------------------------------


def evaluate(ctx: Context, a: AccountState, market: multimargin.Market | None = None) -> dict[str, Any]:
    """The SPEC §10 result of an account (live, or a changed copy) at the current (or
    given) market."""
    live = ctx.has_account(a.account_id) and ctx.account(a.account_id) is a
    compiled = ctx.compiled(a.account_id) if live else compile_account(ctx.rulebook, a)
    return dict(ctx.rulebook.evaluate(compiled, market or ctx.market))


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


def _figures(
    rb: Rulebook, compiled: multimargin.Account, market: multimargin.Market
) -> dict[str, Any] | None:
    """The SPEC §10 figures an event carries (None when a price is missing)."""
    try:
        return dict(rb.evaluate(compiled, market))
    except PriceUnavailableError:
        return None


def risk_rule(
    rb: Rulebook, market: multimargin.Market, a: AccountState, compiled: multimargin.Account | None = None
) -> RiskTransition | None:
    """SPEC §8 on a changed (or re-priced) account, decided by the core
    (``multimargin.risk_transition``), raising its events: a liquidatable ACTIVE account
    first has all its open orders cancelled (ORDERS_CANCELLED); if it is still
    liquidatable it becomes LIQUIDATING (LIQUIDATION_STARTED); a margin account entering
    or leaving the margin-call zone raises MARGIN_CALL / MARGIN_CALL_CLEARED. Returns the
    transition (None when a price is missing: such an account is left as it is).
    ``compiled`` is ``a`` already compiled."""
    compiled = compiled or compile_account(rb, a)
    t = multimargin.risk_transition(compiled, market)
    if t is None:
        return None
    if t["action"] != "NONE":
        before = _figures(rb, compiled, market)
        ids = cancel_orders(a, t["cancel_order_indices"])
        if ids:
            reason = h.CANCEL_REASON_LIQUIDATION
            raise_event(a, h.EVENT_KIND_ORDERS_CANCELLED, before, order_ids=ids, cancel_reason=reason)
            compiled = compile_account(rb, a)
        if t["status"] == "LIQUIDATING":
            a.status = "LIQUIDATING"
            figures = _figures(rb, compiled, market) if ids else before
            raise_event(a, h.EVENT_KIND_LIQUIDATION_STARTED, figures)
    if t["margin_call"] != a.margin_call:
        a.margin_call = t["margin_call"]
        kind = h.EVENT_KIND_MARGIN_CALL if t["margin_call"] else h.EVENT_KIND_MARGIN_CALL_CLEARED
        raise_event(a, kind, _figures(rb, compiled, market))
    return t


def store(ctx: Context, a: AccountState, compiled: multimargin.Account | None = None) -> AccountState:
    """Final checks of a changed account: the core accepts the state; the liquidation
    rule is applied; the version moves on — unless nothing changed at all (e.g. a flag
    set to its value), which keeps the version. ``compiled`` is the state after a core
    flow (its ``account``), which the core built itself: no need to compile it again.
    A futures debt above its threshold is auto-repaid first (SPEC §7.3)."""
    compiled = auto_repay(ctx.market, a, compiled or compile_account(ctx.rulebook, a))
    transition = risk_rule(ctx.rulebook, ctx.market, a, compiled)
    # The compiled form stays the account's unless the rule changed orders or status.
    a.compiled = compiled if transition is None or transition["action"] == "NONE" else None
    template = a.digest_template()  # one canonical rendering for both digests
    if a.digest_at(a.version, template) == ctx.account_digest(a.account_id):
        return a
    bump(a)
    a.digested = (a.version, a.digest_at(a.version, template))
    return a


Mutation = Callable[[Context, Any], Outcome]
Query = Callable[[Context, Any], Any]

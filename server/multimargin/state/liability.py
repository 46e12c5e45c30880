"""The engine's side of the money flows (SPEC §6–§8): every figure comes from the core
(``multimargin.transfer_in``, ``borrow``, ``interest_hour``, …); here the NEW values it
returns are stored, the orders it names are cancelled, and its records become SPEC §7.5
history entries."""

from __future__ import annotations

from typing import Any

import multimargin
from multimargin import Flow, FlowRecord, Rulebook
from multimargin.state.events import history_entry, raise_event, record
from multimargin.state.model import AccountState, dec
from multimargin.v1 import history_pb2 as h


def compile_account(rb: Rulebook, a: AccountState) -> multimargin.Account:
    """The account compiled by the core (which re-validates the whole state)."""
    return multimargin.Account.from_state(rb, a.scenario())


def cancel_orders(a: AccountState, indices: list[int]) -> list[str]:
    """Removes the orders at ``indices`` of the account's order list (the order the core
    saw them in); returns their ids in the same order."""
    orders: dict[str, Any] = a.f.orders if a.futures is not None else a.m.orders
    ids = list(orders)
    gone = [ids[i] for i in indices]
    for order_id in gone:
        del orders[order_id]
    return gone


def entry_of(r: FlowRecord) -> h.HistoryEntry:
    """The SPEC §7.5 history entry of a core record (empty fields stay unset)."""
    return history_entry(
        r["kind"],
        asset=r["asset"],
        amount=r["amount"],
        interest_repaid=r["interest_repaid"],
        principal_repaid=r["principal_repaid"],
        payer_asset=r["payer_asset"],
        payer_amount=r["payer_amount"],
        asset_price=r["debt_price"],
        payer_price=r["payer_price"],
        discount=r["discount"],
        interest_base=r["base"],
        hourly_rate=r["rate"],
    )


def apply_flow(a: AccountState, flow: Flow, *, history: bool = True) -> list[str]:
    """Stores what a core flow changed: assigns the new balances, cancels the orders it
    names (raising ORDERS_CANCELLED, SPEC §7.4) and, with ``history``, records its
    entries as INTEREST_CHARGED / REPAID events. Returns the cancelled order ids."""
    if a.futures is not None:
        a.f.wallet.update((k, dec(x)) for k, x in flow["wallet"].items())
    else:
        m = a.m
        m.holdings.update((k, dec(x)) for k, x in flow["holdings"].items())
        m.borrowed.update((k, dec(x)) for k, x in flow["borrowed"].items())
        m.interest.update((k, dec(x)) for k, x in flow["interest"].items())
    cancelled = cancel_orders(a, flow["cancel_order_indices"])
    if cancelled:
        reason = h.CANCEL_REASON_BELOW_LOCKED
        raise_event(a, h.EVENT_KIND_ORDERS_CANCELLED, order_ids=cancelled, cancel_reason=reason)
    if history:
        for r in flow["records"]:
            record(a, entry_of(r))
    return cancelled


def charge_interest(rb: Rulebook, a: AccountState, hours: range) -> int:
    """Charges the interest of each hour boundary in ``hours`` (SPEC §7.1) to ``a``, one
    core call per hour; returns the number of charges. Each charge is recorded at its
    hour."""
    charges = 0
    compiled = compile_account(rb, a)
    for hour_ns in hours:
        flow = multimargin.interest_hour(compiled)
        if not flow["records"]:
            break  # nothing charged: the state, and so every later hour, is unchanged
        apply_flow(a, flow, history=False)
        for r in flow["records"]:
            entry = entry_of(r)
            entry.time.FromNanoseconds(hour_ns)
            record(a, entry)
        charges += len(flow["records"])
        compiled = flow["account"]
    return charges


def auto_repay(
    market: multimargin.Market, a: AccountState, compiled: multimargin.Account
) -> multimargin.Account:
    """SPEC §7.3 threshold auto-repay, after every change and settlement: the core repays
    what a futures debt has above its threshold from the account's other assets in payer
    order; each (debt, payer) is a REPAID entry. Returns ``a`` compiled after it."""
    if a.futures is None:
        return compiled
    flow = multimargin.threshold_auto_repay(compiled, market)
    if not flow["records"]:
        return compiled
    apply_flow(a, flow)
    return flow["account"]

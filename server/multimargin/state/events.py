"""Events (SPEC §8) and history entries (SPEC §7.5) raised by a change.

Handlers attach events to the account they change (:attr:`AccountState.events`); the
engine takes them when it applies the change, numbers them, and writes them to the
store in the transaction of the journal record that caused them.
"""

from __future__ import annotations

from typing import Any

from multimargin.state.convert import account_message, risk_message
from multimargin.state.model import AccountState
from multimargin.v1 import history_pb2 as h

HISTORY_KINDS = frozenset({h.EVENT_KIND_INTEREST_CHARGED, h.EVENT_KIND_REPAID})

REPAY_KIND = {
    "REPAY_MANUAL": h.HISTORY_KIND_REPAY_MANUAL,
    "REPAY_TRANSFER_IN": h.HISTORY_KIND_REPAY_TRANSFER_IN,
    "REPAY_THRESHOLD": h.HISTORY_KIND_REPAY_THRESHOLD,
    "INTEREST": h.HISTORY_KIND_INTEREST,
}


def history_entry(kind: str, **fields: str) -> h.HistoryEntry:
    """A SPEC §7.5 entry; ``kind`` is a key of :data:`REPAY_KIND`, fields are decimals
    as strings (empty ones are left unset). The engine stamps the time."""
    entry = h.HistoryEntry(kind=REPAY_KIND[kind])
    for name, value in fields.items():
        if value:
            setattr(entry, name, value)
    return entry


def record(a: AccountState, entry: h.HistoryEntry) -> None:
    """Attaches a history entry to ``a`` as an INTEREST_CHARGED or REPAID event."""
    kind = h.EVENT_KIND_INTEREST_CHARGED if entry.kind == h.HISTORY_KIND_INTEREST else h.EVENT_KIND_REPAID
    a.events.append(h.Event(kind=kind, entry=entry))


def raise_event(
    a: AccountState,
    kind: Any,
    result: dict[str, Any] | None = None,
    *,
    order_ids: list[str] | None = None,
    cancel_reason: Any = h.CANCEL_REASON_UNSPECIFIED,
) -> None:
    """Attaches a risk event to ``a``: the figures (``result``) and the cancelled
    orders. (The engine adds the account snapshot of LIQUIDATION_STARTED once the
    change has its final version.)"""
    event = h.Event(kind=kind, order_ids=order_ids or [], cancel_reason=cancel_reason)
    if result is not None:
        event.risk.CopyFrom(risk_message(result))
    a.events.append(event)


def finish(a: AccountState, event: h.Event, ts_ns: int, rulebook_version: int) -> None:
    """Stamps an event with the final state of the change that raised it."""
    if event.HasField("risk"):
        event.risk.rulebook_version = rulebook_version
    event.account_id = a.account_id
    event.account_version = a.version
    event.time.FromNanoseconds(ts_ns)
    if event.kind == h.EVENT_KIND_LIQUIDATION_STARTED:
        event.account.CopyFrom(account_message(a))
    if event.HasField("entry") and not event.entry.HasField("time"):
        event.entry.time.FromNanoseconds(ts_ns)


def is_history(event: h.Event) -> bool:
    return event.kind in HISTORY_KINDS

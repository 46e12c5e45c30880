"""What the liability, event and operator calls of :class:`multimargin.client.Client`
return: frozen dataclasses, numbers as ``Decimal``, times as UTC ``datetime``.

A :class:`HistoryEntry` is one SPEC §7.5 record (a repayment or an interest charge);
an :class:`Event` one SPEC §8 event of the WatchEvents stream. Kinds are short names
("REPAY_MANUAL", "MARGIN_CALL"); a decimal field that does not apply to the kind is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from google.protobuf.timestamp_pb2 import Timestamp

from multimargin.results import Account, RiskSummary, enum_name
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import history_pb2 as h
from multimargin.v1 import operator_service_pb2 as op


def _maybe(text: str) -> Decimal | None:
    return Decimal(text) if text else None


def utc(ts: Timestamp) -> datetime:
    """A protobuf timestamp as an aware UTC datetime."""
    return ts.ToDatetime(tzinfo=UTC)


@dataclass(frozen=True)
class HistoryEntry:
    """One repayment or interest charge (SPEC §7.5). ``kind`` is INTEREST,
    REPAY_MANUAL, REPAY_TRANSFER_IN or REPAY_THRESHOLD; fields that do not apply to it
    are None (e.g. ``hourly_rate`` of a repayment)."""

    time: datetime
    kind: str
    asset: str
    amount: Decimal
    payer_asset: str = ""
    payer_amount: Decimal | None = None
    interest_repaid: Decimal | None = None
    principal_repaid: Decimal | None = None
    asset_price: Decimal | None = None
    payer_price: Decimal | None = None
    discount: Decimal | None = None
    interest_base: Decimal | None = None
    hourly_rate: Decimal | None = None

    @staticmethod
    def of(m: h.HistoryEntry) -> HistoryEntry:
        """From the wire message."""
        return HistoryEntry(
            utc(m.time),
            enum_name(h.HistoryKind, m.kind),
            m.asset,
            Decimal(m.amount) if m.amount else Decimal(0),
            m.payer_asset,
            _maybe(m.payer_amount),
            _maybe(m.interest_repaid),
            _maybe(m.principal_repaid),
            _maybe(m.asset_price),
            _maybe(m.payer_price),
            _maybe(m.discount),
            _maybe(m.interest_base),
            _maybe(m.hourly_rate),
        )


@dataclass(frozen=True)
class HistoryPage:
    """ListHistory: entries newest first, the token of the next (older) page ("" when
    none), and the account's version when the page was read."""

    entries: tuple[HistoryEntry, ...]
    next_page_token: str
    version: int

    @staticmethod
    def of(m: fun.ListHistoryResponse) -> HistoryPage:
        """From the wire message."""
        return HistoryPage(tuple(HistoryEntry.of(e) for e in m.entries), m.next_page_token, m.version)


@dataclass(frozen=True)
class LiabilityRepaid:
    """RepayLiability: the account and the history entry recorded for the repayment."""

    account: Account
    entry: HistoryEntry


@dataclass(frozen=True)
class Settlement:
    """RunSettlement: hour boundaries settled by the call, the last settled boundary
    (None before the first), interest charges recorded and accounts changed."""

    hours_settled: int
    settled_through: datetime | None
    charges: int
    accounts_changed: int

    @staticmethod
    def of(m: op.RunSettlementResponse) -> Settlement:
        """From the wire message."""
        through = utc(m.settled_through) if m.HasField("settled_through") else None
        return Settlement(m.hours_settled, through, m.charges, m.accounts_changed)


@dataclass(frozen=True)
class RulebookImpact:
    """An account whose liquidation or margin-call state differs between two rulebooks."""

    account_id: str
    liquidatable_before: bool
    liquidatable_after: bool
    margin_call_before: bool
    margin_call_after: bool

    @staticmethod
    def of(m: op.RulebookImpact) -> RulebookImpact:
        """From the wire message."""
        return RulebookImpact(
            m.account_id,
            m.liquidatable_before,
            m.liquidatable_after,
            m.margin_call_before,
            m.margin_call_after,
        )


@dataclass(frozen=True)
class RulebookPreview:
    """PreviewRulebook: the current rulebook version, the accounts that would cross
    into or out of liquidation or margin call (by account id), and how many accounts
    were evaluated under both rulebooks."""

    rulebook_version: int
    crossings: tuple[RulebookImpact, ...]
    accounts_evaluated: int


@dataclass(frozen=True)
class RulebookReloaded:
    """ReloadRulebook: the version now in effect and the accounts whose state it changed."""

    rulebook_version: int
    changed: tuple[RulebookImpact, ...]


@dataclass(frozen=True)
class Event:
    """One SPEC §8 event. ``kind`` is MARGIN_CALL, MARGIN_CALL_CLEARED,
    ORDERS_CANCELLED, LIQUIDATION_STARTED, LIQUIDATION_ENDED, INTEREST_CHARGED or
    REPAID; ``order_ids`` and ``cancel_reason`` (LIQUIDATION, BELOW_LOCKED) belong to
    ORDERS_CANCELLED, ``entry`` to INTEREST_CHARGED and REPAID, ``risk`` to the risk
    kinds, ``account`` to LIQUIDATION_STARTED; absent ones are empty or None."""

    seq: int
    kind: str
    account_id: str
    time: datetime
    account_version: int
    order_ids: tuple[str, ...] = ()
    cancel_reason: str = ""
    entry: HistoryEntry | None = None
    risk: RiskSummary | None = None
    account: Account | None = None

    @staticmethod
    def of(m: h.Event) -> Event:
        """From the wire message."""
        return Event(
            m.seq,
            enum_name(h.EventKind, m.kind),
            m.account_id,
            utc(m.time),
            m.account_version,
            tuple(m.order_ids),
            enum_name(h.CancelReason, m.cancel_reason),
            HistoryEntry.of(m.entry) if m.HasField("entry") else None,
            RiskSummary.of(m.risk) if m.HasField("risk") else None,
            Account.of(m.account) if m.HasField("account") else None,
        )


__all__ = [
    "Event",
    "HistoryEntry",
    "HistoryPage",
    "LiabilityRepaid",
    "RulebookImpact",
    "RulebookPreview",
    "RulebookReloaded",
    "Settlement",
    "utc",
]

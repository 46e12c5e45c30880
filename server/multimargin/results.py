"""What :class:`multimargin.client.Client` returns: frozen dataclasses, numbers as ``Decimal``.

Every account the server reports is an :class:`Account`, every risk evaluation a
:class:`RiskSummary` (also built from a local :func:`multimargin.evaluate` result, so
the two compare directly). Maps are read-only (``MappingProxyType``, equal to a dict
with the same items) and lists are tuples, so nothing returned can be changed in place.

>>> r = RiskSummary.of_result(multimargin.evaluate({
...     "prices": {"ETH": "4000"},
...     "account": {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"ETH": "350"}},
... }))
>>> (r.kind, r.pools[0].effective_margin, r.pools[0].margin_level, r.liquidatable)
('FUTURES', Decimal('1080000'), None, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import operator_service_pb2 as op
from multimargin.v1 import types_pb2 as t

DecimalMap = Mapping[str, Decimal]
_EMPTY: DecimalMap = MappingProxyType({})

MODE_NAMES: dict[int, str] = {
    t.ACCOUNT_MODE_SINGLE_ASSET: "SINGLE_ASSET",
    t.ACCOUNT_MODE_MULTI_ASSET: "MULTI_ASSET",
    t.ACCOUNT_MODE_CLASSIC: "CLASSIC",
    t.ACCOUNT_MODE_PRO: "PRO",
}


def _d(text: str | None) -> Decimal:
    return Decimal(text) if text else Decimal(0)


def _opt(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def decimal_map(m: Mapping[str, str]) -> DecimalMap:
    """A read-only map of decimal strings as ``Decimal``, keys in code-point order."""
    return MappingProxyType({k: Decimal(v) for k, v in sorted(m.items())})


def enum_name(enum: Any, value: int) -> str:
    """The short name of a proto enum value (``ACCOUNT_STATUS_ACTIVE`` → ``ACTIVE``); "" for 0."""
    return str(enum.Name(value)).split("_", 2)[-1] if value else ""


def _has(m: Any, name: str) -> str | None:
    return getattr(m, name) if m.HasField(name) else None


@dataclass(frozen=True)
class Position:
    """A futures position (SPEC §5.1)."""

    symbol: str
    size: Decimal
    entry_price: Decimal
    leverage: int
    isolated: bool = False
    isolated_margin: Decimal = Decimal(0)
    airdrop: bool = False


@dataclass(frozen=True)
class FuturesOrder:
    """An open futures order; ``leverage`` None means the position's."""

    order_id: str
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    leverage: int | None = None


@dataclass(frozen=True)
class MarginOrder:
    """An open margin (spot) order."""

    order_id: str
    base: str
    quote: str
    side: str
    price: Decimal
    quantity: Decimal


@dataclass(frozen=True)
class MarginSettings:
    """The margin-account settings (SPEC §4, §6)."""

    classic_leverage: int
    pro_terms_accepted: bool
    pro_terms_version: str
    mcr_classic: Decimal
    mcr_pro: Decimal
    pro_entered: bool


@dataclass(frozen=True)
class Account:
    """An account as the server reports it. Futures accounts fill ``wallet`` and
    ``positions``; margin accounts ``holdings``, ``borrowed``, ``interest`` and
    ``margin``; both have ``orders``."""

    account_id: str
    kind: str
    mode: str
    region: str
    status: str
    version: int
    sub_account: bool = False
    copy_trading: bool = False
    wallet: DecimalMap = field(default_factory=lambda: _EMPTY)
    positions: tuple[Position, ...] = ()
    orders: tuple[FuturesOrder, ...] | tuple[MarginOrder, ...] = ()
    holdings: DecimalMap = field(default_factory=lambda: _EMPTY)
    borrowed: DecimalMap = field(default_factory=lambda: _EMPTY)
    interest: DecimalMap = field(default_factory=lambda: _EMPTY)
    margin: MarginSettings | None = None
    vip_level: int = 0  # margin accounts: the holder's VIP level (SPEC §3.2, §6.3)

    @staticmethod
    def of(m: t.Account) -> Account:
        """From the wire message."""
        common: dict[str, Any] = {
            "account_id": m.account_id,
            "kind": enum_name(t.AccountKind, m.kind),
            "mode": MODE_NAMES.get(m.mode, ""),
            "region": m.region,
            "status": enum_name(t.AccountStatus, m.status),
            "version": m.version,
            "sub_account": m.flags.sub_account,
            "copy_trading": m.flags.copy_trading,
        }
        if m.WhichOneof("state") == "futures":
            f = m.futures
            return Account(
                **common,
                wallet=decimal_map(f.wallet),
                positions=tuple(
                    Position(
                        p.symbol,
                        _d(p.size),
                        _d(p.entry_price),
                        p.leverage,
                        p.isolated,
                        _d(p.isolated_margin),
                        p.airdrop,
                    )
                    for p in f.positions
                ),
                orders=tuple(
                    FuturesOrder(
                        o.order_id,
                        o.symbol,
                        enum_name(t.Side, o.side),
                        _d(o.price),
                        _d(o.quantity),
                        o.leverage if o.HasField("leverage") else None,
                    )
                    for o in f.orders
                ),
            )
        ms = m.margin
        return Account(
            **common,
            holdings=decimal_map(ms.holdings),
            borrowed=decimal_map(ms.borrowed),
            interest=decimal_map(ms.interest),
            orders=tuple(
                MarginOrder(
                    o.order_id, o.base, o.quote, enum_name(t.Side, o.side), _d(o.price), _d(o.quantity)
                )
                for o in ms.orders
            ),
            margin=MarginSettings(
                ms.classic_leverage,
                ms.pro_terms_accepted,
                ms.pro_terms_version,
                _d(ms.mcr_classic),
                _d(ms.mcr_pro),
                ms.pro_entered,
            ),
            vip_level=ms.vip_level,
        )


@dataclass(frozen=True)
class Pool:
    """One futures margin pool (SPEC §5.2); ``margin_level`` None when MM = 0."""

    id: str
    effective_margin: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    available: Decimal
    margin_level: Decimal | None
    liquidatable: bool
    equity: DecimalMap = field(default_factory=lambda: _EMPTY)
    value: DecimalMap = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True)
class RiskSummary:
    """The SPEC §10 result of an account. ``kind`` says which fields apply: FUTURES
    fills ``pools``; MARGIN the account figures (None where the mode has none or a
    level's denominator is 0, e.g. ``margin_level`` without liabilities),
    ``margin_call`` and ``max_borrow``."""

    kind: str
    liquidatable: bool
    max_transfer_out: DecimalMap = field(default_factory=lambda: _EMPTY)
    pools: tuple[Pool, ...] = ()
    margin_call: bool = False
    total_asset_value: Decimal | None = None
    total_liability_value: Decimal | None = None
    collateral_value: Decimal | None = None
    net_collateral: Decimal | None = None
    open_order_loss: Decimal | None = None
    initial_margin: Decimal | None = None
    maintenance_margin: Decimal | None = None
    available: Decimal | None = None
    margin_level: Decimal | None = None
    collateral_margin_level: Decimal | None = None
    max_borrow: DecimalMap = field(default_factory=lambda: _EMPTY)
    rulebook_version: int = 0  # the rulebook it was computed with; 0 for a local evaluation

    @staticmethod
    def of(r: t.RiskSummary) -> RiskSummary:
        """From the wire message."""
        return replace(RiskSummary._of(r), rulebook_version=r.rulebook_version)

    @staticmethod
    def _of(r: t.RiskSummary) -> RiskSummary:
        if r.WhichOneof("kind") == "futures":
            f = r.futures
            pools = tuple(
                Pool(
                    p.id,
                    _d(p.effective_margin),
                    _d(p.initial_margin),
                    _d(p.maintenance_margin),
                    _d(p.available),
                    _opt(_has(p, "margin_level")),
                    p.liquidatable,
                    decimal_map(p.equity),
                    decimal_map(p.value),
                )
                for p in f.pools
            )
            return RiskSummary("FUTURES", f.liquidatable, decimal_map(f.max_transfer_out), pools)
        m = r.margin
        return RiskSummary._margin(
            m.liquidatable,
            m.margin_call,
            {k: getattr(m, k) for k in _MARGIN_FIGURES},
            {k: _has(m, k) for k in _MARGIN_OPTIONAL},
            m.max_borrow,
            m.max_transfer_out,
        )

    @staticmethod
    def of_result(result: Mapping[str, Any]) -> RiskSummary:
        """From a SPEC §10 result (:func:`multimargin.evaluate`)."""
        if "pools" in result:
            pools = tuple(
                Pool(
                    p["id"],
                    _d(p["effective_margin"]),
                    _d(p["initial_margin"]),
                    _d(p["maintenance_margin"]),
                    _d(p["available"]),
                    _opt(p["margin_level"]),
                    p["liquidatable"],
                    decimal_map(p["equity"]),
                    decimal_map(p["value"]),
                )
                for p in result["pools"]
            )
            return RiskSummary(
                "FUTURES", result["liquidatable"], decimal_map(result["max_transfer_out"]), pools
            )
        return RiskSummary._margin(
            result["liquidatable"],
            result["margin_call"],
            {k: result[k] for k in _MARGIN_FIGURES},
            {k: result.get(k) for k in _MARGIN_OPTIONAL},
            result["max_borrow"],
            result["max_transfer_out"],
        )

    @staticmethod
    def _margin(
        liquidatable: bool,
        margin_call: bool,
        figures: Mapping[str, str],
        optional: Mapping[str, str | None],
        max_borrow: Mapping[str, str],
        max_transfer_out: Mapping[str, str],
    ) -> RiskSummary:
        return RiskSummary(
            "MARGIN",
            liquidatable,
            decimal_map(max_transfer_out),
            margin_call=margin_call,
            total_asset_value=_d(figures["total_asset_value"]),
            total_liability_value=_d(figures["total_liability_value"]),
            collateral_value=_d(figures["collateral_value"]),
            net_collateral=_opt(optional["net_collateral"]),
            open_order_loss=_opt(optional["open_order_loss"]),
            initial_margin=_opt(optional["initial_margin"]),
            maintenance_margin=_opt(optional["maintenance_margin"]),
            available=_opt(optional["available"]),
            margin_level=_opt(optional["margin_level"]),
            collateral_margin_level=_opt(optional["collateral_margin_level"]),
            max_borrow=decimal_map(max_borrow),
        )


_MARGIN_FIGURES = ("total_asset_value", "total_liability_value", "collateral_value")
_MARGIN_OPTIONAL = (
    "net_collateral",
    "open_order_loss",
    "initial_margin",
    "maintenance_margin",
    "available",
    "margin_level",
    "collateral_margin_level",
)


@dataclass(frozen=True)
class AccountView:
    """GetAccount: the account and its risk summary (None when a price it needs is missing)."""

    account: Account
    risk: RiskSummary | None


@dataclass(frozen=True)
class AccountSummary:
    """One row of ListAccounts."""

    account_id: str
    kind: str
    mode: str
    status: str
    version: int

    @staticmethod
    def of(m: acc.AccountSummary) -> AccountSummary:
        """From the wire message."""
        return AccountSummary(
            m.account_id,
            enum_name(t.AccountKind, m.kind),
            MODE_NAMES.get(m.mode, ""),
            enum_name(t.AccountStatus, m.status),
            m.version,
        )


@dataclass(frozen=True)
class Transferred:
    """TransferIn: the account and the part of the amount that repaid a negative wallet."""

    account: Account
    repaid: Decimal


@dataclass(frozen=True)
class Borrowed:
    """Borrow: the account and the first hour's interest charged (SPEC §7.1)."""

    account: Account
    interest_charged: Decimal


@dataclass(frozen=True)
class Repaid:
    """Repay: the account and how the debt was paid (SPEC §7.4)."""

    account: Account
    repaid: Decimal
    payer_asset: str
    payer_amount: Decimal
    interest_repaid: Decimal
    principal_repaid: Decimal


@dataclass(frozen=True)
class PlacedOrder:
    """PlaceOrder: the account and the id of the recorded order."""

    account: Account
    order_id: str


@dataclass(frozen=True)
class OrderCheck:
    """CheckOrder: accepted, or every rejection as (reason, message)."""

    accepted: bool
    rejections: tuple[tuple[str, str], ...]
    order_initial_margin: Decimal | None
    available: Decimal
    version: int


@dataclass(frozen=True)
class ModeSwitchCheck:
    """CheckModeSwitch: allowed, or every unmet condition as (reason, message)."""

    allowed: bool
    unmet: tuple[tuple[str, str], ...]
    version: int


@dataclass(frozen=True)
class Prices:
    """GetPrices: index prices (USDT), mark prices, and the prices version."""

    index: DecimalMap
    marks: DecimalMap
    version: int


@dataclass(frozen=True)
class RiskChange:
    """UpdatePrices: an account whose risk flags changed."""

    account_id: str
    version: int
    status: str
    liquidatable: bool
    margin_call: bool


@dataclass(frozen=True)
class PricesUpdated:
    """UpdatePrices: the new prices version, the accounts whose risk state changed, and
    how many accounts were re-evaluated."""

    version: int
    accounts: tuple[RiskChange, ...] = field(default_factory=tuple)
    accounts_evaluated: int = 0


@dataclass(frozen=True)
class EngineStatus:
    """GetEngineStatus: the state hash as of ``journal_seq``, accounts, snapshot position,
    the last event issued and the rulebook version in effect."""

    state_hash: str
    journal_seq: int
    accounts: int
    snapshot_seq: int
    event_seq: int = 0
    rulebook_version: int = 0

    @staticmethod
    def of(m: op.GetEngineStatusResponse) -> EngineStatus:
        """From the wire message."""
        return EngineStatus(
            m.state_hash, m.journal_seq, m.accounts, m.snapshot_seq, m.event_seq, m.rulebook_version
        )


__all__ = [
    "Account",
    "AccountSummary",
    "AccountView",
    "Borrowed",
    "EngineStatus",
    "FuturesOrder",
    "MarginOrder",
    "MarginSettings",
    "ModeSwitchCheck",
    "OrderCheck",
    "PlacedOrder",
    "Pool",
    "Position",
    "Prices",
    "PricesUpdated",
    "Repaid",
    "RiskChange",
    "RiskSummary",
    "Transferred",
]

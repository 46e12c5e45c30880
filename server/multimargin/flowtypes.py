"""Typed shapes of the dicts the core's money flows return (``multimargin._core``):
settings, flow results with their SPEC §7.5 records, and the SPEC §8 transition."""

from __future__ import annotations

from typing import Literal, TypedDict

from multimargin._core import Account

__all__ = ["Flow", "FlowRecord", "LiabilityParameters", "MarginBalance", "RiskFigures", "RiskTransition"]


class LiabilityParameters(TypedDict):
    """An asset's futures ``liability`` section (SPEC §3.2)."""

    hourly_rate: str
    interest_free: str
    mmr: str
    auto_repay_threshold: str
    auto_repay_ratio: str


class FlowRecord(TypedDict):
    """A SPEC §7.5 record; fields that do not apply to the kind are ``""``."""

    kind: Literal["INTEREST", "REPAY_MANUAL", "REPAY_TRANSFER_IN", "REPAY_THRESHOLD"]
    asset: str  # the debt asset, or the charged asset
    amount: str  # repaid, or charged
    base: str  # interest: the debt or principal it was charged on
    rate: str  # interest: the hourly rate
    interest_free: str  # futures interest
    interest_repaid: str  # margin repayment
    principal_repaid: str  # margin repayment
    payer_asset: str
    payer_amount: str
    debt_price: str  # conversions (SPEC §7.2)
    payer_price: str
    discount: str


class Flow(TypedDict):
    """What a flow changed: NEW values of the entries that changed (assign them), the
    orders to cancel (ids as given in ``orders[i].order_id``, and their indices in the
    account's order list) and the records it made."""

    wallet: dict[str, str]
    holdings: dict[str, str]
    borrowed: dict[str, str]
    interest: dict[str, str]
    cancel_orders: list[str]
    cancel_order_indices: list[int]
    records: list[FlowRecord]
    account: Account  # the account after the flow, compiled


class MarginBalance(TypedDict):
    """SPEC §6 balances of one asset: locked rounded up, free rounded down."""

    holdings: str
    locked: str
    free: str


class RiskFigures(TypedDict):
    """The figures of the liquidation rule: futures EM/MM of ``pool``, Classic TA/TL,
    Pro (NC − OOL)/MM."""

    pool: str  # futures pool id; "" for margin accounts
    margin_level: str | None
    numerator: str
    denominator: str
    threshold: str
    margin_call_ratio: str  # margin accounts; "" for futures


class RiskTransition(TypedDict):
    """The SPEC §8 transition of an account."""

    action: Literal["NONE", "ORDERS_CANCELLED", "LIQUIDATION_STARTED"]
    status: Literal["ACTIVE", "LIQUIDATING"]
    cancel_orders: list[str]
    cancel_order_indices: list[int]
    liquidatable: bool
    margin_call: bool
    may_end_liquidation: bool
    figures: RiskFigures | None

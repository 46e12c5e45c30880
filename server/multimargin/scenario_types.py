"""Typed shapes of a SPEC §10 scenario (the input of ``evaluate``), of its result (futures,
CLASSIC, PRO) and of the ``explain`` breakdown. Decimals are strings (SPEC §1), maps are
keyed by asset code or symbol; a missing optional key takes the SPEC §4 default."""

from collections.abc import Mapping, Sequence
from typing import Literal, NotRequired, TypedDict

__all__ = [
    "AssetDoc",
    "Binding",
    "BorrowDoc",
    "ClassicResult",
    "ContractDoc",
    "EvaluationResult",
    "Explanation",
    "Exposure",
    "FuturesAccountDoc",
    "FuturesExplanation",
    "FuturesOrderDoc",
    "FuturesResult",
    "LiabilityDoc",
    "MarginAccountDoc",
    "MarginExplanation",
    "MarginOrderDoc",
    "PoolExplanation",
    "PoolResult",
    "PositionDoc",
    "PriceMove",
    "ProResult",
    "Reconciliation",
    "Risk",
    "RulebookDoc",
    "ScenarioDoc",
    "SettingsDoc",
    "Threshold",
]

Side = Literal["BUY", "SELL"]
TierRow = Sequence[str | int | None]  # [up_to | null, rate, ...] (SPEC §10)


# ---- input -------------------------------------------------------------------------


class LiabilityDoc(TypedDict):
    """An asset's futures ``liability`` section (SPEC §3.2)."""

    hourly_rate: str
    interest_free: str
    mmr: str
    auto_repay_threshold: str
    auto_repay_ratio: str


class BorrowDoc(TypedDict):
    """An asset's margin ``borrow`` section (SPEC §3.2)."""

    enabled: bool
    hourly_rate: NotRequired[str]
    classic_limit: NotRequired[str]
    pro_tiers: NotRequired[Sequence[TierRow]]
    vip_limits: NotRequired[Sequence[TierRow]]


class AssetDoc(TypedDict):
    """An asset of the rulebook (SPEC §3.2)."""

    collateral_tiers: Sequence[TierRow]
    haircut_tiers: Sequence[TierRow]
    discount: str
    liability: NotRequired[LiabilityDoc]
    borrow: NotRequired[BorrowDoc]


class ContractDoc(TypedDict):
    """A contract of the rulebook (SPEC §3.3)."""

    settlement: str
    kind: Literal["LINEAR", "INVERSE"]
    category: Literal["STANDARD", "STOCK", "PREDICTION"]
    risk_tiers: Sequence[TierRow]


class SettingsDoc(TypedDict, total=False):
    """The rulebook's settings (SPEC §3.4); every key has a default."""

    payer_order: Sequence[str]
    restricted_regions: Sequence[str]
    restricted_imr_floor: str
    liquidation: Mapping[Literal["FUTURES", "CLASSIC", "PRO"], str]
    mcr_default: Mapping[Literal["CLASSIC", "PRO"], str]
    mcr_range: Sequence[str]
    classic_transfer_bar: str
    pro_switch_in_bar: str


class RulebookDoc(TypedDict):
    """A rulebook (SPEC §3, §10)."""

    assets: Mapping[str, AssetDoc]
    contracts: NotRequired[Mapping[str, ContractDoc]]
    settings: NotRequired[SettingsDoc]


class PositionDoc(TypedDict):
    """A futures position (SPEC §5.1)."""

    symbol: str
    size: str
    entry_price: str
    leverage: int
    isolated: NotRequired[bool]
    isolated_margin: NotRequired[str]
    airdrop: NotRequired[bool]


class FuturesOrderDoc(TypedDict):
    """An open futures order (SPEC §5.1)."""

    symbol: str
    side: Side
    price: str
    quantity: str
    leverage: NotRequired[int]
    order_id: NotRequired[str]


class MarginOrderDoc(TypedDict):
    """An open margin order (SPEC §6)."""

    base: str
    quote: str
    side: Side
    price: str
    quantity: str
    order_id: NotRequired[str]


class FuturesAccountDoc(TypedDict):
    """A futures account of a scenario (SPEC §10)."""

    kind: Literal["FUTURES"]
    mode: NotRequired[Literal["SINGLE_ASSET", "MULTI_ASSET"]]
    region: NotRequired[str]
    wallet: NotRequired[Mapping[str, str]]
    positions: NotRequired[Sequence[PositionDoc]]
    orders: NotRequired[Sequence[FuturesOrderDoc]]


class MarginAccountDoc(TypedDict):
    """A margin account of a scenario (SPEC §10)."""

    kind: Literal["MARGIN"]
    mode: NotRequired[Literal["CLASSIC", "PRO"]]
    region: NotRequired[str]
    holdings: NotRequired[Mapping[str, str]]
    borrowed: NotRequired[Mapping[str, str]]
    interest: NotRequired[Mapping[str, str]]
    classic_leverage: NotRequired[int]
    mcr: NotRequired[Mapping[Literal["CLASSIC", "PRO"], str]]
    orders: NotRequired[Sequence[MarginOrderDoc]]
    vip_level: NotRequired[int]


class ScenarioDoc(TypedDict):
    """A SPEC §10 scenario: one account and the market (and optionally its rulebook)."""

    account: FuturesAccountDoc | MarginAccountDoc
    rulebook: NotRequired[RulebookDoc]
    prices: NotRequired[Mapping[str, str]]
    marks: NotRequired[Mapping[str, str]]


# ---- results (SPEC §10) ----------------------------------------------------------


class PoolResult(TypedDict):
    """One futures pool (SPEC §5.2)."""

    id: str
    effective_margin: str
    initial_margin: str
    maintenance_margin: str
    available: str
    margin_level: str | None
    liquidatable: bool
    equity: dict[str, str]
    value: dict[str, str]


class FuturesResult(TypedDict):
    """The result of a futures account."""

    pools: list[PoolResult]
    liquidatable: bool
    max_transfer_out: dict[str, str]


class ClassicResult(TypedDict):
    """The result of a CLASSIC margin account (SPEC §6.1)."""

    total_asset_value: str
    total_liability_value: str
    collateral_value: str
    margin_level: str | None
    collateral_margin_level: str | None
    liquidatable: bool
    margin_call: bool
    max_borrow: dict[str, str]
    max_transfer_out: dict[str, str]


class ProResult(TypedDict):
    """The result of a PRO margin account (SPEC §6.2)."""

    total_asset_value: str
    total_liability_value: str
    collateral_value: str
    net_collateral: str
    open_order_loss: str
    initial_margin: str
    maintenance_margin: str
    available: str
    margin_level: str | None
    liquidatable: bool
    margin_call: bool
    max_borrow: dict[str, str]
    max_transfer_out: dict[str, str]


EvaluationResult = FuturesResult | ClassicResult | ProResult


# ---- explain -----------------------------------------------------------------------


# One tier slice: `quantity = to − from`, `value = quantity × rate × scale`, exact.
Slice = TypedDict("Slice", {"from": str, "to": str, "quantity": str, "rate": str, "value": str})


class ReconciliationRow(TypedDict):
    """One part of a total, in USDT (exact): `usdt = amount × price` when both are given."""

    item: str
    usdt: str
    asset: NotRequired[str]
    amount: NotRequired[str]
    price: NotRequired[str]


class Reconciliation(TypedDict):
    """A reported figure: its parts, their exact sum and the figure rounded (SPEC §1)."""

    figure: str
    rows: list[ReconciliationRow]
    total: str
    rounding: Literal["up", "down"]
    reported: str


class PriceMove(TypedDict):
    """The nearest price of the largest exposure at which a threshold is reached."""

    price: str
    move: str  # (price − current) / current, rounded toward 0


class Threshold(TypedDict):
    """A threshold with the distance to it (SPEC §5.2, §6, §8)."""

    name: str
    rule: str
    threshold: str
    margin_level: str | None
    distance: str | None  # margin level − threshold, rounded down
    reached: bool
    move_down: PriceMove | None
    move_up: PriceMove | None


class Binding(TypedDict):
    """A max borrow or transfer-out and the constraints that fail just above it."""

    asset: str
    amount: str
    binding: list[str]


class Exposure(TypedDict):
    """The price input whose move changes the account's USDT value most."""

    kind: Literal["index", "mark"]
    name: str
    price: str
    exposure: str


class Risk(TypedDict):
    """Thresholds, distances and binding constraints."""

    largest_exposure: Exposure | None
    thresholds: list[Threshold]
    max_transfer_out: list[Binding]
    max_borrow: NotRequired[list[Binding]]


class FuturesAssetLine(TypedDict):
    """One asset of a pool."""

    asset: str
    equity: str
    collateral: str
    price: str
    value: str
    slices: list[Slice]
    liability: NotRequired[str]
    liability_mmr: NotRequired[str]
    liability_margin: NotRequired[str]


class Requirement(TypedDict):
    """A position's or an order's requirement, in its settlement asset."""

    kind: Literal["position", "order"]
    symbol: str
    settlement: str
    initial_margin: str
    size: NotRequired[str]
    notional: NotRequired[str]
    upnl: NotRequired[str]
    leverage: NotRequired[int | None]
    mm_slices: NotRequired[list[Slice]]
    maintenance_margin: NotRequired[str]
    side: NotRequired[Side]
    price: NotRequired[str]
    quantity: NotRequired[str]
    opening_qty: NotRequired[str]


class PoolExplanation(TypedDict):
    """One pool of a futures explanation."""

    id: str
    assets: list[FuturesAssetLine]
    requirements: list[Requirement]
    effective_margin: str
    initial_margin: str
    maintenance_margin: str
    available: str
    reconciliation: list[Reconciliation]


class FuturesExplanation(TypedDict):
    """``explain`` of a futures account."""

    kind: Literal["FUTURES"]
    mode: Literal["SINGLE_ASSET", "MULTI_ASSET"]
    pools: list[PoolExplanation]
    risk: Risk


class MarginAssetLine(TypedDict):
    """One asset of a margin account (values in USDT, exact)."""

    asset: str
    holdings: str
    price: str
    holdings_value: str
    haircut_slices: list[Slice]
    collateral_value: str
    free: str
    borrowed: str
    interest: str
    liability_value: str
    imr_slices: NotRequired[list[Slice]]
    initial_margin: NotRequired[str]
    mmr_slices: NotRequired[list[Slice]]
    maintenance_margin: NotRequired[str]


class MarginOrderLine(TypedDict):
    """An open margin order and what it locks."""

    base: str
    quote: str
    side: Side
    price: str
    quantity: str
    locks: str
    locked: str


class MarginExplanation(TypedDict):
    """``explain`` of a margin account."""

    kind: Literal["MARGIN"]
    mode: Literal["CLASSIC", "PRO"]
    restricted_region: bool
    assets: list[MarginAssetLine]
    orders: list[MarginOrderLine]
    total_asset_value: str
    total_liability_value: str
    collateral_value: str
    reconciliation: list[Reconciliation]
    risk: Risk
    net_collateral: NotRequired[str]
    open_order_loss: NotRequired[str]
    initial_margin: NotRequired[str]
    maintenance_margin: NotRequired[str]
    available: NotRequired[str]


Explanation = FuturesExplanation | MarginExplanation

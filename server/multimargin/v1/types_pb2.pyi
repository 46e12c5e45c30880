from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccountKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_KIND_UNSPECIFIED: _ClassVar[AccountKind]
    ACCOUNT_KIND_FUTURES: _ClassVar[AccountKind]
    ACCOUNT_KIND_MARGIN: _ClassVar[AccountKind]

class AccountMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_MODE_UNSPECIFIED: _ClassVar[AccountMode]
    ACCOUNT_MODE_SINGLE_ASSET: _ClassVar[AccountMode]
    ACCOUNT_MODE_MULTI_ASSET: _ClassVar[AccountMode]
    ACCOUNT_MODE_CLASSIC: _ClassVar[AccountMode]
    ACCOUNT_MODE_PRO: _ClassVar[AccountMode]

class AccountStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_STATUS_UNSPECIFIED: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_ACTIVE: _ClassVar[AccountStatus]
    ACCOUNT_STATUS_LIQUIDATING: _ClassVar[AccountStatus]

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    SIDE_BUY: _ClassVar[Side]
    SIDE_SELL: _ClassVar[Side]

class LedgerEntryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEDGER_ENTRY_KIND_UNSPECIFIED: _ClassVar[LedgerEntryKind]
    LEDGER_ENTRY_KIND_REALIZED_PNL: _ClassVar[LedgerEntryKind]
    LEDGER_ENTRY_KIND_FEE: _ClassVar[LedgerEntryKind]
    LEDGER_ENTRY_KIND_FUNDING: _ClassVar[LedgerEntryKind]
    LEDGER_ENTRY_KIND_TRADE: _ClassVar[LedgerEntryKind]
ACCOUNT_KIND_UNSPECIFIED: AccountKind
ACCOUNT_KIND_FUTURES: AccountKind
ACCOUNT_KIND_MARGIN: AccountKind
ACCOUNT_MODE_UNSPECIFIED: AccountMode
ACCOUNT_MODE_SINGLE_ASSET: AccountMode
ACCOUNT_MODE_MULTI_ASSET: AccountMode
ACCOUNT_MODE_CLASSIC: AccountMode
ACCOUNT_MODE_PRO: AccountMode
ACCOUNT_STATUS_UNSPECIFIED: AccountStatus
ACCOUNT_STATUS_ACTIVE: AccountStatus
ACCOUNT_STATUS_LIQUIDATING: AccountStatus
SIDE_UNSPECIFIED: Side
SIDE_BUY: Side
SIDE_SELL: Side
LEDGER_ENTRY_KIND_UNSPECIFIED: LedgerEntryKind
LEDGER_ENTRY_KIND_REALIZED_PNL: LedgerEntryKind
LEDGER_ENTRY_KIND_FEE: LedgerEntryKind
LEDGER_ENTRY_KIND_FUNDING: LedgerEntryKind
LEDGER_ENTRY_KIND_TRADE: LedgerEntryKind

class Position(_message.Message):
    __slots__ = ("symbol", "size", "entry_price", "leverage", "isolated", "isolated_margin", "airdrop")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_PRICE_FIELD_NUMBER: _ClassVar[int]
    LEVERAGE_FIELD_NUMBER: _ClassVar[int]
    ISOLATED_FIELD_NUMBER: _ClassVar[int]
    ISOLATED_MARGIN_FIELD_NUMBER: _ClassVar[int]
    AIRDROP_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    size: str
    entry_price: str
    leverage: int
    isolated: bool
    isolated_margin: str
    airdrop: bool
    def __init__(self, symbol: _Optional[str] = ..., size: _Optional[str] = ..., entry_price: _Optional[str] = ..., leverage: _Optional[int] = ..., isolated: _Optional[bool] = ..., isolated_margin: _Optional[str] = ..., airdrop: _Optional[bool] = ...) -> None: ...

class FuturesOrder(_message.Message):
    __slots__ = ("order_id", "symbol", "side", "price", "quantity", "leverage")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    LEVERAGE_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    symbol: str
    side: Side
    price: str
    quantity: str
    leverage: int
    def __init__(self, order_id: _Optional[str] = ..., symbol: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., price: _Optional[str] = ..., quantity: _Optional[str] = ..., leverage: _Optional[int] = ...) -> None: ...

class MarginOrder(_message.Message):
    __slots__ = ("order_id", "base", "quote", "side", "price", "quantity")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    base: str
    quote: str
    side: Side
    price: str
    quantity: str
    def __init__(self, order_id: _Optional[str] = ..., base: _Optional[str] = ..., quote: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., price: _Optional[str] = ..., quantity: _Optional[str] = ...) -> None: ...

class FuturesState(_message.Message):
    __slots__ = ("wallet", "positions", "orders")
    class WalletEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WALLET_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    wallet: _containers.ScalarMap[str, str]
    positions: _containers.RepeatedCompositeFieldContainer[Position]
    orders: _containers.RepeatedCompositeFieldContainer[FuturesOrder]
    def __init__(self, wallet: _Optional[_Mapping[str, str]] = ..., positions: _Optional[_Iterable[_Union[Position, _Mapping]]] = ..., orders: _Optional[_Iterable[_Union[FuturesOrder, _Mapping]]] = ...) -> None: ...

class MarginState(_message.Message):
    __slots__ = ("holdings", "borrowed", "interest", "orders", "classic_leverage", "pro_terms_accepted", "pro_terms_version", "mcr_classic", "mcr_pro", "pro_entered", "vip_level")
    class HoldingsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class BorrowedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class InterestEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    HOLDINGS_FIELD_NUMBER: _ClassVar[int]
    BORROWED_FIELD_NUMBER: _ClassVar[int]
    INTEREST_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    CLASSIC_LEVERAGE_FIELD_NUMBER: _ClassVar[int]
    PRO_TERMS_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    PRO_TERMS_VERSION_FIELD_NUMBER: _ClassVar[int]
    MCR_CLASSIC_FIELD_NUMBER: _ClassVar[int]
    MCR_PRO_FIELD_NUMBER: _ClassVar[int]
    PRO_ENTERED_FIELD_NUMBER: _ClassVar[int]
    VIP_LEVEL_FIELD_NUMBER: _ClassVar[int]
    holdings: _containers.ScalarMap[str, str]
    borrowed: _containers.ScalarMap[str, str]
    interest: _containers.ScalarMap[str, str]
    orders: _containers.RepeatedCompositeFieldContainer[MarginOrder]
    classic_leverage: int
    pro_terms_accepted: bool
    pro_terms_version: str
    mcr_classic: str
    mcr_pro: str
    pro_entered: bool
    vip_level: int
    def __init__(self, holdings: _Optional[_Mapping[str, str]] = ..., borrowed: _Optional[_Mapping[str, str]] = ..., interest: _Optional[_Mapping[str, str]] = ..., orders: _Optional[_Iterable[_Union[MarginOrder, _Mapping]]] = ..., classic_leverage: _Optional[int] = ..., pro_terms_accepted: _Optional[bool] = ..., pro_terms_version: _Optional[str] = ..., mcr_classic: _Optional[str] = ..., mcr_pro: _Optional[str] = ..., pro_entered: _Optional[bool] = ..., vip_level: _Optional[int] = ...) -> None: ...

class AccountFlags(_message.Message):
    __slots__ = ("sub_account", "copy_trading")
    SUB_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    COPY_TRADING_FIELD_NUMBER: _ClassVar[int]
    sub_account: bool
    copy_trading: bool
    def __init__(self, sub_account: _Optional[bool] = ..., copy_trading: _Optional[bool] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("account_id", "kind", "mode", "region", "status", "version", "flags", "futures", "margin")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    FUTURES_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    kind: AccountKind
    mode: AccountMode
    region: str
    status: AccountStatus
    version: int
    flags: AccountFlags
    futures: FuturesState
    margin: MarginState
    def __init__(self, account_id: _Optional[str] = ..., kind: _Optional[_Union[AccountKind, str]] = ..., mode: _Optional[_Union[AccountMode, str]] = ..., region: _Optional[str] = ..., status: _Optional[_Union[AccountStatus, str]] = ..., version: _Optional[int] = ..., flags: _Optional[_Union[AccountFlags, _Mapping]] = ..., futures: _Optional[_Union[FuturesState, _Mapping]] = ..., margin: _Optional[_Union[MarginState, _Mapping]] = ...) -> None: ...

class Pool(_message.Message):
    __slots__ = ("id", "effective_margin", "initial_margin", "maintenance_margin", "available", "margin_level", "liquidatable", "equity", "value")
    class EquityEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ValueEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_MARGIN_FIELD_NUMBER: _ClassVar[int]
    INITIAL_MARGIN_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_MARGIN_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_LEVEL_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATABLE_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    id: str
    effective_margin: str
    initial_margin: str
    maintenance_margin: str
    available: str
    margin_level: str
    liquidatable: bool
    equity: _containers.ScalarMap[str, str]
    value: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., effective_margin: _Optional[str] = ..., initial_margin: _Optional[str] = ..., maintenance_margin: _Optional[str] = ..., available: _Optional[str] = ..., margin_level: _Optional[str] = ..., liquidatable: _Optional[bool] = ..., equity: _Optional[_Mapping[str, str]] = ..., value: _Optional[_Mapping[str, str]] = ...) -> None: ...

class FuturesRisk(_message.Message):
    __slots__ = ("pools", "liquidatable", "max_transfer_out")
    class MaxTransferOutEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    POOLS_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATABLE_FIELD_NUMBER: _ClassVar[int]
    MAX_TRANSFER_OUT_FIELD_NUMBER: _ClassVar[int]
    pools: _containers.RepeatedCompositeFieldContainer[Pool]
    liquidatable: bool
    max_transfer_out: _containers.ScalarMap[str, str]
    def __init__(self, pools: _Optional[_Iterable[_Union[Pool, _Mapping]]] = ..., liquidatable: _Optional[bool] = ..., max_transfer_out: _Optional[_Mapping[str, str]] = ...) -> None: ...

class MarginRisk(_message.Message):
    __slots__ = ("total_asset_value", "total_liability_value", "collateral_value", "net_collateral", "open_order_loss", "initial_margin", "maintenance_margin", "available", "margin_level", "collateral_margin_level", "liquidatable", "margin_call", "max_borrow", "max_transfer_out")
    class MaxBorrowEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class MaxTransferOutEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TOTAL_ASSET_VALUE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LIABILITY_VALUE_FIELD_NUMBER: _ClassVar[int]
    COLLATERAL_VALUE_FIELD_NUMBER: _ClassVar[int]
    NET_COLLATERAL_FIELD_NUMBER: _ClassVar[int]
    OPEN_ORDER_LOSS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_MARGIN_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_MARGIN_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_LEVEL_FIELD_NUMBER: _ClassVar[int]
    COLLATERAL_MARGIN_LEVEL_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATABLE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CALL_FIELD_NUMBER: _ClassVar[int]
    MAX_BORROW_FIELD_NUMBER: _ClassVar[int]
    MAX_TRANSFER_OUT_FIELD_NUMBER: _ClassVar[int]
    total_asset_value: str
    total_liability_value: str
    collateral_value: str
    net_collateral: str
    open_order_loss: str
    initial_margin: str
    maintenance_margin: str
    available: str
    margin_level: str
    collateral_margin_level: str
    liquidatable: bool
    margin_call: bool
    max_borrow: _containers.ScalarMap[str, str]
    max_transfer_out: _containers.ScalarMap[str, str]
    def __init__(self, total_asset_value: _Optional[str] = ..., total_liability_value: _Optional[str] = ..., collateral_value: _Optional[str] = ..., net_collateral: _Optional[str] = ..., open_order_loss: _Optional[str] = ..., initial_margin: _Optional[str] = ..., maintenance_margin: _Optional[str] = ..., available: _Optional[str] = ..., margin_level: _Optional[str] = ..., collateral_margin_level: _Optional[str] = ..., liquidatable: _Optional[bool] = ..., margin_call: _Optional[bool] = ..., max_borrow: _Optional[_Mapping[str, str]] = ..., max_transfer_out: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RiskSummary(_message.Message):
    __slots__ = ("futures", "margin", "rulebook_version")
    FUTURES_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    RULEBOOK_VERSION_FIELD_NUMBER: _ClassVar[int]
    futures: FuturesRisk
    margin: MarginRisk
    rulebook_version: int
    def __init__(self, futures: _Optional[_Union[FuturesRisk, _Mapping]] = ..., margin: _Optional[_Union[MarginRisk, _Mapping]] = ..., rulebook_version: _Optional[int] = ...) -> None: ...

class UnmetCondition(_message.Message):
    __slots__ = ("reason", "message", "field")
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    reason: str
    message: str
    field: str
    def __init__(self, reason: _Optional[str] = ..., message: _Optional[str] = ..., field: _Optional[str] = ...) -> None: ...

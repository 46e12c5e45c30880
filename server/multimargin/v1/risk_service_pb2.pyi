from multimargin.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetRiskSummaryRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class GetRiskSummaryResponse(_message.Message):
    __slots__ = ("version", "risk")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RISK_FIELD_NUMBER: _ClassVar[int]
    version: int
    risk: _types_pb2.RiskSummary
    def __init__(self, version: _Optional[int] = ..., risk: _Optional[_Union[_types_pb2.RiskSummary, _Mapping]] = ...) -> None: ...

class PriceShock(_message.Message):
    __slots__ = ("asset", "symbol", "price", "factor")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    FACTOR_FIELD_NUMBER: _ClassVar[int]
    asset: str
    symbol: str
    price: str
    factor: str
    def __init__(self, asset: _Optional[str] = ..., symbol: _Optional[str] = ..., price: _Optional[str] = ..., factor: _Optional[str] = ...) -> None: ...

class SimulatedTransfer(_message.Message):
    __slots__ = ("asset", "amount")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    asset: str
    amount: str
    def __init__(self, asset: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class SimulatedBorrow(_message.Message):
    __slots__ = ("asset", "amount")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    asset: str
    amount: str
    def __init__(self, asset: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class SimulatedChange(_message.Message):
    __slots__ = ("price_shock", "transfer", "borrow", "position", "futures_order", "margin_order")
    PRICE_SHOCK_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    BORROW_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    FUTURES_ORDER_FIELD_NUMBER: _ClassVar[int]
    MARGIN_ORDER_FIELD_NUMBER: _ClassVar[int]
    price_shock: PriceShock
    transfer: SimulatedTransfer
    borrow: SimulatedBorrow
    position: _types_pb2.Position
    futures_order: _types_pb2.FuturesOrder
    margin_order: _types_pb2.MarginOrder
    def __init__(self, price_shock: _Optional[_Union[PriceShock, _Mapping]] = ..., transfer: _Optional[_Union[SimulatedTransfer, _Mapping]] = ..., borrow: _Optional[_Union[SimulatedBorrow, _Mapping]] = ..., position: _Optional[_Union[_types_pb2.Position, _Mapping]] = ..., futures_order: _Optional[_Union[_types_pb2.FuturesOrder, _Mapping]] = ..., margin_order: _Optional[_Union[_types_pb2.MarginOrder, _Mapping]] = ...) -> None: ...

class SimulateRequest(_message.Message):
    __slots__ = ("account_id", "changes")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    changes: _containers.RepeatedCompositeFieldContainer[SimulatedChange]
    def __init__(self, account_id: _Optional[str] = ..., changes: _Optional[_Iterable[_Union[SimulatedChange, _Mapping]]] = ...) -> None: ...

class SimulateResponse(_message.Message):
    __slots__ = ("version", "risk")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RISK_FIELD_NUMBER: _ClassVar[int]
    version: int
    risk: _types_pb2.RiskSummary
    def __init__(self, version: _Optional[int] = ..., risk: _Optional[_Union[_types_pb2.RiskSummary, _Mapping]] = ...) -> None: ...

import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from multimargin.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HistoryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HISTORY_KIND_UNSPECIFIED: _ClassVar[HistoryKind]
    HISTORY_KIND_INTEREST: _ClassVar[HistoryKind]
    HISTORY_KIND_REPAY_MANUAL: _ClassVar[HistoryKind]
    HISTORY_KIND_REPAY_TRANSFER_IN: _ClassVar[HistoryKind]
    HISTORY_KIND_REPAY_THRESHOLD: _ClassVar[HistoryKind]

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_MARGIN_CALL: _ClassVar[EventKind]
    EVENT_KIND_MARGIN_CALL_CLEARED: _ClassVar[EventKind]
    EVENT_KIND_ORDERS_CANCELLED: _ClassVar[EventKind]
    EVENT_KIND_LIQUIDATION_STARTED: _ClassVar[EventKind]
    EVENT_KIND_LIQUIDATION_ENDED: _ClassVar[EventKind]
    EVENT_KIND_INTEREST_CHARGED: _ClassVar[EventKind]
    EVENT_KIND_REPAID: _ClassVar[EventKind]

class CancelReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CANCEL_REASON_UNSPECIFIED: _ClassVar[CancelReason]
    CANCEL_REASON_LIQUIDATION: _ClassVar[CancelReason]
    CANCEL_REASON_BELOW_LOCKED: _ClassVar[CancelReason]
HISTORY_KIND_UNSPECIFIED: HistoryKind
HISTORY_KIND_INTEREST: HistoryKind
HISTORY_KIND_REPAY_MANUAL: HistoryKind
HISTORY_KIND_REPAY_TRANSFER_IN: HistoryKind
HISTORY_KIND_REPAY_THRESHOLD: HistoryKind
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_MARGIN_CALL: EventKind
EVENT_KIND_MARGIN_CALL_CLEARED: EventKind
EVENT_KIND_ORDERS_CANCELLED: EventKind
EVENT_KIND_LIQUIDATION_STARTED: EventKind
EVENT_KIND_LIQUIDATION_ENDED: EventKind
EVENT_KIND_INTEREST_CHARGED: EventKind
EVENT_KIND_REPAID: EventKind
CANCEL_REASON_UNSPECIFIED: CancelReason
CANCEL_REASON_LIQUIDATION: CancelReason
CANCEL_REASON_BELOW_LOCKED: CancelReason

class HistoryEntry(_message.Message):
    __slots__ = ("time", "kind", "asset", "amount", "interest_repaid", "principal_repaid", "payer_asset", "payer_amount", "asset_price", "payer_price", "discount", "interest_base", "hourly_rate")
    TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    INTEREST_REPAID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_REPAID_FIELD_NUMBER: _ClassVar[int]
    PAYER_ASSET_FIELD_NUMBER: _ClassVar[int]
    PAYER_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ASSET_PRICE_FIELD_NUMBER: _ClassVar[int]
    PAYER_PRICE_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FIELD_NUMBER: _ClassVar[int]
    INTEREST_BASE_FIELD_NUMBER: _ClassVar[int]
    HOURLY_RATE_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    kind: HistoryKind
    asset: str
    amount: str
    interest_repaid: str
    principal_repaid: str
    payer_asset: str
    payer_amount: str
    asset_price: str
    payer_price: str
    discount: str
    interest_base: str
    hourly_rate: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[HistoryKind, str]] = ..., asset: _Optional[str] = ..., amount: _Optional[str] = ..., interest_repaid: _Optional[str] = ..., principal_repaid: _Optional[str] = ..., payer_asset: _Optional[str] = ..., payer_amount: _Optional[str] = ..., asset_price: _Optional[str] = ..., payer_price: _Optional[str] = ..., discount: _Optional[str] = ..., interest_base: _Optional[str] = ..., hourly_rate: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("seq", "account_id", "time", "kind", "account_version", "order_ids", "cancel_reason", "entry", "risk", "account")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_VERSION_FIELD_NUMBER: _ClassVar[int]
    ORDER_IDS_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REASON_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    RISK_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    seq: int
    account_id: str
    time: _timestamp_pb2.Timestamp
    kind: EventKind
    account_version: int
    order_ids: _containers.RepeatedScalarFieldContainer[str]
    cancel_reason: CancelReason
    entry: HistoryEntry
    risk: _types_pb2.RiskSummary
    account: _types_pb2.Account
    def __init__(self, seq: _Optional[int] = ..., account_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[EventKind, str]] = ..., account_version: _Optional[int] = ..., order_ids: _Optional[_Iterable[str]] = ..., cancel_reason: _Optional[_Union[CancelReason, str]] = ..., entry: _Optional[_Union[HistoryEntry, _Mapping]] = ..., risk: _Optional[_Union[_types_pb2.RiskSummary, _Mapping]] = ..., account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

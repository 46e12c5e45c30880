from multimargin.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SetPositionRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "position")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    position: _types_pb2.Position
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., position: _Optional[_Union[_types_pb2.Position, _Mapping]] = ...) -> None: ...

class SetPositionResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

class CheckOrderRequest(_message.Message):
    __slots__ = ("account_id", "futures", "margin")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    FUTURES_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    futures: _types_pb2.FuturesOrder
    margin: _types_pb2.MarginOrder
    def __init__(self, account_id: _Optional[str] = ..., futures: _Optional[_Union[_types_pb2.FuturesOrder, _Mapping]] = ..., margin: _Optional[_Union[_types_pb2.MarginOrder, _Mapping]] = ...) -> None: ...

class CheckOrderResponse(_message.Message):
    __slots__ = ("accepted", "rejections", "order_initial_margin", "available", "version")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    ORDER_INITIAL_MARGIN_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    rejections: _containers.RepeatedCompositeFieldContainer[_types_pb2.UnmetCondition]
    order_initial_margin: str
    available: str
    version: int
    def __init__(self, accepted: _Optional[bool] = ..., rejections: _Optional[_Iterable[_Union[_types_pb2.UnmetCondition, _Mapping]]] = ..., order_initial_margin: _Optional[str] = ..., available: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class PlaceOrderRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "futures", "margin")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    FUTURES_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    futures: _types_pb2.FuturesOrder
    margin: _types_pb2.MarginOrder
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., futures: _Optional[_Union[_types_pb2.FuturesOrder, _Mapping]] = ..., margin: _Optional[_Union[_types_pb2.MarginOrder, _Mapping]] = ...) -> None: ...

class PlaceOrderResponse(_message.Message):
    __slots__ = ("account", "order_id")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    order_id: str
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ..., order_id: _Optional[str] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "order_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    order_id: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., order_id: _Optional[str] = ...) -> None: ...

class CancelOrderResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

from multimargin.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UpdatePricesRequest(_message.Message):
    __slots__ = ("request_id", "index_prices", "mark_prices")
    class IndexPricesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class MarkPricesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_PRICES_FIELD_NUMBER: _ClassVar[int]
    MARK_PRICES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    index_prices: _containers.ScalarMap[str, str]
    mark_prices: _containers.ScalarMap[str, str]
    def __init__(self, request_id: _Optional[str] = ..., index_prices: _Optional[_Mapping[str, str]] = ..., mark_prices: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AccountRiskChange(_message.Message):
    __slots__ = ("account_id", "version", "status", "liquidatable", "margin_call")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATABLE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CALL_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    version: int
    status: _types_pb2.AccountStatus
    liquidatable: bool
    margin_call: bool
    def __init__(self, account_id: _Optional[str] = ..., version: _Optional[int] = ..., status: _Optional[_Union[_types_pb2.AccountStatus, str]] = ..., liquidatable: _Optional[bool] = ..., margin_call: _Optional[bool] = ...) -> None: ...

class UpdatePricesResponse(_message.Message):
    __slots__ = ("prices_version", "accounts", "accounts_evaluated")
    PRICES_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_EVALUATED_FIELD_NUMBER: _ClassVar[int]
    prices_version: int
    accounts: _containers.RepeatedCompositeFieldContainer[AccountRiskChange]
    accounts_evaluated: int
    def __init__(self, prices_version: _Optional[int] = ..., accounts: _Optional[_Iterable[_Union[AccountRiskChange, _Mapping]]] = ..., accounts_evaluated: _Optional[int] = ...) -> None: ...

class GetPricesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPricesResponse(_message.Message):
    __slots__ = ("index_prices", "mark_prices", "prices_version")
    class IndexPricesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class MarkPricesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    INDEX_PRICES_FIELD_NUMBER: _ClassVar[int]
    MARK_PRICES_FIELD_NUMBER: _ClassVar[int]
    PRICES_VERSION_FIELD_NUMBER: _ClassVar[int]
    index_prices: _containers.ScalarMap[str, str]
    mark_prices: _containers.ScalarMap[str, str]
    prices_version: int
    def __init__(self, index_prices: _Optional[_Mapping[str, str]] = ..., mark_prices: _Optional[_Mapping[str, str]] = ..., prices_version: _Optional[int] = ...) -> None: ...

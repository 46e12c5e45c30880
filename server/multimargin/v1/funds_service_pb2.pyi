from multimargin.v1 import history_pb2 as _history_pb2
from multimargin.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransferInRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "asset", "amount")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    asset: str
    amount: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., asset: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class TransferInResponse(_message.Message):
    __slots__ = ("account", "repaid")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    REPAID_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    repaid: str
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ..., repaid: _Optional[str] = ...) -> None: ...

class TransferOutRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "asset", "amount")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    asset: str
    amount: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., asset: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class TransferOutResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

class LedgerEntry(_message.Message):
    __slots__ = ("kind", "asset", "amount", "memo")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    kind: _types_pb2.LedgerEntryKind
    asset: str
    amount: str
    memo: str
    def __init__(self, kind: _Optional[_Union[_types_pb2.LedgerEntryKind, str]] = ..., asset: _Optional[str] = ..., amount: _Optional[str] = ..., memo: _Optional[str] = ...) -> None: ...

class PostLedgerEntriesRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "entries")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    entries: _containers.RepeatedCompositeFieldContainer[LedgerEntry]
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[LedgerEntry, _Mapping]]] = ...) -> None: ...

class PostLedgerEntriesResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

class BorrowRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "asset", "amount")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    asset: str
    amount: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., asset: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class BorrowResponse(_message.Message):
    __slots__ = ("account", "interest_charged")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    INTEREST_CHARGED_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    interest_charged: str
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ..., interest_charged: _Optional[str] = ...) -> None: ...

class RepayRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "asset", "amount", "payer_asset", "all")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAYER_ASSET_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    asset: str
    amount: str
    payer_asset: str
    all: bool
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., asset: _Optional[str] = ..., amount: _Optional[str] = ..., payer_asset: _Optional[str] = ..., all: _Optional[bool] = ...) -> None: ...

class RepayResponse(_message.Message):
    __slots__ = ("account", "repaid", "payer_asset", "payer_amount", "interest_repaid", "principal_repaid")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    REPAID_FIELD_NUMBER: _ClassVar[int]
    PAYER_ASSET_FIELD_NUMBER: _ClassVar[int]
    PAYER_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    INTEREST_REPAID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_REPAID_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    repaid: str
    payer_asset: str
    payer_amount: str
    interest_repaid: str
    principal_repaid: str
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ..., repaid: _Optional[str] = ..., payer_asset: _Optional[str] = ..., payer_amount: _Optional[str] = ..., interest_repaid: _Optional[str] = ..., principal_repaid: _Optional[str] = ...) -> None: ...

class RepayLiabilityRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "debt_asset", "payer_asset", "amount", "all")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEBT_ASSET_FIELD_NUMBER: _ClassVar[int]
    PAYER_ASSET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    debt_asset: str
    payer_asset: str
    amount: str
    all: bool
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., debt_asset: _Optional[str] = ..., payer_asset: _Optional[str] = ..., amount: _Optional[str] = ..., all: _Optional[bool] = ...) -> None: ...

class RepayLiabilityResponse(_message.Message):
    __slots__ = ("account", "entry")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    entry: _history_pb2.HistoryEntry
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ..., entry: _Optional[_Union[_history_pb2.HistoryEntry, _Mapping]] = ...) -> None: ...

class ListHistoryRequest(_message.Message):
    __slots__ = ("account_id", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListHistoryResponse(_message.Message):
    __slots__ = ("entries", "next_page_token", "version")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_history_pb2.HistoryEntry]
    next_page_token: str
    version: int
    def __init__(self, entries: _Optional[_Iterable[_Union[_history_pb2.HistoryEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

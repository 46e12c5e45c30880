from multimargin.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateAccountRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "kind", "region", "sub_account", "copy_trading")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SUB_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    COPY_TRADING_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    kind: _types_pb2.AccountKind
    region: str
    sub_account: bool
    copy_trading: bool
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., kind: _Optional[_Union[_types_pb2.AccountKind, str]] = ..., region: _Optional[str] = ..., sub_account: _Optional[bool] = ..., copy_trading: _Optional[bool] = ...) -> None: ...

class CreateAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("account", "risk")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    RISK_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    risk: _types_pb2.RiskSummary
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ..., risk: _Optional[_Union[_types_pb2.RiskSummary, _Mapping]] = ...) -> None: ...

class ListAccountsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class AccountSummary(_message.Message):
    __slots__ = ("account_id", "kind", "mode", "status", "version")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    kind: _types_pb2.AccountKind
    mode: _types_pb2.AccountMode
    status: _types_pb2.AccountStatus
    version: int
    def __init__(self, account_id: _Optional[str] = ..., kind: _Optional[_Union[_types_pb2.AccountKind, str]] = ..., mode: _Optional[_Union[_types_pb2.AccountMode, str]] = ..., status: _Optional[_Union[_types_pb2.AccountStatus, str]] = ..., version: _Optional[int] = ...) -> None: ...

class ListAccountsResponse(_message.Message):
    __slots__ = ("accounts", "next_page_token")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[AccountSummary]
    next_page_token: str
    def __init__(self, accounts: _Optional[_Iterable[_Union[AccountSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SetAccountFlagsRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "sub_account", "copy_trading")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    SUB_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    COPY_TRADING_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    sub_account: bool
    copy_trading: bool
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., sub_account: _Optional[bool] = ..., copy_trading: _Optional[bool] = ...) -> None: ...

class SetAccountFlagsResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

class AcceptProTermsRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "quiz_passed", "terms_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    QUIZ_PASSED_FIELD_NUMBER: _ClassVar[int]
    TERMS_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    quiz_passed: bool
    terms_version: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., quiz_passed: _Optional[bool] = ..., terms_version: _Optional[str] = ...) -> None: ...

class AcceptProTermsResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

class CheckModeSwitchRequest(_message.Message):
    __slots__ = ("account_id", "target_mode")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_MODE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    target_mode: _types_pb2.AccountMode
    def __init__(self, account_id: _Optional[str] = ..., target_mode: _Optional[_Union[_types_pb2.AccountMode, str]] = ...) -> None: ...

class CheckModeSwitchResponse(_message.Message):
    __slots__ = ("allowed", "unmet", "version")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    UNMET_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    unmet: _containers.RepeatedCompositeFieldContainer[_types_pb2.UnmetCondition]
    version: int
    def __init__(self, allowed: _Optional[bool] = ..., unmet: _Optional[_Iterable[_Union[_types_pb2.UnmetCondition, _Mapping]]] = ..., version: _Optional[int] = ...) -> None: ...

class SwitchModeRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "target_mode")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_MODE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    target_mode: _types_pb2.AccountMode
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., target_mode: _Optional[_Union[_types_pb2.AccountMode, str]] = ...) -> None: ...

class SwitchModeResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

class SetMarginCallRatioRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "mode", "ratio")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    RATIO_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    mode: _types_pb2.AccountMode
    ratio: str
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., mode: _Optional[_Union[_types_pb2.AccountMode, str]] = ..., ratio: _Optional[str] = ...) -> None: ...

class SetMarginCallRatioResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

class SetClassicLeverageRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "leverage")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    LEVERAGE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    leverage: int
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., leverage: _Optional[int] = ...) -> None: ...

class SetClassicLeverageResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from multimargin.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetEngineStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetEngineStatusResponse(_message.Message):
    __slots__ = ("state_hash", "journal_seq", "accounts", "snapshot_seq", "event_seq", "rulebook_version")
    STATE_HASH_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_SEQ_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_SEQ_FIELD_NUMBER: _ClassVar[int]
    EVENT_SEQ_FIELD_NUMBER: _ClassVar[int]
    RULEBOOK_VERSION_FIELD_NUMBER: _ClassVar[int]
    state_hash: str
    journal_seq: int
    accounts: int
    snapshot_seq: int
    event_seq: int
    rulebook_version: int
    def __init__(self, state_hash: _Optional[str] = ..., journal_seq: _Optional[int] = ..., accounts: _Optional[int] = ..., snapshot_seq: _Optional[int] = ..., event_seq: _Optional[int] = ..., rulebook_version: _Optional[int] = ...) -> None: ...

class RunSettlementRequest(_message.Message):
    __slots__ = ("request_id", "as_of")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RunSettlementResponse(_message.Message):
    __slots__ = ("hours_settled", "settled_through", "charges", "accounts_changed")
    HOURS_SETTLED_FIELD_NUMBER: _ClassVar[int]
    SETTLED_THROUGH_FIELD_NUMBER: _ClassVar[int]
    CHARGES_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    hours_settled: int
    settled_through: _timestamp_pb2.Timestamp
    charges: int
    accounts_changed: int
    def __init__(self, hours_settled: _Optional[int] = ..., settled_through: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., charges: _Optional[int] = ..., accounts_changed: _Optional[int] = ...) -> None: ...

class EndLiquidationRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class EndLiquidationResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

class SetVipLevelRequest(_message.Message):
    __slots__ = ("request_id", "account_id", "expected_version", "vip_level")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    VIP_LEVEL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    account_id: str
    expected_version: int
    vip_level: int
    def __init__(self, request_id: _Optional[str] = ..., account_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., vip_level: _Optional[int] = ...) -> None: ...

class SetVipLevelResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _types_pb2.Account
    def __init__(self, account: _Optional[_Union[_types_pb2.Account, _Mapping]] = ...) -> None: ...

class ReloadRulebookRequest(_message.Message):
    __slots__ = ("request_id", "rulebook_json")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RULEBOOK_JSON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    rulebook_json: str
    def __init__(self, request_id: _Optional[str] = ..., rulebook_json: _Optional[str] = ...) -> None: ...

class ReloadRulebookResponse(_message.Message):
    __slots__ = ("rulebook_version", "changed")
    RULEBOOK_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    rulebook_version: int
    changed: _containers.RepeatedCompositeFieldContainer[RulebookImpact]
    def __init__(self, rulebook_version: _Optional[int] = ..., changed: _Optional[_Iterable[_Union[RulebookImpact, _Mapping]]] = ...) -> None: ...

class PreviewRulebookRequest(_message.Message):
    __slots__ = ("rulebook_json",)
    RULEBOOK_JSON_FIELD_NUMBER: _ClassVar[int]
    rulebook_json: str
    def __init__(self, rulebook_json: _Optional[str] = ...) -> None: ...

class RulebookImpact(_message.Message):
    __slots__ = ("account_id", "liquidatable_before", "liquidatable_after", "margin_call_before", "margin_call_after")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATABLE_BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATABLE_AFTER_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CALL_BEFORE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CALL_AFTER_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    liquidatable_before: bool
    liquidatable_after: bool
    margin_call_before: bool
    margin_call_after: bool
    def __init__(self, account_id: _Optional[str] = ..., liquidatable_before: _Optional[bool] = ..., liquidatable_after: _Optional[bool] = ..., margin_call_before: _Optional[bool] = ..., margin_call_after: _Optional[bool] = ...) -> None: ...

class PreviewRulebookResponse(_message.Message):
    __slots__ = ("rulebook_version", "crossings", "accounts_evaluated")
    RULEBOOK_VERSION_FIELD_NUMBER: _ClassVar[int]
    CROSSINGS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_EVALUATED_FIELD_NUMBER: _ClassVar[int]
    rulebook_version: int
    crossings: _containers.RepeatedCompositeFieldContainer[RulebookImpact]
    accounts_evaluated: int
    def __init__(self, rulebook_version: _Optional[int] = ..., crossings: _Optional[_Iterable[_Union[RulebookImpact, _Mapping]]] = ..., accounts_evaluated: _Optional[int] = ...) -> None: ...

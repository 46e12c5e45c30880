from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetEngineStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetEngineStatusResponse(_message.Message):
    __slots__ = ("state_hash", "journal_seq", "accounts", "snapshot_seq")
    STATE_HASH_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_SEQ_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_SEQ_FIELD_NUMBER: _ClassVar[int]
    state_hash: str
    journal_seq: int
    accounts: int
    snapshot_seq: int
    def __init__(self, state_hash: _Optional[str] = ..., journal_seq: _Optional[int] = ..., accounts: _Optional[int] = ..., snapshot_seq: _Optional[int] = ...) -> None: ...

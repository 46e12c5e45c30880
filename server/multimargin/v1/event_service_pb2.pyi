from multimargin.v1 import history_pb2 as _history_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WatchEventsRequest(_message.Message):
    __slots__ = ("account_ids", "after_seq", "after_shard_seq")
    class AfterShardSeqEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: int
        def __init__(self, key: _Optional[int] = ..., value: _Optional[int] = ...) -> None: ...
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    AFTER_SHARD_SEQ_FIELD_NUMBER: _ClassVar[int]
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    after_seq: int
    after_shard_seq: _containers.ScalarMap[int, int]
    def __init__(self, account_ids: _Optional[_Iterable[str]] = ..., after_seq: _Optional[int] = ..., after_shard_seq: _Optional[_Mapping[int, int]] = ...) -> None: ...

class WatchEventsResponse(_message.Message):
    __slots__ = ("event", "shard")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    event: _history_pb2.Event
    shard: int
    def __init__(self, event: _Optional[_Union[_history_pb2.Event, _Mapping]] = ..., shard: _Optional[int] = ...) -> None: ...

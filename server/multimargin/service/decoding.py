"""Request bytes that do not decode: refused INVALID_ARGUMENT (SPEC §11), naming the
string field with invalid UTF-8 where one can be found, never an UNKNOWN with a
traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf import descriptor
from google.protobuf.message import DecodeError, Message

from multimargin.errors import InvalidInputError, ResourceExhaustedError

#: Largest request served, in bytes; a larger one is refused RESOURCE_EXHAUSTED with an
#: ErrorInfo (``MESSAGE_TOO_LARGE``). gRPC's own limit is set higher
#: (:func:`multimargin.service.server.make_server`), as a bound on memory only: it
#: refuses without an ErrorInfo.
DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
MESSAGE_TOO_LARGE_REASON = "MESSAGE_TOO_LARGE"


class Undecodable:
    """What the request deserializer returns for bytes that are not the request message."""

    __slots__ = ("field", "message_name")

    def __init__(self, message_name: str, field: str | None) -> None:
        self.message_name = message_name
        self.field = field

    def refusal(self) -> InvalidInputError:
        """The INVALID_ARGUMENT refusal of the call."""
        if self.field is not None:
            what = "is not valid UTF-8, or its bytes are damaged"
        else:
            what = f"the request bytes do not decode as {self.message_name}"
        return InvalidInputError(what, "INVALID_ARGUMENT", self.field)


class Oversized:
    """What the request deserializer returns for a request over the size limit."""

    __slots__ = ("limit", "size")

    def __init__(self, size: int, limit: int) -> None:
        self.size, self.limit = size, limit

    def refusal(self) -> ResourceExhaustedError:
        """The RESOURCE_EXHAUSTED refusal of the call (not retried by the typed client:
        the message says "larger than max", as gRPC's own refusal does)."""
        return ResourceExhaustedError(
            f"the request is larger than max ({self.size} vs. {self.limit} bytes)", MESSAGE_TOO_LARGE_REASON
        )


#: A request the handler refuses without looking further.
Refused = Undecodable | Oversized


def decoder(
    request_class: type[Message], max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> Callable[[bytes], Message | Refused]:
    """The request deserializer of an RPC: never raises (gRPC would answer UNKNOWN)."""
    parse = request_class.FromString
    message = request_class.DESCRIPTOR

    def decode(data: bytes) -> Message | Refused:
        if len(data) > max_bytes:
            return Oversized(len(data), max_bytes)
        try:
            return parse(data)
        except (DecodeError, ValueError, RuntimeError):
            return Undecodable(message.full_name, _bad_field(message, data))

    return decode


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def _bad_field(message: Any, data: bytes, prefix: str = "") -> str | None:
    """The path of the first string field of ``message`` in ``data`` whose bytes are not
    UTF-8 (descending into sub-messages), or None. Only called once decoding failed."""
    pos = 0
    try:
        while pos < len(data):
            key, pos = _varint(data, pos)
            field = message.fields_by_number.get(key >> 3)
            wire_type = key & 7
            if wire_type == 0:
                _, pos = _varint(data, pos)
            elif wire_type in (1, 5):
                pos += 8 if wire_type == 1 else 4
            elif wire_type == 2:
                size, pos = _varint(data, pos)
                chunk, pos = data[pos : pos + size], pos + size
                if field is None:
                    continue
                path = prefix + field.name
                if field.type == descriptor.FieldDescriptor.TYPE_STRING:
                    chunk.decode("utf-8")
                elif field.type == descriptor.FieldDescriptor.TYPE_MESSAGE:
                    inner = _bad_field(field.message_type, chunk, path + ".")
                    if inner is not None:
                        return inner
            else:
                return None
    except UnicodeDecodeError:
        return f"{prefix}{field.name}"
    except ValueError:
        return None
    return None


__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "MESSAGE_TOO_LARGE_REASON",
    "Oversized",
    "Refused",
    "Undecodable",
    "decoder",
]

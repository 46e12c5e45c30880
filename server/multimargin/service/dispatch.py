"""Every RPC of the ``multimargin.v1`` contract, served by one generic handler.

The services are not written by hand: :func:`contract_rpcs` reads them from the
descriptors of the generated modules in :mod:`multimargin.v1`, and
:func:`add_engine_services` registers, for each method, a handler that does
``await engine.call("<Rpc>", request)`` and maps a refusal to a gRPC status in one
place (:mod:`multimargin.service.errors`). A new RPC in the ``.proto`` files is
served as soon as the code is regenerated and the engine knows its name.

Two refusals happen here, before the engine sees a call:

* **Undecodable bytes** (not the request message, or a string field that is not
  UTF-8) are INVALID_ARGUMENT with an ErrorInfo naming the field when it can be
  found (SPEC §11): the request deserializer never raises, it hands the handler an
  :class:`Undecodable` to refuse.
* **Overload** is admission control in one place, :class:`Admission`: at most
  ``limit`` calls are in the engine at once, and a call beyond that is answered
  RESOURCE_EXHAUSTED (reason ``OVERLOADED``) at once. gRPC's own limits are set
  high enough never to act first (:func:`multimargin.service.server.make_server`).

>>> rpcs = {rpc.full_method: rpc for rpc in contract_rpcs()}
>>> rpcs["/multimargin.v1.AccountService/GetAccount"].request_class.__name__
'GetAccountRequest'
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf import descriptor, message_factory
from google.protobuf.message import DecodeError, Message

import multimargin.v1
from multimargin.errors import InternalError, InvalidInputError, MarginError
from multimargin.service.errors import abort_with, error_status, internal_status, overloaded_status
from multimargin.service.interceptors import REQUEST_ID

log = logging.getLogger("multimargin.service")

#: Calls in the engine at once; more are refused RESOURCE_EXHAUSTED (OVERLOADED).
DEFAULT_MAX_IN_FLIGHT = 1024


class EngineLike(Protocol):
    """What the service needs of :class:`multimargin.state.engine.Engine`."""

    async def call(self, method: str, request: Message) -> Message:
        """Apply or answer one request (``method`` is the RPC's short name)."""

    @property
    def fatal(self) -> asyncio.Future[None]:
        """Completes, with the exception, when the durable store has failed."""

    async def close(self) -> None:
        """Flush the store, write a final snapshot and close."""


@dataclass(frozen=True)
class Rpc:
    """One method of the contract."""

    service: str
    """Full service name, e.g. ``multimargin.v1.AccountService``."""
    name: str
    """Short method name, e.g. ``GetAccount``; what :meth:`EngineLike.call` takes."""
    request_class: type[Message]
    response_class: type[Message]

    @property
    def full_method(self) -> str:
        """The HTTP/2 path of the method, e.g. ``/multimargin.v1.AccountService/GetAccount``."""
        return f"/{self.service}/{self.name}"


@functools.cache
def contract_rpcs() -> tuple[Rpc, ...]:
    """Every RPC of every service in :mod:`multimargin.v1`, ordered by service and method.

    All of them are unary (proto/README.md); method names are unique across services,
    since the engine dispatches on the short name.
    """
    rpcs: list[Rpc] = []
    for info in pkgutil.iter_modules(multimargin.v1.__path__):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"{multimargin.v1.__name__}.{info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if method.client_streaming or method.server_streaming:
                    raise RuntimeError(f"{method.full_name}: streaming RPCs are not served")
                rpcs.append(
                    Rpc(
                        service=service.full_name,
                        name=method.name,
                        request_class=message_factory.GetMessageClass(method.input_type),
                        response_class=message_factory.GetMessageClass(method.output_type),
                    )
                )
    rpcs.sort(key=lambda rpc: (rpc.service, rpc.name))
    names = [rpc.name for rpc in rpcs]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise RuntimeError(f"RPC names must be unique across services: {', '.join(duplicated)}")
    return tuple(rpcs)


def contract_services() -> list[str]:
    """Full names of the contract's services, sorted."""
    return sorted({rpc.service for rpc in contract_rpcs()})


class Admission:
    """Admission control: how many calls are in the engine, and the limit.

    Only the event loop's thread touches it, so a plain counter is exact.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the limit of calls in flight must be >= 1")
        self.limit = limit
        self.in_flight = 0
        self.shed = 0
        """Calls refused OVERLOADED so far."""


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


def _decoder(request_class: type[Message]) -> Callable[[bytes], Message | Undecodable]:
    """The request deserializer of an RPC: never raises (gRPC would answer UNKNOWN)."""
    parse = request_class.FromString
    message = request_class.DESCRIPTOR

    def decode(data: bytes) -> Message | Undecodable:
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


def _behavior(
    engine: EngineLike, rpc: Rpc, admission: Admission
) -> Callable[[Message, Any], Awaitable[Message]]:
    """The handler of one RPC: refuse what cannot be served, forward to the engine,
    map refusals and faults."""

    async def handle(request: Message | Undecodable, context: Any) -> Message:
        if isinstance(request, Undecodable):
            await abort_with(context, error_status(request.refusal()))
        if admission.in_flight >= admission.limit:
            admission.shed += 1
            await abort_with(context, overloaded_status(admission.limit))
        admission.in_flight += 1
        try:
            response = await engine.call(rpc.name, request)
            if not isinstance(response, rpc.response_class):
                raise TypeError(f"engine answered {rpc.name} with {type(response).__name__}")
            return response
        except InternalError as exc:
            log.error(
                "engine reported an internal error",
                extra={"fields": {"method": rpc.full_method, "request_id": REQUEST_ID.get()}},
                exc_info=exc,
            )
            await abort_with(context, error_status(exc))
        except MarginError as exc:
            await abort_with(context, error_status(exc))
        except Exception:
            # SPEC §11: no stack trace on the wire; the log has it, under the request id.
            log.exception(
                "unexpected fault",
                extra={"fields": {"method": rpc.full_method, "request_id": REQUEST_ID.get()}},
            )
            await abort_with(context, internal_status())
        finally:
            admission.in_flight -= 1

    handle.__name__ = handle.__qualname__ = rpc.name
    return handle


def _deterministic(message: Message) -> bytes:
    return message.SerializeToString(deterministic=True)


def add_engine_services(server: Any, engine: EngineLike, admission: Admission | None = None) -> list[str]:
    """Register every RPC of the contract on ``server`` (a ``grpc.aio.Server``), served by
    ``engine`` under ``admission`` (default: :data:`DEFAULT_MAX_IN_FLIGHT` calls);
    returns the full names of the services registered."""
    admission = admission if admission is not None else Admission(DEFAULT_MAX_IN_FLIGHT)
    by_service: dict[str, dict[str, Any]] = {}
    for rpc in contract_rpcs():
        by_service.setdefault(rpc.service, {})[rpc.name] = grpc.unary_unary_rpc_method_handler(
            _behavior(engine, rpc, admission),
            request_deserializer=_decoder(rpc.request_class),
            # Deterministic: an idempotent replay's response is byte-identical to the
            # original (map fields in a stable order).
            response_serializer=_deterministic,
        )
    for service, handlers in by_service.items():
        # As the generated add_*Servicer_to_server do: a generic handler, and the
        # registered-method fast path.
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
        server.add_registered_method_handlers(service, handlers)
    return sorted(by_service)


__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "Admission",
    "EngineLike",
    "Rpc",
    "Undecodable",
    "add_engine_services",
    "contract_rpcs",
    "contract_services",
]

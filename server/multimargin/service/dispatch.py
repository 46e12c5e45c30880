"""Every RPC of the ``multimargin.v1`` contract, served by one generic handler.

The services are not written by hand: :func:`contract_rpcs` reads them from the
descriptors of the generated modules in :mod:`multimargin.v1`, and
:func:`add_engine_services` registers, for each method, a handler that does
``await engine.call("<Rpc>", request)`` and maps a refusal to a gRPC status in one
place (:mod:`multimargin.service.errors`). A new RPC in the ``.proto`` files is
served as soon as the code is regenerated and the engine knows its name.

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
from google.protobuf import message_factory
from google.protobuf.message import Message

import multimargin.v1
from multimargin.errors import InternalError, MarginError
from multimargin.service.errors import abort_with, error_status, internal_status
from multimargin.service.interceptors import REQUEST_ID

log = logging.getLogger("multimargin.service")


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


def _behavior(engine: EngineLike, rpc: Rpc) -> Callable[[Message, Any], Awaitable[Message]]:
    """The handler of one RPC: forward to the engine, map refusals and faults."""

    async def handle(request: Message, context: Any) -> Message:
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

    handle.__name__ = handle.__qualname__ = rpc.name
    return handle


def _deterministic(message: Message) -> bytes:
    return message.SerializeToString(deterministic=True)


def add_engine_services(server: Any, engine: EngineLike) -> list[str]:
    """Register every RPC of the contract on ``server`` (a ``grpc.aio.Server``), served by
    ``engine``; returns the full names of the services registered."""
    by_service: dict[str, dict[str, Any]] = {}
    for rpc in contract_rpcs():
        by_service.setdefault(rpc.service, {})[rpc.name] = grpc.unary_unary_rpc_method_handler(
            _behavior(engine, rpc),
            request_deserializer=rpc.request_class.FromString,
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


__all__ = ["EngineLike", "Rpc", "add_engine_services", "contract_rpcs", "contract_services"]

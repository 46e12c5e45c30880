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
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import grpc
from google.protobuf.message import Message

from multimargin.contract import Rpc, contract_rpcs, contract_services
from multimargin.errors import InternalError, MarginError
from multimargin.service.errors import abort_with, error_status, internal_status
from multimargin.service.interceptors import REQUEST_ID

log = logging.getLogger("multimargin.service")


class EngineLike(Protocol):
    """What the service needs of :class:`multimargin.state.engine.Engine`."""

    async def call(self, method: str, request: Message) -> Message:
        """Apply or answer one request (``method`` is the RPC's short name)."""

    def stream(self, method: str, request: Message) -> AsyncIterator[Message]:
        """The responses of a server-streaming RPC."""

    @property
    def fatal(self) -> asyncio.Future[None]:
        """Completes, with the exception, when the durable store has failed."""

    async def close(self) -> None:
        """Flush the store, write a final snapshot and close."""


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


def _stream_behavior(engine: EngineLike, rpc: Rpc) -> Callable[[Message, Any], AsyncIterator[Message]]:
    """The handler of a server-streaming RPC: the engine's responses, errors mapped as
    for unary calls."""

    async def handle(request: Message, context: Any) -> AsyncIterator[Message]:
        try:
            async for response in engine.stream(rpc.name, request):
                yield response
        except MarginError as exc:
            await abort_with(context, error_status(exc))
        except Exception:
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
        if rpc.server_streaming:
            handler = grpc.unary_stream_rpc_method_handler(
                _stream_behavior(engine, rpc),
                request_deserializer=rpc.request_class.FromString,
                response_serializer=_deterministic,
            )
        else:
            handler = grpc.unary_unary_rpc_method_handler(
                _behavior(engine, rpc),
                request_deserializer=rpc.request_class.FromString,
                # Deterministic: an idempotent replay's response is byte-identical to
                # the original (map fields in a stable order).
                response_serializer=_deterministic,
            )
        by_service.setdefault(rpc.service, {})[rpc.name] = handler
    for service, handlers in by_service.items():
        # As the generated add_*Servicer_to_server do: a generic handler, and the
        # registered-method fast path.
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
        server.add_registered_method_handlers(service, handlers)
    return sorted(by_service)


__all__ = ["EngineLike", "Rpc", "add_engine_services", "contract_rpcs", "contract_services"]

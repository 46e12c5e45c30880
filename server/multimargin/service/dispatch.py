"""Every RPC of the ``multimargin.v1`` contract, served by one generic handler.

The services are not written by hand: :func:`contract_rpcs` reads them from the
descriptors of the generated modules in :mod:`multimargin.v1`, and
:func:`add_engine_services` registers, for each method, a handler that does
``await engine.call("<Rpc>", request)`` and maps a refusal to a gRPC status in one
place (:mod:`multimargin.service.errors`). A new RPC in the ``.proto`` files is
served as soon as the code is regenerated and the engine knows its name.

Refusals that happen here, before the engine sees a call:

* **Access**: authentication, per-principal rate limits, authorization and the deadline
  a mutation must carry, in one place (:mod:`multimargin.service.access`, :class:`Guard`),
  before the call takes an admission slot.
* **Undecodable bytes** (not the request message, or a string field that is not
  UTF-8) are INVALID_ARGUMENT with an ErrorInfo naming the field when it can be
  found (SPEC §11), and a request over the size limit RESOURCE_EXHAUSTED
  (``MESSAGE_TOO_LARGE``): the request deserializer never raises, it hands the
  handler a :data:`Refused` to refuse.
* **Overload** is admission control in one place, :class:`Admission`
  (:mod:`multimargin.service.admission`), the first thing a handler does: a call beyond
  ``limit`` calls in the engine, one that waited too long to reach its handler, or one
  that comes when the server has had no CPU to spare for too long is answered
  RESOURCE_EXHAUSTED (reason ``OVERLOADED``) at once, before any other work. gRPC's own
  limits are set high enough never to act first (:func:`multimargin.service.server.make_server`).

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
from multimargin.service.access import PRINCIPAL, Guard
from multimargin.service.admission import Admission
from multimargin.service.decoding import DEFAULT_MAX_MESSAGE_BYTES, Refused, Undecodable, decoder
from multimargin.service.errors import abort_wire, abort_with, error_status, internal_status, overloaded_wire
from multimargin.service.interceptors import REQUEST_ID
from multimargin.service.principals import ANONYMOUS, Principal
from multimargin.service.routing import CALL_CONTEXT, Relayed

log = logging.getLogger("multimargin.service")

#: Calls in the engine at once; more are refused RESOURCE_EXHAUSTED (OVERLOADED).
DEFAULT_MAX_IN_FLIGHT = 1024


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


async def _shed_if_overloaded(admission: Admission, context: Any, *, limit_only: bool = False) -> None:
    """Refuse the call OVERLOADED when :meth:`Admission.refusal` says so (or, with
    ``limit_only``, when the engine has its limit of calls: :meth:`Admission.full`)."""
    rule = admission.full() if limit_only else admission.refusal()
    if rule is not None:
        await abort_wire(context, overloaded_wire(admission.limit, admission.message(rule)))


async def _enter(
    guard: Guard, rpc: Rpc, request: Message | Refused, context: Any
) -> tuple[Principal, Message]:
    """The one choke point before a call takes an admission slot (:mod:`.access`):
    authenticate, rate-limit, refuse undecodable or oversized bytes, authorize, require a
    deadline on a mutation. A refusal ends the call here, having changed nothing."""
    CALL_CONTEXT.set(context)  # a cluster router forwards with it (.routing)
    try:
        if guard.authenticates:
            principal = await guard.authenticate(context.invocation_metadata())
        else:
            principal = ANONYMOUS
        PRINCIPAL.set(principal)
        guard.take(principal)
        if isinstance(request, Refused):
            raise request.refusal()
        guard.authorize(rpc, principal, request)
        guard.require_deadline(rpc, context.time_remaining())
    except MarginError as exc:
        await abort_with(context, error_status(exc))
    return principal, request


def _behavior(
    engine: EngineLike, rpc: Rpc, admission: Admission, guard: Guard
) -> Callable[[Message, Any], Awaitable[Message]]:
    """The handler of one RPC: refuse what cannot be served, forward to the engine,
    map refusals and faults."""

    async def handle(received: Message | Refused, context: Any) -> Message:
        await _shed_if_overloaded(admission, context)
        _, request = await _enter(guard, rpc, received, context)
        # Checking a new token may have waited: the limit is checked again.
        await _shed_if_overloaded(admission, context, limit_only=True)
        admission.in_flight += 1
        try:
            response = await engine.call(rpc.name, request)
            if not isinstance(response, rpc.response_class):
                raise TypeError(f"engine answered {rpc.name} with {type(response).__name__}")
            return response
        except Relayed as exc:  # cluster mode: an owner's answer, or SHARD_MOVING
            await exc.abort(context)
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


def _stream_behavior(
    engine: EngineLike, rpc: Rpc, admission: Admission, guard: Guard
) -> Callable[[Message | Refused, Any], AsyncIterator[Message]]:
    """The handler of a server-streaming RPC: the engine's responses, with the same
    refusals and error mapping as unary calls. A stream holds no admission slot while
    it waits for events; it is refused when the server is overloaded as it starts, or
    when its principal has its limit of streams open. A principal restricted to some
    accounts sees only their events."""

    async def handle(received: Message | Refused, context: Any) -> AsyncIterator[Message]:
        await _shed_if_overloaded(admission, context)
        principal, request = await _enter(guard, rpc, received, context)
        try:
            guard.open_stream(principal)
        except MarginError as exc:
            await abort_with(context, error_status(exc))
        visible = guard.event_filter(principal)
        try:
            async for response in engine.stream(rpc.name, request):
                if visible is None or visible(_event_account(response)):
                    yield response
        except Relayed as exc:
            await exc.abort(context)
        except MarginError as exc:
            await abort_with(context, error_status(exc))
        except Exception:
            log.exception(
                "unexpected fault",
                extra={"fields": {"method": rpc.full_method, "request_id": REQUEST_ID.get()}},
            )
            await abort_with(context, internal_status())
        finally:
            guard.close_stream(principal)

    handle.__name__ = handle.__qualname__ = rpc.name
    return handle


def _event_account(response: Any) -> str:
    account_id: str = response.event.account_id
    return account_id


def _deterministic(message: Message) -> bytes:
    return message.SerializeToString(deterministic=True)


def add_engine_services(
    server: Any,
    engine: EngineLike,
    admission: Admission | None = None,
    guard: Guard | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> list[str]:
    """Register every RPC of the contract on ``server`` (a ``grpc.aio.Server``), served by
    ``engine`` under ``admission`` (default: :data:`DEFAULT_MAX_IN_FLIGHT` calls) and
    ``guard`` (default: every call anonymous, no rate limit); a request over
    ``max_message_bytes`` is refused RESOURCE_EXHAUSTED (``MESSAGE_TOO_LARGE``).
    Returns the full names of the services registered."""
    admission = admission if admission is not None else Admission(DEFAULT_MAX_IN_FLIGHT)
    guard = guard if guard is not None else Guard(None, contract_rpcs())
    by_service: dict[str, dict[str, Any]] = {}
    for rpc in contract_rpcs():
        if rpc.server_streaming:
            handler = grpc.unary_stream_rpc_method_handler(
                _stream_behavior(engine, rpc, admission, guard),
                request_deserializer=decoder(rpc.request_class, max_message_bytes),
                response_serializer=_deterministic,
            )
        else:
            handler = grpc.unary_unary_rpc_method_handler(
                _behavior(engine, rpc, admission, guard),
                request_deserializer=decoder(rpc.request_class, max_message_bytes),
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


__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "Admission",
    "EngineLike",
    "Guard",
    "Rpc",
    "Undecodable",
    "add_engine_services",
    "contract_rpcs",
    "contract_services",
]

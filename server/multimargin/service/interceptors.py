"""The server interceptor: a request id for every call, and one JSON log line per call.

It wraps the unary handlers (every multimargin RPC and the health ``Check``);
streaming handlers (health ``Watch``, reflection) pass through untouched.

* **Request id.** :func:`choose_request_id` picks the call's id — the request's own
  ``request_id`` field (AIP-155) when set, else the ``x-request-id`` metadata the
  client sent, else a fresh one. The id a client sent is the id it sees: one it sent
  that is not a valid id (:func:`multimargin.state.validate.request_id`) refuses the
  call INVALID_ARGUMENT naming ``request_id`` or ``x-request-id``, rather than being
  replaced. The id is visible to the code below through :data:`REQUEST_ID` and echoed
  in trailing metadata ``x-request-id`` (on errors too: see
  :func:`multimargin.service.errors.abort_with`).
* **Access log.** Method, request id, principal (once authenticated: see
  :mod:`multimargin.service.access`), account id (when the request has one), status
  code and latency, on logger ``multimargin.access``, once the call has ended (any
  outcome, refusals of the request id included). Health checks, and calls shed for
  overload (:mod:`multimargin.service.admission` counts those), log at DEBUG so a
  container probe does not flood the log. Records go through the queue of
  :mod:`multimargin.service.logs`: logging never blocks a call.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc

from multimargin.errors import InvalidInputError
from multimargin.service.access import PRINCIPAL
from multimargin.service.admission import SHED, stamp_arrival
from multimargin.service.errors import abort_with, error_status
from multimargin.service.logs import ACCESS_LOGGER, log_access
from multimargin.state import validate

if TYPE_CHECKING:
    from multimargin.service.metrics import Metrics

#: Metadata key of the request id, in both directions.
REQUEST_ID_KEY = "x-request-id"

#: The request id of the call being handled (empty outside a call).
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("multimargin_request_id", default="")

access_log = logging.getLogger(ACCESS_LOGGER)

_HEALTH_PREFIX = "/grpc.health.v1.Health/"

Behavior = Callable[[Any, Any], Awaitable[Any]]
Continuation = Callable[[Any], Awaitable[Any]]


def new_request_id() -> str:
    """A fresh request id (32 hex digits): a random (version 4) UUID, as
    ``uuid.uuid4().hex`` writes it, without building the UUID object or a system call
    per id (a correlation id, not a secret: the process's seeded generator is enough).

    >>> import uuid
    >>> uuid.UUID(new_request_id()).version
    4
    """
    n = _random_bits(128)
    n = (n & ~_UUID_FIXED_BITS) | _UUID4_BITS
    return f"{n:032x}"


# The version (4) and variant (RFC 4122) bits of a random UUID, as uuid.UUID sets them.
_UUID_FIXED_BITS = (0xF000 << 64) | (0xC000 << 48)
_UUID4_BITS = (0x4000 << 64) | (0x8000 << 48)
_random_bits = random.Random().getrandbits  # seeded from the OS at start
_HAS_REQUEST_ID: dict[type, bool] = {}


def _own_request_id(request: Any) -> Any:
    """The request's ``request_id`` field, or None when its message has none (known per
    message class: a missing attribute costs an exception)."""
    cls = type(request)
    has = _HAS_REQUEST_ID.get(cls)
    if has is None:
        descriptor = getattr(cls, "DESCRIPTOR", None)
        fields = getattr(descriptor, "fields_by_name", None)
        has = _HAS_REQUEST_ID[cls] = fields is None or "request_id" in fields
    return getattr(request, "request_id", None) if has else None


def choose_request_id(request: Any, metadata: Any) -> str:
    """The request id of a call: the request's ``request_id`` field, else ``x-request-id``
    metadata, else a new one. An id the client sent that is not valid raises
    :class:`~multimargin.errors.InvalidInputError` naming where it came from.

    >>> class R:
    ...     request_id = ""
    >>> choose_request_id(R(), (("x-request-id", "abc-1"),))
    'abc-1'
    >>> R.request_id = "req-7"
    >>> choose_request_id(R(), (("x-request-id", "abc-1"),))
    'req-7'
    >>> R.request_id = "req 7"
    >>> try:
    ...     choose_request_id(R(), ())
    ... except InvalidInputError as e:
    ...     (e.reason, e.field)
    ('INVALID_ARGUMENT', 'request_id')
    """
    own = _own_request_id(request)
    if isinstance(own, str) and own:
        return validate.request_id(own)
    for key, value in metadata or ():
        if key == REQUEST_ID_KEY and value:
            if not isinstance(value, str):  # a "-bin" key would be bytes; ours is not one
                raise InvalidInputError("must be text", "INVALID_ARGUMENT", REQUEST_ID_KEY)
            return validate.request_id(value, REQUEST_ID_KEY)
    return new_request_id()


def _wrap_unary(handler: Any, wrap: Callable[[Behavior], Behavior]) -> Any:
    """``handler`` with its unary-unary behavior wrapped; other handlers unchanged."""
    if handler is None or handler.request_streaming or handler.response_streaming:
        return handler
    return grpc.unary_unary_rpc_method_handler(
        wrap(handler.unary_unary),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


async def _call(behavior: Callable[[Any, Any], Any], request: Any, context: Any) -> Any:
    """Run a behavior that may be a coroutine function or a plain function."""
    result = behavior(request, context)
    if inspect.isawaitable(result):
        result = await result
    return result


def _account_id(request: Any) -> str | None:
    descriptor = getattr(request, "DESCRIPTOR", None)
    if descriptor is not None and "account_id" in descriptor.fields_by_name:
        value = request.account_id
        if isinstance(value, str) and value:
            return value if len(value) <= 128 else value[:125] + "..."  # ids are short; inputs may not be
    return None


def _status_name(code: Any) -> str:
    return code.name if isinstance(code, grpc.StatusCode) else "OK"


class CallInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc is untyped
    """Gives each unary call a request id, echoes it back, and logs the call once it ended
    (and observes its latency in ``metrics``, when given).

    The wrapped handler of a method is made once and kept (the call's metadata is read
    from its context), so a call costs no new closures or handler objects."""

    def __init__(
        self, metrics: Metrics | None = None, arrival_clock: Callable[[], float] | None = None
    ) -> None:
        self._metrics = metrics
        self._clock = arrival_clock  # admission's clock: stamps each call's arrival
        self._wrapped: dict[str, tuple[Any, Any]] = {}  # method -> (handler, wrapped handler)

    async def intercept_service(self, continuation: Continuation, details: Any) -> Any:
        """Stamp the call's arrival for admission control and wrap the handler of the
        call described by ``details``."""
        method: str = details.method
        if self._clock is not None:
            stamp_arrival(method, self._clock)
        handler = await continuation(details)
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = _wrap_unary(handler, lambda behavior: self._wrap(method, behavior))
        if handler is not None:
            self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, method: str, behavior: Behavior) -> Behavior:
        level = logging.DEBUG if method.startswith(_HEALTH_PREFIX) else logging.INFO
        metrics = self._metrics
        is_coroutine = inspect.iscoroutinefunction(behavior)

        async def handled(request: Any, context: Any) -> Any:
            start = time.perf_counter()
            code = "UNKNOWN"
            refusal: InvalidInputError | None = None
            try:
                request_id = choose_request_id(request, context.invocation_metadata())
            except InvalidInputError as exc:
                request_id, refusal = new_request_id(), exc
            token = REQUEST_ID.set(request_id)
            try:
                context.set_trailing_metadata(((REQUEST_ID_KEY, request_id),))
                if refusal is not None:
                    await abort_with(context, error_status(refusal))
                if is_coroutine:
                    response = await behavior(request, context)
                else:
                    response = await _call(behavior, request, context)
                code = _status_name(context.code())
                return response
            except BaseException as exc:
                # An abort (the error mapping) leaves its code on the context;
                # a cancelled task means the client or a forced shutdown went away.
                if isinstance(exc, grpc.aio.AbortError):
                    code = _status_name(context.code())
                elif isinstance(exc, asyncio.CancelledError):
                    code = "CANCELLED"
                raise
            finally:
                elapsed = time.perf_counter() - start
                if metrics is not None:
                    metrics.observe_rpc(method, code, elapsed)
                # A call shed for overload logs at DEBUG (admission.py counts them).
                call_level = logging.DEBUG if SHED.get() else level
                if access_log.isEnabledFor(call_level):
                    principal = PRINCIPAL.get()
                    log_access(
                        call_level,
                        {
                            "method": method,
                            "request_id": request_id,
                            "principal": principal.name if principal is not None else None,
                            "account_id": _account_id(request),
                            "code": code,
                            "latency_ms": round(elapsed * 1000, 3),
                        },
                    )
                REQUEST_ID.reset(token)

        return handled


__all__ = [
    "REQUEST_ID",
    "REQUEST_ID_KEY",
    "CallInterceptor",
    "choose_request_id",
    "new_request_id",
]

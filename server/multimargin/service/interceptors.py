"""Server interceptors: a request id for every call, and one JSON log line per call.

Both wrap the unary handlers (every multimargin RPC and the health ``Check``);
streaming handlers (health ``Watch``, reflection) pass through untouched.

* :class:`RequestIdInterceptor` picks the call's request id — the request's own
  ``request_id`` field (AIP-155) when set, else the ``x-request-id`` metadata the
  client sent, else a fresh one — makes it visible to the code below it through
  :data:`REQUEST_ID`, and echoes it to the client in trailing metadata
  ``x-request-id`` (on errors too: see :func:`multimargin.service.errors.abort_with`).
* :class:`AccessLogInterceptor` logs method, request id, account id (when the
  request has one), status code and latency on logger ``multimargin.access``.
  Health checks log at DEBUG so a container probe does not flood the log.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

#: Metadata key of the request id, in both directions.
REQUEST_ID_KEY = "x-request-id"

#: The request id of the call being handled (empty outside a call).
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("multimargin_request_id", default="")

access_log = logging.getLogger("multimargin.access")

# What we accept from a client as an id: printable, no spaces, bounded (it goes into logs).
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,128}")
_HEALTH_PREFIX = "/grpc.health.v1.Health/"

Behavior = Callable[[Any, Any], Awaitable[Any]]
Continuation = Callable[[Any], Awaitable[Any]]


def new_request_id() -> str:
    """A fresh request id (32 hex digits)."""
    return uuid.uuid4().hex


def choose_request_id(request: Any, metadata: Any) -> str:
    """The request id of a call: the request's ``request_id`` field, else ``x-request-id``
    metadata, else a new one. Ids that are empty, over 128 characters or not printable
    ASCII are ignored.

    >>> class R:
    ...     request_id = ""
    >>> choose_request_id(R(), (("x-request-id", "abc-1"),))
    'abc-1'
    >>> R.request_id = "req-7"
    >>> choose_request_id(R(), (("x-request-id", "abc-1"),))
    'req-7'
    """
    own = getattr(request, "request_id", None)
    if isinstance(own, str) and _CLIENT_ID.fullmatch(own):
        return own
    for key, value in metadata or ():
        if key == REQUEST_ID_KEY and isinstance(value, str) and _CLIENT_ID.fullmatch(value):
            return value
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


class RequestIdInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc is untyped
    """Gives each call a request id (see :func:`choose_request_id`) and echoes it back."""

    async def intercept_service(self, continuation: Continuation, details: Any) -> Any:
        """Wrap the handler of the call described by ``details``."""
        metadata = details.invocation_metadata

        def wrap(behavior: Behavior) -> Behavior:
            async def with_request_id(request: Any, context: Any) -> Any:
                request_id = choose_request_id(request, metadata)
                token = REQUEST_ID.set(request_id)
                context.set_trailing_metadata(((REQUEST_ID_KEY, request_id),))
                try:
                    return await _call(behavior, request, context)
                finally:
                    REQUEST_ID.reset(token)

            return with_request_id

        return _wrap_unary(await continuation(details), wrap)


def _account_id(request: Any) -> str | None:
    descriptor = getattr(request, "DESCRIPTOR", None)
    if descriptor is not None and "account_id" in descriptor.fields_by_name:
        value = request.account_id
        if isinstance(value, str) and value:
            return value if len(value) <= 128 else value[:125] + "..."  # ids are short; inputs may not be
    return None


def _status_name(code: Any) -> str:
    return code.name if isinstance(code, grpc.StatusCode) else "OK"


class AccessLogInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc is untyped
    """Logs one structured line per unary call once it has ended (any outcome)."""

    async def intercept_service(self, continuation: Continuation, details: Any) -> Any:
        """Wrap the handler of the call described by ``details``."""
        method: str = details.method
        level = logging.DEBUG if method.startswith(_HEALTH_PREFIX) else logging.INFO

        def wrap(behavior: Behavior) -> Behavior:
            async def logged(request: Any, context: Any) -> Any:
                start = time.perf_counter()
                code = "UNKNOWN"
                try:
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
                    if access_log.isEnabledFor(level):
                        fields = {
                            "method": method,
                            "request_id": REQUEST_ID.get(),
                            "account_id": _account_id(request),
                            "code": code,
                            "latency_ms": round((time.perf_counter() - start) * 1000, 3),
                        }
                        access_log.log(level, "rpc", extra={"fields": fields})

            return logged

        return _wrap_unary(await continuation(details), wrap)


__all__ = [
    "REQUEST_ID",
    "REQUEST_ID_KEY",
    "AccessLogInterceptor",
    "RequestIdInterceptor",
    "choose_request_id",
    "new_request_id",
]

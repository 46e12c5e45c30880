"""How a client call travels: its deadline, its retries, and the one mapping of a
failed call to a :class:`~multimargin.errors.MarginError`.

* :class:`RetryPolicy` bounds a call by one deadline (retries included) and retries the
  failures in transit (:data:`RETRYABLE`) with exponential backoff and jitter, sending
  the **same** request each time, so a mutation keeps its ``request_id`` and is applied
  at most once.
* :func:`error_from` turns a failed call into the exception the library would raise:
  refusals by their SPEC §11 row (status code + ``google.rpc.ErrorInfo``), failures in
  transit as :class:`~multimargin.errors.UnavailableError` subclasses.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from multimargin.errors import (
    AccountNotFoundError,
    DeadlineExceededError,
    InternalError,
    InvalidInputError,
    MarginError,
    OverloadedError,
    PermissionDeniedError,
    PriceUnavailableError,
    RuleViolationError,
    UnauthenticatedError,
    UnavailableError,
    VersionConflictError,
)

Code: Any = grpc.StatusCode
#: Failures in transit that a retry (with the same request) may cure: the server down or
#: restarting, shedding load, draining (it cancels what it cannot finish), or an
#: attempt's own deadline (``attempt_timeout``).
RETRYABLE = frozenset({Code.UNAVAILABLE, Code.RESOURCE_EXHAUSTED, Code.CANCELLED, Code.DEADLINE_EXCEEDED})
#: Attempts shorter than this are not started: the deadline is as good as spent.
MIN_ATTEMPT_SECONDS = 0.01


@dataclass(frozen=True)
class RetryPolicy:
    """``timeout`` bounds a call in seconds, retries included; ``attempt_timeout`` (None:
    the rest of ``timeout``) each attempt. At most ``retries`` extra attempts; the n-th
    waits between half and all of ``backoff × 2^(n−1)`` seconds (at most
    ``max_backoff``), at random, so that shed clients do not come back together."""

    timeout: float = 5.0
    attempt_timeout: float | None = None
    retries: int = 5
    backoff: float = 0.05
    max_backoff: float = 1.0

    def delay(self, attempt: int) -> float:
        """The pause before retry number ``attempt`` (1, 2, ...).

        >>> 0.05 <= RetryPolicy(backoff=0.1).delay(1) <= 0.1
        True
        >>> 0.5 <= RetryPolicy(backoff=0.1, max_backoff=1.0).delay(10) <= 1.0
        True
        """
        ceiling = min(self.max_backoff, self.backoff * float(2 ** (attempt - 1)))
        return ceiling * (0.5 + random.random() / 2)

    def call(self, method: Callable[..., Any], request: Any) -> Any:
        """``method(request)`` within the deadline, retried in transit with the same
        request; a failure raised as :func:`error_from` maps it (the RpcError its cause)."""
        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            budget = remaining if self.attempt_timeout is None else min(remaining, self.attempt_timeout)
            try:
                return method(request, timeout=budget)
            except grpc.RpcError as e:
                code = e.code() if isinstance(e, grpc.Call) else None
                details = (e.details() if isinstance(e, grpc.Call) else "") or ""
                if code in RETRYABLE and not _too_large(code, details) and attempt < self.retries:
                    attempt += 1
                    pause = self.delay(attempt)
                    if deadline - time.monotonic() - pause >= MIN_ATTEMPT_SECONDS:
                        time.sleep(pause)
                        continue
                raise error_from(e) from e


_REFUSALS: dict[Any, type[MarginError]] = {  # SPEC §11, as service/errors.py sends them
    Code.INVALID_ARGUMENT: InvalidInputError,
    Code.NOT_FOUND: AccountNotFoundError,
    Code.FAILED_PRECONDITION: RuleViolationError,
    Code.ABORTED: VersionConflictError,
    Code.INTERNAL: InternalError,
    Code.UNAUTHENTICATED: UnauthenticatedError,
    Code.PERMISSION_DENIED: PermissionDeniedError,
}
_TRANSPORT: dict[Any, type[UnavailableError]] = {
    Code.UNAVAILABLE: UnavailableError,
    Code.CANCELLED: UnavailableError,  # a draining server cancels the calls it cannot finish
    Code.DEADLINE_EXCEEDED: DeadlineExceededError,
    Code.RESOURCE_EXHAUSTED: OverloadedError,
}


def _too_large(code: Any, message: str) -> bool:
    """gRPC's own RESOURCE_EXHAUSTED for a request over the size limit: not load, bad input."""
    return code == Code.RESOURCE_EXHAUSTED and "larger than max" in message


def _bare(message: str, reason: str, field: str | None) -> str:
    """The engine's message without the ``field: … (REASON)`` that the server's status
    message wraps it in (``service/errors.py``); :class:`MarginError` adds them back."""
    if field and message.startswith(f"{field}: "):
        message = message[len(field) + 2 :]
    suffix = f" ({reason})"
    return message[: -len(suffix)] if reason and message.endswith(suffix) else message


def error_from(e: grpc.RpcError) -> MarginError:
    """The :class:`~multimargin.errors.MarginError` of a failed call: refusals as the
    library raises them (class, ``reason``, ``field``, message; a refused rule check lists
    every unmet condition), failures in transit as :class:`UnavailableError` subclasses,
    any other status as :class:`InternalError` named by its code."""
    code = e.code() if isinstance(e, grpc.Call) else None
    message = (e.details() if isinstance(e, grpc.Call) else str(e)) or ""
    reason, fld, conditions = "", None, []
    status = rpc_status.from_call(e) if isinstance(e, grpc.Call) else None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, fld = info.reason, info.metadata.get("field") or None
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            pf = error_details_pb2.PreconditionFailure()
            detail.Unpack(pf)
            conditions = [(v.type, v.description) for v in pf.violations]
    if _too_large(code, message):
        return InvalidInputError(message, "INVALID_ARGUMENT", None)
    name = code.name if code is not None else "UNKNOWN"
    transport = _TRANSPORT.get(code)
    if transport is not None:  # e.g. shed by the server's admission control (reason OVERLOADED)
        if reason:
            return transport(_bare(message, reason, fld), reason, fld)
        return transport(message or name)
    if reason:  # a refusal by the engine
        if len(conditions) > 1:  # the engine's message joins the conditions' messages
            return RuleViolationError("; ".join(m for _, m in conditions), reason, fld, conditions)
        message = _bare(message, reason, fld)
        if reason == "PRICE_UNAVAILABLE":
            return PriceUnavailableError(message, reason, fld)
        cls = _REFUSALS.get(code, InternalError) if code is not None else InternalError
        return cls(message, reason, fld)
    return InternalError(message or name, name, None)


__all__ = ["MIN_ATTEMPT_SECONDS", "RETRYABLE", "RetryPolicy", "error_from"]

"""The one mapping of engine errors to gRPC statuses (SPEC §11, AIP-193).

Every refusal leaves the server as a ``google.rpc.Status`` carrying exactly one
``google.rpc.ErrorInfo`` (reason = the SPEC §11 code, domain ``"multimargin"``,
``metadata["field"]`` when the error names a field). A refused rule check that
found several unmet conditions (e.g. a mode switch) also carries a
``google.rpc.PreconditionFailure`` listing each of them, and its status message
names them all. Anything that is not a :class:`~multimargin.errors.MarginError`
is a fault of ours: INTERNAL with a generic message, never a traceback.

>>> from multimargin.errors import AccountNotFoundError
>>> status = error_status(AccountNotFoundError("no account 'a-1'"))
>>> (status.code == code_pb2.NOT_FOUND, status.message)
(True, "account_id: no account 'a-1' (ACCOUNT_NOT_FOUND)")
"""

from __future__ import annotations

import functools
from typing import Any, NoReturn

from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from multimargin.errors import (
    AccountNotFoundError,
    InternalError,
    InvalidInputError,
    MarginError,
    PermissionDeniedError,
    PriceUnavailableError,
    ResourceExhaustedError,
    RuleViolationError,
    UnauthenticatedError,
    VersionConflictError,
)

#: ``ErrorInfo.domain`` of every error this service sends.
DOMAIN = "multimargin"

#: Reason and status message of an unexpected fault; the details stay in the server log.
INTERNAL_REASON = "INTERNAL"
INTERNAL_MESSAGE = "internal error; the request was not applied (quote the x-request-id to the operator)"

# SPEC §11: one status code per row of the table, i.e. per exception class.
_STATUS_CODES: dict[type[MarginError], int] = {  # google.rpc.Code values
    InvalidInputError: code_pb2.INVALID_ARGUMENT,
    AccountNotFoundError: code_pb2.NOT_FOUND,
    PriceUnavailableError: code_pb2.FAILED_PRECONDITION,
    RuleViolationError: code_pb2.FAILED_PRECONDITION,
    VersionConflictError: code_pb2.ABORTED,
    ResourceExhaustedError: code_pb2.RESOURCE_EXHAUSTED,
    InternalError: code_pb2.INTERNAL,
    UnauthenticatedError: code_pb2.UNAUTHENTICATED,
    PermissionDeniedError: code_pb2.PERMISSION_DENIED,
}


def status_code_of(error: MarginError) -> int:
    """The ``google.rpc.Code`` of an engine error: its class's row of SPEC §11.

    Subclasses map like their nearest listed base; a bare :class:`MarginError` is INTERNAL.

    >>> status_code_of(InvalidInputError("bad", "INVALID_DECIMAL", "amount")) == code_pb2.INVALID_ARGUMENT
    True
    """
    for cls in type(error).__mro__:
        code = _STATUS_CODES.get(cls)
        if code is not None:
            return code
    return int(code_pb2.INTERNAL)


#: Longest message sent, in characters. Messages can quote the input, and the status
#: travels in trailing metadata, which clients cap (16 KiB by default in gRPC).
MAX_MESSAGE_CHARS = 1000


def _clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error_info(reason: str, field: str | None) -> Any:
    info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN)
    if field:
        info.metadata["field"] = _clip(field, 200)
    return info


def _describe(message: str, reason: str, field: str | None) -> str:
    where = f"{_clip(field, 200)}: " if field else ""
    return f"{where}{_clip(message)} ({reason})"


def error_status(error: MarginError) -> Any:
    """The ``google.rpc.Status`` of a refusal by the engine.

    >>> e = RuleViolationError("switch refused", "HAS_OPEN_ORDERS",
    ...     conditions=[("HAS_OPEN_ORDERS", "2 open orders"), ("HAS_LIABILITIES", "USDT borrowed")])
    >>> s = error_status(e)
    >>> (s.message, len(s.details))
    ('2 conditions not met: 2 open orders (HAS_OPEN_ORDERS); USDT borrowed (HAS_LIABILITIES)', 2)
    """
    status = status_pb2.Status(code=status_code_of(error))
    status.details.add().Pack(_error_info(error.reason, error.field))
    conditions = error.conditions if isinstance(error, RuleViolationError) else []
    if len(conditions) > 1:
        failure = error_details_pb2.PreconditionFailure()
        for reason, message in conditions:
            failure.violations.add(type=reason, subject=error.field or "", description=_clip(message))
        status.details.add().Pack(failure)
        listed = "; ".join(f"{_clip(message, 200)} ({reason})" for reason, message in conditions)
        status.message = _clip(f"{len(conditions)} conditions not met: {listed}", 4 * MAX_MESSAGE_CHARS)
    else:
        status.message = _describe(error.message, error.reason, error.field)
    return status


def internal_status() -> Any:
    """The ``google.rpc.Status`` of an unexpected fault: INTERNAL, generic message.

    >>> internal_status().code == code_pb2.INTERNAL
    True
    """
    status = status_pb2.Status(code=code_pb2.INTERNAL, message=INTERNAL_MESSAGE)
    status.details.add().Pack(_error_info(INTERNAL_REASON, None))
    return status


#: ``ErrorInfo.reason`` of a call shed under load (SPEC §11: RESOURCE_EXHAUSTED).
OVERLOADED_REASON = "OVERLOADED"


def overloaded_status(limit: int, message: str | None = None) -> Any:
    """The ``google.rpc.Status`` of a call shed because ``limit`` calls are in flight (or
    for the reason ``message`` says: :mod:`multimargin.service.admission`).

    >>> overloaded_status(8).code == code_pb2.RESOURCE_EXHAUSTED
    True
    """
    if message is None:
        message = f"the server is at its limit of {limit} calls in flight; retry with backoff"
    status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=f"{message} ({OVERLOADED_REASON})")
    status.details.add().Pack(_error_info(OVERLOADED_REASON, None))
    return status


@functools.lru_cache(maxsize=32)
def overloaded_wire(limit: int, message: str) -> Any:
    """:func:`overloaded_status` as it goes on the wire (a ``grpc.Status``), made once per
    message: shedding must cost as little as possible."""
    return rpc_status.to_status(overloaded_status(limit, message))


async def abort_with(context: Any, status: Any) -> NoReturn:
    """End the call with ``status`` (a ``google.rpc.Status``), keeping trailing metadata."""
    await abort_wire(context, rpc_status.to_status(status))


async def abort_wire(context: Any, wire: Any) -> NoReturn:
    """End the call with ``wire`` (a ``grpc.Status``), keeping trailing metadata.

    ``context.abort`` replaces the trailing metadata set so far (e.g. ``x-request-id``,
    set by the request-id interceptor), so the status details are appended to it.
    """
    trailing = (*(context.trailing_metadata() or ()), *wire.trailing_metadata)
    await context.abort(wire.code, wire.details, trailing_metadata=trailing)
    raise AssertionError("unreachable: context.abort raises")  # pragma: no cover


__all__ = [
    "DOMAIN",
    "INTERNAL_MESSAGE",
    "INTERNAL_REASON",
    "MAX_MESSAGE_CHARS",
    "OVERLOADED_REASON",
    "abort_wire",
    "abort_with",
    "error_status",
    "internal_status",
    "overloaded_status",
    "overloaded_wire",
    "status_code_of",
]

"""One exception hierarchy for the whole package (SPEC §11).

Every error carries ``reason`` (the SPEC §11 code, e.g. ``"OUT_OF_RANGE"``) and
``field`` (the path of the offending input, e.g. ``"account.wallet.USDT"``, or None).
Input errors are also :class:`ValueError`. The classes follow the rows of the SPEC §11
table, so each maps to exactly one gRPC status.

>>> try:
...     raise InvalidInputError("must be > 0", "OUT_OF_RANGE", "amount")
... except ValueError as e:
...     (e.reason, e.field)
('OUT_OF_RANGE', 'amount')
"""

from __future__ import annotations


class MarginError(Exception):
    """Base of every multimargin error."""

    reason: str
    field: str | None
    message: str

    def __init__(self, message: str, reason: str = "INTERNAL", field: str | None = None) -> None:
        super().__init__(message, reason, field)
        self.message = message
        self.reason = reason
        self.field = field

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{where}{self.message} ({self.reason})"


class InvalidInputError(MarginError, ValueError):
    """Malformed, out-of-range, unknown or inconsistent input (INVALID_ARGUMENT)."""


class AccountNotFoundError(MarginError, LookupError):
    """No such account (NOT_FOUND)."""

    def __init__(
        self, message: str, reason: str = "ACCOUNT_NOT_FOUND", field: str | None = "account_id"
    ) -> None:
        super().__init__(message, reason, field)


class PriceUnavailableError(MarginError):
    """A price the computation needs is missing (FAILED_PRECONDITION)."""


class RuleViolationError(MarginError):
    """A business rule is not met (FAILED_PRECONDITION); may list several conditions."""

    conditions: list[tuple[str, str]]

    def __init__(
        self,
        message: str,
        reason: str,
        field: str | None = None,
        conditions: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message, reason, field)
        self.conditions = conditions if conditions is not None else [(reason, message)]


class VersionConflictError(MarginError):
    """The request's expected version is stale (ABORTED)."""

    def __init__(
        self, message: str, reason: str = "VERSION_CONFLICT", field: str | None = "expected_version"
    ) -> None:
        super().__init__(message, reason, field)


class ResourceExhaustedError(MarginError):
    """The server is out of a resource for this call (RESOURCE_EXHAUSTED): overloaded,
    or a subscriber that fell too far behind."""


class UnauthenticatedError(MarginError):
    """Missing or bad credentials (UNAUTHENTICATED, SPEC §11): no bearer token, or one
    the server does not know."""

    def __init__(self, message: str, reason: str = "UNAUTHENTICATED", field: str | None = None) -> None:
        super().__init__(message, reason, field)


class PermissionDeniedError(MarginError):
    """Valid credentials, but the call is not the caller's to make (PERMISSION_DENIED,
    SPEC §11): another principal's account, or an RPC its roles do not allow."""

    def __init__(self, message: str, reason: str = "PERMISSION_DENIED", field: str | None = None) -> None:
        super().__init__(message, reason, field)


class InternalError(MarginError):
    """A fault of the engine itself (INTERNAL); never a wrong figure."""


class UnavailableError(MarginError):
    """The call did not complete (raised by :mod:`multimargin.client`): the server is
    unreachable or draining (UNAVAILABLE, CANCELLED), or past the call's deadline or
    shedding load after the client's own retries. Whether a mutation was applied is
    unknown; repeating it with the same ``request_id`` is safe (applied at most once)."""

    def __init__(self, message: str, reason: str = "UNAVAILABLE", field: str | None = None) -> None:
        super().__init__(message, reason, field)


class DeadlineExceededError(UnavailableError):
    """The call's deadline passed before an answer came (DEADLINE_EXCEEDED)."""

    def __init__(self, message: str, reason: str = "DEADLINE_EXCEEDED", field: str | None = None) -> None:
        super().__init__(message, reason, field)


class OverloadedError(UnavailableError):
    """The server shed the call (RESOURCE_EXHAUSTED, SPEC §11) every time it was tried."""

    def __init__(self, message: str, reason: str = "RESOURCE_EXHAUSTED", field: str | None = None) -> None:
        super().__init__(message, reason, field)

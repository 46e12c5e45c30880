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


class InternalError(MarginError):
    """A fault of the engine itself (INTERNAL); never a wrong figure."""

"""Field-by-field validation of requests at the edge: every refusal names the request
field and carries its SPEC §11 reason; nothing is changed before all of it passes.

Decimals go through the core's own parser (:func:`multimargin.check_decimal`), so the
wire grammar and the SPEC §1 ranges have one implementation.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from multimargin import Rulebook, check_decimal
from multimargin.errors import InvalidInputError
from multimargin.state.model import dec

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
_REGION = re.compile(r"[A-Z]{2}")
MAX_REQUEST_ID = 128
_REQUEST_ID = re.compile(r"[\x21-\x7e]+")
MAX_BATCH = 1000
MAX_SIMULATED_CHANGES = 100
MAX_OPEN_ORDERS = 1000
MAX_MEMO = 256

RangeName = Literal["signed_quantity", "quantity", "amount", "price", "ratio", "rate"]


def identifier(value: str, field: str) -> str:
    """An account or order id: 1–64 of ``[A-Za-z0-9._:-]``, starting alphanumeric."""
    if not value:
        raise InvalidInputError("is required", "INVALID_ARGUMENT", field)
    if len(value) > 64:
        raise InvalidInputError("is longer than 64 characters", "INVALID_ARGUMENT", field)
    if not _ID.fullmatch(value):
        raise InvalidInputError(
            "may hold only letters, digits and . _ : - (starting with a letter or digit)",
            "INVALID_ARGUMENT",
            field,
        )
    return value


def request_id(value: str, field: str = "request_id") -> str:
    """A client's request id: the idempotency key (AIP-155) of a mutation, and the
    ``x-request-id`` metadata of any call. 1–128 printable ASCII characters, no spaces:
    the id a client sends is the id it sees echoed and logged, or the call is refused.

    >>> try:
    ...     request_id("has space")
    ... except InvalidInputError as e:
    ...     (e.reason, e.field)
    ('INVALID_ARGUMENT', 'request_id')
    """
    if not value:
        raise InvalidInputError("is required on every mutating request", "INVALID_ARGUMENT", field)
    if len(value) > MAX_REQUEST_ID:
        raise InvalidInputError(f"is longer than {MAX_REQUEST_ID} characters", "INVALID_ARGUMENT", field)
    if not _REQUEST_ID.fullmatch(value):
        raise InvalidInputError(
            f"must be 1-{MAX_REQUEST_ID} printable ASCII characters without spaces", "INVALID_ARGUMENT", field
        )
    return value


def decimal(value: str, kind: RangeName, field: str) -> Decimal:
    """A SPEC §1 decimal string within the named range."""
    if value == "":
        raise InvalidInputError("is required", "INVALID_ARGUMENT", field)
    return dec(check_decimal(value, kind, field))


def decimal_text(value: str, kind: RangeName, field: str) -> str:
    """:func:`decimal` in its SPEC §1 output form (what :func:`multimargin.state.model.fmt`
    writes), for a value that goes straight to the core."""
    if value == "":
        raise InvalidInputError("is required", "INVALID_ARGUMENT", field)
    return check_decimal(value, kind, field)


def region(value: str, field: str = "region") -> str:
    """An ISO 3166-1 alpha-2 code, or empty for none."""
    if value and not _REGION.fullmatch(value):
        raise InvalidInputError(
            f"{value!r} is not a two-letter upper-case region code", "INVALID_ARGUMENT", field
        )
    return value


def asset(rb: Rulebook, value: str, field: str) -> str:
    """A known asset code."""
    if not value:
        raise InvalidInputError("is required", "INVALID_ARGUMENT", field)
    if value not in rb.assets:
        raise InvalidInputError(f"{value!r} is not in the rulebook", "UNKNOWN_ASSET", field)
    return value


def symbol(rb: Rulebook, value: str, field: str) -> str:
    """A known contract symbol."""
    if not value:
        raise InvalidInputError("is required", "INVALID_ARGUMENT", field)
    if value not in rb.contracts:
        raise InvalidInputError(f"{value!r} is not in the rulebook", "UNKNOWN_SYMBOL", field)
    return value


def leverage(value: int, field: str) -> int:
    """An integer leverage, 1–1000."""
    if not 1 <= value <= 1000:
        raise InvalidInputError("must be an integer in 1..=1000", "OUT_OF_RANGE", field)
    return value


def text(value: str, field: str, limit: int) -> str:
    """Free text up to ``limit`` characters."""
    if len(value) > limit:
        raise InvalidInputError(f"is longer than {limit} characters", "INVALID_ARGUMENT", field)
    return value


def count(n: int, limit: int, field: str, *, at_least: int = 0) -> None:
    """A list length within bounds."""
    if n < at_least:
        raise InvalidInputError(f"needs at least {at_least} item(s)", "INVALID_ARGUMENT", field)
    if n > limit:
        raise InvalidInputError(f"holds {n} items; at most {limit} are allowed", "OUT_OF_RANGE", field)

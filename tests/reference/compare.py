"""The SPEC §10 matching rule for results, as a readable diff.

An engine matches an `expected` result when every field of `expected` is present
in its result with the same value: maps (`equity`, `value`, `max_borrow`,
`max_transfer_out`) are compared as whole maps with missing keys as 0, other
objects field by field, `pools` position by position, and `null` only equals
`null`. Decimal strings are compared by value.

>>> diff({"available": "1.50", "max_borrow": {"BTC": "0"}}, {"available": "1.5", "max_borrow": {}})
[]
>>> diff({"margin_level": None}, {"margin_level": "0"})
["margin_level: expected null, got '0'"]
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

__all__ = ["MAP_FIELDS", "diff", "format_problems"]

MAP_FIELDS = frozenset({"equity", "value", "max_borrow", "max_transfer_out"})
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_CANONICAL = re.compile(r"0|-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?")


def _as_decimal(value: Any) -> Fraction | None:
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return Fraction(value)
    return None


def _same_scalar(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    e, a = _as_decimal(expected), _as_decimal(actual)
    if e is not None and a is not None:
        return e == a
    return type(expected) is type(actual) and expected == actual


def _diff_map(expected: Any, actual: Any, path: str) -> list[str]:
    if not isinstance(expected, dict) or not isinstance(actual, dict):
        return [f"{path}: expected a map {expected!r}, got {actual!r}"]
    out = []
    for key in sorted(set(expected) | set(actual)):
        e = expected.get(key, "0")
        a = actual.get(key, "0")
        if not _same_scalar(e, a):
            out.append(f"{path}.{key}: expected {e!r}, got {a!r}")
    return out


def _diff_value(expected: Any, actual: Any, path: str, name: str) -> list[str]:
    if name in MAP_FIELDS:
        return _diff_map(expected, actual, path)
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        return _diff_object(expected, actual, path)
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        out = []
        if len(expected) != len(actual):
            out.append(f"{path}: expected {len(expected)} entries, got {len(actual)}")
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            out += _diff_value(e, a, f"{path}[{i}]", "")
        return out
    if not _same_scalar(expected, actual):
        shown = "null" if expected is None else repr(expected)
        return [f"{path}: expected {shown}, got {actual!r}"]
    return []


def _diff_object(expected: dict[str, Any], actual: dict[str, Any], path: str) -> list[str]:
    out = []
    for key, e in expected.items():
        sub = f"{path}.{key}" if path else key
        if key not in actual:
            out.append(f"{sub}: missing (expected {e!r})")
            continue
        out += _diff_value(e, actual[key], sub, key)
    return out


def diff(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Differences between an expected §10 result and an actual one; [] = match."""
    return _diff_object(expected, actual, "")


def format_problems(result: Any, path: str = "") -> list[str]:
    """Decimal strings in a result that are not in the §1 output form (no trailing
    zeros, no trailing point, no leading zeros, "0" never "-0").

    >>> format_problems({"a": "1.50", "b": {"X": "-0"}, "c": "2"})
    ["a: '1.50' is not canonical", "b.X: '-0' is not canonical"]
    """
    out: list[str] = []
    if isinstance(result, dict):
        for key, value in result.items():
            if key != "id":
                out += format_problems(value, f"{path}.{key}" if path else key)
    elif isinstance(result, list):
        for i, value in enumerate(result):
            out += format_problems(value, f"{path}[{i}]")
    elif isinstance(result, str) and (_CANONICAL.fullmatch(result) is None or result == "-0"):
        out.append(f"{path}: {result!r} is not canonical")
    return out

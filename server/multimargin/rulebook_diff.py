"""``multimargin rulebook diff A.json B.json [--server HOST:PORT]``: what changes from
one rulebook to another, readably; with ``--server``, which accounts the server's
PreviewRulebook says would cross into or out of liquidation or margin call under B.

Both files are validated first (:class:`multimargin.Rulebook`): a refused one prints one
line naming the field and the SPEC §11 reason and exits 2; an unreadable file exits 1.
The comparison walks the SPEC §3 structure: assets and contracts added or removed; per
asset its tier tables row by row, rates, caps, discount, liability and borrow
parameters; per contract its risk tiers; the settings. Numbers compare by value
(``"0.950"`` equals ``"0.95"``), and ``_``-keys (comments) are ignored.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import multimargin
from multimargin.errors import MarginError, UnavailableError

EXIT_INPUT = 2
EXIT_FAILURE = 1
ARROW = "→"
ABSENT = "—"

#: Column names of the tier tables (SPEC §3.2, §3.3), by the table's key.
COLUMNS: dict[str, tuple[str, ...]] = {
    "collateral_tiers": ("up_to qty", "rate"),
    "haircut_tiers": ("up_to USDT", "rate"),
    "pro_tiers": ("up_to USDT", "imr", "mmr"),
    "vip_limits": ("vip level", "max borrowed"),
    "risk_tiers": ("up_to notional", "mmr", "max leverage"),
}

_MISSING: Any = object()
Line = tuple[str, str | None, str | None]  # (label, old, new); old/new None: a heading


def _cell(value: Any) -> str:
    if value is _MISSING:
        return ABSENT
    if value is None:
        return "∞"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value) or "[]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _same(a: Any, b: Any) -> bool:
    """Equal, numbers by value (``"1.0"`` is ``"1"``); booleans are not numbers."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    numbers = (a, b)
    if all(isinstance(x, str | int) and not isinstance(x, bool) for x in numbers):
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except InvalidOperation:
            pass
    return type(a) is type(b) and bool(a == b)


def _is_table(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(r, list) for r in value)


def _walk(path: str, a: Any, b: Any, out: list[Line]) -> None:
    """Appends the differences between ``a`` and ``b`` (either may be absent) at ``path``."""
    if isinstance(a, dict) or isinstance(b, dict):
        old = a if isinstance(a, dict) else {}
        new = b if isinstance(b, dict) else {}
        if not (isinstance(a, dict) and isinstance(b, dict)) and a is not _MISSING and b is not _MISSING:
            out.append((path, _cell(a), _cell(b)))  # a section became a scalar (or back)
            return
        for key in [*old, *(k for k in new if k not in old)]:
            if not key.startswith("_"):
                _walk(f"{path}.{key}" if path else key, old.get(key, _MISSING), new.get(key, _MISSING), out)
        return
    if _is_table(a) or _is_table(b):
        _table(path, a if _is_table(a) else [], b if _is_table(b) else [], out)
        return
    if not _same(a, b):
        out.append((path, _cell(a), _cell(b)))


def _table(path: str, a: list[Any], b: list[Any], out: list[Line]) -> None:
    """A tier table row by row; a heading names its columns."""
    columns = COLUMNS.get(path.rsplit(".", 1)[-1])
    rows: list[Line] = []
    for i in range(max(len(a), len(b))):
        old = a[i] if i < len(a) else _MISSING
        new = b[i] if i < len(b) else _MISSING
        if old is _MISSING or new is _MISSING or not _same(old, new):
            rows.append((f"  row {i + 1}", _row(old), _row(new)))
    if rows:
        out.append((f"{path} ({' / '.join(columns)})" if columns else path, None, None))
        out.extend(rows)


def _row(row: Any) -> str:
    return ABSENT if row is _MISSING else " / ".join(_cell(c) for c in row)


def _named(kind: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[list[str], list[Line]]:
    """Assets or contracts: the added/removed summary lines, and one section per changed one."""
    head = []
    added = [k for k in b if k not in a and not k.startswith("_")]
    removed = [k for k in a if k not in b and not k.startswith("_")]
    if added:
        head.append(f"{kind}s added:   {', '.join(added)}")
    if removed:
        head.append(f"{kind}s removed: {', '.join(removed)}")
    body: list[Line] = []
    for name in a:
        if name in b and not name.startswith("_"):
            section: list[Line] = []
            _walk("", a[name], b[name], section)
            if section:
                body.append((f"{kind} {name}", None, None))
                body.extend((f"  {label}", old, new) for label, old, new in section)
    return head, body


def diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """The differences from rulebook ``a`` to ``b`` as aligned lines (empty: none).

    >>> a = {"assets": {"ETH": {"discount": "0.9", "haircut_tiers": [["1000", "1"], [None, "0.9"]]}}}
    >>> b = {"assets": {"ETH": {"discount": "0.90", "haircut_tiers": [["2000", "1"], [None, "0.9"]]}}}
    >>> print("\\n".join(diff(a, b)))
    asset ETH
      haircut_tiers (up_to USDT / rate)
        row 1  1000 / 1  → 2000 / 1
    """
    head: list[str] = []
    body: list[Line] = []
    for kind, key in (("asset", "assets"), ("contract", "contracts")):
        h, lines = _named(kind, a.get(key, {}), b.get(key, {}))
        head += h
        body += lines
    settings: list[Line] = []
    _walk("", a.get("settings", {}), b.get("settings", {}), settings)
    if settings:
        body.append(("settings", None, None))
        body.extend((f"  {label}", old, new) for label, old, new in settings)
    return head + _aligned(body)


def _aligned(lines: Sequence[Line]) -> list[str]:
    changes = [(label, old, new) for label, old, new in lines if old is not None and new is not None]
    if not changes:
        return [label for label, _, _ in lines]
    lw = max(len(label) for label, _, _ in changes)
    ow = max(len(old) for _, old, _ in changes)
    return [
        label if old is None or new is None else f"{label.ljust(lw)}  {old.ljust(ow)}  {ARROW} {new}"
        for label, old, new in lines
    ]


def _load(path: str) -> tuple[str, dict[str, Any]]:
    """The text of a rulebook file, validated; its JSON."""
    text = Path(path).read_text("utf-8")
    multimargin.Rulebook(text)  # raises the SPEC §11 refusal of an invalid rulebook
    parsed: dict[str, Any] = json.loads(text)
    return text, parsed


def _crossings(server: str, rulebook: str) -> list[str]:
    from multimargin.client import Client

    with Client(server, timeout=30.0) as client:
        preview = client.preview_rulebook(rulebook)
    lines = [
        f"on {server} (rulebook version {preview.rulebook_version}, "
        f"{preview.accounts_evaluated} accounts evaluated): {len(preview.crossings)} would cross"
    ]
    if preview.crossings:
        width = max(len("account"), *(len(c.account_id) for c in preview.crossings))
        lines.append(f"  {'account'.ljust(width)}  {'liquidatable'.ljust(13)}  margin call")
        for c in preview.crossings:
            liq = f"{_yes(c.liquidatable_before)} {ARROW} {_yes(c.liquidatable_after)}"
            call = f"{_yes(c.margin_call_before)} {ARROW} {_yes(c.margin_call_after)}"
            lines.append(f"  {c.account_id.ljust(width)}  {liq.ljust(13)}  {call}")
    return lines


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def run(args: argparse.Namespace) -> int:
    """The ``rulebook diff`` command."""
    loaded = []
    for path in (args.old, args.new):
        try:
            loaded.append(_load(path))
        except OSError as e:
            print(f"error: cannot read {path}: {e.strerror}", file=sys.stderr)
            return EXIT_FAILURE
        except MarginError as e:
            print(f"error: {path}: {e}", file=sys.stderr)
            return EXIT_INPUT
    (_, old), (new_text, new) = loaded
    lines = diff(old, new)
    print(f"{args.old} {ARROW} {args.new}")
    print("\n".join(lines) if lines else "no changes")
    if args.server:
        try:
            print("\n".join(_crossings(args.server, new_text)))
        except UnavailableError as e:
            print(f"error: {args.server}: {e}", file=sys.stderr)
            return EXIT_FAILURE
        except MarginError as e:
            print(f"error: {args.server}: {e}", file=sys.stderr)
            return EXIT_INPUT
    return 0


def add_command(sub: Any) -> None:
    """Registers ``rulebook diff`` with the ``multimargin`` parser."""
    rb = sub.add_parser("rulebook", help="rulebook tools: diff")
    rb_sub = rb.add_subparsers(dest="rulebook_command", required=True)
    df = rb_sub.add_parser(
        "diff",
        help="what changes from rulebook A to B (and, with --server, which accounts would cross)",
    )
    df.add_argument("old", help="the current rulebook JSON (A)")
    df.add_argument("new", help="the candidate rulebook JSON (B)")
    df.add_argument("--server", metavar="HOST:PORT", help="preview B on this server (PreviewRulebook)")
    df.set_defaults(func=run)

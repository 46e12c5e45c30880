"""Principals: who may call the server, with which roles, on which accounts.

The principals file (``multimargin serve --auth FILE``) is TOML, one table per principal::

    [[principal]]
    name = "alice"                       # shown in the access log
    roles = ["trader"]                   # trader, operator, market_data (one or more)
    accounts = ["alice-futures", "alice-margin"]   # or "*": every account
    key_id = "3f9c1a7e0b2d4c65"          # not secret: names the entry a token belongs to
    token_hash = "scrypt$16384$8$1$<salt hex>$<hash hex>"

A token is ``mm_<key_id>_<secret>`` and is sent as ``authorization: Bearer <token>``
metadata. Only a salted scrypt hash of it is stored; the token itself is printed once, by
``multimargin principal add``. The key id finds the one entry to check, so a wrong token
costs one hash, never one per principal; the comparison is constant-time
(:func:`hmac.compare_digest`).

>>> token, entry = new_principal_entry("ops", ["operator"], "*", work=2**10)
>>> principal = load_principals_text(entry).verify(token)
>>> (principal.name, sorted(principal.roles), principal.accounts)
('ops', ['operator'], None)
>>> load_principals_text(entry).verify(token + "x") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: The roles a principal may hold.
TRADER = "trader"
OPERATOR = "operator"
MARKET_DATA = "market_data"
ROLES = frozenset({TRADER, OPERATOR, MARKET_DATA})

#: scrypt work factor of new entries (n); r = 8, p = 1: ~16 MiB and tens of ms per hash.
SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1
_MAXMEM = 64 * 1024 * 1024

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@\-]{0,63}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_TOKEN = re.compile(r"mm_([0-9a-f]{16})_([A-Za-z0-9_\-]{20,128})")
_HASH = re.compile(r"scrypt\$(\d+)\$(\d+)\$(\d+)\$([0-9a-f]{16,128})\$([0-9a-f]{64})")


class PrincipalsError(ValueError):
    """The principals file is unreadable or invalid (the message names the entry)."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    name: str
    roles: frozenset[str]
    accounts: frozenset[str] | None
    """The accounts it may act on; None for every account (``"*"``)."""

    def has(self, *roles: str) -> bool:
        """True when the principal holds one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    def may_act_on(self, account_id: str) -> bool:
        """Operators act on every account; others on their listed accounts (or all, ``"*"``)."""
        return OPERATOR in self.roles or self.accounts is None or account_id in self.accounts

    @property
    def all_accounts(self) -> bool:
        """True when no account is out of its reach."""
        return OPERATOR in self.roles or self.accounts is None


#: The principal of every call on a server started with ``--insecure-no-auth``.
ANONYMOUS = Principal("anonymous", ROLES, None)


@dataclass(frozen=True)
class _Entry:
    principal: Principal
    key_id: str
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)


class Principals:
    """The principals of a file, by key id."""

    def __init__(self, entries: Iterable[_Entry]) -> None:
        self._by_key: dict[str, _Entry] = {}
        for entry in entries:
            if entry.key_id in self._by_key:
                raise PrincipalsError(
                    f"principal {entry.principal.name}: key_id {entry.key_id} is used twice"
                )
            self._by_key[entry.key_id] = entry

    def __len__(self) -> int:
        return len(self._by_key)

    def names(self) -> list[str]:
        """The principals' names, sorted."""
        return sorted(e.principal.name for e in self._by_key.values())

    def key_known(self, token: str) -> bool:
        """True when ``token`` is well-formed and names a key of this file (cheap)."""
        match = _TOKEN.fullmatch(token)
        return match is not None and match.group(1) in self._by_key

    def verify(self, token: str) -> Principal | None:
        """The principal a token belongs to, or None. Slow (one scrypt hash): cache the result."""
        match = _TOKEN.fullmatch(token)
        entry = self._by_key.get(match.group(1)) if match else None
        if entry is None:
            return None
        digest = _scrypt(token, entry.salt, entry.n, entry.r, entry.p)
        return entry.principal if hmac.compare_digest(digest, entry.digest) else None


def _entry(raw: object, where: str) -> _Entry:
    if not isinstance(raw, dict):
        raise PrincipalsError(f"{where}: must be a table")
    unknown = sorted(set(raw) - {"name", "roles", "accounts", "key_id", "token_hash"})
    if unknown:
        raise PrincipalsError(f"{where}: unknown key {unknown[0]!r}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise PrincipalsError(f"{where}.name: 1-64 of letters, digits and . _ : @ - is required")
    where = f"principal {name}"
    roles = raw.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) and r in ROLES for r in roles):
        raise PrincipalsError(f"{where}: roles must be a non-empty list of {', '.join(sorted(ROLES))}")
    accounts = raw.get("accounts", [])
    if accounts == "*":
        scope: frozenset[str] | None = None
    elif isinstance(accounts, list) and all(isinstance(a, str) and a for a in accounts):
        scope = frozenset(accounts)
    else:
        raise PrincipalsError(f'{where}: accounts must be a list of account ids or "*"')
    key_id = raw.get("key_id")
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise PrincipalsError(f"{where}: key_id must be 16 lowercase hex digits")
    match = _HASH.fullmatch(str(raw.get("token_hash", "")))
    if match is None:
        raise PrincipalsError(f"{where}: token_hash must be scrypt$N$R$P$<salt hex>$<hash hex>")
    n, r, p = (int(match.group(i)) for i in (1, 2, 3))
    if n < 2 or n & (n - 1) or n > 2**20 or not 1 <= r <= 32 or not 1 <= p <= 16 or 128 * n * r > _MAXMEM:
        raise PrincipalsError(f"{where}: token_hash has unusable scrypt parameters")
    principal = Principal(name, frozenset(roles), scope)
    salt, digest = bytes.fromhex(match.group(4)), bytes.fromhex(match.group(5))
    return _Entry(principal, key_id, n, r, p, salt, digest)


def load_principals_text(text: str, source: str = "<text>") -> Principals:
    """The principals of a TOML document; :class:`PrincipalsError` when invalid."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PrincipalsError(f"{source}: not TOML: {exc}") from None
    unknown = sorted(set(data) - {"principal"})
    if unknown:
        raise PrincipalsError(f"{source}: unknown key {unknown[0]!r} (expected [[principal]] tables)")
    raw = data.get("principal", [])
    if not isinstance(raw, list):
        raise PrincipalsError(f"{source}: principal must be an array of tables ([[principal]])")
    principals = Principals(_entry(item, f"{source}: principal #{i + 1}") for i, item in enumerate(raw))
    names = principals.names()
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise PrincipalsError(f"{source}: principal {twice[0]} is named twice")
    return principals


def load_principals(path: Path) -> Principals:
    """The principals of a file; :class:`PrincipalsError` when unreadable or invalid."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PrincipalsError(f"cannot read {path}: {exc}") from None
    return load_principals_text(text, str(path))


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def new_principal_entry(
    name: str, roles: Sequence[str], accounts: Sequence[str] | str, *, work: int = SCRYPT_N
) -> tuple[str, str]:
    """A new random token and the TOML ``[[principal]]`` entry that accepts it (the
    token is not in it: only its salted hash). Raises :class:`PrincipalsError` on bad input."""
    key_id = secrets.token_hex(8)
    token = f"mm_{key_id}_{secrets.token_urlsafe(32)}"
    salt = secrets.token_bytes(16)
    digest = _scrypt(token, salt, work, _SCRYPT_R, _SCRYPT_P)
    scope = '"*"' if accounts == "*" else "[" + ", ".join(_toml_string(a) for a in accounts) + "]"
    text = (
        "[[principal]]\n"
        f"name = {_toml_string(name)}\n"
        f"roles = [{', '.join(_toml_string(r) for r in roles)}]\n"
        f"accounts = {scope}\n"
        f'key_id = "{key_id}"\n'
        f'token_hash = "scrypt${work}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"\n'
    )
    load_principals_text(text, "the new entry")  # validates name, roles and accounts
    return token, text


def add_principal(
    path: Path, name: str, roles: Sequence[str], accounts: Sequence[str] | str, *, work: int = SCRYPT_N
) -> str:
    """Append a new principal to the file at ``path`` (created mode 0600 if missing);
    returns its token, which is stored nowhere. Refuses a name already in the file."""
    existing = path.read_text("utf-8") if path.exists() else ""
    if existing.strip() and name in load_principals_text(existing, str(path)).names():
        raise PrincipalsError(f"{path}: principal {name} exists already")
    token, entry = new_principal_entry(name, roles, accounts, work=work)
    separator = (
        "" if not existing or existing.endswith("\n\n") else ("\n" if existing.endswith("\n") else "\n\n")
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.write(separator + entry)
    return token


__all__ = [
    "ANONYMOUS",
    "MARKET_DATA",
    "OPERATOR",
    "ROLES",
    "TRADER",
    "Principal",
    "Principals",
    "PrincipalsError",
    "add_principal",
    "load_principals",
    "load_principals_text",
    "new_principal_entry",
]

"""Account state (SPEC §4) as the server keeps it: plain data, exact decimals.

Balances are :class:`decimal.Decimal` values with at most 8 fractional digits (SPEC §1
"stored state"). Every money figure — new balances, interest, repayments, free and
locked funds — comes from the Rust core; the engine stores what it returns. Each account renders to

* the SPEC §10 scenario ``account`` object (:meth:`AccountState.scenario`), which the
  core evaluates, and
* a canonical JSON document (:meth:`AccountState.canonical`), used for snapshots and
  the state hash.
"""

from __future__ import annotations

import copy
import decimal
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# Wide enough that sums of in-range values (|x| ≤ 10^15 with 8 decimals) are exact; traps
# turn any inexact step into an error.
CONTEXT = decimal.Context(prec=60, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])
ZERO = Decimal(0)
MAX_QUANTITY = Decimal(10) ** 15


def dec(text: str) -> Decimal:
    """A decimal from its (already validated) wire string."""
    return Decimal(text)


def fmt(d: Decimal) -> str:
    """SPEC §1 output form: no exponent, no trailing zeros, ``0`` never ``-0``."""
    if d == 0:
        return "0"
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def add(a: Decimal, b: Decimal) -> Decimal:
    """Exact ``a + b``."""
    return CONTEXT.add(a, b)


def _amap(m: dict[str, Decimal]) -> dict[str, str]:
    """Non-zero entries, keys sorted, as wire strings."""
    return {k: fmt(v) for k, v in sorted(m.items()) if v != 0}


@dataclass
class Position:
    """A futures position snapshot (SPEC §5.1)."""

    symbol: str
    size: Decimal
    entry_price: Decimal
    leverage: int
    isolated: bool = False
    isolated_margin: Decimal = ZERO
    airdrop: bool = False

    def scenario(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "symbol": self.symbol,
            "size": fmt(self.size),
            "entry_price": fmt(self.entry_price),
            "leverage": self.leverage,
        }
        if self.isolated:
            out["isolated"] = True
            out["isolated_margin"] = fmt(self.isolated_margin)
        if self.airdrop:
            out["airdrop"] = True
        return out


class _Memo:
    """Remembers an order's rendered forms (its scenario object and canonical JSON), which
    a large account would otherwise rebuild for every order on every change. Setting any
    field forgets them; accounts share unchanged order objects between versions."""

    order_id: str  # a field of every subclass

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        self.__dict__.pop("_scenario", None)
        self.__dict__.pop("_json", None)

    def scenario(self) -> dict[str, Any]:
        memo: dict[str, Any] | None = self.__dict__.get("_scenario")
        if memo is None:
            memo = self._render()
            self.__dict__["_scenario"] = memo
        return memo

    def canonical_bytes(self) -> bytes:
        """:func:`canonical_json` of :meth:`canonical`."""
        memo: bytes | None = self.__dict__.get("_json")
        if memo is None:
            memo = canonical_json(self.canonical())
            self.__dict__["_json"] = memo
        return memo

    def canonical(self) -> dict[str, Any]:
        return {"order_id": self.order_id, **self.scenario()}

    def _render(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass
class FuturesOrder(_Memo):
    """An open futures order (SPEC §5.1)."""

    order_id: str
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    leverage: int | None = None

    def _render(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "symbol": self.symbol,
            "side": self.side,
            "price": fmt(self.price),
            "quantity": fmt(self.quantity),
        }
        if self.leverage is not None:
            out["leverage"] = self.leverage
        return out


@dataclass
class MarginOrder(_Memo):
    """An open margin (spot) order (SPEC §6)."""

    order_id: str
    base: str
    quote: str
    side: str
    price: Decimal
    quantity: Decimal

    def _render(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "quote": self.quote,
            "side": self.side,
            "price": fmt(self.price),
            "quantity": fmt(self.quantity),
        }


@dataclass
class FuturesState:
    """Futures-only state."""

    wallet: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[str, FuturesOrder] = field(default_factory=dict)
    sub_account: bool = False
    copy_trading: bool = False


@dataclass
class MarginState:
    """Margin-only state."""

    holdings: dict[str, Decimal] = field(default_factory=dict)
    borrowed: dict[str, Decimal] = field(default_factory=dict)
    interest: dict[str, Decimal] = field(default_factory=dict)
    orders: dict[str, MarginOrder] = field(default_factory=dict)
    classic_leverage: int = 3
    pro_terms_accepted: bool = False
    pro_terms_version: str = ""
    mcr_classic: Decimal = ZERO
    mcr_pro: Decimal = ZERO
    pro_entered: bool = False
    vip_level: int = 0

    def liability(self, asset: str) -> Decimal:
        """``borrowed + interest`` of an asset."""
        return add(self.borrowed.get(asset, ZERO), self.interest.get(asset, ZERO))


@dataclass
class AccountState:
    """One account: identity, mode, status, version and kind-specific state."""

    account_id: str
    kind: str  # FUTURES | MARGIN
    mode: str  # SINGLE_ASSET | MULTI_ASSET | CLASSIC | PRO
    region: str = ""
    status: str = "ACTIVE"  # ACTIVE | LIQUIDATING
    version: int = 1
    futures: FuturesState | None = None
    margin: MarginState | None = None
    margin_call: bool = False  # SPEC §8: in the margin-call zone (events on each crossing)
    # Events raised by the change being built (SPEC §7.5, §8); not state: the engine
    # takes them when it applies the change.
    events: list[Any] = field(default_factory=list, compare=False, repr=False)
    # The core's compiled form of this state, when the change built it (not state).
    compiled: Any = field(default=None, compare=False, repr=False)
    # (version, digest) of this state, when the change computed it (not state).
    digested: tuple[int, bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def f(self) -> FuturesState:
        """The futures state (the caller has checked the kind)."""
        assert self.futures is not None
        return self.futures

    @property
    def m(self) -> MarginState:
        """The margin state (the caller has checked the kind)."""
        assert self.margin is not None
        return self.margin

    def clone(self) -> AccountState:
        """A deep copy to change without touching the live state. (Decimals and strings
        are immutable; only containers and the mutable records are copied. Written out
        because ``copy.deepcopy`` dominated the cost of a mutation.)"""
        out = copy.copy(self)
        out.events = []
        out.compiled = None
        out.digested = None
        if self.futures is not None:
            f = self.futures
            out.futures = FuturesState(
                wallet=dict(f.wallet),
                positions={k: copy.copy(p) for k, p in f.positions.items()},
                orders=dict(f.orders),  # orders are replaced, never changed in place
                sub_account=f.sub_account,
                copy_trading=f.copy_trading,
            )
        if self.margin is not None:
            m = self.margin
            out.margin = copy.copy(m)
            out.margin.holdings = dict(m.holdings)
            out.margin.borrowed = dict(m.borrowed)
            out.margin.interest = dict(m.interest)
            out.margin.orders = dict(m.orders)
        return out

    def scenario(self) -> dict[str, Any]:
        """The SPEC §10 ``account`` object the core evaluates."""
        out: dict[str, Any] = {"kind": self.kind, "mode": self.mode, "status": self.status}
        if self.region:
            out["region"] = self.region
        if self.futures is not None:
            f = self.futures
            out["wallet"] = _amap(f.wallet)
            out["positions"] = [p.scenario() for _, p in sorted(f.positions.items()) if p.size != 0]
            out["orders"] = [o.scenario() for o in f.orders.values()]
            out["sub_account"] = f.sub_account
            out["copy_trading"] = f.copy_trading
        else:
            m = self.m
            out["holdings"] = _amap(m.holdings)
            out["borrowed"] = _amap(m.borrowed)
            out["interest"] = _amap(m.interest)
            out["orders"] = [o.scenario() for o in m.orders.values()]
            out["classic_leverage"] = m.classic_leverage
            out["mcr"] = {"CLASSIC": fmt(m.mcr_classic), "PRO": fmt(m.mcr_pro)}
            out["pro_terms_accepted"] = m.pro_terms_accepted
            if m.vip_level:
                out["vip_level"] = m.vip_level
        return out

    def canonical(self, orders: bool = True) -> dict[str, Any]:
        """Everything that defines the account, in a stable JSON form (without the
        orders list when ``orders`` is false)."""
        out: dict[str, Any] = {
            "account_id": self.account_id,
            "kind": self.kind,
            "mode": self.mode,
            "region": self.region,
            "status": self.status,
            "version": self.version,
        }
        # Written only when set, so that states from before these fields hash as before.
        if self.margin_call:
            out["margin_call"] = True
        if self.futures is not None:
            f = self.futures
            out["futures"] = {
                "wallet": _amap(f.wallet),
                "positions": [
                    {**p.scenario(), "isolated_margin": fmt(p.isolated_margin)}
                    for _, p in sorted(f.positions.items())
                ],
                "orders": [o.canonical() for o in f.orders.values()] if orders else [],
                "sub_account": f.sub_account,
                "copy_trading": f.copy_trading,
            }
        else:
            m = self.m
            out["margin"] = {
                "holdings": _amap(m.holdings),
                "borrowed": _amap(m.borrowed),
                "interest": _amap(m.interest),
                "orders": [o.canonical() for o in m.orders.values()] if orders else [],
                "classic_leverage": m.classic_leverage,
                "pro_terms_accepted": m.pro_terms_accepted,
                "pro_terms_version": m.pro_terms_version,
                "mcr_classic": fmt(m.mcr_classic),
                "mcr_pro": fmt(m.mcr_pro),
                "pro_entered": m.pro_entered,
            }
            if m.vip_level:
                out["margin"]["vip_level"] = m.vip_level
        return out

    @staticmethod
    def from_canonical(doc: dict[str, Any]) -> AccountState:
        """The inverse of :meth:`canonical`."""
        acct = AccountState(
            account_id=doc["account_id"],
            kind=doc["kind"],
            mode=doc["mode"],
            region=doc["region"],
            status=doc["status"],
            version=doc["version"],
            margin_call=doc.get("margin_call", False),
        )
        if "futures" in doc:
            f = doc["futures"]
            acct.futures = FuturesState(
                wallet={k: dec(v) for k, v in f["wallet"].items()},
                positions={
                    p["symbol"]: Position(
                        symbol=p["symbol"],
                        size=dec(p["size"]),
                        entry_price=dec(p["entry_price"]),
                        leverage=p["leverage"],
                        isolated=p.get("isolated", False),
                        isolated_margin=dec(p["isolated_margin"]),
                        airdrop=p.get("airdrop", False),
                    )
                    for p in f["positions"]
                },
                orders={
                    o["order_id"]: FuturesOrder(
                        order_id=o["order_id"],
                        symbol=o["symbol"],
                        side=o["side"],
                        price=dec(o["price"]),
                        quantity=dec(o["quantity"]),
                        leverage=o.get("leverage"),
                    )
                    for o in f["orders"]
                },
                sub_account=f["sub_account"],
                copy_trading=f["copy_trading"],
            )
        else:
            m = doc["margin"]
            acct.margin = MarginState(
                holdings={k: dec(v) for k, v in m["holdings"].items()},
                borrowed={k: dec(v) for k, v in m["borrowed"].items()},
                interest={k: dec(v) for k, v in m["interest"].items()},
                orders={
                    o["order_id"]: MarginOrder(
                        order_id=o["order_id"],
                        base=o["base"],
                        quote=o["quote"],
                        side=o["side"],
                        price=dec(o["price"]),
                        quantity=dec(o["quantity"]),
                    )
                    for o in m["orders"]
                },
                classic_leverage=m["classic_leverage"],
                pro_terms_accepted=m["pro_terms_accepted"],
                pro_terms_version=m["pro_terms_version"],
                mcr_classic=dec(m["mcr_classic"]),
                mcr_pro=dec(m["mcr_pro"]),
                pro_entered=m["pro_entered"],
                vip_level=m.get("vip_level", 0),
            )
        return acct

    def digest(self) -> bytes:
        """sha256 of the canonical form — :func:`sha256_json` of :meth:`canonical`."""
        return self.digest_at(self.version)

    def digest_at(self, version: int, template: tuple[bytes, bytes] | tuple[()] | None = None) -> bytes:
        """:meth:`digest` of this state at ``version``, from :meth:`digest_template`
        (made now unless given: one template serves every version)."""
        if template is None:
            template = self.digest_template()
        if not template:
            doc = self.canonical()
            doc["version"] = version
            return sha256_json(doc)
        head, tail = template
        h = hashlib.sha256(head)
        h.update(str(version).encode())
        h.update(tail)
        return h.digest()

    def digest_template(self) -> tuple[bytes, bytes] | tuple[()]:
        """:func:`canonical_json` of :meth:`canonical`, split where the version goes,
        built from each order's remembered canonical bytes: the version and the orders
        list are rendered as placeholders (strings no identifier can hold), then the
        text is split at the one and the orders spliced in at the other. Empty when a
        free-text field holds a placeholder (then :meth:`digest_at` hashes the canonical
        form itself)."""
        shell_doc = self.canonical_shell()
        shell_doc["version"] = _VERSION_PLACEHOLDER
        shell = canonical_json(shell_doc)
        if shell.count(_ORDERS_TOKEN) != 1 or shell.count(_VERSION_TOKEN) != 1:
            return ()
        orders = self.f.orders if self.futures is not None else self.m.orders
        listed = b"[" + b",".join(o.canonical_bytes() for o in orders.values()) + b"]"
        head, tail = shell.split(_VERSION_TOKEN)
        return head.replace(_ORDERS_TOKEN, listed), tail.replace(_ORDERS_TOKEN, listed)

    def canonical_shell(self) -> dict[str, Any]:
        """:meth:`canonical` with the orders list replaced by a placeholder."""
        out = self.canonical(orders=False)
        out["futures" if self.futures is not None else "margin"]["orders"] = _ORDERS_PLACEHOLDER
        return out


# Identifiers are printable ASCII, so no rendered value contains a NUL (JSON: \u0000).
_ORDERS_PLACEHOLDER = "\0orders\0"
_ORDERS_TOKEN = b'"\\u0000orders\\u0000"'
_VERSION_PLACEHOLDER = "\0version\0"
_VERSION_TOKEN = b'"\\u0000version\\u0000"'


def compact_json(text: str) -> str:
    """A JSON document without insignificant whitespace, key order kept (a rulebook's
    default payer order is the order of its assets)."""
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


def canonical_json(doc: Any) -> bytes:
    """Stable JSON bytes: sorted keys, no spaces, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_json(doc: Any) -> bytes:
    """sha256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(doc)).digest()

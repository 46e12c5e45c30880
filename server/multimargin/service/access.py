"""Who may call what: authentication, authorization and per-principal limits, in one place.

Every RPC of the contract is in :data:`POLICY`, with its class and the request fields
that name accounts; :func:`checked_policy` refuses to start a server whose contract has
an RPC the table does not classify (``tests/service/test_access.py`` checks it too).

========================  =================================================================
class                     who may call
========================  =================================================================
``ACCOUNT``               a ``trader`` on its own accounts (or all, ``accounts = "*"``), an
                          ``operator`` on any account
``OPERATOR``              ``operator`` only (CreateAccount, ListAccounts, settlement,
                          EndLiquidation, SetVipLevel, GetEngineStatus,
                          ReloadRulebook, PreviewRulebook)
``MARKET_DATA``           ``operator`` or ``market_data`` (UpdatePrices)
``AUTHENTICATED``         any principal (GetPrices: prices are not any account's data)
``PUBLIC``                anyone, no token: the health service and server reflection
                          (not in the contract, so never guarded)
========================  =================================================================

:class:`Guard` runs, for each call, before the call takes an admission slot (so a
refused call costs little and changes nothing): authenticate the bearer token
(UNAUTHENTICATED), take a token from the principal's rate bucket (RESOURCE_EXHAUSTED,
``RATE_LIMITED``), authorize (PERMISSION_DENIED), and require a deadline on a mutation
(INVALID_ARGUMENT, ``DEADLINE_REQUIRED``); it also counts each principal's open event
streams (RESOURCE_EXHAUSTED, ``TOO_MANY_STREAMS``). A trader's ``WatchEvents`` without
``account_ids`` streams only events of its accounts (:meth:`Guard.event_filter`).
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from multimargin.contract import Rpc
from multimargin.errors import (
    InvalidInputError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
)
from multimargin.service.principals import ANONYMOUS, MARKET_DATA, OPERATOR, TRADER, Principal, Principals


class Access(StrEnum):
    """The class of an RPC (see the module documentation)."""

    ACCOUNT = "account"
    OPERATOR = "operator"
    MARKET_DATA = "market_data"
    AUTHENTICATED = "authenticated"


@dataclass(frozen=True)
class Rule:
    """How one RPC is guarded."""

    access: Access
    account_field: str = ""
    """The request field that names the account(s) of an ACCOUNT RPC."""


_ACCOUNT = Rule(Access.ACCOUNT, "account_id")
_OPERATOR = Rule(Access.OPERATOR)

#: Every RPC of the contract, by short name.
POLICY: Mapping[str, Rule] = {
    # AccountService
    "CreateAccount": _OPERATOR,
    "GetAccount": _ACCOUNT,
    "ListAccounts": _OPERATOR,
    "SetAccountFlags": _ACCOUNT,
    "AcceptProTerms": _ACCOUNT,
    "CheckModeSwitch": _ACCOUNT,
    "SwitchMode": _ACCOUNT,
    "SetMarginCallRatio": _ACCOUNT,
    "SetClassicLeverage": _ACCOUNT,
    # EventService: empty account_ids = every account the caller may see
    "WatchEvents": Rule(Access.ACCOUNT, "account_ids"),
    # FundsService
    "TransferIn": _ACCOUNT,
    "TransferOut": _ACCOUNT,
    "PostLedgerEntries": _ACCOUNT,
    "Borrow": _ACCOUNT,
    "Repay": _ACCOUNT,
    "RepayLiability": _ACCOUNT,
    "ListHistory": _ACCOUNT,
    # MarketDataService
    "UpdatePrices": Rule(Access.MARKET_DATA),
    "GetPrices": Rule(Access.AUTHENTICATED),
    # OperatorService
    "GetEngineStatus": _OPERATOR,
    "RunSettlement": _OPERATOR,
    "EndLiquidation": _OPERATOR,
    "SetVipLevel": _OPERATOR,
    "ReloadRulebook": _OPERATOR,
    "PreviewRulebook": _OPERATOR,
    # RiskService
    "GetRiskSummary": _ACCOUNT,
    "Simulate": _ACCOUNT,
    # TradingService
    "SetPosition": _ACCOUNT,
    "CheckOrder": _ACCOUNT,
    "PlaceOrder": _ACCOUNT,
    "CancelOrder": _ACCOUNT,
}

#: Methods served without a token: the standard health service and server reflection.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

#: The roles that may call each class (an ACCOUNT call is then checked account by account).
ROLES_OF: Mapping[Access, frozenset[str]] = {
    Access.ACCOUNT: frozenset({TRADER, OPERATOR}),
    Access.OPERATOR: frozenset({OPERATOR}),
    Access.MARKET_DATA: frozenset({OPERATOR, MARKET_DATA}),
    Access.AUTHENTICATED: frozenset({TRADER, OPERATOR, MARKET_DATA}),
}


def is_mutation(rpc: Rpc) -> bool:
    """A mutation carries an idempotency key: its request has ``request_id``."""
    return "request_id" in rpc.request_class.DESCRIPTOR.fields_by_name


def checked_policy(rpcs: Iterable[Rpc], policy: Mapping[str, Rule] = POLICY) -> dict[str, Rule]:
    """``policy`` for exactly these RPCs; RuntimeError naming any RPC it does not classify,
    any entry that is no RPC, and any account field the request does not have."""
    rpcs = list(rpcs)
    names = {rpc.name for rpc in rpcs}
    problems = [f"{name}: not classified in service/access.py POLICY" for name in sorted(names - set(policy))]
    problems += [f"{name}: in POLICY but not an RPC of the contract" for name in sorted(set(policy) - names)]
    for rpc in rpcs:
        rule = policy.get(rpc.name)
        if rule is None:
            continue
        fields = rpc.request_class.DESCRIPTOR.fields_by_name
        if (rule.access is Access.ACCOUNT) != bool(rule.account_field):
            problems.append(f"{rpc.name}: an ACCOUNT RPC names its account field, no other does")
        elif rule.account_field and rule.account_field not in fields:
            problems.append(f"{rpc.name}: the request has no field {rule.account_field}")
    if problems:
        raise RuntimeError("access policy: " + "; ".join(problems))
    return {rpc.name: policy[rpc.name] for rpc in rpcs}


#: The principal of the call being handled (None outside a call, or before authentication).
PRINCIPAL: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "multimargin_principal", default=None
)

#: Slow hash checks running or waiting at once; more fail RESOURCE_EXHAUSTED at once.
MAX_PENDING_VERIFICATIONS = 16
#: Bad tokens remembered, so that repeating one costs no hash.
MAX_REMEMBERED_FAILURES = 4096

#: Event streams a principal may hold open at once (``--max-streams``).
DEFAULT_MAX_STREAMS = 64

RATE_LIMITED_REASON = "RATE_LIMITED"
TOO_MANY_STREAMS_REASON = "TOO_MANY_STREAMS"
DEADLINE_REQUIRED_REASON = "DEADLINE_REQUIRED"


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; one per call."""

    __slots__ = ("burst", "last", "rate", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.last = rate, burst, burst, now

    def take(self, now: float) -> float:
        """0.0 when a token was taken; else the seconds until one will be there.

        >>> b = TokenBucket(rate=2, burst=1, now=0.0)
        >>> b.take(0.0), b.take(0.0), b.take(0.5)
        (0.0, 0.5, 0.0)
        """
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


def bearer_token(metadata: Iterable[tuple[str, Any]] | None) -> str | None:
    """The token of ``authorization: Bearer <token>`` metadata, or None.

    >>> bearer_token((("authorization", "Bearer abc"),)), bearer_token(())
    ('abc', None)
    """
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return ""
    return None


class Guard:
    """Authentication, rate limits and authorization of the calls of one server.

    ``principals`` None serves every call as :data:`ANONYMOUS` (``--insecure-no-auth``).
    ``rate`` calls a second per principal with bursts of ``burst`` (``rate`` 0: no limit);
    at most ``max_streams`` event streams open per principal (streams hold no admission
    slot while they wait). Only the event loop's thread uses it.
    """

    def __init__(
        self,
        principals: Principals | None,
        rpcs: Iterable[Rpc],
        *,
        rate: float = 0.0,
        burst: float = 0.0,
        max_streams: int = DEFAULT_MAX_STREAMS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate < 0 or burst < 0 or not math.isfinite(rate) or not math.isfinite(burst):
            raise ValueError("the rate limit and burst must be finite and >= 0")
        rpcs = list(rpcs)
        self.principals = principals
        self.policy = checked_policy(rpcs)
        self.mutations = frozenset(rpc.name for rpc in rpcs if is_mutation(rpc))
        self.rate = rate
        self.burst = max(burst, 1.0) if rate else 0.0
        self.max_streams = max_streams
        self._streams: dict[str, int] = {}
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._known: dict[str, Principal] = {}
        self._failed: OrderedDict[str, None] = OrderedDict()
        self._verifying: dict[str, asyncio.Future[Principal | None]] = {}

    @property
    def authenticates(self) -> bool:
        return self.principals is not None

    # ---- authentication ------------------------------------------------------------------

    async def authenticate(self, metadata: Iterable[tuple[str, Any]] | None) -> Principal:
        """The principal of a call's metadata; :class:`UnauthenticatedError` without one."""
        if self.principals is None:
            return ANONYMOUS
        token = bearer_token(metadata)
        if not token:
            what = "is not 'Bearer <token>'" if token == "" else "is required"
            raise UnauthenticatedError(f"a bearer token {what} (metadata authorization: Bearer <token>)")
        principal = self._known.get(token)
        if principal is None:
            principal = await self._verify(token)
        if principal is None:
            raise UnauthenticatedError("the bearer token is not valid")
        return principal

    async def _verify(self, token: str) -> Principal | None:
        assert self.principals is not None
        if token in self._failed or not self.principals.key_known(token):
            return None  # no hash needed: a token of no key, or one that failed before
        pending = self._verifying.get(token)
        if pending is None:
            if len(self._verifying) >= MAX_PENDING_VERIFICATIONS:
                raise ResourceExhaustedError(
                    "too many new tokens are being checked at once; retry shortly", "OVERLOADED"
                )
            pending = asyncio.ensure_future(asyncio.to_thread(self.principals.verify, token))
            self._verifying[token] = pending
            pending.add_done_callback(lambda _: self._verifying.pop(token, None))
        principal = await asyncio.shield(pending)
        if principal is None:
            self._failed[token] = None
            while len(self._failed) > MAX_REMEMBERED_FAILURES:
                self._failed.popitem(last=False)
        else:
            self._known[token] = principal
        return principal

    # ---- limits --------------------------------------------------------------------------

    def take(self, principal: Principal) -> None:
        """One call of ``principal`` against its rate limit; RESOURCE_EXHAUSTED beyond it."""
        if not self.rate:
            return
        now = self._clock()
        bucket = self._buckets.get(principal.name)
        if bucket is None:
            bucket = self._buckets[principal.name] = TokenBucket(self.rate, self.burst, now)
        wait = bucket.take(now)
        if wait:
            raise ResourceExhaustedError(
                f"principal {principal.name} is over its rate limit of {self.rate:g} calls/s; "
                f"retry in {wait:.3f} s",
                RATE_LIMITED_REASON,
            )

    def open_stream(self, principal: Principal) -> None:
        """Count a stream ``principal`` opens; RESOURCE_EXHAUSTED beyond its limit. Pair
        with :meth:`close_stream`."""
        open_now = self._streams.get(principal.name, 0)
        if open_now >= self.max_streams:
            raise ResourceExhaustedError(
                f"principal {principal.name} has {open_now} event streams open, its limit; "
                "close one or resume later",
                TOO_MANY_STREAMS_REASON,
            )
        self._streams[principal.name] = open_now + 1

    def close_stream(self, principal: Principal) -> None:
        """A stream counted by :meth:`open_stream` ended."""
        left = self._streams.get(principal.name, 0) - 1
        if left > 0:
            self._streams[principal.name] = left
        else:
            self._streams.pop(principal.name, None)

    def require_deadline(self, rpc: Rpc, time_remaining: float | None) -> None:
        """A mutation without a deadline is refused INVALID_ARGUMENT (DEADLINE_REQUIRED)."""
        if time_remaining is None and rpc.name in self.mutations:
            raise InvalidInputError(
                f"{rpc.name} is a mutation: the call must carry a deadline (a client timeout)",
                DEADLINE_REQUIRED_REASON,
            )

    # ---- authorization -------------------------------------------------------------------

    def authorize(self, rpc: Rpc, principal: Principal, request: Any) -> None:
        """PERMISSION_DENIED unless ``principal`` may make this call."""
        rule = self.policy[rpc.name]
        if not principal.has(*ROLES_OF[rule.access]):
            roles = " or ".join(sorted(ROLES_OF[rule.access]))
            raise PermissionDeniedError(
                f"{rpc.name} needs the role {roles}; {principal.name} does not hold it"
            )
        if rule.access is not Access.ACCOUNT or principal.all_accounts:
            return
        value = getattr(request, rule.account_field)
        named = (
            [(rule.account_field, value)]
            if isinstance(value, str)
            else [(f"{rule.account_field}[{i}]", v) for i, v in enumerate(value)]
        )
        for field, account_id in named:
            if account_id and not principal.may_act_on(account_id):
                raise PermissionDeniedError(
                    f"{principal.name} may not act on account {account_id[:64]}", field=field
                )

    def event_filter(self, principal: Principal) -> Callable[[str], bool] | None:
        """For a principal restricted to some accounts, which events' accounts it may see
        (its WatchEvents stream is filtered by it); None when it sees every account."""
        if principal.all_accounts:
            return None
        accounts = principal.accounts or frozenset()
        return accounts.__contains__


def describe_policy(policy: Mapping[str, Rule] = POLICY) -> list[tuple[str, str, str]]:
    """(RPC, class, account field) rows, sorted by class then name: the README table."""
    return sorted(
        ((n, r.access.value, r.account_field) for n, r in policy.items()), key=lambda x: (x[1], x[0])
    )


__all__ = [
    "DEADLINE_REQUIRED_REASON",
    "DEFAULT_MAX_STREAMS",
    "MARKET_DATA",
    "POLICY",
    "PRINCIPAL",
    "PUBLIC_PREFIXES",
    "RATE_LIMITED_REASON",
    "ROLES_OF",
    "TOO_MANY_STREAMS_REASON",
    "Access",
    "Guard",
    "Rule",
    "TokenBucket",
    "bearer_token",
    "checked_policy",
    "describe_policy",
    "is_mutation",
]

"""The engine the service dispatches to in cluster mode: every call reaches its shard.

* **Account calls** (every request with an ``account_id``): the shard's local engine;
  else a forward to the owner's advertised address (:mod:`.forward`: one hop, the caller's
  credentials and deadline); else UNAVAILABLE ``SHARD_MOVING`` naming the owner when one
  is known. A forwarded call whose shard is not local is never forwarded again.
* **UpdatePrices / ReloadRulebook**: applied to one local shard (which validates), written
  to PostgreSQL as a new cluster version, applied to the other local shards; every other
  instance follows the version (:mod:`.globals`). The response is the first local shard's.
* **GetPrices / PreviewRulebook**: any local shard (every shard follows the same prices
  and rulebook), else forwarded to an owner.
* **RunSettlement / GetEngineStatus / ListAccounts** answer for the whole cluster: the
  call goes to every shard (local, or forwarded to its owner with ``x-mm-shard``) and the
  answers are combined: settlement counts add up (hours and ``settled_through``: the
  largest); the status adds up journal, snapshot and event positions and accounts over
  the shards, takes the lowest rulebook version, and its state hash is the sha256 of the
  shards' ``"<shard>:<state_hash>\\n"`` lines in shard order; account pages are merged in
  account-id order (the page token is the last id, as on one instance). A shard without
  an owner makes such a call SHARD_MOVING: it cannot be answered for the cluster.
* **WatchEvents**: see :mod:`.watch`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from google.protobuf.message import Message

from multimargin.cluster.forward import Forwarder
from multimargin.cluster.globals import Globals
from multimargin.cluster.host import ShardHost
from multimargin.cluster.shards import ShardMap
from multimargin.contract import contract_rpcs
from multimargin.errors import InternalError
from multimargin.service.routing import CALL_CONTEXT, FORWARDED_KEY, Relayed, shard_moving
from multimargin.state.engine import Engine
from multimargin.store import StoreError
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import operator_service_pb2 as op

log = logging.getLogger("multimargin.cluster")

#: Seconds a call waits for its shard's engine when this instance is opening it.
OPENING_WAIT = 3.0

#: Metadata naming the one shard a fanned-out call is for.
SHARD_KEY = "x-mm-shard"

_RPCS = {r.name: r for r in contract_rpcs()}
ACCOUNT_SCOPED = frozenset(
    r.name
    for r in _RPCS.values()
    if "account_id" in r.request_class.DESCRIPTOR.fields_by_name and not r.server_streaming
)
GLOBAL_WRITES = frozenset({"UpdatePrices", "ReloadRulebook"})
ANY_SHARD = frozenset({"GetPrices", "PreviewRulebook"})
EVERY_SHARD = frozenset({"RunSettlement", "GetEngineStatus", "ListAccounts"})


def _metadata(context: Any) -> dict[str, str]:
    if context is None:
        return {}
    return {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}


class ClusterEngine:
    """:class:`multimargin.service.dispatch.EngineLike` over the shards of a cluster."""

    def __init__(self, host: ShardHost, shard_map: ShardMap, forwarder: Forwarder, globals_: Globals) -> None:
        self.host = host
        self.map = shard_map
        self.forwarder = forwarder
        self.globals = globals_
        loop = asyncio.get_running_loop()
        self._fatal: asyncio.Future[None] = loop.create_future()
        self.closer: Callable[[], Awaitable[None]] | None = None
        self.refresh: Callable[[], Awaitable[None]] | None = None
        """Re-reads the owners from PostgreSQL (the map is refreshed every lease round;
        a call that finds no owner asks for a fresher one, at most every 100 ms)."""
        self._refreshed = 0.0
        self._refreshing: asyncio.Future[None] | None = None

    @property
    def fatal(self) -> asyncio.Future[None]:
        """Completes only for a fault of the whole instance (a shard's store failing drops that shard)."""
        return self._fatal

    async def close(self) -> None:
        if self.closer is not None:
            await self.closer()

    # ---- unary calls -----------------------------------------------------------------

    async def call(self, method: str, request: Message) -> Message:
        context = CALL_CONTEXT.get(None)
        md = _metadata(context)
        forwarded = FORWARDED_KEY in md
        if method in ACCOUNT_SCOPED:
            shard = self.map.shard(getattr(request, "account_id", ""))
            return await self._on_shard(shard, method, request, context, forwarded)
        if method in EVERY_SHARD:
            if forwarded and SHARD_KEY in md:
                return await self._on_shard(int(md[SHARD_KEY]), method, request, context, True)
            return await self._every_shard(method, request, context)
        if method in GLOBAL_WRITES:
            return await self._global_write(method, request, context, forwarded)
        if method in ANY_SHARD:
            return await self._any_shard(method, request, context, forwarded)
        raise InternalError(f"no cluster route for {method}")

    async def _local(self, shard: int, engine: Engine, method: str, request: Message) -> Message:
        try:
            response: Message = await engine.call(method, request)
            return response
        except (InternalError, StoreError) as exc:
            if self.host.engine(shard) is not engine or engine.fatal.done():
                cause = exc.__cause__ or exc  # e.g. the store's LeaseLostError
                log.warning("call refused, shard %d is changing owner: %s", shard, cause)
                # Its lease is gone (or going): nothing of this call was acknowledged;
                # a retry (same request id) reaches the next owner.
                raise shard_moving(shard, None, "is changing owner") from exc
            raise

    async def _fresh_map(self) -> None:
        if self.refresh is None:
            return
        if self._refreshing is not None and not self._refreshing.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._refreshing)
            return
        loop = asyncio.get_running_loop()
        if loop.time() - self._refreshed < 0.1:
            return
        self._refreshed = loop.time()
        self._refreshing = asyncio.ensure_future(self.refresh())
        with contextlib.suppress(Exception):
            await asyncio.shield(self._refreshing)

    async def _on_shard(
        self, shard: int, method: str, request: Message, context: Any, forwarded: bool
    ) -> Message:
        engine = self.host.engine(shard)
        if engine is not None:
            return await self._local(shard, engine, method, request)
        owner = self.map.owner(shard)
        if owner is None or owner.instance == self.map.me:
            engine = await self.host.opened(shard, OPENING_WAIT)  # being opened here: wait for it
            if engine is not None:
                return await self._local(shard, engine, method, request)
            await self._fresh_map()
            engine = self.host.engine(shard)
            if engine is not None:
                return await self._local(shard, engine, method, request)
            owner = self.map.owner(shard)
        if owner is None or owner.instance == self.map.me:
            raise shard_moving(shard, None, "has no owner right now")
        if forwarded:
            raise shard_moving(shard, owner.address, "is not served here")
        rpc = _RPCS[method]
        return await self.forwarder.unary(
            owner.address, shard, rpc.full_method, request, rpc.response_class, context
        )

    async def _to_shard(self, shard: int, method: str, request: Message, context: Any) -> Message:
        """One shard's answer to a fanned-out call (local, or forwarded with x-mm-shard)."""
        engine = await self.host.opened(shard, OPENING_WAIT)
        if engine is not None:
            return await self._local(shard, engine, method, request)
        owner = self.map.owner(shard)
        if owner is None or owner.instance == self.map.me:
            await self._fresh_map()
            owner = self.map.owner(shard)
        if owner is None or owner.instance == self.map.me:
            raise shard_moving(shard, None, "has no owner right now")
        rpc = _RPCS[method]
        fwd = _WithShard(context, shard)
        return await self.forwarder.unary(
            owner.address, shard, rpc.full_method, request, rpc.response_class, fwd
        )

    async def _every_shard(self, method: str, request: Message, context: Any) -> Message:
        shards = range(self.map.shards)
        answers = await asyncio.gather(*(self._to_shard(s, method, request, context) for s in shards))
        if method == "RunSettlement":
            return _settlements(answers)
        if method == "GetEngineStatus":
            return _statuses(answers)
        return _account_pages(request, answers)

    async def _any_shard(self, method: str, request: Message, context: Any, forwarded: bool) -> Message:
        for shard, engine in self.host.local():
            return await self._local(shard, engine, method, request)
        for shard, owner in sorted(self.map.owners.items()):
            if owner.instance != self.map.me and not forwarded:
                rpc = _RPCS[method]
                return await self.forwarder.unary(
                    owner.address, shard, rpc.full_method, request, rpc.response_class, context
                )
        raise shard_moving(-1, None, "(any): no shard is served right now")

    async def _global_write(self, method: str, request: Any, context: Any, forwarded: bool) -> Message:
        local = self.host.local()
        if not local:
            if forwarded:
                raise shard_moving(-1, None, "(any): this instance serves no shard")
            return await self._any_shard(method, request, context, forwarded)
        first_shard, first = local[0]
        versions = (first.prices_version, first.rulebook_version)
        response = await self._local(first_shard, first, method, request)  # validates
        # An idempotent replay on this shard was published the first time, unless the
        # instance that journaled it died before publishing: then it is published now.
        replay = (first.prices_version, first.rulebook_version) == versions
        if replay and (not request.request_id or await self.globals.published(request.request_id)):
            return response
        if method == "UpdatePrices":
            await self.globals.publish_prices(request)
        else:
            await self.globals.publish_rulebook(first.rulebook_json, request.request_id)
        # Every local shard (the first too: it may have missed a version published
        # meanwhile) takes the cluster's whole price set / rulebook.
        for shard, engine in local:
            await self.globals.catch_up(shard, engine)
        return response

    # ---- streams ---------------------------------------------------------------------

    async def stream(self, method: str, request: Message) -> AsyncIterator[Message]:
        from multimargin.cluster.watch import watch

        async for response in watch(self, method, request):
            yield response


class _WithShard:
    """A call context whose metadata also names one shard (fan-out)."""

    def __init__(self, context: Any, shard: int) -> None:
        self._context = context
        self._shard = shard

    def invocation_metadata(self) -> tuple[tuple[str, Any], ...]:
        md = tuple(self._context.invocation_metadata() or ()) if self._context is not None else ()
        return (*((k, v) for k, v in md if k != SHARD_KEY), (SHARD_KEY, str(self._shard)))

    def time_remaining(self) -> float | None:
        return self._context.time_remaining() if self._context is not None else None


def _settlements(answers: list[Any]) -> op.RunSettlementResponse:
    out = op.RunSettlementResponse()
    for a in answers:
        out.hours_settled = max(out.hours_settled, a.hours_settled)
        if a.settled_through.ToNanoseconds() > out.settled_through.ToNanoseconds():
            out.settled_through.CopyFrom(a.settled_through)
        out.charges += a.charges
        out.accounts_changed += a.accounts_changed
    return out


def _statuses(answers: list[Any]) -> op.GetEngineStatusResponse:
    lines = "".join(f"{shard}:{a.state_hash}\n" for shard, a in enumerate(answers))
    return op.GetEngineStatusResponse(
        state_hash=hashlib.sha256(lines.encode()).hexdigest(),
        journal_seq=sum(a.journal_seq for a in answers),
        accounts=sum(a.accounts for a in answers),
        snapshot_seq=sum(a.snapshot_seq for a in answers),
        event_seq=sum(a.event_seq for a in answers),
        rulebook_version=min(a.rulebook_version for a in answers),
    )


def _account_pages(request: Any, answers: list[Any]) -> acc.ListAccountsResponse:
    size = min(request.page_size or 100, 1000)
    summaries = sorted((s for a in answers for s in a.accounts), key=lambda s: s.account_id)
    more = len(summaries) > size or any(a.next_page_token for a in answers)
    page = summaries[:size]
    out = acc.ListAccountsResponse(next_page_token=page[-1].account_id if more and page else "")
    out.accounts.extend(page)
    return out


__all__ = ["ACCOUNT_SCOPED", "SHARD_KEY", "ClusterEngine", "Relayed"]

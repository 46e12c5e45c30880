"""The engine: one writer applying commands in order to in-memory state, a durable
journal before every acknowledgement, recovery by snapshot + replay.

* **Order.** Handlers run on the event loop without awaiting between validation and
  apply, so mutations are applied one at a time in one order (per account and overall).
  Journal sequence numbers follow that order.
* **Durability.** A mutation's response is returned only when its journal record is
  durable (:meth:`Store.submit`). Many in-flight mutations share one fsync (group
  commit). Reads wait for the account's last pending record, so nothing unacknowledged
  is ever observed. A failed write completes :attr:`Engine.fatal`; nothing is
  acknowledged after it.
* **Idempotency.** Each mutation carries a ``request_id``; the same id with the same
  request returns the stored response (byte-identical) and changes nothing; with a
  different request it is refused (``IDEMPOTENCY_KEY_REUSED``).
* **Recovery.** Latest snapshot, then every later record replayed through the same
  handlers; each record's response and state hash must come out identical, so a replay
  that diverges is reported at its sequence number instead of silently differing.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import multimargin
from multimargin import Rulebook
from multimargin.contract import REQUEST_TYPES, RESPONSE_TYPES
from multimargin.errors import (
    AccountNotFoundError,
    InternalError,
    InvalidInputError,
)
from multimargin.state import demo as demo_data
from multimargin.state import events as ev
from multimargin.state import handlers
from multimargin.state import validate as v
from multimargin.state.event_feed import EventFeed
from multimargin.state.exposure import Exposure
from multimargin.state.idempotency import Done, RequestIds
from multimargin.state.maintenance import run_as_maintenance
from multimargin.state.model import AccountState, compact_json, sha256_json
from multimargin.state.snapshot_policy import DEFAULT_BUDGET_S, SnapshotPolicy
from multimargin.state.state_document import StateDocument
from multimargin.store import DurabilityError, JournalRecord, Snapshot, Store, StoreError
from multimargin.store.interface import JournalStore
from multimargin.v1 import history_pb2, operator_service_pb2

log = logging.getLogger("multimargin.engine")

SET_RULEBOOK = "SetRulebook"  # internal journal command: the rulebook in effect from here on
HOUR_NS = 3600 * 10**9


#: A store file larger than this (with its write-ahead log) is quick_check'ed in the
#: background once serving instead of at open: the check reads the whole file (≈4 s at
#: 500 MB on a loaded machine), and a restart must not grow with the store (issue 8).
#: Damage it finds then stops the server, as a chain mismatch in the prefix does.
CHECK_AT_OPEN_BYTES = 64 * 1024 * 1024


class ReplayDivergedError(StoreError):
    """Replaying a journal record did not reproduce its response or state hash."""

    def __init__(self, seq: int, detail: str) -> None:
        super().__init__(f"journal replay diverged at seq {seq}: {detail}")
        self.seq = seq


class Engine:
    """Account state, market data and the journal behind them (see module docs)."""

    def __init__(
        self,
        store: JournalStore,
        *,
        snapshot_every: int = 10_000,
        snapshot_budget_s: float = DEFAULT_BUDGET_S,
    ) -> None:
        self._store = store
        self._policy = SnapshotPolicy(snapshot_every, snapshot_budget_s)  # when to snapshot
        self.rulebook: Rulebook = multimargin.default_rulebook()
        self.rules: dict[str, Any] = {}
        self.rulebook_json = ""
        self.rulebook_version = 0
        self.index_prices: dict[str, str] = {}
        self.mark_prices: dict[str, str] = {}
        self.prices_version = 0
        self.market = multimargin.Market(self.rulebook)
        self.ts_ns = 0
        self._accounts: dict[str, AccountState] = {}
        self._hashes: dict[str, bytes] = {}
        self._ids = RequestIds(store)  # idempotency
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._last: asyncio.Future[None] | None = None
        self._prices_pending: asyncio.Future[None] | None = None
        self._snapshot_seq = 0
        self.settled_through = 0
        self.feed = EventFeed(store)
        self._compiled: dict[str, multimargin.Account] = {}
        self._exposure = Exposure()
        self._clock_task: asyncio.Task[None] | None = None
        self._verify_task: asyncio.Task[None] | None = None
        self._fatal: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # ---- lifecycle -------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        store_or_dir: JournalStore | Path | str,
        *,
        rulebook_json: str | None = None,
        demo: bool = False,
        snapshot_every: int = 10_000,
        snapshot_budget_s: float = DEFAULT_BUDGET_S,
        clock: str = "explicit",
        init_store: bool = False,
    ) -> Engine:
        """Opens the store under ``data_dir``, recovers the state, and applies the given
        rulebook (journaled when it differs from the one in effect). ``demo`` seeds demo
        accounts and prices into an empty store. With ``clock="system"`` the engine
        settles each UTC hour by itself (SPEC §7.1); with ``"explicit"`` only
        RunSettlement does. A snapshot is written every ``snapshot_every`` records or
        ``snapshot_budget_s`` seconds of replay work (:mod:`.snapshot_policy`), and at
        once after a recovery that replayed more than that.

        ``store_or_dir``: an opened, not yet recovered store (any
        :class:`~multimargin.store.interface.JournalStore`, e.g. one shard's
        :class:`~multimargin.store.postgres.PgStore`), which the engine then owns and
        closes; or a data directory, whose embedded SQLite store is opened
        (``init_store``: see :meth:`Store.open`)."""
        store: JournalStore
        if isinstance(store_or_dir, (Path, str)):
            store = Store.open(
                Path(store_or_dir), init_store=init_store, check_at_open_bytes=CHECK_AT_OPEN_BYTES
            )
        else:
            store = store_or_dir
        try:
            engine = cls(store, snapshot_every=snapshot_every, snapshot_budget_s=snapshot_budget_s)
            # Only the records after the snapshot are verified before serving; the
            # prefix is verified in the background (recovery must not grow with the journal).
            recovery = store.recover(full=False)
            if recovery.snapshot is not None:
                engine._load_snapshot(recovery.snapshot)
            for record in recovery.records:
                engine._replay(record)
            await engine.feed.open()
            if engine._policy.due():
                await engine._snapshot()  # the next recovery starts from here
            log.info(
                "recovered",
                extra={
                    "fields": {
                        "snapshot_seq": engine._snapshot_seq,
                        "replayed": len(recovery.records),
                        "accounts": len(engine._accounts),
                    }
                },
            )
            # Started only now, so that it does not compete with the replay above for the
            # GIL (its chain walk is Python code): a restart must not wait on it.
            through = recovery.snapshot.seq if recovery.snapshot is not None else 0
            engine._verify_task = asyncio.create_task(engine._verify_prefix(through))
            wanted = compact_json(rulebook_json) if rulebook_json is not None else None
            if not engine.rulebook_json:
                await engine._set_rulebook(wanted or compact_json(multimargin.default_rulebook_json()))
            elif wanted is not None and wanted != engine.rulebook_json:
                await engine._set_rulebook(wanted)
            if demo and not engine._accounts:
                for method, request in demo_data.commands():
                    await engine.call(method, request)
            elif demo:
                log.warning(
                    "demo data not seeded: the store already holds accounts (delete the data "
                    "directory, e.g. `make reset`, to start the demo anew)"
                )
            if clock == "system":
                engine._clock_task = asyncio.create_task(engine._settle_each_hour())
            elif clock != "explicit":
                raise InvalidInputError(f"unknown clock {clock!r}", "INVALID_ARGUMENT", "clock")
        except BaseException:
            await store.close()
            raise
        return engine

    async def _settle_each_hour(self) -> None:
        """The system clock: RunSettlement shortly after every UTC hour boundary."""
        while True:
            now = time.time_ns()
            await asyncio.sleep((HOUR_NS - now % HOUR_NS) / 1e9 + 1)
            as_of = time.time_ns()
            request = REQUEST_TYPES["RunSettlement"](request_id=f"settlement-{as_of}")
            request.as_of.FromNanoseconds(as_of)
            try:
                await self.call("RunSettlement", request)
            except multimargin.MarginError as exc:
                log.error("hourly settlement failed: %s", exc)

    async def _verify_prefix(self, through: int) -> None:
        """The journal up to the recovered snapshot, chain-verified off the event loop
        (after the file's quick_check when the store deferred it); a mismatch is fatal,
        as at open."""
        try:
            # Maintenance: the CPU it takes is not the calls' (admission control).
            await asyncio.to_thread(run_as_maintenance, self._store.verify_prefix, through)
        except StoreError as e:
            log.critical("journal verification failed: %s", e)
            if not self._fatal.done():
                self._fatal.set_exception(e)

    @property
    def fatal(self) -> asyncio.Future[None]:
        """Completes with the exception when the store failed; the server must stop."""
        return self._fatal

    async def close(self) -> None:
        """Waits for pending records, writes a final snapshot, closes the store."""
        if self._clock_task is not None:
            self._clock_task.cancel()
        if self._verify_task is not None:
            self._verify_task.cancel()
        if not self._store.failed:
            await self._store.flush()
            if self._policy.records:
                await self._snapshot()
        await self._store.close()

    async def drop(self) -> None:
        """Closes without a final snapshot (a cluster shard whose lease is or may be gone:
        what is queued still meets the store's fencing check, which refuses it then)."""
        for task in (self._clock_task, self._verify_task):
            if task is not None:
                task.cancel()
        await self._store.close()

    # ---- the Context handlers read ----------------------------------------------------

    def account(self, account_id: str, field: str = "account_id") -> AccountState:
        """The live account, or ACCOUNT_NOT_FOUND."""
        if not account_id:
            raise InvalidInputError("is required", "INVALID_ARGUMENT", field)
        try:
            return self._accounts[account_id]
        except KeyError:
            v.identifier(account_id, field)
            raise AccountNotFoundError(f"no account {account_id}", "ACCOUNT_NOT_FOUND", field) from None

    def has_account(self, account_id: str) -> bool:
        return account_id in self._accounts

    def account_digest(self, account_id: str) -> bytes | None:
        """The stored hash of the live account (None for an unknown id)."""
        digest = self._hashes.get(account_id)
        if digest is None and account_id in self._accounts:
            # Computed on first use after a snapshot load (start-up stays short).
            digest = self._hashes[account_id] = self._accounts[account_id].digest()
        return digest

    def account_ids(self) -> Iterable[str]:
        return self._accounts.keys()

    def compiled(self, account_id: str) -> multimargin.Account:
        """The live account compiled by the core, kept until the account changes."""
        compiled = self._compiled.get(account_id)
        if compiled is None:
            compiled = handlers.compile_account(self.rulebook, self.account(account_id))
            self._compiled[account_id] = compiled
        return compiled

    def exposed(self, assets: Iterable[str], symbols: Iterable[str]) -> set[str]:
        """Ids of the accounts whose figures depend on any of these prices."""
        return self._exposure.exposed(assets, symbols)

    def history(self, account_id: str, before: int | None, limit: int) -> list[tuple[int, Any]]:
        return self.feed.history(account_id, before, limit)

    def history_token(self, account_id: str, seq: int) -> str:
        return self.feed.history_token(account_id, seq)

    def history_cursor(self, account_id: str, token: str) -> int:
        return self.feed.history_cursor(account_id, token)

    async def stream(self, method: str, request: Any) -> AsyncIterator[Any]:
        """A server-streaming RPC: WatchEvents (SPEC §8)."""
        if method not in handlers.STREAMS:
            raise InternalError(f"no stream {method}")
        for i, account_id in enumerate(request.account_ids):
            self.account(account_id, f"account_ids[{i}]")
        async for response in self.feed.watch(request):
            yield response

    # ---- calls -----------------------------------------------------------------------

    async def call(self, method: str, request: Any) -> Any:
        """Runs one RPC: a mutation returns once durable; a query reads settled state."""
        query = handlers.QUERIES.get(method)
        if query is not None:
            account_id = getattr(request, "account_id", None)
            last = self._pending.get(account_id) if account_id else self._last
            prices = self._prices_pending
            if (last is not None and not last.done()) or (prices is not None and not prices.done()):
                await self._settled(account_id)
            self.ts_ns = time.time_ns()
            return query(self, request)
        if method in handlers.MUTATIONS:
            return await self._mutate(method, request)
        if method in handlers.STREAMS:
            raise InternalError(f"{method} is a streaming RPC")
        raise InternalError(f"no handler for {method}")

    async def _settled(self, account_id: str | None) -> None:
        """Waits until what a read would see is durable: the account's last change and
        the last price update (every figure depends on prices)."""
        for fut in (self._pending.get(account_id) if account_id else self._last, self._prices_pending):
            if fut is not None and not fut.done():
                await asyncio.shield(fut)

    def _check_alive(self) -> None:
        if self._store.failed or self._fatal.done():
            raise InternalError("the store has failed; the server is stopping")

    async def _mutate(self, method: str, request: Any) -> Any:
        self._check_alive()
        rid = v.request_id(request.request_id)
        payload = request.SerializeToString(deterministic=True)
        digest = hashlib.sha256(method.encode() + b"\0" + payload).digest()
        prior = self._ids.prior(rid, method, digest)
        if prior is not None:
            if prior.durable is not None and not prior.durable.done():
                await asyncio.shield(prior.durable)
            return RESPONSE_TYPES[method].FromString(prior.response)

        self.ts_ns = time.time_ns()
        started = time.perf_counter()
        outcome = handlers.MUTATIONS[method](self, request)
        response = outcome.response.SerializeToString(deterministic=True)
        state_hash, events = self._apply(outcome)
        cost = time.perf_counter() - started  # about what replaying it will cost
        ids = [a.account_id for a in outcome.accounts]
        record = JournalRecord(
            seq=self._store.next_seq,
            ts_ns=self.ts_ns,
            kind=method,
            account_id=ids[0] if len(ids) == 1 else None,
            request_id=rid,
            request_hash=digest,
            command=payload,
            response=response,
            state_hash=state_hash,
        )
        # `prior` looked the id up just above, with no await since.
        durable = self._store.submit(record, request_id_checked=True, events=self.feed.rows(record, events))
        self.feed.publish_when_durable(durable, events)
        self._ids.add(rid, Done(method, digest, response, durable))
        for i in ids:
            self._pending[i] = durable
        if outcome.prices is not None:
            self._prices_pending = durable
        self._last = durable
        self._policy.add(cost)
        try:
            await asyncio.shield(durable)
        except DurabilityError as e:
            if not self._fatal.done():
                self._fatal.set_exception(e)
            raise InternalError("the change could not be made durable; the server is stopping") from e
        if self._policy.due():
            await self._snapshot()
        return outcome.response

    def _apply(self, outcome: handlers.Outcome) -> tuple[bytes, list[history_pb2.Event]]:
        """Makes an outcome live; returns the hash of what it changed and the events it
        raised (numbered and stamped)."""
        parts = []
        events: list[history_pb2.Event] = []
        version = self.rulebook_version + (1 if outcome.rulebook is not None else 0)
        for a in outcome.accounts:
            for event in a.events:
                ev.finish(a, event, self.ts_ns, version)
                events.append(event)
            a.events = []
            if a.compiled is not None:
                self._compiled[a.account_id] = a.compiled
                a.compiled = None
            else:
                self._compiled.pop(a.account_id, None)
            self._exposure.update(a, self.contracts)
            self._accounts[a.account_id] = a
            known = a.digested
            digest = known[1] if known is not None and known[0] == a.version else a.digest()
            a.digested = None
            self._hashes[a.account_id] = digest
            parts.append(a.account_id.encode() + b"\0" + digest)
        if outcome.prices is not None:
            self.index_prices, self.mark_prices = outcome.prices
            self.market = multimargin.Market(self.rulebook, self.index_prices, self.mark_prices)
            self.prices_version += 1
            parts.append(sha256_json([self.index_prices, self.mark_prices, self.prices_version]))
        if outcome.rulebook is not None:
            # After the accounts: the install compiles every account in its new state.
            self._install_rulebook(outcome.rulebook)
            parts.append(b"rulebook\0" + hashlib.sha256(outcome.rulebook.encode()).digest())
        if outcome.settled_through is not None:
            self.settled_through = outcome.settled_through
            parts.append(b"settled_through\0" + str(self.settled_through).encode())
        return hashlib.sha256(b"".join(parts)).digest(), events

    # ---- rulebook --------------------------------------------------------------------

    def _install_rulebook(self, text: str, version: int | None = None, *, validate: bool = True) -> None:
        """Validates a rulebook against the current state (unless ``validate`` is False:
        a snapshot's own rulebook) and makes it current, as ``version`` (default: the
        next one)."""
        rb = Rulebook(text)
        rules = json.loads(text)
        index = {k: p for k, p in self.index_prices.items() if k in rb.assets}
        marks = {k: p for k, p in self.mark_prices.items() if k in rb.contracts}
        market = multimargin.Market(rb, index, marks)
        compiled = {}
        for account_id, a in self._accounts.items() if validate else ():
            try:
                compiled[account_id] = handlers.compile_account(rb, a)
            except multimargin.MarginError as e:
                raise InvalidInputError(
                    f"the rulebook does not fit account {account_id}: {e}", e.reason, "rulebook"
                ) from None
        self.rulebook, self.rules, self.rulebook_json = rb, rules, text
        self.index_prices, self.mark_prices, self.market = index, marks, market
        self._compiled = compiled
        self._exposure.rebuild(self._accounts.values(), self.contracts)
        self.rulebook_version = version if version is not None else self.rulebook_version + 1

    @property
    def contracts(self) -> dict[str, Any]:
        """The rulebook's contracts, as JSON data."""
        contracts: dict[str, Any] = self.rules.get("contracts", {})
        return contracts

    async def _set_rulebook(self, text: str) -> None:
        started = time.perf_counter()
        self._install_rulebook(text)
        cost = time.perf_counter() - started
        record = JournalRecord(
            seq=self._store.next_seq,
            ts_ns=time.time_ns(),
            kind=SET_RULEBOOK,
            account_id=None,
            request_id=None,
            request_hash=hashlib.sha256(text.encode()).digest(),
            command=text.encode(),
            response=b"",
            state_hash=hashlib.sha256(text.encode()).digest(),
        )
        self._policy.add(cost)
        self._last = self._store.submit(record)
        await self._last
        log.info("rulebook installed", extra={"fields": {"seq": record.seq}})

    # ---- recovery --------------------------------------------------------------------

    def _replay(self, record: JournalRecord) -> None:
        started = time.perf_counter()
        self._replay_one(record)
        self._policy.add(time.perf_counter() - started)

    def _replay_one(self, record: JournalRecord) -> None:
        self.ts_ns = record.ts_ns
        if record.kind == SET_RULEBOOK:
            self._install_rulebook(record.command.decode())
            return
        request = REQUEST_TYPES[record.kind].FromString(record.command)
        try:
            outcome = handlers.MUTATIONS[record.kind](self, request)
        except multimargin.MarginError as e:
            raise ReplayDivergedError(record.seq, f"the command was refused on replay: {e}") from None
        response = outcome.response.SerializeToString(deterministic=True)
        state_hash, _ = self._apply(outcome)  # its events are in the store already
        if response != record.response:
            raise ReplayDivergedError(record.seq, "the response differs from the journaled one")
        if state_hash != record.state_hash:
            raise ReplayDivergedError(record.seq, "the state hash differs from the journaled one")

    def state_document(self) -> StateDocument:
        """The whole state (snapshots, the state hash)."""
        return StateDocument(
            self.rulebook_json,
            self.rulebook_version,
            self.index_prices,
            self.mark_prices,
            self.prices_version,
            self.settled_through,
            self._accounts,
        )

    def state_hash(self) -> str:
        """Hex sha256 of the canonical state: equal hashes mean equal states."""
        return self.state_document().hash()

    def _load_snapshot(self, snapshot: Snapshot) -> None:
        doc = StateDocument.from_snapshot(snapshot)
        self.index_prices, self.mark_prices = doc.index_prices, doc.mark_prices
        self.prices_version = doc.prices_version
        self.settled_through = doc.settled_through
        self._accounts = doc.accounts
        self._hashes = {}  # computed when first needed
        # The snapshot's accounts were valid under its rulebook: no need to compile them
        # all now; each is compiled when first used.
        self._install_rulebook(doc.rulebook_json, doc.rulebook_version, validate=False)
        self._snapshot_seq = snapshot.seq

    async def _snapshot(self) -> None:
        seq = self._store.next_seq - 1
        if seq <= 0:
            return
        snapshot = self.state_document().snapshot(seq)
        self._policy.reset()
        self._snapshot_seq = seq
        await self._store.submit_snapshot(snapshot)

    def attach_metrics(self, metrics: Any, shed: Callable[[], int]) -> None:
        """Reports journal commits and published events to ``metrics``
        (:class:`multimargin.service.metrics.Metrics`), which reads the engine's gauges
        at each scrape."""
        self._store.on_commit = metrics.observe_commit
        self.feed.on_publish = lambda event: metrics.observe_event(history_pb2.EventKind.Name(event.kind))
        metrics.watch(self, shed)

    # ---- what metrics read (from their own thread; list() of a dict view is atomic) ----

    def account_counts(self) -> collections.Counter[tuple[str, str, str]]:
        """Accounts by (kind, mode, status)."""
        return collections.Counter((a.kind, a.mode, a.status) for a in list(self._accounts.values()))

    def margin_call_count(self) -> int:
        return sum(1 for a in list(self._accounts.values()) if a.margin_call)

    def event_backlog(self) -> int:
        return self.feed.backlog

    def engine_status(self) -> operator_service_pb2.GetEngineStatusResponse:
        """The journal position and state hash (GetEngineStatus)."""
        return operator_service_pb2.GetEngineStatusResponse(
            state_hash=self.state_hash(),
            journal_seq=self._store.next_seq - 1,
            accounts=len(self._accounts),
            snapshot_seq=self._snapshot_seq,
            event_seq=self.feed.last_seq,
            rulebook_version=self.rulebook_version,
        )

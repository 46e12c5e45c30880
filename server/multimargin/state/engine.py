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
import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import message_factory

import multimargin
from multimargin import Rulebook
from multimargin.errors import (
    AccountNotFoundError,
    InternalError,
    InvalidInputError,
    RuleViolationError,
)
from multimargin.state import demo as demo_data
from multimargin.state import handlers
from multimargin.state import validate as v
from multimargin.state.model import AccountState, canonical_json, sha256_json
from multimargin.state.recent import RecentRequests
from multimargin.store import DurabilityError, JournalRecord, Snapshot, Store, StoreError
from multimargin.v1 import (
    account_service_pb2,
    funds_service_pb2,
    market_data_service_pb2,
    operator_service_pb2,
    risk_service_pb2,
    trading_service_pb2,
)

log = logging.getLogger("multimargin.engine")

SET_RULEBOOK = "SetRulebook"  # internal journal command: the rulebook in effect from here on
SNAPSHOT_STATE_VERSION = 1


def _message_types() -> tuple[dict[str, type[Any]], dict[str, type[Any]]]:
    """Request and response classes of every RPC, by short method name."""
    requests: dict[str, type[Any]] = {}
    responses: dict[str, type[Any]] = {}
    for module in (
        account_service_pb2,
        funds_service_pb2,
        trading_service_pb2,
        risk_service_pb2,
        market_data_service_pb2,
        operator_service_pb2,
    ):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                requests[method.name] = message_factory.GetMessageClass(method.input_type)
                responses[method.name] = message_factory.GetMessageClass(method.output_type)
    return requests, responses


REQUEST_TYPES, RESPONSE_TYPES = _message_types()


class ReplayDivergedError(StoreError):
    """Replaying a journal record did not reproduce its response or state hash."""

    def __init__(self, seq: int, detail: str) -> None:
        super().__init__(f"journal replay diverged at seq {seq}: {detail}")
        self.seq = seq


@dataclass
class _Done:
    """A committed (or committing) mutation, for idempotent retries."""

    method: str
    digest: bytes
    response: bytes
    durable: asyncio.Future[None] | None


def _rulebook_text(text: str) -> str:
    """A rulebook's JSON without insignificant whitespace, key order kept (the default
    payer order is the order of the assets)."""
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


class Engine:
    """Account state, market data and the journal behind them (see module docs)."""

    def __init__(self, store: Store, *, snapshot_every: int = 10_000) -> None:
        self._store = store
        self._snapshot_every = snapshot_every
        self.rulebook: Rulebook = multimargin.default_rulebook()
        self.rules: dict[str, Any] = {}
        self.rulebook_json = ""
        self.index_prices: dict[str, str] = {}
        self.mark_prices: dict[str, str] = {}
        self.prices_version = 0
        self.market = multimargin.Market(self.rulebook)
        self.ts_ns = 0
        self._accounts: dict[str, AccountState] = {}
        self._hashes: dict[str, bytes] = {}
        self._recent: RecentRequests[_Done] = RecentRequests()  # older ids: the journal
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._last: asyncio.Future[None] | None = None
        self._prices_pending: asyncio.Future[None] | None = None
        self._since_snapshot = 0
        self._snapshot_seq = 0
        self._fatal: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # ---- lifecycle -------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        data_dir: Path,
        *,
        rulebook_json: str | None = None,
        demo: bool = False,
        snapshot_every: int = 10_000,
        init_store: bool = False,
    ) -> Engine:
        """Opens the store under ``data_dir``, recovers the state, and applies the given
        rulebook (journaled when it differs from the one in effect). ``demo`` seeds demo
        accounts and prices into an empty store. ``init_store``: see :meth:`Store.open`."""
        store = Store.open(Path(data_dir), init_store=init_store)
        try:
            engine = cls(store, snapshot_every=snapshot_every)
            recovery = store.recover()
            if recovery.snapshot is not None:
                engine._load_snapshot(recovery.snapshot)
            for record in recovery.records:
                engine._replay(record)
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
            wanted = _rulebook_text(rulebook_json) if rulebook_json is not None else None
            if not engine.rulebook_json:
                await engine._set_rulebook(wanted or _rulebook_text(multimargin.default_rulebook_json()))
            elif wanted is not None and wanted != engine.rulebook_json:
                await engine._set_rulebook(wanted)
            if demo and not engine._accounts:
                for method, request in demo_data.commands():
                    await engine.call(method, request)
        except BaseException:
            await store.close()
            raise
        return engine

    @property
    def fatal(self) -> asyncio.Future[None]:
        """Completes with the exception when the store failed; the server must stop."""
        return self._fatal

    async def close(self) -> None:
        """Waits for pending records, writes a final snapshot, closes the store."""
        if not self._store.failed:
            await self._store.flush()
            if self._since_snapshot:
                await self._snapshot()
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
        return self._hashes.get(account_id)

    def account_ids(self) -> Iterable[str]:
        return self._accounts.keys()

    # ---- calls -----------------------------------------------------------------------

    async def call(self, method: str, request: Any) -> Any:
        """Runs one RPC: a mutation returns once durable; a query reads settled state."""
        if method in handlers.MUTATIONS:
            return await self._mutate(method, request)
        if method == "GetEngineStatus":
            await self._settled(None)
            return self._status()
        query = handlers.QUERIES.get(method)
        if query is None:
            raise InternalError(f"no handler for {method}")
        await self._settled(getattr(request, "account_id", None))
        self.ts_ns = time.time_ns()
        return query(self, request)

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
        prior = self._prior(rid)
        if prior is not None:
            if prior.method != method or prior.digest != digest:
                raise RuleViolationError(
                    f"request_id {rid} was already used for a different request",
                    "IDEMPOTENCY_KEY_REUSED",
                    "request_id",
                )
            if prior.durable is not None and not prior.durable.done():
                await asyncio.shield(prior.durable)
            return RESPONSE_TYPES[method].FromString(prior.response)

        self.ts_ns = time.time_ns()
        outcome = handlers.MUTATIONS[method](self, request)
        response = outcome.response.SerializeToString(deterministic=True)
        state_hash = self._apply(outcome)
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
        # `_prior` looked the id up just above, with no await since.
        durable = self._store.submit(record, request_id_checked=True)
        self._recent.add(rid, _Done(method, digest, response, durable), durable)
        for i in ids:
            self._pending[i] = durable
        if outcome.prices is not None:
            self._prices_pending = durable
        self._last = durable
        self._since_snapshot += 1
        try:
            await asyncio.shield(durable)
        except DurabilityError as e:
            if not self._fatal.done():
                self._fatal.set_exception(e)
            raise InternalError("the change could not be made durable; the server is stopping") from e
        if self._since_snapshot >= self._snapshot_every:
            await self._snapshot()
        return outcome.response

    def _prior(self, rid: str) -> _Done | None:
        """The earlier mutation with this request id, from memory or the journal."""
        done = self._recent.get(rid)
        if done is not None:
            return done
        record = self._store.lookup(rid)
        if record is None:
            return None
        return _Done(record.kind, record.request_hash, record.response, None)

    def _apply(self, outcome: handlers.Outcome) -> bytes:
        """Makes an outcome live; returns the hash of what it changed."""
        parts = []
        for a in outcome.accounts:
            self._accounts[a.account_id] = a
            digest = a.digest()
            self._hashes[a.account_id] = digest
            parts.append(a.account_id.encode() + b"\0" + digest)
        if outcome.prices is not None:
            self.index_prices, self.mark_prices = outcome.prices
            self.market = multimargin.Market(self.rulebook, self.index_prices, self.mark_prices)
            self.prices_version += 1
            parts.append(sha256_json([self.index_prices, self.mark_prices, self.prices_version]))
        return hashlib.sha256(b"".join(parts)).digest()

    # ---- rulebook --------------------------------------------------------------------

    def _install_rulebook(self, text: str) -> None:
        """Validates a rulebook against the current state and makes it current."""
        rb = Rulebook(text)
        rules = json.loads(text)
        index = {k: p for k, p in self.index_prices.items() if k in rb.assets}
        marks = {k: p for k, p in self.mark_prices.items() if k in rb.contracts}
        market = multimargin.Market(rb, index, marks)
        for account_id, a in self._accounts.items():
            try:
                handlers.compile_account(rb, a)
            except multimargin.MarginError as e:
                raise InvalidInputError(
                    f"the rulebook does not fit account {account_id}: {e}", e.reason, "rulebook"
                ) from None
        self.rulebook, self.rules, self.rulebook_json = rb, rules, text
        self.index_prices, self.mark_prices, self.market = index, marks, market

    async def _set_rulebook(self, text: str) -> None:
        self._install_rulebook(text)
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
        self._since_snapshot += 1
        self._last = self._store.submit(record)
        await self._last
        log.info("rulebook installed", extra={"fields": {"seq": record.seq}})

    # ---- recovery --------------------------------------------------------------------

    def _replay(self, record: JournalRecord) -> None:
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
        state_hash = self._apply(outcome)
        if response != record.response:
            raise ReplayDivergedError(record.seq, "the response differs from the journaled one")
        if state_hash != record.state_hash:
            raise ReplayDivergedError(record.seq, "the state hash differs from the journaled one")
        self._since_snapshot += 1

    def state_document(self) -> dict[str, Any]:
        """The whole state as one canonical document (snapshots, the state hash)."""
        return {
            "format": SNAPSHOT_STATE_VERSION,
            "rulebook": self.rulebook_json,
            "index_prices": self.index_prices,
            "mark_prices": self.mark_prices,
            "prices_version": self.prices_version,
            "accounts": [self._accounts[i].canonical() for i in sorted(self._accounts)],
        }

    def state_hash(self) -> str:
        """sha256 of :meth:`state_document`, hex: equal hashes mean equal states."""
        return hashlib.sha256(canonical_json(self.state_document())).hexdigest()

    def _load_snapshot(self, snapshot: Snapshot) -> None:
        doc = json.loads(snapshot.state)
        if doc.get("format") != SNAPSHOT_STATE_VERSION:
            raise StoreError(f"snapshot at seq {snapshot.seq} has an unknown format {doc.get('format')!r}")
        if hashlib.sha256(canonical_json(doc)).digest() != snapshot.state_hash:
            raise StoreError(f"snapshot at seq {snapshot.seq} does not match its state hash")
        self.index_prices, self.mark_prices = doc["index_prices"], doc["mark_prices"]
        self.prices_version = doc["prices_version"]
        self._accounts = {a["account_id"]: AccountState.from_canonical(a) for a in doc["accounts"]}
        self._hashes = {i: a.digest() for i, a in self._accounts.items()}
        self._install_rulebook(doc["rulebook"])
        self._snapshot_seq = snapshot.seq

    async def _snapshot(self) -> None:
        seq = self._store.next_seq - 1
        if seq <= 0:
            return
        state = canonical_json(self.state_document())
        self._since_snapshot = 0
        self._snapshot_seq = seq
        await self._store.submit_snapshot(
            Snapshot(seq=seq, state=state, state_hash=hashlib.sha256(state).digest())
        )

    def _status(self) -> operator_service_pb2.GetEngineStatusResponse:
        return operator_service_pb2.GetEngineStatusResponse(
            state_hash=self.state_hash(),
            journal_seq=self._store.next_seq - 1,
            accounts=len(self._accounts),
            snapshot_seq=self._snapshot_seq,
        )

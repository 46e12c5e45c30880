"""The ordered commit pipeline shared by both stores: group commit on a committer thread.

The state machine (one writer, the asyncio event loop) validates a command,
applies it in memory, calls :meth:`CommitPipeline.submit` and acknowledges the
client only when the returned future resolves -- i.e. after the transaction
holding the record has committed durably. Everything is a batch: the committer
thread takes all pending work and writes it in one transaction, while new
submissions queue up for the next batch. Durability therefore costs one commit
(one fsync) per batch, not per request.

A backend (:class:`multimargin.store.Store` on SQLite,
:class:`multimargin.store.postgres.PgStore` on PostgreSQL) supplies the
transaction (:meth:`CommitPipeline._write`), the idempotency query and the
opening and closing of its connections; the ordering, the futures, the failed
state and the counters are here, once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Final

from multimargin.store.errors import DurabilityError, StoreError
from multimargin.store.interface import EventRow
from multimargin.store.records import (
    GENESIS_CHAIN,
    JournalRecord,
    Recovery,
    Snapshot,
    StoreStats,
    chain_value,
    snapshot_checksum,
    validate_record,
    validate_snapshot,
)
from multimargin.store.rows import check_journal_end
from multimargin.store.schema import RESERVED_META_PREFIX

_RECORD: Final = 0
_SNAPSHOT: Final = 1
_META: Final = 2
_BARRIER: Final = 3  # no write; resolves once everything before it is durable

# Rough per-row overhead added to the payload size when capping a batch.
_ROW_OVERHEAD = 64

# (seq, ts_ns, kind, account_id, request_id, request_hash, command, response, state_hash, chain)
JournalRow = tuple[int, int, str, str | None, str | None, bytes, bytes, bytes, bytes, bytes]
# (seq, state, state_hash, checksum)
SnapshotRow = tuple[int, bytes, bytes, bytes]


class _Op:
    """One unit of work in the ordered commit pipeline (exactly one payload is set)."""

    __slots__ = ("events", "future", "kind", "meta", "row", "size", "snapshot")

    def __init__(
        self,
        kind: int,
        future: asyncio.Future[None],
        size: int = 0,
        *,
        row: JournalRow | None = None,
        snapshot: Snapshot | None = None,
        meta: tuple[str, bytes] | None = None,
        events: tuple[EventRow, ...] = (),
    ) -> None:
        self.kind = kind
        self.events = events
        self.future = future
        self.size = size
        self.row = row
        self.snapshot = snapshot
        self.meta = meta


class CommitPipeline:
    """Submission, group commit and acknowledgement; a backend subclasses it.

    Threading: :meth:`submit`, :meth:`submit_snapshot`, :meth:`put_meta` and
    :meth:`flush` must be called on the event loop's thread (the first call
    binds the store to that loop); the backend's ``_write`` runs on the
    committer thread only.
    """

    def __init__(self, *, max_batch_records: int, max_batch_bytes: int, snapshots_retained: int) -> None:
        self._max_batch_records = max_batch_records
        self._max_batch_bytes = max_batch_bytes
        self._snapshots_retained = snapshots_retained

        # Called from the committer thread after each batch with (seconds, records):
        # metrics, without the store knowing of them.
        self.on_commit: Callable[[float, int], None] | None = None

        # Event-loop-thread state (the backend's recover() sets the first three).
        self._recovered = False
        self._next_seq = 0
        self._chain_head = GENESIS_CHAIN
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unresolved = 0
        # request_id -> seq for records submitted but not yet durable, so a
        # duplicate key is refused at submit instead of failing a whole batch.
        self._inflight_ids: dict[str, int] = {}
        self._closing = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Future[None] | None = None

        # Shared with the committer thread; guarded by _cond.
        self._cond = threading.Condition(threading.Lock())
        self._pending: collections.deque[_Op] = collections.deque()
        self._stopping = False
        self._failure: DurabilityError | None = None
        self._records_committed = 0
        self._batches_committed = 0
        self._snapshots_committed = 0
        self._meta_committed = 0
        self._largest_batch = 0

    # ------------------------------------------------------- backend hooks

    def _committer_name(self) -> str:
        raise NotImplementedError

    def _committed_seq_of(self, request_id: str) -> int | None:
        """The seq of the committed record with this request id (event-loop thread)."""
        raise NotImplementedError

    def _write(
        self,
        rows: list[JournalRow],
        events: list[EventRow],
        snapshots: list[SnapshotRow],
        metas: list[tuple[str, bytes]],
    ) -> None:
        """Commit one batch in one transaction (committer thread); raise to fail the store."""
        raise NotImplementedError

    def _committer_done(self, *, clean: bool) -> None:
        """The committer is stopping (``clean``: after its last batch): close the writer."""
        raise NotImplementedError

    def _close_idle_writer(self) -> None:
        """close() of a store whose committer never started (event-loop thread)."""
        raise NotImplementedError

    def _release(self) -> None:
        """Last step of close(): the readers and whatever else the backend holds."""
        raise NotImplementedError

    def _failure_for(self, exc: BaseException, where: str) -> DurabilityError:
        """The error that puts the store into its failed state after ``exc``."""
        return DurabilityError(f"commit of a batch{where} failed: {exc!r}")

    # ----------------------------------------------------------- properties

    @property
    def next_seq(self) -> int:
        """The seq the next submitted record must carry (valid after ``recover``)."""
        if not self._recovered:
            raise StoreError("call recover() before using next_seq")
        return self._next_seq

    @property
    def failed(self) -> bool:
        """True once a write or commit has failed; the store acknowledges nothing after."""
        return self._failure is not None

    @property
    def failure(self) -> DurabilityError | None:
        """The :class:`DurabilityError` that put the store into its failed state."""
        return self._failure

    @property
    def stats(self) -> StoreStats:
        """Commit counters (records, batches, ...) as of now."""
        with self._cond:
            return StoreStats(
                records_committed=self._records_committed,
                batches_committed=self._batches_committed,
                snapshots_committed=self._snapshots_committed,
                meta_committed=self._meta_committed,
                largest_batch=self._largest_batch,
            )

    # --------------------------------------------------------------- writing

    def submit(
        self,
        record: JournalRecord,
        *,
        request_id_checked: bool = False,
        events: tuple[EventRow, ...] = (),
    ) -> asyncio.Future[None]:
        """Append ``record`` to the pending batch; the future resolves when it is durable.

        ``events`` (rows of the ``events`` table, whose journal seq is ``record.seq``)
        are written in the same transaction as the record.

        ``record.seq`` must equal :attr:`next_seq`. Raises ``ValueError`` /
        ``TypeError`` (and the record takes no seq) for a wrong seq, a field of
        the wrong type, or a ``request_id`` already in the journal or in
        flight. ``request_id_checked=True`` says the caller has just looked the
        id up with ``lookup`` (on this thread, nothing submitted since), which
        spares the journal query. Once the store has failed, the returned future
        carries a :class:`DurabilityError`. Futures settle in seq order,
        successes and failures alike.
        """
        loop = self._bind_loop()
        if record.seq != self._next_seq:
            raise ValueError(f"record seq {record.seq} is not next_seq {self._next_seq}")
        validate_record(record)
        request_id = record.request_id
        if request_id is not None:
            if request_id in self._inflight_ids:
                raise ValueError(
                    f"request_id {request_id!r} is already in flight (seq {self._inflight_ids[request_id]})"
                )
            if not request_id_checked and self._committed_seq_of(request_id) is not None:
                raise ValueError(f"request_id {request_id!r} is already in the journal")
        chain = chain_value(self._chain_head, record)
        row: JournalRow = (
            record.seq,
            record.ts_ns,
            record.kind,
            record.account_id,
            request_id,
            record.request_hash,
            record.command,
            record.response,
            record.state_hash,
            chain,
        )
        size = (
            len(record.command)
            + len(record.response)
            + len(record.state_hash)
            + len(record.request_hash)
            + _ROW_OVERHEAD
        )
        future = loop.create_future()
        size += sum(len(e[4]) + _ROW_OVERHEAD for e in events)
        if not self._enqueue(_Op(_RECORD, future, size, row=row, events=events)):
            return future
        self._next_seq += 1
        self._chain_head = chain
        if request_id is not None:
            self._inflight_ids[request_id] = record.seq
        return future

    def submit_snapshot(self, snapshot: Snapshot) -> asyncio.Future[None]:
        """Queue ``snapshot``; it commits after every record with seq <= ``snapshot.seq``.

        ``snapshot.seq`` must be a record already submitted (or 0). Resolves
        when the snapshot is durable; older snapshots beyond the retained
        count are deleted in the same transaction.
        """
        loop = self._bind_loop()
        validate_snapshot(snapshot)
        if snapshot.seq >= self._next_seq:
            raise ValueError(
                f"snapshot seq {snapshot.seq} is beyond the last submitted record {self._next_seq - 1}"
            )
        future = loop.create_future()
        size = len(snapshot.state) + len(snapshot.state_hash) + _ROW_OVERHEAD
        self._enqueue(_Op(_SNAPSHOT, future, size, snapshot=snapshot))
        return future

    def put_meta(self, key: str, value: bytes) -> asyncio.Future[None]:
        """Queue ``meta[key] = value`` in the ordered commit pipeline.

        Keys starting with ``"store."`` are reserved for the store.
        """
        loop = self._bind_loop()
        if not isinstance(key, str) or not isinstance(value, bytes):
            raise TypeError("meta key must be str and value bytes")
        key.encode("utf-8")
        if key.startswith(RESERVED_META_PREFIX):
            raise ValueError(f"meta keys starting with {RESERVED_META_PREFIX!r} are reserved")
        future = loop.create_future()
        size = len(key) + len(value) + _ROW_OVERHEAD
        self._enqueue(_Op(_META, future, size, meta=(key, value)))
        return future

    async def flush(self) -> None:
        """Wait until everything submitted so far is durable.

        Raises :class:`DurabilityError` if the store has failed.
        """
        loop = asyncio.get_running_loop()
        if self._failure is not None:
            raise _durability_error(self._failure)
        if self._loop is None or self._unresolved == 0:
            return
        if loop is not self._loop:
            raise StoreError("flush() called from a different event loop than submit()")
        future = loop.create_future()
        self._enqueue(_Op(_BARRIER, future))
        await future

    async def close(self) -> None:
        """Flush, stop the committer, close the connections.

        Does not raise for a failed store: the failure has already been
        delivered to every affected future and is on :attr:`failure`.
        Idempotent.
        """
        if self._closed or self._closing:
            return
        if self._failure is None:
            with contextlib.suppress(DurabilityError):
                await self.flush()
        self._closing = True
        try:
            if self._thread is not None:
                with self._cond:
                    self._stopping = True
                    self._cond.notify()
                assert self._stopped is not None
                await self._stopped
                self._thread.join()
            else:
                self._close_idle_writer()
        finally:
            self._release()
            self._closed = True

    # ------------------------------------------------- event-loop internals

    def _recovered_end(
        self,
        meta: dict[str, bytes],
        last_seq: int,
        chain: bytes,
        snapshots: list[tuple[Snapshot, bytes]],
        records: list[JournalRecord],
    ) -> Recovery:
        """The end of a recovery, the same for every backend (:func:`check_journal_end`);
        then the store is recovered."""
        check_journal_end(meta, last_seq, chain, snapshots)
        self._next_seq = last_seq + 1
        self._chain_head = chain
        self._recovered = True
        return Recovery(snapshot=snapshots[-1][0] if snapshots else None, records=records)

    def _check_open(self) -> None:
        if self._closed or self._closing:
            raise StoreError("store is closed")

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            if self._closing:
                raise StoreError("store is closed")
            return loop
        self._check_open()
        if not self._recovered:
            raise StoreError("call recover() before submitting")
        if self._loop is not None:
            raise StoreError("store is bound to another event loop")
        self._loop = loop
        self._stopped = loop.create_future()
        self._thread = threading.Thread(target=self._committer, name=self._committer_name(), daemon=True)
        self._thread.start()
        return loop

    def _enqueue(self, op: _Op) -> bool:
        """Hand ``op`` to the committer; False (future already failed) if the store failed."""
        with self._cond:
            failure = self._failure
            if failure is None:
                self._pending.append(op)
                self._cond.notify()
        if failure is not None:
            # Not set_exception() here: acknowledgements of batches committed
            # before the failure may still be queued on the loop, and settling
            # this later op first would report outcomes out of seq order.
            assert self._loop is not None
            self._loop.call_soon(self._reject_late, op, failure)
            return False
        self._unresolved += 1
        return True

    def _resolve(self, ops: list[_Op]) -> None:
        """Runs on the loop: the batch holding ``ops`` has committed."""
        self._unresolved -= len(ops)
        for op in ops:
            self._forget_inflight(op)
            if not op.future.done():  # the caller may have cancelled its wait
                op.future.set_result(None)

    def _reject(self, ops: list[_Op], failure: DurabilityError) -> None:
        """Runs on the loop: ``ops`` will never be durable."""
        self._unresolved -= len(ops)
        for op in ops:
            self._forget_inflight(op)
            if not op.future.done():
                op.future.set_exception(_durability_error(failure))

    def _reject_late(self, op: _Op, failure: DurabilityError) -> None:
        """Runs on the loop: ``op`` arrived after the store failed."""
        if not op.future.done():
            op.future.set_exception(_durability_error(failure))

    def _forget_inflight(self, op: _Op) -> None:
        if op.row is not None and op.row[4] is not None:
            self._inflight_ids.pop(op.row[4], None)

    def _committer_stopped(self) -> None:
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_result(None)

    # ----------------------------------------------- committer-thread side

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        loop = self._loop
        assert loop is not None
        # The loop may already be closed if the owner never awaited close();
        # then there is nobody left to tell.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(callback, *args)

    def _take_batch(self) -> list[_Op]:
        """Pop up to the caps from the pending queue (caller holds ``_cond``)."""
        pending = self._pending
        batch = [pending.popleft()]
        size = batch[0].size
        while pending and len(batch) < self._max_batch_records:
            size += pending[0].size
            if size > self._max_batch_bytes:
                break
            batch.append(pending.popleft())
        return batch

    def _committer(self) -> None:
        """The only code that writes to the database, on its own thread."""
        clean = False
        try:
            while True:
                with self._cond:
                    while not self._pending and not self._stopping:
                        self._cond.wait()
                    if not self._pending:
                        break  # stopping, and everything is written
                    batch = self._take_batch()
                try:
                    self._write_batch(batch)
                except BaseException as exc:
                    self._fail(batch, exc)
                    return
                self._post(self._resolve, batch)
            clean = True
        finally:
            self._committer_done(clean=clean)
            self._post(self._committer_stopped)

    def _write_batch(self, batch: list[_Op]) -> None:
        rows: list[JournalRow] = []
        events: list[EventRow] = []
        snapshots: list[SnapshotRow] = []
        metas: list[tuple[str, bytes]] = []
        for op in batch:
            if op.row is not None:
                rows.append(op.row)
                events.extend(op.events)
            elif op.snapshot is not None:
                snap = op.snapshot
                # Hashed here, off the event loop: a state can be megabytes.
                snapshots.append((snap.seq, snap.state, snap.state_hash, snapshot_checksum(snap)))
            elif op.meta is not None:
                metas.append(op.meta)
        if not (rows or snapshots or metas):
            return  # only flush barriers: nothing to make durable

        # One transaction per batch: the rows, the snapshots and the journal's
        # end marker in meta become durable together or not at all, so after a
        # crash meta.last_seq always matches the last row -- and a journal
        # that ends early (lost tail) is detectable at recovery.
        started = time.perf_counter()
        self._write(rows, events, snapshots, metas)
        with self._cond:
            self._records_committed += len(rows)
            self._snapshots_committed += len(snapshots)
            self._meta_committed += len(metas)
            self._batches_committed += 1
            self._largest_batch = max(self._largest_batch, len(batch))
        if self.on_commit is not None:
            self.on_commit(time.perf_counter() - started, len(rows))

    def _fail(self, batch: list[_Op], exc: BaseException) -> None:
        """Enter the permanent failed state and fail everything not yet acknowledged."""
        seqs = [op.row[0] for op in batch if op.row is not None]
        where = f" (records {seqs[0]}..{seqs[-1]})" if seqs else ""
        failure = self._failure_for(exc, where)
        failure.__cause__ = exc
        with self._cond:
            self._failure = failure
            doomed = batch + list(self._pending)
            self._pending.clear()
        self._post(self._reject, doomed, failure)


def _durability_error(failure: DurabilityError) -> DurabilityError:
    # A fresh instance per future: one exception object raised from many
    # awaits would accumulate all their tracebacks (and keep the failure's class:
    # a LeaseLostError stays one).
    err = type(failure)(str(failure))
    err.__cause__ = failure.__cause__
    return err

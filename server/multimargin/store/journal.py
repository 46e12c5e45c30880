"""The durable journal: group commit on a dedicated thread, recovery, lookups.

The state machine (one writer, the asyncio event loop) validates a command,
applies it in memory, calls :meth:`Store.submit` and acknowledges the client
only when the returned future resolves -- i.e. after the transaction holding
the record has COMMITted with ``synchronous=FULL``. Everything is a batch: the
committer thread takes all pending work, writes it in one transaction and
fsyncs once, while new submissions queue up for the next batch. Durability
therefore costs one fsync per batch, not per request.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from multimargin.store.errors import (
    CorruptJournalError,
    DurabilityError,
    StoreError,
)
from multimargin.store.files import (
    _checkpoint,
    _checkpoint_and_close,
    _fsync_dir,
    _lock_dir,
    _make_dir_durably,
)
from multimargin.store.identity import (
    check_contents,
    check_creation,
    reconcile,
    store_files,
)
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
from multimargin.store.rows import (
    _blob,
    _int,
    _meta_int,
    _row_to_record,
    _row_to_snapshot,
)
from multimargin.store.schema import (
    DB_FILENAME,
    INSERT_EVENT,
    INSERT_JOURNAL,
    JOURNAL_COLUMNS,
    META_CHAIN_HEAD,
    META_LAST_SEQ,
    RESERVED_META_PREFIX,
    UPSERT_META,
    connect_reader,
    connect_writer,
    is_corruption,
    prepare,
    quick_check,
)

_RECORD: Final = 0
_SNAPSHOT: Final = 1
_META: Final = 2
_BARRIER: Final = 3  # no write; resolves once everything before it is durable

# Rough per-row overhead added to the payload size when capping a batch.
_ROW_OVERHEAD = 64

_JournalRow = tuple[int, int, str, str | None, str | None, bytes, bytes, bytes, bytes, bytes]
# An event row: (event seq, journal seq, account id, 1 for a history entry else 0, body).
EventRow = tuple[int, int, str, int, bytes]


class _Op:
    """One unit of work in the ordered commit pipeline (exactly one payload is set)."""

    __slots__ = ("events", "future", "kind", "meta", "row", "size", "snapshot")

    def __init__(
        self,
        kind: int,
        future: asyncio.Future[None],
        size: int = 0,
        *,
        row: _JournalRow | None = None,
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


class Store:
    """The durable embedded store: journal, snapshots, idempotency lookup, meta.

    Typical use by the state machine::

        store = Store.open(data_dir)
        recovery = store.recover()          # snapshot + records to replay
        ...
        fut = store.submit(JournalRecord(seq=store.next_seq, ...))
        await fut                           # durable: now acknowledge
        ...
        await store.close()

    Threading: :meth:`submit`, :meth:`submit_snapshot`, :meth:`put_meta` and
    :meth:`flush` must be called on the event loop's thread (the first call
    binds the store to that loop). :meth:`recover`, :meth:`lookup` and
    :meth:`get_meta` are synchronous reads of committed data and must not be
    called from several threads at once.

    Construct with :meth:`open`, not directly.
    """

    def __init__(
        self,
        *,
        data_dir: Path,
        writer: sqlite3.Connection,
        reader: sqlite3.Connection,
        lock_fd: int,
        max_batch_records: int,
        max_batch_bytes: int,
        snapshots_retained: int,
    ) -> None:
        self._data_dir = data_dir
        self._writer = writer
        self._reader = reader
        self._lock_fd = lock_fd
        self._max_batch_records = max_batch_records
        self._max_batch_bytes = max_batch_bytes
        self._snapshots_retained = snapshots_retained
        self._file_check_pending = False  # quick_check deferred to verify_prefix

        # Called from the committer thread after each batch with (seconds, records):
        # metrics, without the store knowing of them.
        self.on_commit: Callable[[float, int], None] | None = None

        # Event-loop-thread state.
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

    # ------------------------------------------------------------------ open

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        max_batch_records: int = 4096,
        max_batch_bytes: int = 8 * 1024 * 1024,
        snapshots_retained: int = 2,
        init_store: bool = False,
        check_at_open_bytes: int | None = None,
    ) -> Store:
        """Open the store in ``data_dir``, creating it in a fresh directory.

        A new store (and ``data_dir``, if missing) is created only where none of the
        store's files exist, or with ``init_store=True``, which creates one where the
        database is missing or empty and never replaces one that holds data (see
        :mod:`multimargin.store.identity`). Takes an exclusive lock on the directory,
        checks the store's id, the schema version and runs ``PRAGMA quick_check`` --
        at open, or, for a file larger than ``check_at_open_bytes`` (when given), in
        :meth:`verify_prefix`, so that opening a large store stays quick (issue 8).

        Raises :class:`StoreMissingError` when the database of a directory that has
        held a store is missing or empty, :class:`StoreLockedError` if another store
        has the directory open, :class:`StoreVersionError` for a file from a newer
        release, :class:`CorruptJournalError` for a malformed file and
        :class:`StoreError` for the database of another store.

        A batch holds at most ``max_batch_records`` operations and (unless a
        single operation is larger) ``max_batch_bytes`` of payload; the latest
        ``snapshots_retained`` snapshots are kept.
        """
        if max_batch_records < 1 or max_batch_bytes < 1 or snapshots_retained < 1:
            raise ValueError("batch caps and snapshots_retained must be >= 1")
        data_dir = Path(data_dir)
        present = store_files(data_dir)  # before the lock file is made
        _make_dir_durably(data_dir)
        path = data_dir / DB_FILENAME
        lock_fd = _lock_dir(data_dir)
        writer: sqlite3.Connection | None = None
        reader: sqlite3.Connection | None = None
        try:
            creating = check_creation(data_dir, present, init_store=init_store)
            writer = connect_writer(path)
            try:
                created = creating or check_contents(writer, data_dir, present, init_store=init_store)
                deferred = check_at_open_bytes is not None and _file_bytes(path) > check_at_open_bytes
                prepare(writer, path, check=not deferred)
                reconcile(writer, data_dir, created=created)
            except sqlite3.DatabaseError as exc:
                if is_corruption(exc):
                    raise CorruptJournalError(f"malformed database file {path}: {exc}", seq=None) from exc
                raise StoreError(f"cannot open {path}: {exc}") from exc
            if created:
                # A new file's directory entry is only durable once the
                # directory itself is fsync'd.
                _fsync_dir(data_dir)
            reader = connect_reader(path)
        except BaseException:
            if reader is not None:
                reader.close()
            if writer is not None:
                writer.close()
            os.close(lock_fd)
            raise
        store = cls(
            data_dir=data_dir,
            writer=writer,
            reader=reader,
            lock_fd=lock_fd,
            max_batch_records=max_batch_records,
            max_batch_bytes=max_batch_bytes,
            snapshots_retained=snapshots_retained,
        )
        store._file_check_pending = deferred
        return store

    # -------------------------------------------------------------- recovery

    def recover(self, *, full: bool = True) -> Recovery:
        """Verify the whole file and return the latest snapshot plus the records after it.

        With ``full=False`` only the records after the latest snapshot are
        chain-verified (from the chain value stored at the snapshot's seq), so that
        recovery does not grow with the journal's length (issue 8, defect 5); the
        records up to the snapshot are then checked by :meth:`verify_prefix`, which the
        engine runs in the background once serving.

        Call once, before the first :meth:`submit`. Every journal row is
        chain-verified from seq 1, the journal's end is checked against
        ``meta`` (written in the same transaction as each batch), and every
        retained snapshot's checksum is checked.

        Raises :class:`CorruptJournalError` (with ``seq`` set to the first bad
        position where there is one) for a chain mismatch, a gap in seq, a
        tail missing against ``meta.last_seq``, a snapshot with a bad checksum
        or beyond the journal's end, or a malformed file.
        """
        self._check_open()
        if self._loop is not None:
            raise StoreError("recover() must be called before the first submit")
        conn = self._reader
        try:
            conn.execute("BEGIN")  # one consistent read snapshot of the file
            try:
                meta = dict(
                    conn.execute(
                        "SELECT key, value FROM meta WHERE key IN (?, ?)",
                        (META_LAST_SEQ, META_CHAIN_HEAD),
                    ).fetchall()
                )
                snapshots = [
                    _row_to_snapshot(row)
                    for row in conn.execute(
                        "SELECT seq, state, state_hash, checksum FROM snapshots ORDER BY seq"
                    )
                ]
                latest = snapshots[-1][0] if snapshots else None
                after = latest.seq if latest is not None else 0
                last_seq, chain, records = self._verify_journal(conn, after, 1 if full else after)
            finally:
                # A read-only transaction: ending it must not mask the error.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
        except sqlite3.DatabaseError as exc:
            if is_corruption(exc):
                raise CorruptJournalError(f"malformed database file {self.path}: {exc}", seq=None) from exc
            raise

        meta_last = _meta_int(meta.get(META_LAST_SEQ))
        if meta_last is None:
            raise CorruptJournalError(f"meta {META_LAST_SEQ} is missing or malformed", seq=None)
        if last_seq < meta_last:
            raise CorruptJournalError(
                f"truncated tail: journal ends at seq {last_seq} but meta.last_seq is "
                f"{meta_last}; records {last_seq + 1}..{meta_last} are missing",
                seq=last_seq + 1,
            )
        if last_seq > meta_last:
            raise CorruptJournalError(
                f"journal extends beyond meta.last_seq {meta_last} to seq {last_seq}; "
                f"rows from seq {meta_last + 1} were not written by this store",
                seq=meta_last + 1,
            )
        if meta.get(META_CHAIN_HEAD) != chain:
            raise CorruptJournalError(
                f"chain mismatch at journal end: meta.chain_head does not match "
                f"the chain value of seq {last_seq}",
                seq=last_seq if last_seq else None,
            )
        for snapshot, stored_checksum in snapshots:
            if snapshot.seq > last_seq:
                raise CorruptJournalError(
                    f"snapshot at seq {snapshot.seq} is beyond the journal end (last seq {last_seq})",
                    seq=snapshot.seq,
                )
            if snapshot_checksum(snapshot) != stored_checksum:
                raise CorruptJournalError(
                    f"snapshot checksum mismatch at seq {snapshot.seq}", seq=snapshot.seq
                )

        self._next_seq = last_seq + 1
        self._chain_head = chain
        self._recovered = True
        return Recovery(snapshot=latest, records=records)

    def verify_prefix(self, through: int) -> None:
        """Chain-verifies the journal from seq 1 through ``through`` (the records a
        ``recover(full=False)`` took on trust; 0 for none), after the ``quick_check`` that
        :meth:`open` deferred for a large file, on a connection of its own: callable from
        another thread while the store serves. Raises :class:`CorruptJournalError`."""
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            if self._file_check_pending:
                quick_check(conn, self.path)
                self._file_check_pending = False
            if through < 1:
                return
            conn.execute("BEGIN")
            last, chain, _ = self._verify_journal(conn, through, 1, through=through)
            stored = conn.execute("SELECT chain FROM journal WHERE seq = ?", (through,)).fetchone()
            if last < through or stored is None or stored[0] != chain:
                raise CorruptJournalError(
                    f"chain mismatch at or before seq {through}", seq=min(last + 1, through)
                )
        except sqlite3.DatabaseError as exc:
            if is_corruption(exc):
                raise CorruptJournalError(f"malformed database file {self.path}: {exc}", seq=None) from exc
            raise
        finally:
            conn.close()

    @staticmethod
    def _verify_journal(
        conn: sqlite3.Connection, after: int, start: int = 1, through: int | None = None
    ) -> tuple[int, bytes, list[JournalRecord]]:
        """Walk the journal from seq ``start`` (1, or a snapshot's seq whose stored chain
        value is taken as is) to its end (or ``through``), checking contiguity and the
        chain; the records after ``after`` are returned."""
        chain = GENESIS_CHAIN
        expected = 1
        records: list[JournalRecord] = []
        if start > 1:
            row = conn.execute("SELECT chain FROM journal WHERE seq = ?", (start,)).fetchone()
            if row is None:
                raise CorruptJournalError(
                    f"gap in seq: the snapshot's seq {start} is not in the journal", seq=start
                )
            chain, expected = row[0], start + 1
        end = through if through is not None else 2**62
        cursor = conn.execute(
            f"SELECT {JOURNAL_COLUMNS}, chain FROM journal WHERE seq >= ? AND seq <= ? ORDER BY seq",
            (expected, end),
        )
        try:
            while True:
                try:
                    row = cursor.fetchone()
                except sqlite3.DatabaseError as exc:
                    if not is_corruption(exc):
                        raise
                    raise CorruptJournalError(
                        f"malformed database file: cannot read the journal after seq {expected - 1}: {exc}",
                        seq=expected,
                    ) from exc
                if row is None:
                    return expected - 1, chain, records
                seq = row[0]
                if seq != expected:
                    raise CorruptJournalError(f"gap in seq: expected {expected}, found {seq}", seq=expected)
                record, stored_chain = _row_to_record(row)
                chain = chain_value(chain, record)
                if chain != stored_chain:
                    raise CorruptJournalError(
                        f"chain mismatch at seq {seq}: the row's contents or its chain "
                        "value were altered (or rows were reordered)",
                        seq=seq,
                    )
                if seq > after:
                    records.append(record)
                expected += 1
        finally:
            cursor.close()

    # --------------------------------------------------------------- reading

    def lookup(self, request_id: str) -> JournalRecord | None:
        """Return the committed record with this idempotency key, or ``None``.

        Reads committed (hence durable) rows only: a record still in flight is
        not returned, since its response must not be sent before it is
        durable. The row is re-checked against its predecessor's chain value,
        so a response damaged on disk since :meth:`recover` is never served
        (:class:`CorruptJournalError` instead).
        """
        row = self._read_one(
            f"SELECT {JOURNAL_COLUMNS}, chain FROM journal WHERE request_id = ?", (request_id,)
        )
        if row is None:
            return None
        record, stored_chain = _row_to_record(row)
        prev_chain = GENESIS_CHAIN
        if record.seq > 1:
            prev = self._read_one("SELECT chain FROM journal WHERE seq = ?", (record.seq - 1,))
            if prev is None or type(prev[0]) is not bytes:
                raise CorruptJournalError(
                    f"gap in seq: record {record.seq - 1} is missing", seq=record.seq - 1
                )
            prev_chain = prev[0]
        if chain_value(prev_chain, record) != stored_chain:
            raise CorruptJournalError(
                f"chain mismatch at seq {record.seq} (request_id {request_id!r})",
                seq=record.seq,
            )
        return record

    def last_event_seq(self) -> int:
        """The sequence number of the last committed event; 0 when there is none."""
        row = self._read_one("SELECT max(seq) FROM events", ())
        return _int(row[0]) if row is not None and row[0] is not None else 0

    def events_after(self, after: int, account_ids: tuple[str, ...], limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` committed events with seq > ``after``, in seq order, of the
        given accounts (all when empty), as ``(seq, body)``."""
        self._check_open()
        if account_ids:
            marks = ",".join("?" * len(account_ids))
            sql = (
                f"SELECT seq, body FROM events WHERE seq > ? AND account_id IN ({marks}) ORDER BY seq LIMIT ?"
            )
            params: tuple[object, ...] = (after, *account_ids, limit)
        else:
            sql, params = "SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        return [(_int(seq), _blob(body)) for seq, body in self._read_all(sql, params)]

    def history(self, account_id: str, before: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` committed history events of ``account_id`` with seq <
        ``before``, newest first, as ``(seq, body)``."""
        sql = (
            "SELECT seq, body FROM events WHERE account_id = ? AND history = 1 AND seq < ? "
            "ORDER BY seq DESC LIMIT ?"
        )
        return [(_int(seq), _blob(body)) for seq, body in self._read_all(sql, (account_id, before, limit))]

    def _read_all(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        self._check_open()
        try:
            rows: list[tuple[object, ...]] = self._reader.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            if is_corruption(exc):
                raise CorruptJournalError(f"malformed database file {self.path}: {exc}", seq=None) from exc
            raise
        return rows

    def get_meta(self, key: str) -> bytes | None:
        """Return the committed value of meta ``key``, or ``None``."""
        row = self._read_one("SELECT value FROM meta WHERE key = ?", (key,))
        if row is None:
            return None
        value = row[0]
        if type(value) is not bytes:
            raise CorruptJournalError(f"meta {key!r} is not a blob", seq=None)
        return value

    def _read_one(self, sql: str, params: tuple[object, ...]) -> tuple[object, ...] | None:
        self._check_open()
        try:
            row: tuple[object, ...] | None = self._reader.execute(sql, params).fetchone()
        except sqlite3.DatabaseError as exc:
            if is_corruption(exc):
                raise CorruptJournalError(f"malformed database file {self.path}: {exc}", seq=None) from exc
            raise
        return row

    @property
    def path(self) -> Path:
        """The database file."""
        return self._data_dir / DB_FILENAME

    @property
    def next_seq(self) -> int:
        """The seq the next submitted record must carry (valid after :meth:`recover`)."""
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
        id up with :meth:`lookup` (on this thread, nothing submitted since), which
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
        row: _JournalRow = (
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
        """Flush, stop the committer, checkpoint the WAL into the main file, close.

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
                _checkpoint_and_close(self._writer)
        finally:
            self._reader.close()
            os.close(self._lock_fd)
            self._closed = True

    # ------------------------------------------------- event-loop internals

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
        self._thread = threading.Thread(
            target=self._committer, name=f"store-committer:{self._data_dir}", daemon=True
        )
        self._thread.start()
        return loop

    def _committed_seq_of(self, request_id: str) -> int | None:
        row = self._read_one("SELECT seq FROM journal WHERE request_id = ?", (request_id,))
        return None if row is None else _int(row[0])

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
        conn = self._writer
        try:
            while True:
                with self._cond:
                    while not self._pending and not self._stopping:
                        self._cond.wait()
                    if not self._pending:
                        break  # stopping, and everything is written
                    batch = self._take_batch()
                try:
                    self._write_batch(conn, batch)
                except BaseException as exc:
                    self._fail(conn, batch, exc)
                    return
                self._post(self._resolve, batch)
            _checkpoint(conn)
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
            self._post(self._committer_stopped)

    def _write_batch(self, conn: sqlite3.Connection, batch: list[_Op]) -> None:
        rows: list[_JournalRow] = []
        events: list[EventRow] = []
        snapshots: list[tuple[int, bytes, bytes, bytes]] = []
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
        conn.execute("BEGIN IMMEDIATE")
        try:
            if rows:
                conn.executemany(INSERT_JOURNAL, rows)
            if events:
                conn.executemany(INSERT_EVENT, events)
            if snapshots:
                conn.executemany(
                    "INSERT OR REPLACE INTO snapshots (seq, state, state_hash, checksum) VALUES (?, ?, ?, ?)",
                    snapshots,
                )
                conn.execute(
                    "DELETE FROM snapshots WHERE seq NOT IN "
                    "(SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)",
                    (self._snapshots_retained,),
                )
            if metas:
                conn.executemany(UPSERT_META, metas)
            if rows:
                last = rows[-1]
                conn.executemany(
                    UPSERT_META,
                    [(META_LAST_SEQ, str(last[0]).encode()), (META_CHAIN_HEAD, last[9])],
                )
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            raise
        with self._cond:
            self._records_committed += len(rows)
            self._snapshots_committed += len(snapshots)
            self._meta_committed += len(metas)
            self._batches_committed += 1
            self._largest_batch = max(self._largest_batch, len(batch))
        if self.on_commit is not None:
            self.on_commit(time.perf_counter() - started, len(rows))

    def _fail(self, conn: sqlite3.Connection, batch: list[_Op], exc: BaseException) -> None:
        """Enter the permanent failed state and fail everything not yet acknowledged."""
        seqs = [op.row[0] for op in batch if op.row is not None]
        where = f" (records {seqs[0]}..{seqs[-1]})" if seqs else ""
        failure = DurabilityError(f"commit of a batch{where} failed: {exc!r}")
        failure.__cause__ = exc
        with self._cond:
            self._failure = failure
            doomed = batch + list(self._pending)
            self._pending.clear()
        self._post(self._reject, doomed, failure)


def _file_bytes(path: Path) -> int:
    """The database's size with its write-ahead log (0 where missing)."""
    total = 0
    for name in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(FileNotFoundError):
            total += name.stat().st_size
    return total


def _durability_error(failure: DurabilityError) -> DurabilityError:
    # A fresh instance per future: one exception object raised from many
    # awaits would accumulate all their tracebacks.
    err = DurabilityError(str(failure))
    err.__cause__ = failure.__cause__
    return err

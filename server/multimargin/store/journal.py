"""The embedded SQLite store: one file, WAL, ``synchronous=FULL``; recovery, lookups.

Group commit (the committer thread, one transaction and one fsync per batch)
is :mod:`multimargin.store.pipeline`'s; this module is the SQLite side of it:
opening and checking the file, the batch's transaction, recovery and reads.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from multimargin.store.errors import (
    CorruptJournalError,
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
from multimargin.store.interface import EventRow
from multimargin.store.pipeline import CommitPipeline, JournalRow, SnapshotRow
from multimargin.store.records import (
    GENESIS_CHAIN,
    JournalRecord,
    Recovery,
    chain_value,
)
from multimargin.store.rows import (
    _blob,
    _int,
    _row_to_record,
    _row_to_snapshot,
    verified_row,
)
from multimargin.store.schema import (
    DB_FILENAME,
    INSERT_EVENT,
    INSERT_JOURNAL,
    JOURNAL_COLUMNS,
    META_CHAIN_HEAD,
    META_LAST_SEQ,
    UPSERT_META,
    connect_reader,
    connect_writer,
    is_corruption,
    prepare,
    quick_check,
)

__all__ = ["EventRow", "Store"]


class Store(CommitPipeline):
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
        super().__init__(
            max_batch_records=max_batch_records,
            max_batch_bytes=max_batch_bytes,
            snapshots_retained=snapshots_retained,
        )
        self._data_dir = data_dir
        self._writer = writer
        self._reader = reader
        self._lock_fd = lock_fd
        self._file_check_pending = False  # quick_check deferred to verify_prefix

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

        return self._recovered_end(meta, last_seq, chain, snapshots, records)

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
                record, chain = verified_row(row, expected, chain)
                if record.seq > after:
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

    # ------------------------------------------------------ pipeline hooks

    def _committer_name(self) -> str:
        return f"store-committer:{self._data_dir}"

    def _committed_seq_of(self, request_id: str) -> int | None:
        row = self._read_one("SELECT seq FROM journal WHERE request_id = ?", (request_id,))
        return None if row is None else _int(row[0])

    def _committer_done(self, *, clean: bool) -> None:
        try:
            if clean:
                _checkpoint(self._writer)
        finally:
            with contextlib.suppress(sqlite3.Error):
                self._writer.close()

    def _close_idle_writer(self) -> None:
        _checkpoint_and_close(self._writer)

    def _release(self) -> None:
        self._reader.close()
        os.close(self._lock_fd)

    def _write(
        self,
        rows: list[JournalRow],
        events: list[EventRow],
        snapshots: list[SnapshotRow],
        metas: list[tuple[str, bytes]],
    ) -> None:
        conn = self._writer
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


def _file_bytes(path: Path) -> int:
    """The database's size with its write-ahead log (0 where missing)."""
    total = 0
    for name in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(FileNotFoundError):
            total += name.stat().st_size
    return total

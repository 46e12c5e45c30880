"""The PostgreSQL store: one shard's journal, snapshots, events, meta, idempotency index.

:class:`PgStore` keeps exactly the contract of the SQLite :class:`~multimargin.store.Store`
(the engine cannot tell them apart) for ONE shard of a cluster's database
(:mod:`multimargin.store.pg_schema`). Group commit is the shared pipeline's
(:mod:`multimargin.store.pipeline`): the committer thread writes each batch in
one transaction on its own connection, and that transaction first checks the
store's :class:`~multimargin.store.pg_leases.Fence` against the shard's lease
row (``FOR SHARE``, so a takeover waits for it). A batch the fence refuses is
rolled back and the store fails with :class:`LeaseLostError`; a lost connection
fails it with :class:`DurabilityError`. Either way nothing unacknowledged is
reported durable, and nothing acknowledged can be lost: PostgreSQL acknowledges
a COMMIT only once its WAL is flushed (``synchronous_commit`` on, the default).

The hash chain is computed exactly as in SQLite (:func:`~multimargin.store.records.chain_value`),
so recovery and :meth:`PgStore.lookup` detect a row edited in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import psycopg
from psycopg import conninfo

from multimargin.store.errors import (
    CorruptJournalError,
    DurabilityError,
    LeaseLostError,
    StoreError,
)
from multimargin.store.interface import EventRow
from multimargin.store.pg_leases import Fence
from multimargin.store.pg_schema import FENCE_SQLSTATE, cluster_shards, ensure_schema
from multimargin.store.pg_verify import verify_journal
from multimargin.store.pipeline import CommitPipeline, JournalRow, SnapshotRow
from multimargin.store.records import GENESIS_CHAIN, JournalRecord, Recovery, chain_value
from multimargin.store.rows import _blob, _int, _row_to_record, _row_to_snapshot
from multimargin.store.schema import META_CHAIN_HEAD, META_LAST_SEQ

__all__ = ["Fence", "PgStore", "describe_dsn"]

Conn = psycopg.Connection[tuple[Any, ...]]

_COLUMNS = "seq, ts_ns, kind, account_id, request_id, request_hash, command, response, state_hash, chain"
_J_COLUMNS = ", ".join(f"j.{c.strip()}" for c in _COLUMNS.split(","))
_INSERT_JOURNAL = (
    f"INSERT INTO mm_journal (shard, {_COLUMNS}, fence) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
)
_INSERT_EVENT = (
    "INSERT INTO mm_events (shard, seq, journal_seq, account_id, history, body) VALUES (%s,%s,%s,%s,%s,%s)"
)
_UPSERT_META = (
    "INSERT INTO mm_meta (shard, key, value) VALUES (%s, %s, %s) "
    "ON CONFLICT (shard, key) DO UPDATE SET value = excluded.value"
)
_UPSERT_END = (
    "INSERT INTO mm_meta (shard, key, value) VALUES (%s, %s, %s), (%s, %s, %s) "
    "ON CONFLICT (shard, key) DO UPDATE SET value = excluded.value"
)


class _LeaseLost(Exception):
    pass


def _check_nul(name: str, text: object) -> None:
    if isinstance(text, str) and "\x00" in text:
        raise ValueError(f"{name} contains a NUL character, which PostgreSQL text cannot store")


def describe_dsn(dsn: str) -> str:
    """``host:port/dbname (user U)`` of a connection string, never its password."""
    try:
        parts = conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return "an invalid PostgreSQL connection string (not shown: it may hold a password)"
    host = parts.get("host") or parts.get("hostaddr") or "localhost (Unix socket)"
    port = parts.get("port") or "5432"
    where = f"{host}:{port}/{parts.get('dbname') or parts.get('user') or '?'}"
    return f"{where} (user {parts['user']})" if parts.get("user") else where


def _scrub(dsn: str, text: str) -> str:
    with contextlib.suppress(psycopg.Error):
        password = conninfo.conninfo_to_dict(dsn).get("password")
        if password:
            text = text.replace(str(password), "***")
    return text


def connect(dsn: str, *, connect_timeout: float = 10.0, purpose: str = "multimargin") -> Conn:
    """An autocommit connection to ``dsn``; a :class:`StoreError` naming the server (never
    the password) when it cannot be had."""
    try:
        conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        raise StoreError(describe_dsn(dsn)) from None
    try:
        return psycopg.connect(
            dsn,
            autocommit=True,
            connect_timeout=max(1, round(connect_timeout)),
            application_name=purpose,
            # A server that vanishes without a reset (a partition, a dead host) must
            # fail a commit within seconds, not block the committer for the kernel's
            # default of minutes: the lease is gone long before.
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
            tcp_user_timeout=10_000,
        )
    except psycopg.Error as exc:
        detail = _scrub(dsn, str(exc).strip()) or type(exc).__name__
        raise StoreError(f"cannot connect to PostgreSQL at {describe_dsn(dsn)}: {detail}") from None


class PgStore(CommitPipeline):
    """One shard's durable journal in PostgreSQL; see the module docstring.

    Open with :meth:`open`; then exactly as :class:`~multimargin.store.Store`:
    :meth:`recover`, submit/lookup/..., :meth:`close`. Reads run on a connection
    of their own (on the event loop's thread, like SQLite's reader), writes on
    the committer's.
    """

    def __init__(
        self,
        *,
        dsn: str,
        fence: Fence,
        writer: Conn,
        reader: Conn,
        max_batch_records: int,
        max_batch_bytes: int,
        snapshots_retained: int,
    ) -> None:
        super().__init__(
            max_batch_records=max_batch_records,
            max_batch_bytes=max_batch_bytes,
            snapshots_retained=snapshots_retained,
        )
        self._dsn = dsn
        self.fence = fence
        self._shard = fence.shard
        self._writer = writer
        self._reader = reader

    @classmethod
    def open(
        cls,
        dsn: str,
        fence: Fence,
        *,
        shards: int | None = None,
        max_batch_records: int = 4096,
        max_batch_bytes: int = 8 * 1024 * 1024,
        snapshots_retained: int = 2,
        connect_timeout: float = 10.0,
    ) -> PgStore:
        """Connect to ``dsn`` for ``fence.shard``. With ``shards`` the schema is created
        when missing (:func:`~multimargin.store.pg_schema.ensure_schema`: a newer schema
        or another shard count is refused); without, it must exist.

        Raises :class:`StoreError` naming the server for a bad DSN or an unreachable
        server, :class:`~multimargin.store.StoreVersionError` for a newer schema.
        """
        if max_batch_records < 1 or max_batch_bytes < 1 or snapshots_retained < 1:
            raise ValueError("batch caps and snapshots_retained must be >= 1")
        reader = connect(dsn, connect_timeout=connect_timeout, purpose=f"multimargin-shard-{fence.shard}")
        writer: Conn | None = None
        try:
            try:
                found = ensure_schema(reader, shards) if shards is not None else cluster_shards(reader)
            except psycopg.Error as exc:
                raise StoreError(f"PostgreSQL at {describe_dsn(dsn)}: {exc}") from exc
            if found is None:
                raise StoreError(
                    f"PostgreSQL at {describe_dsn(dsn)} has no multimargin schema (mm_schema); "
                    "create it first (ensure_schema, or open with shards=N)"
                )
            if not 0 <= fence.shard < found:
                raise StoreError(f"shard {fence.shard} is not in this cluster's 0..{found - 1}")
            purpose = f"multimargin-commit-{fence.shard}"
            writer = connect(dsn, connect_timeout=connect_timeout, purpose=purpose)
        except BaseException:
            reader.close()
            raise
        return cls(
            dsn=dsn,
            fence=fence,
            writer=writer,
            reader=reader,
            max_batch_records=max_batch_records,
            max_batch_bytes=max_batch_bytes,
            snapshots_retained=snapshots_retained,
        )

    @property
    def shard(self) -> int:
        return self._shard

    @property
    def where(self) -> str:
        """``shard S on host:port/db``, for messages."""
        return f"shard {self._shard} on {describe_dsn(self._dsn)}"

    # -------------------------------------------------------------- recovery

    def recover(self, *, full: bool = True) -> Recovery:
        """As :meth:`multimargin.store.Store.recover`, for this shard (one REPEATABLE READ
        snapshot of the database): the journal's chain, contiguity, its end against
        ``store.last_seq`` / ``store.chain_head``, every retained snapshot's checksum."""
        self._check_open()
        if self._loop is not None:
            raise StoreError("recover() must be called before the first submit")
        conn = self._reader
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                meta: dict[str, Any] = dict(
                    conn.execute(
                        "SELECT key, value FROM mm_meta WHERE shard = %s AND key IN (%s, %s)",
                        (self._shard, META_LAST_SEQ, META_CHAIN_HEAD),
                    ).fetchall()
                )
                snapshots = [
                    _row_to_snapshot(row)
                    for row in conn.execute(
                        "SELECT seq, state, state_hash, checksum FROM mm_snapshots WHERE shard = %s "
                        "ORDER BY seq",
                        (self._shard,),
                    )
                ]
                latest = snapshots[-1][0] if snapshots else None
                after = latest.seq if latest is not None else 0
                last_seq, chain, records = verify_journal(conn, self._shard, after, 1 if full else after)
        except psycopg.Error as exc:
            raise self._read_error("recovery", exc) from exc

        return self._recovered_end(meta, last_seq, chain, snapshots, records)

    def verify_prefix(self, through: int) -> None:
        """Chain-verifies seq 1..``through`` on a connection of its own (callable from
        another thread while the store serves; 0 verifies nothing). Raises
        :class:`CorruptJournalError`."""
        if through < 1:
            return
        conn = connect(self._dsn, purpose=f"multimargin-verify-{self._shard}")
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                last, chain, _ = verify_journal(conn, self._shard, through, 1, through=through)
                stored = conn.execute(
                    "SELECT chain FROM mm_journal WHERE shard = %s AND seq = %s", (self._shard, through)
                ).fetchone()
            if last < through or stored is None or stored[0] != chain:
                raise CorruptJournalError(
                    f"chain mismatch at or before seq {through}", seq=min(last + 1, through)
                )
        except psycopg.Error as exc:
            raise self._read_error("verification", exc) from exc
        finally:
            conn.close()

    # --------------------------------------------------------------- reading

    def lookup(self, request_id: str) -> JournalRecord | None:
        """As :meth:`multimargin.store.Store.lookup`: the committed record with this
        idempotency key in this shard, re-checked against its predecessor's chain value."""
        # One round trip: the row and its predecessor's chain value.
        row = self._read_one(
            f"SELECT {_J_COLUMNS}, p.chain FROM mm_journal j LEFT JOIN mm_journal p "
            "ON p.shard = j.shard AND p.seq = j.seq - 1 WHERE j.shard = %s AND j.request_id = %s",
            (self._shard, request_id),
        )
        if row is None:
            return None
        record, stored_chain = _row_to_record(row[:-1])
        prev_chain = GENESIS_CHAIN
        if record.seq > 1:
            if type(row[-1]) is not bytes:
                raise CorruptJournalError(
                    f"gap in seq: record {record.seq - 1} is missing", seq=record.seq - 1
                )
            prev_chain = row[-1]
        if chain_value(prev_chain, record) != stored_chain:
            raise CorruptJournalError(
                f"chain mismatch at seq {record.seq} (request_id {request_id!r})",
                seq=record.seq,
            )
        return record

    def last_event_seq(self) -> int:
        """The sequence number of the shard's last committed event; 0 when there is none."""
        row = self._read_one("SELECT max(seq) FROM mm_events WHERE shard = %s", (self._shard,))
        return _int(row[0]) if row is not None and row[0] is not None else 0

    def events_after(self, after: int, account_ids: tuple[str, ...], limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` committed events of this shard with seq > ``after``, in seq
        order, of the given accounts (all when empty), as ``(seq, body)``."""
        if account_ids:
            sql = (
                "SELECT seq, body FROM mm_events WHERE shard = %s AND seq > %s AND account_id = ANY(%s) "
                "ORDER BY seq LIMIT %s"
            )
            params: tuple[object, ...] = (self._shard, after, list(account_ids), limit)
        else:
            sql = "SELECT seq, body FROM mm_events WHERE shard = %s AND seq > %s ORDER BY seq LIMIT %s"
            params = (self._shard, after, limit)
        return [(_int(seq), _blob(body)) for seq, body in self._read_all(sql, params)]

    def history(self, account_id: str, before: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` committed history events of ``account_id`` with seq <
        ``before``, newest first, as ``(seq, body)``."""
        sql = (
            "SELECT seq, body FROM mm_events WHERE shard = %s AND account_id = %s AND history "
            "AND seq < %s ORDER BY seq DESC LIMIT %s"
        )
        rows = self._read_all(sql, (self._shard, account_id, before, limit))
        return [(_int(seq), _blob(body)) for seq, body in rows]

    def get_meta(self, key: str) -> bytes | None:
        """Return the committed value of this shard's meta ``key``, or ``None``."""
        row = self._read_one("SELECT value FROM mm_meta WHERE shard = %s AND key = %s", (self._shard, key))
        if row is None:
            return None
        value = row[0]
        if type(value) is not bytes:
            raise CorruptJournalError(f"meta {key!r} is not a blob", seq=None)
        return value

    def _read_all(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        self._check_open()
        try:
            return self._reader.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise self._read_error("a read", exc) from exc

    def _read_one(self, sql: str, params: tuple[object, ...]) -> tuple[Any, ...] | None:
        self._check_open()
        try:
            return self._reader.execute(sql, params).fetchone()
        except psycopg.Error as exc:
            raise self._read_error("a read", exc) from exc

    def _read_error(self, what: str, exc: psycopg.Error) -> StoreError:
        if self._reader.closed and not self._closed:
            # The reader reconnects for the next read; this one fails.
            with contextlib.suppress(StoreError):
                self._reader = connect(self._dsn, purpose=f"multimargin-shard-{self._shard}")
        return StoreError(f"{what} of {self.where} failed: {_scrub(self._dsn, str(exc).strip())}")

    # --------------------------------------------------------------- writing

    def submit(
        self,
        record: JournalRecord,
        *,
        request_id_checked: bool = False,
        events: tuple[EventRow, ...] = (),
    ) -> asyncio.Future[None]:
        """As :meth:`multimargin.store.Store.submit`; a text field holding a NUL
        character (which PostgreSQL's text cannot store) is a ``ValueError`` here, in
        the caller's frame, rather than a failed batch."""
        for name, text in (
            ("kind", record.kind),
            ("account_id", record.account_id),
            ("request_id", record.request_id),
            *(("event account_id", e[2]) for e in events),
        ):
            _check_nul(name, text)
        return super().submit(record, request_id_checked=request_id_checked, events=events)

    def put_meta(self, key: str, value: bytes) -> asyncio.Future[None]:
        """As :meth:`multimargin.store.Store.put_meta` (a key with a NUL is refused)."""
        _check_nul("meta key", key)
        return super().put_meta(key, value)

    # ------------------------------------------------------ pipeline hooks

    def _committer_name(self) -> str:
        return f"pgstore-committer:shard-{self._shard}"

    def _committed_seq_of(self, request_id: str) -> int | None:
        row = self._read_one(
            "SELECT seq FROM mm_journal WHERE shard = %s AND request_id = %s", (self._shard, request_id)
        )
        return None if row is None else _int(row[0])

    def _committer_done(self, *, clean: bool) -> None:
        with contextlib.suppress(psycopg.Error):
            self._writer.close()

    def _close_idle_writer(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self._writer.close()

    def _release(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self._reader.close()

    def _failure_for(self, exc: BaseException, where: str) -> DurabilityError:
        if isinstance(exc, _LeaseLost):
            fence = self.fence
            return LeaseLostError(
                f"lease of shard {fence.shard} lost: owner {fence.owner!r} with fencing token "
                f"{fence.token} no longer holds it (taken over or expired); the batch{where} was "
                "rolled back and nothing of it is acknowledged"
            )
        if isinstance(exc, psycopg.OperationalError) or self._writer.closed:
            return DurabilityError(
                f"connection to PostgreSQL lost ({self.where}) during the commit of a batch{where}: "
                f"{_scrub(self._dsn, str(exc).strip())}; nothing of it is acknowledged"
            )
        return DurabilityError(f"commit of a batch{where} ({self.where}) failed: {exc!r}")

    def _write(
        self,
        rows: list[JournalRow],
        events: list[EventRow],
        snapshots: list[SnapshotRow],
        metas: list[tuple[str, bytes]],
    ) -> None:
        conn = self._writer
        shard, fence = self._shard, self.fence
        # The whole batch goes to the server in one pipelined round trip (BEGIN, the
        # fencing check, the rows, COMMIT); the fencing check runs first on the server
        # and fails the transaction when the lease is not ours.
        try:
            with conn.pipeline(), conn.transaction(), conn.cursor() as cur:
                # The lease row stays share-locked until COMMIT, so a takeover (an
                # UPDATE of that row) waits for this batch.
                cur.execute("SELECT mm_fence(%s, %s, %s)", (shard, fence.owner, fence.token))
                if rows:
                    cur.executemany(_INSERT_JOURNAL, [(shard, *row, fence.token) for row in rows])
                if events:
                    cur.executemany(
                        _INSERT_EVENT, [(shard, e[0], e[1], e[2], bool(e[3]), e[4]) for e in events]
                    )
                if snapshots:
                    cur.executemany(
                        "INSERT INTO mm_snapshots (shard, seq, state, state_hash, checksum) "
                        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (shard, seq) DO UPDATE SET "
                        "state = excluded.state, state_hash = excluded.state_hash, "
                        "checksum = excluded.checksum",
                        [(shard, *snap) for snap in snapshots],
                    )
                    cur.execute(
                        "DELETE FROM mm_snapshots WHERE shard = %s AND seq NOT IN "
                        "(SELECT seq FROM mm_snapshots WHERE shard = %s ORDER BY seq DESC LIMIT %s)",
                        (shard, shard, self._snapshots_retained),
                    )
                if metas:
                    cur.executemany(_UPSERT_META, [(shard, key, value) for key, value in metas])
                if rows:
                    last = rows[-1]
                    cur.execute(
                        _UPSERT_END,
                        (shard, META_LAST_SEQ, str(last[0]).encode(), shard, META_CHAIN_HEAD, last[9]),
                    )
        except psycopg.Error as exc:
            if exc.sqlstate == FENCE_SQLSTATE:
                raise _LeaseLost from exc
            raise

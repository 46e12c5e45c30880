"""The SQLite file: schema, version, connection settings, opening checks."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from multimargin.store.errors import CorruptJournalError, StoreError, StoreVersionError
from multimargin.store.records import GENESIS_CHAIN

SCHEMA_VERSION = 2
DB_FILENAME = "multimargin.db"

# Keys the store keeps in `meta` itself; callers' keys may not use the prefix.
RESERVED_META_PREFIX = "store."
META_LAST_SEQ = "store.last_seq"
META_CHAIN_HEAD = "store.chain_head"
META_STORE_ID = "store.id"  # see multimargin.store.identity

# Events (SPEC §8), written in the transaction of the journal record that caused
# them (journal_seq); `history` marks the SPEC §7.5 entries (interest, repayments).
_EVENTS = (
    """
    CREATE TABLE events (
        seq         INTEGER PRIMARY KEY CHECK (seq >= 1),
        journal_seq INTEGER NOT NULL,
        account_id  TEXT    NOT NULL,
        history     INTEGER NOT NULL,
        body        BLOB    NOT NULL
    ) STRICT
    """,
    "CREATE INDEX events_account ON events (account_id, history, seq)",
)

# STRICT tables make SQLite refuse a value of the wrong type instead of
# silently storing it, so a row read back has exactly the types written.
_SCHEMA = (
    """
    CREATE TABLE journal (
        seq          INTEGER PRIMARY KEY CHECK (seq >= 1),
        ts_ns        INTEGER NOT NULL,
        kind         TEXT    NOT NULL,
        account_id   TEXT,
        request_id   TEXT,
        request_hash BLOB    NOT NULL,
        command      BLOB    NOT NULL,
        response     BLOB    NOT NULL,
        state_hash   BLOB    NOT NULL,
        chain        BLOB    NOT NULL
    ) STRICT
    """,
    # Idempotency lookups (AIP-155); partial, since most internal commands
    # (interest settlement, price updates) carry no request id.
    """
    CREATE UNIQUE INDEX journal_request_id ON journal (request_id)
        WHERE request_id IS NOT NULL
    """,
    """
    CREATE TABLE snapshots (
        seq        INTEGER PRIMARY KEY CHECK (seq >= 0),
        state      BLOB NOT NULL,
        state_hash BLOB NOT NULL,
        checksum   BLOB NOT NULL
    ) STRICT
    """,
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) STRICT, WITHOUT ROWID
    """,
    *_EVENTS,
)

INSERT_EVENT = "INSERT INTO events (seq, journal_seq, account_id, history, body) VALUES (?,?,?,?,?)"

JOURNAL_COLUMNS = "seq, ts_ns, kind, account_id, request_id, request_hash, command, response, state_hash"
INSERT_JOURNAL = f"INSERT INTO journal ({JOURNAL_COLUMNS}, chain) VALUES (?,?,?,?,?,?,?,?,?,?)"
UPSERT_META = (
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)

_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def is_corruption(exc: sqlite3.Error) -> bool:
    """True if SQLite reported a malformed file (as opposed to, say, EIO or a lock)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


class UndecodableText:
    """What a TEXT value that is not valid UTF-8 reads back as (see :func:`_decode_text`).

    Not a ``str``, so the typed row decoders refuse it as a damaged column of its row
    instead of :mod:`sqlite3` failing the whole query with an ``OperationalError``.
    """

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def __repr__(self) -> str:
        return f"<text that is not UTF-8: {self.raw[:40]!r}>"


def _decode_text(raw: bytes) -> str | UndecodableText:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return UndecodableText(raw)


def _configure(conn: sqlite3.Connection) -> None:
    # SQLite stores any bytes in a TEXT column; a damaged one must surface as a bad
    # column of its row (naming its seq), not as a failed query.
    conn.text_factory = _decode_text
    # Extra sanity checks on every b-tree page read: corruption surfaces as an
    # error at the page it is in, rather than as garbage further on.
    conn.execute("PRAGMA cell_size_check = ON")
    # Only an operator's sqlite3 shell can contend with us (the data directory
    # is flock'ed); wait for it briefly rather than fail a commit.
    conn.execute("PRAGMA busy_timeout = 5000")


def connect_writer(path: Path) -> sqlite3.Connection:
    """Open the write connection; the committer thread uses it from then on.

    ``isolation_level=None`` leaves transactions to us (explicit ``BEGIN
    IMMEDIATE`` / ``COMMIT``), so a batch is exactly one transaction.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        _configure(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def connect_reader(path: Path) -> sqlite3.Connection:
    """Open the read connection used on the event-loop thread.

    In WAL mode its reads never block, and are never blocked by, the
    committer's transactions; ``query_only`` guarantees it cannot write.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        _configure(conn)
        conn.execute("PRAGMA query_only = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def prepare(conn: sqlite3.Connection, path: Path, *, check: bool = True) -> None:
    """Check the version and (with ``check``) the integrity of the file at ``path``;
    create the schema if new.

    Raises :class:`StoreVersionError` for a newer or foreign file and
    :class:`CorruptJournalError` when ``PRAGMA quick_check`` fails.
    """
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise StoreVersionError(
            f"{path} has schema version {version}, but this build supports up to "
            f"{SCHEMA_VERSION}; refusing to open it (upgrade multimargin, or restore "
            "the data directory a newer release migrated)",
            found=version,
            supported=SCHEMA_VERSION,
        )
    if version == 0:
        (tables,) = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        if tables:
            raise StoreVersionError(
                f"{path} is an SQLite database without a multimargin schema version; "
                "refusing to write into it",
                found=0,
                supported=SCHEMA_VERSION,
            )

    if check:
        quick_check(conn, path)

    # WAL: a commit is an append to one file plus one fsync (no rollback
    # journal to write and sync first), and readers (idempotency lookups) run
    # concurrently with the committer. synchronous=FULL: in WAL mode, NORMAL
    # skips the fsync at commit, so a committed batch could vanish on power
    # loss -- and we acknowledge clients on COMMIT.
    (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
    if str(mode).lower() != "wal":
        raise StoreError(f"{path}: could not enable WAL journal mode (got {mode!r})")
    conn.execute("PRAGMA synchronous = FULL")

    if version == 1:
        # Version 2 added the events table; a version-1 store has none yet.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _EVENTS:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    if version == 0:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.executemany(
                UPSERT_META,
                [(META_LAST_SEQ, b"0"), (META_CHAIN_HEAD, GENESIS_CHAIN)],
            )
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """``PRAGMA quick_check`` of the file at ``path`` (time grows with the file's size);
    :class:`CorruptJournalError` naming the damaged pages and the first unreadable
    journal record when it fails."""
    try:
        problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check(20)")]
    except sqlite3.DatabaseError as exc:
        # Damage bad enough that the check itself cannot walk the b-tree.
        if not is_corruption(exc):
            raise
        problems = [str(exc)]
    if problems == ["ok"]:
        return
    readable = _readable_prefix(conn)
    where = f"; journal rows readable up to seq {readable}" if readable is not None else ""
    pages = sorted({int(p) for p in re.findall(r"[Pp]age (\d+)", " ".join(problems))})
    page_note = f" (damaged pages: {', '.join(map(str, pages))})" if pages else ""
    raise CorruptJournalError(
        f"malformed database file {path}{page_note}{where}: quick_check reports " + "; ".join(problems[:5]),
        seq=None if readable is None else readable + 1,
    )


def _readable_prefix(conn: sqlite3.Connection) -> int | None:
    """Scan the journal to name the first record that cannot be read.

    Returns the last seq read before SQLite hit a damaged page, or ``None``
    if the whole journal reads (the damage is elsewhere: an index, a snapshot).
    """
    last = 0
    try:
        for (seq,) in conn.execute("SELECT seq FROM journal ORDER BY seq"):
            last = seq
    except sqlite3.DatabaseError:
        return last
    return None

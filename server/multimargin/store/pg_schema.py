"""The PostgreSQL schema of a cluster: tables, version, shard count, migration.

Every table carries the prefix ``mm_``; a cluster's database holds one schema
version row (``mm_schema``) and one cluster row (``mm_cluster``: the number of
shards, fixed when the schema is created). Each shard has its own journal (seq
from 1, its own hash chain), snapshots, events, history, meta and idempotency
index, all keyed by ``shard``. The shard's journal end (``store.last_seq``) and
chain head (``store.chain_head``) live in ``mm_meta`` and are written in the
transaction of every batch, exactly as in the SQLite store, so that a journal
that ends early is detectable. Shard -1 in ``mm_meta`` holds cluster-wide keys.

:func:`ensure_schema` creates the schema in an empty database (every shard's
meta and lease row included), accepts the current version, and refuses a schema
from a newer release or a cluster created with another shard count.
"""

from __future__ import annotations

from typing import Final

import psycopg

from multimargin.store.errors import StoreError, StoreVersionError
from multimargin.store.records import GENESIS_CHAIN
from multimargin.store.schema import META_CHAIN_HEAD, META_LAST_SEQ

PG_SCHEMA_VERSION: Final = 1

# SQLSTATE of mm_fence()'s refusal: the batch's lease is not the store's.
FENCE_SQLSTATE: Final = "MML01"

# Shard id of the cluster-wide rows of mm_meta.
CLUSTER_SHARD: Final = -1

# Serialises concurrent ensure_schema() calls of instances starting together
# (a transaction-level advisory lock; any constant that is ours).
_SCHEMA_LOCK: Final = 0x6D6D5F736368656D  # "mm_schem"

_TABLES: Final = (
    "CREATE TABLE mm_schema (version integer NOT NULL)",
    """
    CREATE TABLE mm_cluster (
        id         integer PRIMARY KEY CHECK (id = 1),
        shards     integer NOT NULL CHECK (shards >= 1),
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE mm_journal (
        shard        integer NOT NULL,
        seq          bigint  NOT NULL CHECK (seq >= 1),
        ts_ns        bigint  NOT NULL,
        kind         text    NOT NULL,
        account_id   text,
        request_id   text,
        request_hash bytea   NOT NULL,
        command      bytea   NOT NULL,
        response     bytea   NOT NULL,
        state_hash   bytea   NOT NULL,
        chain        bytea   NOT NULL,
        fence        bigint  NOT NULL,
        PRIMARY KEY (shard, seq),
        UNIQUE (shard, request_id)
    )
    """,
    """
    CREATE TABLE mm_snapshots (
        shard      integer NOT NULL,
        seq        bigint  NOT NULL CHECK (seq >= 0),
        state      bytea   NOT NULL,
        state_hash bytea   NOT NULL,
        checksum   bytea   NOT NULL,
        PRIMARY KEY (shard, seq)
    )
    """,
    """
    CREATE TABLE mm_events (
        shard       integer NOT NULL,
        seq         bigint  NOT NULL CHECK (seq >= 1),
        journal_seq bigint  NOT NULL,
        account_id  text    NOT NULL,
        history     boolean NOT NULL,
        body        bytea   NOT NULL,
        PRIMARY KEY (shard, seq)
    )
    """,
    "CREATE INDEX mm_events_account ON mm_events (shard, account_id, history, seq)",
    """
    CREATE TABLE mm_meta (
        shard integer NOT NULL,
        key   text    NOT NULL,
        value bytea   NOT NULL,
        PRIMARY KEY (shard, key)
    )
    """,
    """
    CREATE TABLE mm_shard_leases (
        shard      integer PRIMARY KEY,
        owner      text,
        address    text,
        token      bigint NOT NULL DEFAULT 0,
        expires_at timestamptz NOT NULL DEFAULT 'epoch'
    )
    """,
    """
    CREATE TABLE mm_instances (
        instance     text PRIMARY KEY,
        address      text NOT NULL,
        heartbeat_at timestamptz NOT NULL DEFAULT now(),
        started_at   timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE mm_market (
        id      integer PRIMARY KEY CHECK (id = 1),
        version bigint NOT NULL,
        body    bytea  NOT NULL
    )
    """,
    """
    CREATE TABLE mm_rulebook (
        version bigint PRIMARY KEY,
        body    bytea  NOT NULL
    )
    """,
    # The fencing check of every batch (the design's SELECT ... FOR SHARE), as a
    # function that fails the transaction: a batch can then be sent to the server in
    # one pipelined round trip, fencing first, and still write nothing when the lease
    # is not the store's.
    f"""
    CREATE FUNCTION mm_fence(p_shard integer, p_owner text, p_token bigint) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM 1 FROM mm_shard_leases
            WHERE shard = p_shard AND owner = p_owner AND token = p_token AND expires_at > now()
            FOR SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the lease of shard % is not held by % with token %',
                p_shard, p_owner, p_token USING ERRCODE = '{FENCE_SQLSTATE}';
        END IF;
    END
    $$
    """,
)


class ShardCountError(StoreError):
    """The cluster's database was created with another number of shards."""

    def __init__(self, message: str, *, found: int, configured: int) -> None:
        super().__init__(message)
        self.found = found
        self.configured = configured

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_shards, (str(self), self.found, self.configured))


def _rebuild_shards(message: str, found: int, configured: int) -> ShardCountError:
    return ShardCountError(message, found=found, configured=configured)


def ensure_schema(conn: psycopg.Connection[tuple[object, ...]], shards: int) -> int:
    """Create the schema in an empty database, or check an existing one; return its shard count.

    ``conn`` must be in autocommit mode (the work is one transaction of its own).
    Raises :class:`StoreVersionError` for a schema from a newer release (or
    ``mm_`` tables without a version), and :class:`ShardCountError` when the
    cluster was created with a shard count other than ``shards``.
    """
    if type(shards) is not int or shards < 1:
        raise ValueError(f"shards must be a positive integer, got {shards!r}")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        row = conn.execute("SELECT to_regclass('mm_schema') IS NOT NULL").fetchone()
        if row is not None and row[0]:
            found = _existing(conn)
        else:
            _refuse_foreign(conn)
            _create(conn, shards)
            return shards
    if found != shards:
        raise ShardCountError(
            f"the PostgreSQL cluster has {found} shards but this instance is configured with "
            f"{shards} (cluster.shards); the shard count is fixed when the schema is created",
            found=found,
            configured=shards,
        )
    return found


def _existing(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    versions = [r[0] for r in conn.execute("SELECT version FROM mm_schema").fetchall()]
    if len(versions) != 1 or type(versions[0]) is not int:
        raise StoreVersionError(
            f"mm_schema must hold exactly one version row, found {versions!r}; refusing to use this database",
            found=0,
            supported=PG_SCHEMA_VERSION,
        )
    version = versions[0]
    if version > PG_SCHEMA_VERSION:
        raise StoreVersionError(
            f"the PostgreSQL schema has version {version}, but this build supports up to "
            f"{PG_SCHEMA_VERSION}; refusing to use it (upgrade multimargin on every instance)",
            found=version,
            supported=PG_SCHEMA_VERSION,
        )
    row = conn.execute("SELECT shards FROM mm_cluster WHERE id = 1").fetchone()
    if row is None or type(row[0]) is not int:
        raise StoreError("mm_cluster has no cluster row; the schema is incomplete")
    return row[0]


def _refuse_foreign(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename LIKE 'mm\\_%' ORDER BY tablename"
    ).fetchall()
    if rows:
        names = ", ".join(str(r[0]) for r in rows)
        raise StoreVersionError(
            f"the database has multimargin tables ({names}) but no mm_schema version row; "
            "refusing to write into it",
            found=0,
            supported=PG_SCHEMA_VERSION,
        )


def _create(conn: psycopg.Connection[tuple[object, ...]], shards: int) -> None:
    for statement in _TABLES:
        conn.execute(statement)
    conn.execute("INSERT INTO mm_schema (version) VALUES (%s)", (PG_SCHEMA_VERSION,))
    conn.execute("INSERT INTO mm_cluster (id, shards) VALUES (1, %s)", (shards,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO mm_meta (shard, key, value) VALUES (%s, %s, %s)",
            [(s, key, value) for s in range(shards) for key, value in _initial_meta()],
        )
        cur.executemany("INSERT INTO mm_shard_leases (shard) VALUES (%s)", [(s,) for s in range(shards)])


def _initial_meta() -> tuple[tuple[str, bytes], ...]:
    return ((META_LAST_SEQ, b"0"), (META_CHAIN_HEAD, GENESIS_CHAIN))


def cluster_shards(conn: psycopg.Connection[tuple[object, ...]]) -> int | None:
    """The shard count of the cluster in ``conn``'s database, or ``None`` without a schema."""
    row = conn.execute("SELECT to_regclass('mm_cluster') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return None
    found = conn.execute("SELECT shards FROM mm_cluster WHERE id = 1").fetchone()
    return None if found is None else int(str(found[0]))

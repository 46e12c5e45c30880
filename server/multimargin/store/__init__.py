"""Durable embedded store: journal of applied commands, snapshots, idempotency.

One SQLite file, ``<data_dir>/multimargin.db`` (WAL, ``synchronous=FULL``).
The state machine submits each applied command as a :class:`JournalRecord`
and acknowledges the client when :meth:`Store.submit`'s future resolves;
recovery is the latest :class:`Snapshot` plus replay of the records after it.
See :mod:`multimargin.store.pipeline` for the commit pipeline.

A second backend, :class:`multimargin.store.postgres.PgStore`, keeps one shard of a
PostgreSQL cluster behind the same interface
(:class:`multimargin.store.interface.JournalStore`), fenced by the shard's lease
(:mod:`multimargin.store.pg_leases`); its tables are :mod:`multimargin.store.pg_schema`'s.
"""

from multimargin.store.errors import (
    CorruptJournalError,
    DurabilityError,
    LeaseLostError,
    StoreError,
    StoreLockedError,
    StoreMissingError,
    StoreVersionError,
)
from multimargin.store.journal import Store
from multimargin.store.records import JournalRecord, Recovery, Snapshot, StoreStats
from multimargin.store.schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "CorruptJournalError",
    "DurabilityError",
    "JournalRecord",
    "LeaseLostError",
    "Recovery",
    "Snapshot",
    "Store",
    "StoreError",
    "StoreLockedError",
    "StoreMissingError",
    "StoreStats",
    "StoreVersionError",
]

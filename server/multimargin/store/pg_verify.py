"""Walking one shard's journal in PostgreSQL, checking contiguity and the hash chain.

The same checks, and the same messages, as the SQLite store's walk
(:meth:`multimargin.store.Store._verify_journal`).
"""

from __future__ import annotations

from typing import Any

import psycopg

from multimargin.store.errors import CorruptJournalError
from multimargin.store.records import GENESIS_CHAIN, JournalRecord
from multimargin.store.rows import verified_row

_COLUMNS = "seq, ts_ns, kind, account_id, request_id, request_hash, command, response, state_hash, chain"
_FETCH = 2000


def verify_journal(
    conn: psycopg.Connection[tuple[Any, ...]],
    shard: int,
    after: int,
    start: int = 1,
    through: int | None = None,
) -> tuple[int, bytes, list[JournalRecord]]:
    """Walk ``shard``'s journal from seq ``start`` (1, or a snapshot's seq whose stored
    chain value is taken as is) to its end (or ``through``); return the last seq, its
    chain value and the records after ``after``. Call inside a transaction (the rows
    are streamed through a server-side cursor)."""
    chain = GENESIS_CHAIN
    expected = 1
    records: list[JournalRecord] = []
    if start > 1:
        row = conn.execute(
            "SELECT chain FROM mm_journal WHERE shard = %s AND seq = %s", (shard, start)
        ).fetchone()
        if row is None:
            raise CorruptJournalError(
                f"gap in seq: the snapshot's seq {start} is not in the journal", seq=start
            )
        chain, expected = row[0], start + 1
    end = through if through is not None else 2**62
    with conn.cursor(name=f"mm_verify_{shard}") as cursor:
        cursor.itersize = _FETCH
        cursor.execute(
            f"SELECT {_COLUMNS} FROM mm_journal WHERE shard = %s AND seq >= %s AND seq <= %s ORDER BY seq",
            (shard, expected, end),
        )
        for row in cursor:
            record, chain = verified_row(row, expected, chain)
            if record.seq > after:
                records.append(record)
            expected += 1
    return expected - 1, chain, records

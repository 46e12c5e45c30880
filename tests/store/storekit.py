"""Helpers shared by the store tests: deterministic records and populated stores."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from multimargin.store import JournalRecord, Snapshot, Store


def make_record(seq: int, *, size: int = 64) -> JournalRecord:
    """A record whose every field is a function of ``seq`` (so a reader can check it)."""
    digest = hashlib.sha256(seq.to_bytes(8, "big")).digest()
    return JournalRecord(
        seq=seq,
        ts_ns=1_700_000_000_000_000_000 + seq,
        kind="Deposit" if seq % 3 else "SettleInterest",
        account_id=f"acct-{seq % 7}" if seq % 5 else None,
        request_id=f"req-{seq}" if seq % 4 else None,
        request_hash=digest,
        command=(b"CMD%08d|" % seq) + digest * (size // 32 + 1),
        response=b"RESP%08d" % seq,
        state_hash=hashlib.sha256(digest).digest(),
    )


async def submit_all(store: Store, count: int, *, size: int = 64) -> list[JournalRecord]:
    """Submit ``count`` records (all at once) and wait until every one is durable."""
    records = []
    futures = []
    for _ in range(count):
        record = make_record(store.next_seq, size=size)
        records.append(record)
        futures.append(store.submit(record))
    await asyncio.gather(*futures)
    return records


def populate(
    data_dir: Path, count: int, *, snapshot_at: int | None = None, size: int = 64
) -> list[JournalRecord]:
    """Create a store in ``data_dir`` holding records 1..count (and a snapshot), closed."""

    async def run() -> list[JournalRecord]:
        store = Store.open(data_dir)
        store.recover()
        try:
            records = await submit_all(store, count, size=size)
            if snapshot_at is not None:
                await store.submit_snapshot(make_snapshot(snapshot_at))
            return records
        finally:
            await store.close()

    return asyncio.run(run())


def make_snapshot(seq: int) -> Snapshot:
    """A snapshot whose contents are a function of ``seq``."""
    return Snapshot(seq=seq, state=b"STATE@%d" % seq * 100, state_hash=b"H@%d" % seq)


def recover_fresh(data_dir: Path) -> tuple[Store, list[JournalRecord], Snapshot | None]:
    """Open ``data_dir`` and recover; the caller closes the store."""
    store = Store.open(data_dir)
    try:
        recovery = store.recover()
    except BaseException:
        close(store)
        raise
    return store, recovery.records, recovery.snapshot


def close(store: Store) -> None:
    """Close a store from synchronous test code."""
    asyncio.run(store.close())


@contextmanager
def raw_db(data_dir: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the store's file, committed and closed on exit.

    Used to damage the file the way a bad disk, a bad restore or a careless
    operator would; it bypasses the store entirely.
    """
    conn = sqlite3.connect(data_dir / "multimargin.db", isolation_level=None)
    try:
        conn.execute("BEGIN")
        yield conn
        conn.execute("COMMIT")
    finally:
        conn.close()

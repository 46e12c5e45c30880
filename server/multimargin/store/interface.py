"""What the engine needs of a store: the interface both backends implement.

:class:`multimargin.store.Store` (embedded SQLite, one file) and
:class:`multimargin.store.postgres.PgStore` (one shard of a PostgreSQL cluster)
both satisfy :class:`JournalStore`; the engine and its event feed are typed
against it and never learn which one they have.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from multimargin.store.errors import DurabilityError
from multimargin.store.records import JournalRecord, Recovery, Snapshot, StoreStats

# An event row: (event seq, journal seq, account id, 1 for a history entry else 0, body).
EventRow = tuple[int, int, str, int, bytes]


class JournalStore(Protocol):
    """The durable journal of one engine: see :class:`multimargin.store.Store` for the
    contract of each member (both backends keep it exactly)."""

    on_commit: Callable[[float, int], None] | None

    def recover(self, *, full: bool = True) -> Recovery: ...

    def verify_prefix(self, through: int) -> None: ...

    def lookup(self, request_id: str) -> JournalRecord | None: ...

    def last_event_seq(self) -> int: ...

    def events_after(
        self, after: int, account_ids: tuple[str, ...], limit: int
    ) -> list[tuple[int, bytes]]: ...

    def history(self, account_id: str, before: int, limit: int) -> list[tuple[int, bytes]]: ...

    def get_meta(self, key: str) -> bytes | None: ...

    @property
    def next_seq(self) -> int: ...

    @property
    def failed(self) -> bool: ...

    @property
    def failure(self) -> DurabilityError | None: ...

    @property
    def stats(self) -> StoreStats: ...

    def submit(
        self,
        record: JournalRecord,
        *,
        request_id_checked: bool = False,
        events: tuple[EventRow, ...] = (),
    ) -> asyncio.Future[None]: ...

    def submit_snapshot(self, snapshot: Snapshot) -> asyncio.Future[None]: ...

    def put_meta(self, key: str, value: bytes) -> asyncio.Future[None]: ...

    async def flush(self) -> None: ...

    async def close(self) -> None: ...

"""Shard lease primitives on ``mm_shard_leases`` (the lease *policy* is the cluster's).

Every time is PostgreSQL's clock (``now()``), never an instance's. Taking a lease
is an UPDATE of the shard's row that bumps its fencing token: it waits for the
old owner's in-flight batch (whose fencing check holds the row ``FOR SHARE``)
and, once that commits, every write of the old owner is visible to the new
owner's recovery; every later batch of the old owner fails its fencing check.

Each function runs one statement on ``conn`` (autocommit mode expected).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg


@dataclass(frozen=True, slots=True)
class Fence:
    """Who may write one shard's journal: checked in the transaction of every batch."""

    shard: int
    owner: str
    token: int


@dataclass(frozen=True, slots=True)
class Lease:
    """One row of ``mm_shard_leases``; ``owner`` is ``None`` when released or never taken."""

    shard: int
    owner: str | None
    address: str | None
    token: int
    expires_at: datetime
    live: bool  # expires_at > now() on PostgreSQL's clock, when read


Conn = psycopg.Connection[tuple[object, ...]]


def _ttl(seconds: float) -> str:
    if not seconds > 0:
        raise ValueError(f"lease ttl must be > 0 seconds, got {seconds!r}")
    return f"{seconds} seconds"


def acquire(
    conn: Conn, shard: int, owner: str, address: str, ttl_s: float, *, force: bool = False
) -> Fence | None:
    """Take ``shard`` if it is unowned, expired or already ``owner``'s; ``force`` takes it
    regardless (an operator's or a test's takeover). Bumps the token; returns the new
    :class:`Fence`, or ``None`` when another instance holds a live lease."""
    row = conn.execute(
        "UPDATE mm_shard_leases SET owner = %s, address = %s, token = token + 1, "
        "expires_at = now() + %s::interval "
        "WHERE shard = %s AND (%s OR owner IS NULL OR owner = %s OR expires_at <= now()) "
        "RETURNING token",
        (owner, address, _ttl(ttl_s), shard, force, owner),
    ).fetchone()
    return None if row is None else Fence(shard, owner, int(str(row[0])))


def renew(conn: Conn, fence: Fence, ttl_s: float) -> bool:
    """Extend a live lease held with ``fence`` to now() + ``ttl_s``; False if it is no
    longer ours (taken over, released or already expired)."""
    row = conn.execute(
        "UPDATE mm_shard_leases SET expires_at = now() + %s::interval "
        "WHERE shard = %s AND owner = %s AND token = %s AND expires_at > now() RETURNING 1",
        (_ttl(ttl_s), fence.shard, fence.owner, fence.token),
    ).fetchone()
    return row is not None


def release(conn: Conn, fence: Fence) -> bool:
    """Give the lease up (the token stays; the next acquire bumps it). False if it was
    no longer ours."""
    row = conn.execute(
        "UPDATE mm_shard_leases SET owner = NULL, address = NULL, expires_at = 'epoch' "
        "WHERE shard = %s AND owner = %s AND token = %s RETURNING 1",
        (fence.shard, fence.owner, fence.token),
    ).fetchone()
    return row is not None


def leases(conn: Conn) -> list[Lease]:
    """Every shard's lease row, in shard order."""
    rows = conn.execute(
        "SELECT shard, owner, address, token, expires_at, expires_at > now() "
        "FROM mm_shard_leases ORDER BY shard"
    ).fetchall()
    return [
        Lease(
            shard=int(str(r[0])),
            owner=None if r[1] is None else str(r[1]),
            address=None if r[2] is None else str(r[2]),
            token=int(str(r[3])),
            expires_at=r[4] if isinstance(r[4], datetime) else datetime.min,
            live=bool(r[5]),
        )
        for r in rows
    ]

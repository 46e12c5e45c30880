"""Shard leases and instance membership, on PostgreSQL's clock (issue 10 design).

Every instance heartbeats its row in ``mm_instances``; the live instances are those
whose heartbeat is younger than the lease time. Each instance aims at
``ceil(shards / live instances)`` shards: it takes unowned or expired shards up to that
target, and gives surplus ones back gracefully (its host flushes, snapshots and closes the
shard's engine first) when others join. A lease is taken by an UPDATE of the shard's row
that adds 1 to its fencing token, and renewed every ``ttl / 3``; every time in those rows
is PostgreSQL's ``now()``, never an instance's.

A lease this instance fails to renew is dropped *locally* before it can expire in
PostgreSQL: the deadline is measured on the local monotonic clock from the moment the
renewal was sent (PostgreSQL's ``now()`` of that renewal is later still), less a margin.
The store's fencing check is what makes a late write impossible; the local deadline only
keeps a paused instance from serving reads from a shard it may no longer own.

The statements on the lease rows are the store's primitives
(:mod:`multimargin.store.pg_leases`: acquire, renew, release, read), run on one
connection of this instance's own in a worker thread; this module is the policy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import math
import time
from collections.abc import Callable
from typing import Any, Protocol

import psycopg

from multimargin.cluster.shards import Owner
from multimargin.store import pg_leases
from multimargin.store.pg_leases import Fence
from multimargin.store.postgres import connect

log = logging.getLogger("multimargin.cluster")

#: Default lease time in seconds (``[cluster] lease_seconds``).
DEFAULT_LEASE_SECONDS = 5.0
#: Seconds between rounds while short of the target (renewals stay every ttl / 3 or sooner).
DEFICIT_POLL = 0.2
#: Part of the lease time kept as a margin when dropping a lease locally.
LOCAL_MARGIN = 0.2


Lease = Fence
"""A held lease: the shard, this instance, the fencing token it was taken with."""


class ShardHolder(Protocol):
    """What the lease manager drives (:class:`multimargin.cluster.host.ShardHost`)."""

    async def acquired(self, lease: Lease) -> None:
        """Open (recover) the shard under ``lease``; raise to give the lease back."""

    async def releasing(self, shard: int) -> None:
        """Close the shard gracefully (flush, final snapshot) before its lease is released."""

    async def lost(self, shard: int) -> None:
        """Drop the shard at once, without writing: its lease is or may be gone."""


class LeaseManager:
    """Membership and leases of one instance (see module docs)."""

    def __init__(
        self,
        url: str,
        instance: str,
        address: str,
        holder: ShardHolder,
        *,
        shards: int,
        ttl: float = DEFAULT_LEASE_SECONDS,
        on_owners: Callable[[dict[int, Owner]], None] | None = None,
        local_deadline: bool = True,
    ) -> None:
        if ttl <= 0:
            raise ValueError("the lease time must be > 0")
        self.url = url
        self.instance = instance
        self.address = address
        self.holder = holder
        self.shards = shards
        self.ttl = ttl
        self.on_owners = on_owners
        self.local_deadline = local_deadline
        """Drop a lease locally when its renewal is late (off only in fault tests that show
        the store's fencing alone refusing a stale owner's write)."""
        self.held: dict[int, Lease] = {}
        self._deadline: dict[int, float] = {}  # local monotonic time to drop the lease by
        self._conn: psycopg.Connection[Any] | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="leases")
        self._task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._stopping = False
        self.reachable = False
        """Whether the last round reached PostgreSQL."""
        self.rounds = 0
        self._round_done = asyncio.Event()
        self._deficit = False
        self._opening: dict[int, asyncio.Task[None]] = {}

    # ---- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="leases")
        if self.local_deadline:
            self._watchdog = asyncio.create_task(self._watch(), name="lease-watchdog")

    async def wait_round(self) -> None:
        """Wait for the end of the next lease round."""
        self._round_done.clear()
        await self._round_done.wait()

    async def stop(self) -> None:
        """Give every shard back gracefully and leave the membership."""
        self._stopping = True
        for task in (self._task, self._watchdog):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for task in list(self._opening.values()):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        for shard in sorted(self.held):
            await self._release(shard)
        with contextlib.suppress(Exception):
            await self._sql(_leave, self.instance)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        self._executor.shutdown(wait=False)

    async def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = await asyncio.get_running_loop().run_in_executor(self._executor, self._connect)
        return self._conn

    def _connect(self) -> psycopg.Connection[Any]:
        conn = connect(self.url, connect_timeout=max(1.0, self.ttl / 2), purpose="multimargin-leases")
        conn.execute(f"SET statement_timeout = {int(self.ttl * 1000 / 3)}")
        return conn

    async def _sql(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(conn, *args)`` (a blocking statement) on this manager's own thread (it
        never waits behind other work for a worker)."""
        conn = await self._connection()
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, conn, *args)

    # ---- the rounds ------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                # No timeout around the round: cancelling it mid-release would lose track
                # of a shard; every statement has its own (statement_timeout, connect_timeout),
                # and the watchdog drops leases whose renewal is late.
                await self.round()
                self.reachable = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.reachable:
                    log.warning("lease round failed: %s", exc)
                self.reachable = False
                if self._conn is not None:
                    with contextlib.suppress(Exception):
                        self._conn.close()
                    self._conn = None
            self.rounds += 1
            self._round_done.set()
            # Short of the target (others are giving shards back): look again soon.
            interval = DEFICIT_POLL if self._deficit else self.ttl / 3
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def round(self) -> None:
        """One round: heartbeat, renew, give back surplus, take up to the target, map owners."""
        sent = time.monotonic()
        live = await self._sql(_heartbeat, self.instance, self.address, self.ttl)
        await self._renew(sent)
        target = math.ceil(self.shards / max(1, live))
        surplus = sorted(self.held)[target:] if len(self.held) > target else []
        for shard in surplus:
            await self._release(shard)
        self._deficit = False
        if len(self.held) < target:
            self._deficit = await self._acquire(target - len(self.held), target)
        if self.on_owners is not None:
            self.on_owners(await self.owners())

    async def _renew(self, sent: float) -> None:
        held = dict(self.held)
        if not held:
            return
        renewed = await self._sql(_renew_all, list(held.values()), self.ttl)
        for shard, lease in held.items():
            if shard in renewed:
                if self.held.get(shard) == lease:
                    self._deadline[shard] = sent + self.ttl * (1 - LOCAL_MARGIN)
            elif self.held.get(shard) == lease:
                log.warning("lease lost", extra={"fields": {"shard": shard}})
                await self._drop(shard)

    async def _acquire(self, wanted: int, target: int) -> bool:
        """Take up to ``wanted`` free shards; True when still short and another instance
        holds more than the target (it is about to give some back)."""
        rows = await self._sql(pg_leases.leases)
        free = [r.shard for r in rows if r.owner is None or not r.live]
        held_by: dict[str, int] = {}
        for r in rows:
            if r.owner is not None and r.live:
                held_by[r.owner] = held_by.get(r.owner, 0) + 1
        surplus_elsewhere = any(n > target for owner, n in held_by.items() if owner != self.instance)
        for shard in free[:wanted]:
            sent = time.monotonic()
            lease = await self._sql(pg_leases.acquire, shard, self.instance, self.address, self.ttl)
            if lease is None:
                continue  # someone else was quicker
            self.held[shard] = lease
            self._deadline[shard] = sent + self.ttl * (1 - LOCAL_MARGIN)
            log.info("lease taken", extra={"fields": {"shard": shard, "token": lease.token}})
            # Opened (recovered) beside the rounds, several at once: renewals never wait
            # for a recovery, and a failover opens all its shards in parallel.
            task = asyncio.create_task(self._open(lease), name=f"open-shard-{shard}")
            self._opening[shard] = task
            task.add_done_callback(functools.partial(self._opened, shard))
        return len(self.held) < target and surplus_elsewhere

    def _opened(self, shard: int, task: asyncio.Task[None]) -> None:
        if self._opening.get(shard) is task:
            del self._opening[shard]

    async def _open(self, lease: Lease) -> None:
        try:
            await self.holder.acquired(lease)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("cannot open shard %d: %s", lease.shard, exc)
            if self.held.get(lease.shard) == lease:
                self.held.pop(lease.shard, None)
                self._deadline.pop(lease.shard, None)
                await self._give_back(lease)
            return
        if self.held.get(lease.shard) != lease:  # lost while it opened: drop it again
            await self.holder.lost(lease.shard)

    async def owners(self) -> dict[int, Owner]:
        """The current owner of every shard with a live lease."""
        rows = await self._sql(pg_leases.leases)
        return {r.shard: Owner(r.owner, r.address or "") for r in rows if r.owner is not None and r.live}

    async def _release(self, shard: int) -> None:
        lease = self.held.get(shard)
        if lease is None:
            return
        try:
            await self.holder.releasing(shard)
        except Exception as exc:
            log.error("closing shard %d failed: %s", shard, exc)
        self.held.pop(shard, None)
        self._deadline.pop(shard, None)
        await self._give_back(lease)
        log.info("lease released", extra={"fields": {"shard": shard, "token": lease.token}})

    async def _give_back(self, lease: Lease) -> None:
        with contextlib.suppress(Exception):
            await self._sql(pg_leases.release, lease)

    async def _drop(self, shard: int) -> None:
        self.held.pop(shard, None)
        self._deadline.pop(shard, None)
        try:
            await self.holder.lost(shard)
        except Exception as exc:
            log.error("dropping shard %d failed: %s", shard, exc)

    async def forget(self, shard: int) -> None:
        """The shard's store refused a write (its lease is gone): drop it here too."""
        if shard in self.held:
            await self._drop(shard)

    async def _watch(self) -> None:
        """Drops every lease whose local deadline passed (renewals are late)."""
        while True:
            await asyncio.sleep(min(0.1, self.ttl / 20))
            now = time.monotonic()
            for shard, deadline in list(self._deadline.items()):
                if now > deadline and shard in self.held:
                    log.warning(
                        "lease not renewed in time; dropping the shard", extra={"fields": {"shard": shard}}
                    )
                    await self._drop(shard)


async def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> None:
    """Poll ``predicate`` until true (TimeoutError after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(step)


def _heartbeat(conn: psycopg.Connection[Any], instance: str, address: str, ttl: float) -> int:
    """Record this instance as live; returns how many instances are live."""
    conn.execute(
        "INSERT INTO mm_instances (instance, address) VALUES (%s, %s) ON CONFLICT (instance) "
        "DO UPDATE SET heartbeat_at = now(), address = EXCLUDED.address",
        (instance, address),
    )
    row = conn.execute(
        "SELECT count(*) FROM mm_instances WHERE heartbeat_at > now() - make_interval(secs => %s)", (ttl,)
    ).fetchone()
    return int(row[0]) if row else 1


def _renew_all(conn: psycopg.Connection[Any], leases: list[Lease], ttl: float) -> set[int]:
    """Renew every lease (one worker-thread hop for all); the shards still held."""
    return {lease.shard for lease in leases if pg_leases.renew(conn, lease, ttl)}


def _leave(conn: psycopg.Connection[Any], instance: str) -> None:
    conn.execute("DELETE FROM mm_instances WHERE instance = %s", (instance,))


__all__ = ["DEFAULT_LEASE_SECONDS", "Lease", "LeaseManager", "ShardHolder", "wait_for"]

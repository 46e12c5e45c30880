"""One engine per shard this instance owns (issue 10 design).

The lease manager (:mod:`.leases`) tells the host when a lease is taken, given back or
lost:

* **acquired**: the shard's engine is opened (recovered: snapshot + journal) by the
  opener, over a store bound to the lease's fence, then catches up with the cluster's
  rulebook and prices (:mod:`.globals`);
* **releasing** (graceful): the engine flushes, writes a final snapshot and closes;
* **lost**: the engine is dropped without writing anything. An engine whose store failed
  (e.g. its fencing check found the lease gone: ``LeaseLostError``) is dropped the same
  way and the lease manager forgets the lease; the server does not stop.

Calls for a shard that is opening or closing are answered SHARD_MOVING by the router.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from multimargin.cluster.leases import Lease
from multimargin.state.engine import Engine

log = logging.getLogger("multimargin.cluster")

Opener = Callable[[Lease], Awaitable[Engine]]
"""Opens (recovers) the engine of a shard under a lease."""


class ShardHost:
    """The engines of the shards this instance owns."""

    def __init__(self, opener: Opener) -> None:
        self._opener = opener
        self.engines: dict[int, Engine] = {}
        self.leases: dict[int, Lease] = {}
        self._watchers: dict[int, asyncio.Task[None]] = {}
        self._opening: dict[int, asyncio.Future[None]] = {}
        self.on_failed: Callable[[int], Awaitable[None]] | None = None
        """Called when a shard's store failed (the lease manager forgets the lease)."""
        self.on_opened: Callable[[int, Engine], Awaitable[None]] | None = None
        """Called once a shard's engine is open, before it serves (catch-up)."""

    def engine(self, shard: int) -> Engine | None:
        return self.engines.get(shard)

    def local(self) -> list[tuple[int, Engine]]:
        return sorted(self.engines.items())

    async def opened(self, shard: int, timeout: float) -> Engine | None:
        """The shard's engine, waiting up to ``timeout`` seconds if it is being opened here."""
        engine = self.engines.get(shard)
        opening = self._opening.get(shard)
        if engine is None and opening is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(opening), timeout)
            engine = self.engines.get(shard)
        return engine

    async def acquired(self, lease: Lease) -> None:
        opening = self._opening[lease.shard] = asyncio.get_running_loop().create_future()
        try:
            engine = await self._opener(lease)
            try:
                if self.on_opened is not None:
                    await self.on_opened(lease.shard, engine)
            except BaseException:
                await _drop(engine)
                raise
        finally:
            self._opening.pop(lease.shard, None)
            if not opening.done():
                opening.set_result(None)
        self.engines[lease.shard] = engine
        self.leases[lease.shard] = lease
        self._watchers[lease.shard] = asyncio.create_task(self._watch(lease.shard, engine))
        log.info("shard open", extra={"fields": {"shard": lease.shard, "token": lease.token}})

    async def releasing(self, shard: int) -> None:
        engine = self._forget(shard)
        if engine is not None:
            await engine.close()
            log.info("shard closed", extra={"fields": {"shard": shard}})

    async def lost(self, shard: int) -> None:
        engine = self._forget(shard)
        if engine is not None:
            await _drop(engine)
            log.warning("shard dropped", extra={"fields": {"shard": shard}})

    async def close(self) -> None:
        """Close every engine gracefully (the lease manager's stop does it shard by shard)."""
        for shard in list(self.engines):
            await self.releasing(shard)

    def _forget(self, shard: int) -> Engine | None:
        watcher = self._watchers.pop(shard, None)
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
        self.leases.pop(shard, None)
        return self.engines.pop(shard, None)

    async def _watch(self, shard: int, engine: Engine) -> None:
        with contextlib.suppress(BaseException):
            await engine.fatal
        if self.engines.get(shard) is not engine:
            return
        error = None if engine.fatal.cancelled() else engine.fatal.exception()
        log.error("shard store failed; dropping the shard: %s", error, extra={"fields": {"shard": shard}})
        self._forget(shard)
        await _drop(engine)
        if self.on_failed is not None:
            await self.on_failed(shard)


async def _drop(engine: Engine) -> None:
    """Close an engine without writing (its lease is or may be gone)."""
    try:
        await asyncio.wait_for(engine.drop(), 5.0)
    except Exception as exc:
        log.warning("dropping an engine failed: %r", exc)


def engine_fence(engine: Engine) -> Any:
    return getattr(engine, "fence", None)


__all__ = ["Opener", "ShardHost"]

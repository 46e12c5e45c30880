"""The engine's in-memory window of recent mutations, for idempotent retries.

A mutation stays here while its journal record is not yet durable (a retry then waits
for it: the journal cannot answer for it yet), and afterwards in a small LRU of the most
recently settled ones. Older request ids are answered by the journal
(:meth:`multimargin.store.Store.lookup`), so memory does not grow with the number of
requests served.

>>> async def demo():
...     window = RecentRequests[str](capacity=2)
...     loop = asyncio.get_running_loop()
...     futures = [loop.create_future() for _ in range(3)]
...     for n, future in enumerate(futures):
...         window.add(f"r{n}", f"response {n}", future)
...     pending = len(window)
...     for future in futures:
...         future.set_result(None)
...     await asyncio.sleep(0)
...     return pending, len(window), window.get("r0"), window.get("r2")
>>> asyncio.run(demo())
(3, 2, None, 'response 2')
"""

from __future__ import annotations

import asyncio
import collections
from typing import Generic, TypeVar

#: Settled mutations kept in memory (the most recent ones).
DEFAULT_CAPACITY = 1024

V = TypeVar("V")


class RecentRequests(Generic[V]):
    """Request id -> value of the mutations in flight, plus the ``capacity`` most recently
    settled ones."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 0:
            raise ValueError("capacity must be >= 0")
        self._capacity = capacity
        self._in_flight: dict[str, V] = {}
        self._settled: collections.OrderedDict[str, V] = collections.OrderedDict()

    def add(self, key: str, value: V, durable: asyncio.Future[None]) -> None:
        """Remember ``value`` under ``key`` while ``durable`` is pending, then in the LRU
        (or not at all, if it failed: nothing failed may be replayed as a success)."""
        self._in_flight[key] = value
        durable.add_done_callback(lambda future: self._settle(key, future))

    def get(self, key: str) -> V | None:
        """The value under ``key``, or None if it is not (or no longer) in memory."""
        value = self._in_flight.get(key)
        if value is not None:
            return value
        value = self._settled.get(key)
        if value is not None:
            self._settled.move_to_end(key)
        return value

    def __len__(self) -> int:
        return len(self._in_flight) + len(self._settled)

    def _settle(self, key: str, durable: asyncio.Future[None]) -> None:
        value = self._in_flight.pop(key, None)
        if value is None or durable.cancelled() or durable.exception() is not None:
            return
        self._settled[key] = value
        while len(self._settled) > self._capacity:
            self._settled.popitem(last=False)


__all__ = ["DEFAULT_CAPACITY", "RecentRequests"]

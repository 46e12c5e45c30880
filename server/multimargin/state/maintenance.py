"""CPU time the server spends on itself rather than on calls: maintenance.

Some work runs beside the calls without being caused by them, e.g. the chain
verification of the journal's prefix after a restart, which reads the whole store.
Admission control (:class:`multimargin.service.admission.CpuMeter`) sheds calls when the
server has no CPU to spare, because then calls queue unseen in gRPC core; CPU that
maintenance uses is not such a queue, and a lone call during it must be served. So
maintenance runs inside :func:`maintenance` (in a thread of its own, e.g. through
:func:`run_as_maintenance` with :func:`asyncio.to_thread`), and :func:`maintenance_cpu`
tells how much CPU it has used, for the meter to leave out.

Each thread's own CPU clock (:func:`time.pthread_getcpuclockid`) is read, so the figure
is exact whatever else runs at the time.

>>> before = maintenance_cpu()
>>> run_as_maintenance(sum, range(100_000))
4999950000
>>> maintenance_cpu() > before
True
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
#: The threads in maintenance now: their CPU clock and its reading when they entered.
_active: dict[int, tuple[int, float]] = {}
#: CPU seconds of maintenance that has ended.
_finished = 0.0


@contextlib.contextmanager
def maintenance() -> Iterator[None]:
    """Counts the calling thread's CPU time, while inside, as maintenance (nested uses
    on one thread count once)."""
    global _finished
    ident = threading.get_ident()
    if ident in _active:
        yield
        return
    clock = time.pthread_getcpuclockid(ident)
    with _lock:
        _active[ident] = (clock, time.clock_gettime(clock))
    try:
        yield
    finally:
        end = time.clock_gettime(clock)
        with _lock:
            _, start = _active.pop(ident)
            _finished += end - start


def run_as_maintenance(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` inside :func:`maintenance` (for :func:`asyncio.to_thread`)."""
    with maintenance():
        return fn(*args)


def maintenance_cpu() -> float:
    """CPU seconds spent in maintenance so far, by every thread, ended or running."""
    with _lock:
        return _finished + sum(time.clock_gettime(clock) - start for clock, start in _active.values())


__all__ = ["maintenance", "maintenance_cpu", "run_as_maintenance"]

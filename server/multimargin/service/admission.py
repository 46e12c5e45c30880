"""Admission control: which calls the engine takes when the server is past saturation.

A call is shed RESOURCE_EXHAUSTED with ErrorInfo ``OVERLOADED`` (SPEC §11), before any
other work (authentication, authorization, the engine), when one of these holds
(:meth:`Admission.refusal`):

* **limit** — ``limit`` calls are already in the engine (``--max-in-flight``);
* **queued** — the call waited longer than ``max_queue_delay`` between reaching our
  first Python code (:func:`stamp_arrival`, called by the call interceptor) and
  its handler: past saturation calls queue in the event loop, and a call that has
  already waited its bound is late whatever we do (CoDel's rule: judge a call by its
  own sojourn time, not by a queue length);
* **busy** — the server has had no CPU to spare for longer than ``max_loop_busy``
  (:class:`CpuMeter`): over every sample of that span, its event loop's thread or the
  whole process (all its threads, on the cores it may run on) used at least
  :data:`BUSY_SHARE` of the time. Past saturation calls wait in gRPC core's queue and in
  the socket, where no Python code can see how long they waited, and the event loop may
  even pause while core's own threads parse them; but a server that had CPU to spare
  has taken every call that was there. A standing queue shows as a saturated CPU
  (CoDel's criterion, applied to the CPU), and shedding until it has CPU to spare again
  drains the queue: a shed call costs a fraction of a served one.

The delay rules shed only lateness that persists (CoDel's interval): a burst may keep
calls late for up to ``grace`` (``--shed-grace-ms``, :data:`DEFAULT_SHED_GRACE`, 100 ms)
before any is shed, so a client that fires a hundred calls at once at an otherwise
quiet server is served; once
shedding has started, lateness that comes back within :data:`MEMORY` of the last shed
call is shed at once (sustained overload gets no new grace every time the queue drains).
With nothing in the engine a call is never refused for delay (CoDel does not drop from a
near-empty queue either). The busy rule has no such exception: a queue it sheds is
outside the engine (each call admitted whenever the engine is empty would keep the CPU
saturated, at one call at a time), and a server that is merely descheduled is not busy
(its CPU time does not advance).
A bound of 0 turns its rule off. Only the multimargin contract's RPCs are admitted
here: the health service and reflection never go through it, so a probe keeps
answering under overload. A shed call gets its ``x-request-id`` (the interceptor of
:mod:`multimargin.service.interceptors` runs around it) and changes nothing.

A shed call must cost as little as possible, or shedding itself saturates the server:
its access-log line is written at DEBUG (:data:`SHED` tells the interceptor), and a
WARNING line ``calls shed`` counts the shed calls by rule, at most once a second
(``bench/shed_rate.py``: with an INFO line per shed call a server pinned to one core
shed ≈2,100 calls/s, without it ≈3,000, against ≈3,600 health checks/s).

>>> clock = iter([0.0, 0.050, 0.050]).__next__  # the call reaches Python at 0, its handler at 50 ms
>>> admission = Admission(8, max_queue_delay=0.020, grace=0, clock=clock)
>>> admission.in_flight = 1  # another call is in the engine
>>> token = ARRIVED.set(admission.clock())
>>> admission.refusal()
'queued'
>>> ARRIVED.reset(token)
"""

from __future__ import annotations

import contextvars
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Callable

from multimargin.state.maintenance import maintenance_cpu

#: When the call being handled reached our first Python code (the admission clock's
#: time; unset outside a call).
ARRIVED: contextvars.ContextVar[float] = contextvars.ContextVar("multimargin_arrived")

#: The rule that shed the call being handled (None while it is admitted).
SHED: contextvars.ContextVar[str | None] = contextvars.ContextVar("multimargin_shed", default=None)

#: Seconds between two ``calls shed`` log lines, at most.
REPORT_EVERY = 1.0

log = logging.getLogger("multimargin.admission")

#: The share of a sample's time the event loop's thread, or the whole process per core
#: it may use, must have been on the CPU for the server to count as saturated then.
BUSY_SHARE = 0.9
#: Seconds between two readings of the CPU clocks (:class:`CpuMeter`).
SAMPLE = 0.001

#: Seconds a call may wait before its handler runs (``--max-queue-delay-ms``).
DEFAULT_MAX_QUEUE_DELAY = 0.005
#: Seconds the server may stay without CPU to spare before new calls are shed
#: (``--max-loop-busy-ms``).
DEFAULT_MAX_LOOP_BUSY = 0.001
#: Seconds calls may stay late (by the delay rules) before the first is shed: CoDel's
#: interval, long enough for a burst, short next to a client's deadline.
DEFAULT_SHED_GRACE = 0.1
#: Seconds after the last shed call during which lateness is shed without a new grace.
MEMORY = 1.0

LIMIT = "limit"
QUEUED = "queued"
BUSY = "busy"

_CONTRACT_PREFIX = "/multimargin."


class Admission:
    """The admission state of one server: calls in the engine, the bounds, what was shed.

    Only the event loop's thread touches it, so plain counters are exact. ``clock`` (a
    monotonic clock in seconds) is what :func:`stamp_arrival` stamps and
    :meth:`refusal` compares against; ``idle_at`` tells when the server last had CPU to
    spare, on that clock (:meth:`CpuMeter.idle_at`; None: the busy rule is off).
    """

    def __init__(
        self,
        limit: int,
        *,
        max_queue_delay: float = DEFAULT_MAX_QUEUE_DELAY,
        max_loop_busy: float = DEFAULT_MAX_LOOP_BUSY,
        grace: float = DEFAULT_SHED_GRACE,
        clock: Callable[[], float] = time.monotonic,
        idle_at: Callable[[], float] | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("the limit of calls in flight must be >= 1")
        if not max_queue_delay >= 0 or not max_loop_busy >= 0 or not grace >= 0:
            raise ValueError("the queueing-delay and busy-loop bounds and the grace must be >= 0")
        self.limit = limit
        self.max_queue_delay = max_queue_delay
        self.max_loop_busy = max_loop_busy
        self.grace = grace
        self._late_since: float | None = None  # calls late without a break since then
        self._last_delay_shed = -math.inf
        self.clock = clock
        self.idle_at = idle_at
        self.in_flight = 0
        self.shed_by: Counter[str] = Counter()
        """Calls refused OVERLOADED so far, by rule (``limit``, ``queued``, ``busy``)."""
        self._reported: Counter[str] = Counter()
        self._reported_at = -math.inf

    @property
    def shed(self) -> int:
        """Calls refused OVERLOADED so far."""
        return sum(self.shed_by.values())

    def refusal(self) -> str | None:
        """The rule that refuses the current call (counted as shed), or None to admit it.

        >>> a = Admission(1, max_loop_busy=0.005, grace=0, clock=lambda: 10.0, idle_at=lambda: 9.0)
        >>> a.in_flight = 1
        >>> a.refusal()
        'limit'
        >>> a.in_flight = 0
        >>> a.refusal()  # no CPU to spare for 1 s
        'busy'
        >>> a.shed_by == {"limit": 1, "busy": 1}
        True
        """
        rule = self.full()
        if rule is not None:
            return rule
        now = self.clock()
        if self.max_queue_delay and self.in_flight and now - ARRIVED.get(now) > self.max_queue_delay:
            rule = QUEUED
        elif self.max_loop_busy and self.idle_at is not None and now - self.idle_at() > self.max_loop_busy:
            rule = BUSY
        if rule is None:
            self._late_since = None
            return None
        if self._late_since is None:
            self._late_since = now
        if now - self._late_since < self.grace and now - self._last_delay_shed > MEMORY:
            return None  # a burst, so far: within the grace and not right after shedding
        self._last_delay_shed = now
        self._shed(rule)
        return rule

    def full(self) -> str | None:
        """:data:`LIMIT` (counted as shed) when ``limit`` calls are in the engine, else None."""
        if self.in_flight < self.limit:
            return None
        self._shed(LIMIT)
        return LIMIT

    def _shed(self, rule: str) -> None:
        self.shed_by[rule] += 1
        SHED.set(rule)
        now = self.clock()
        if now - self._reported_at >= REPORT_EVERY:
            since = self.shed_by - self._reported
            fields = {"shed": dict(since), "total": self.shed, "in_flight": self.in_flight}
            log.warning("calls shed", extra={"fields": fields})
            self._reported, self._reported_at = Counter(self.shed_by), now

    def message(self, rule: str) -> str:
        """What a call shed by ``rule`` is told."""
        if rule == QUEUED:
            why = f"the call waited more than {self.max_queue_delay * 1000:g} ms to be taken"
        elif rule == BUSY:
            why = f"it has had no CPU to spare for more than {self.max_loop_busy * 1000:g} ms"
        else:
            why = f"it has {self.limit} calls in flight"
        return f"the server is past saturation ({why}); retry with backoff"


def stamp_arrival(method: str, clock: Callable[[], float]) -> None:
    """Stamps :data:`ARRIVED` on a call of the contract as soon as gRPC hands it to Python
    (the call interceptor does, in the call's own task, so its handler sees it) and clears
    :data:`SHED`, which is not to be inherited from the context the task was made in."""
    SHED.set(None)
    if method.startswith(_CONTRACT_PREFIX):
        ARRIVED.set(clock())


class CpuMeter:
    """When the server last had CPU to spare, read from the CPU clocks of its event
    loop's thread and of its process.

    :meth:`idle_at` is called on the event loop's thread, by :meth:`Admission.refusal`:
    at most once per ``sample`` seconds it reads the two CPU clocks, and the span since
    the last reading was saturated when the loop's thread was on the CPU at least
    ``share`` of it, or the process at least ``share`` of it on each of its ``cores``.
    A span that was not saturated ends at a moment with CPU to spare. A server that the
    machine deschedules is not saturated (its CPU time stands still): only work of its
    own counts, and not its maintenance (:mod:`multimargin.state.maintenance`, e.g. the
    journal's verification after a restart), which no call waits behind. The clocks are
    parameters so that tests can step them.

    >>> wall, thread, process = [0.0], [0.0], [0.0]
    >>> meter = CpuMeter(cores=1, clock=lambda: wall[0], thread_clock=lambda: thread[0],
    ...                  process_clock=lambda: process[0], maintenance_clock=lambda: 0.0)
    >>> wall[0] = thread[0] = process[0] = 0.002  # the loop ran throughout: saturated
    >>> meter.idle_at()
    0.0
    >>> wall[0], process[0] = 0.004, 0.0035  # 75 % of the core: CPU to spare
    >>> meter.idle_at()
    0.004
    """

    def __init__(
        self,
        sample: float = SAMPLE,
        share: float = BUSY_SHARE,
        *,
        cores: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        thread_clock: Callable[[], float] = time.thread_time,
        process_clock: Callable[[], float] = time.process_time,
        maintenance_clock: Callable[[], float] = maintenance_cpu,
    ) -> None:
        if not sample > 0 or not 0 < share <= 1:
            raise ValueError("the sample must be > 0 and the share in (0, 1]")
        self.sample = sample
        self.share = share
        self.cores = cores if cores is not None else len(os.sched_getaffinity(0))
        self._clock, self._thread_clock, self._process_clock = clock, thread_clock, process_clock
        self._maintenance_clock = maintenance_clock
        self._at: float | None = None  # the last reading: wall, thread and process clocks
        self._thread = self._process = 0.0
        self._idle_at = clock()

    def idle_at(self) -> float:
        """When the server last had CPU to spare (the ``clock``'s time)."""
        now = self._clock()
        if self._at is None:  # the first reading, on the loop's thread
            self._at, self._thread, self._process = now, self._thread_clock(), self._own_cpu()
            return self._idle_at
        span = now - self._at
        if span >= self.sample:
            thread, process = self._thread_clock(), self._own_cpu()
            busy = span * self.share
            if thread - self._thread < busy and process - self._process < busy * self.cores:
                self._idle_at = now
            self._at, self._thread, self._process = now, thread, process
        return self._idle_at

    def _own_cpu(self) -> float:
        """The process's CPU time but its maintenance."""
        return self._process_clock() - self._maintenance_clock()


__all__ = [
    "ARRIVED",
    "BUSY",
    "BUSY_SHARE",
    "DEFAULT_MAX_LOOP_BUSY",
    "DEFAULT_MAX_QUEUE_DELAY",
    "DEFAULT_SHED_GRACE",
    "LIMIT",
    "MEMORY",
    "QUEUED",
    "REPORT_EVERY",
    "SAMPLE",
    "SHED",
    "Admission",
    "CpuMeter",
    "stamp_arrival",
]

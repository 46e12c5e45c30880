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
* **busy** — the event loop has not been idle for more than ``max_loop_busy``
  (:class:`IdleTrackingSelector`). The loop takes new calls from gRPC core one per
  method per few loop turns, so past saturation calls wait in core's queue, where no
  Python code can see how long they waited; but a loop that waits for I/O (at least
  :data:`MIN_IDLE`) has taken every call core had for it. A loop continuously busy
  for longer than the bound has a standing queue somewhere (CoDel's criterion), and
  shedding until it idles again drains it: a shed call costs a fraction of a served one.

The delay rules shed only lateness that persists (CoDel's interval): a burst may keep
calls late for up to ``grace`` (:data:`DEFAULT_GRACE`, 100 ms) before any is shed, so a
client that fires a hundred calls at once at an otherwise quiet server is served; once
shedding has started, lateness that comes back within :data:`MEMORY` of the last shed
call is shed at once (sustained overload gets no new grace every time the queue drains).
With nothing in the engine a call is never refused for delay or a busy loop (CoDel does
not drop from a near-empty queue either): the server always makes progress, and a
machine that merely deschedules the server for a moment does not refuse a lone call.
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

import asyncio
import contextvars
import logging
import math
import selectors
import time
import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

#: When the call being handled reached our first Python code (the admission clock's
#: time; unset outside a call).
ARRIVED: contextvars.ContextVar[float] = contextvars.ContextVar("multimargin_arrived")

#: The rule that shed the call being handled (None while it is admitted).
SHED: contextvars.ContextVar[str | None] = contextvars.ContextVar("multimargin_shed", default=None)

#: Seconds between two ``calls shed`` log lines, at most.
REPORT_EVERY = 1.0

log = logging.getLogger("multimargin.admission")

#: Seconds the event loop must wait for I/O to count as idle (:class:`IdleTrackingSelector`).
MIN_IDLE = 0.0005

#: Seconds a call may wait before its handler runs (``--max-queue-delay-ms``).
DEFAULT_MAX_QUEUE_DELAY = 0.005
#: Seconds the event loop may stay busy without a pause before new calls are shed
#: (``--max-loop-busy-ms``).
DEFAULT_MAX_LOOP_BUSY = 0.005
#: Seconds calls may stay late (by the delay rules) before the first is shed: CoDel's
#: interval, long enough for a burst, short next to a client's deadline.
DEFAULT_GRACE = 0.1
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
    :meth:`refusal` compares against; ``idle_at`` tells when the event loop was last
    idle on that clock (:func:`idle_clock`; None: the busy rule is off).
    """

    def __init__(
        self,
        limit: int,
        *,
        max_queue_delay: float = DEFAULT_MAX_QUEUE_DELAY,
        max_loop_busy: float = DEFAULT_MAX_LOOP_BUSY,
        grace: float = DEFAULT_GRACE,
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
        >>> a.refusal() is None  # busy for 1 s, but nothing in the engine: admitted
        True
        >>> a.in_flight = 1
        >>> a.refusal()
        'limit'
        >>> a.limit = 2
        >>> a.refusal()
        'busy'
        >>> a.shed_by == {"limit": 1, "busy": 1}
        True
        """
        rule = self.full()
        if rule is not None:
            return rule
        if not self.in_flight:
            return None  # the engine is idle: always make progress
        now = self.clock()
        if self.max_queue_delay and now - ARRIVED.get(now) > self.max_queue_delay:
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
            why = f"it has been busy for more than {self.max_loop_busy * 1000:g} ms without a pause"
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


class IdleTrackingSelector(selectors.DefaultSelector):
    """The event loop's selector, noting when the loop was last idle: when it waited for
    I/O with nothing ready to run (asyncio then selects with a timeout other than 0) for
    at least :data:`MIN_IDLE`. gRPC's completion queue wakes the loop through a socket
    it selects on, so a loop that waits that long has taken every call gRPC core had for
    it; shorter waits are the hand-over of events from gRPC's poller thread, which
    happen under a backlog too."""

    def __init__(self) -> None:
        super().__init__()
        self.idle_at = time.monotonic()
        """When the loop was last idle (:func:`time.monotonic`)."""

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        if timeout is not None and timeout <= 0:
            result: list[tuple[Any, int]] = super().select(timeout)
            return result
        start = time.monotonic()
        events: list[tuple[Any, int]] = super().select(timeout)
        now = time.monotonic()
        if now - start >= MIN_IDLE:
            self.idle_at = now
        return events


_SELECTORS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, IdleTrackingSelector] = (
    weakref.WeakKeyDictionary()
)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """An asyncio event loop whose idle moments :func:`idle_clock` can tell (``serve`` runs
    on one: ``asyncio.Runner(loop_factory=new_event_loop)``)."""
    selector = IdleTrackingSelector()
    loop = asyncio.SelectorEventLoop(selector)
    _SELECTORS[loop] = selector
    return loop


def idle_clock(loop: asyncio.AbstractEventLoop) -> Callable[[], float] | None:
    """A function giving when ``loop`` was last idle (:func:`time.monotonic`), or None
    for a loop not made by :func:`new_event_loop` (whose busy time cannot be known)."""
    selector = _SELECTORS.get(loop)
    return None if selector is None else (lambda: selector.idle_at)


__all__ = [
    "ARRIVED",
    "BUSY",
    "DEFAULT_GRACE",
    "DEFAULT_MAX_LOOP_BUSY",
    "DEFAULT_MAX_QUEUE_DELAY",
    "LIMIT",
    "MEMORY",
    "MIN_IDLE",
    "QUEUED",
    "REPORT_EVERY",
    "SHED",
    "Admission",
    "IdleTrackingSelector",
    "idle_clock",
    "new_event_loop",
    "stamp_arrival",
]

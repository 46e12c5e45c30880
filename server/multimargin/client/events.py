"""EventService: :meth:`EventCalls.watch_events`, an iterator of SPEC §8 events that
resumes by itself.

The stream is long-lived, so it has no deadline. When it ends for a reason a resume
cures — the server restarting or draining (UNAVAILABLE, CANCELLED), the server ending a
subscriber that fell behind (RESOURCE_EXHAUSTED / SUBSCRIBER_TOO_SLOW), or a stream that
simply stops — the iterator reconnects with backoff and asks for the events after the
last one it delivered: the caller sees every event once, in sequence order. After
``reconnects`` failed attempts in a row (a delivered event resets the count) the last
failure is raised as a :class:`~multimargin.errors.MarginError`; a refusal (an unknown
account, ``after_seq`` beyond the last event: OUT_OF_RANGE) is raised at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Self

import grpc

from multimargin.client.base import ClientBase
from multimargin.results_liability import Event
from multimargin.transport import RetryPolicy, error_from
from multimargin.v1 import event_service_pb2 as evs

Code: Any = grpc.StatusCode
#: Stream ends that a resume after the last delivered event cures.
RESUMABLE = frozenset({Code.UNAVAILABLE, Code.CANCELLED})
SLOW_REASON = "SUBSCRIBER_TOO_SLOW"


class EventStream(Iterator[Event]):
    """The events after ``after_seq`` of ``account_ids`` (all when empty), then new ones
    as they commit, resumed across restarts (see the module documentation). ``close()``
    (also from another thread, or by leaving a ``with`` block) ends the iteration."""

    def __init__(
        self,
        stub: Any,
        account_ids: Sequence[str],
        after_seq: int,
        reconnects: int,
        policy: RetryPolicy,
    ) -> None:
        self._stub = stub
        self._account_ids = list(account_ids)
        self.last_seq = after_seq  # the last event delivered (or the starting point)
        self.reconnects = reconnects
        self.resumed = 0  # reconnections so far
        self._policy = policy
        self._lock = threading.Lock()
        self._call: Any = None
        self._closed = False

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> Event:
        failures = 0
        while True:
            call = self._open()
            try:
                message = next(call)
            except StopIteration:  # the server ended the stream without a status: resume
                error: grpc.RpcError | None = None
            except grpc.RpcError as e:
                error = e
            else:
                event = message.event
                if event.seq <= self.last_seq:  # never twice (a resume overlapping)
                    continue
                self.last_seq = event.seq
                return Event.of(event)
            with self._lock:
                self._call = None
                if self._closed:
                    raise StopIteration
            if error is not None and not _resumable(error):
                self.close()
                raise error_from(error) from error
            failures += 1
            if failures > self.reconnects:
                self.close()
                if error is None:
                    raise StopIteration
                raise error_from(error) from error
            time.sleep(self._policy.delay(failures))
            self.resumed += 1

    def _open(self) -> Any:
        with self._lock:
            if self._closed:
                raise StopIteration
            if self._call is None:
                request = evs.WatchEventsRequest(account_ids=self._account_ids, after_seq=self.last_seq)
                self._call = self._stub.WatchEvents(request)
            return self._call

    def close(self) -> None:
        """Ends the stream; the iteration stops (a blocked ``next`` returns StopIteration)."""
        with self._lock:
            self._closed = True
            call, self._call = self._call, None
        if call is not None:
            call.cancel()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _resumable(e: grpc.RpcError) -> bool:
    code = e.code() if isinstance(e, grpc.Call) else None
    if code in RESUMABLE:
        return True
    return code == Code.RESOURCE_EXHAUSTED and error_from(e).reason == SLOW_REASON


class EventCalls(ClientBase):
    """Calls of EventService."""

    def watch_events(
        self, account_ids: Sequence[str] = (), after_seq: int = 0, *, reconnects: int = 30
    ) -> EventStream:
        """Every event after ``after_seq`` (0: all the server holds) of ``account_ids``
        (all accounts when empty), then new ones as they commit, each once and in order,
        resuming by itself after restarts and slow-subscriber ends (at most
        ``reconnects`` failed attempts in a row, ``backoff``/``max_backoff`` apart).

        >>> with client.watch_events(["alice"]) as events:    # doctest: +SKIP
        ...     for event in events:
        ...         if event.kind == "MARGIN_CALL":
        ...             notify(event.account_id, event.risk.margin_level)
        """
        policy = RetryPolicy(self.timeout, self.attempt_timeout, self.retries, self.backoff, self.max_backoff)
        return EventStream(self.events, account_ids, after_seq, reconnects, policy)

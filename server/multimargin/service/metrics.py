"""Prometheus metrics on their own HTTP port (``serve --metrics-listen``).

* ``multimargin_rpc_seconds{method, code}``: latency of every call, by method and
  status (observed by the call interceptor);
* ``multimargin_journal_commit_seconds`` and ``multimargin_journal_batch_records``: each
  group commit's duration and size (the store reports them from its committer thread);
* ``multimargin_accounts{kind, mode, status}``, ``multimargin_accounts_in_margin_call``,
  ``multimargin_event_backlog`` (events queued for WatchEvents subscribers),
  ``multimargin_log_records_dropped``: read from the engine when scraped;
* ``multimargin_events_total{kind}``: events published (margin calls, liquidations, …);
* ``multimargin_calls_shed_total``: calls refused OVERLOADED.

Nothing here sits on the request path beyond one histogram observation per call.
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from multimargin.service.logs import dropped_records
from multimargin.v1 import history_pb2

# Latency buckets from 100 µs to 10 s: calls are sub-millisecond to tens of ms.
_RPC_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class EngineView(Protocol):
    """What the metrics read of the engine when scraped."""

    def account_counts(self) -> Tally[tuple[str, str, str]]: ...
    def margin_call_count(self) -> int: ...
    def event_backlog(self) -> int: ...


class _EngineCollector(Collector):
    def __init__(self, engine: EngineView, shed: Callable[[], int]) -> None:
        self._engine = engine
        self._shed = shed

    def collect(self) -> Iterator[Any]:
        accounts = GaugeMetricFamily(
            "multimargin_accounts", "Accounts by kind, mode and status", labels=["kind", "mode", "status"]
        )
        for (kind, mode, status), n in sorted(self._engine.account_counts().items()):
            accounts.add_metric([kind, mode, status], n)
        yield accounts
        yield GaugeMetricFamily(
            "multimargin_accounts_in_margin_call",
            "Margin accounts in the margin-call zone",
            value=self._engine.margin_call_count(),
        )
        yield GaugeMetricFamily(
            "multimargin_event_backlog",
            "Events queued for WatchEvents subscribers, not yet sent",
            value=self._engine.event_backlog(),
        )
        yield GaugeMetricFamily(
            "multimargin_log_records_dropped",
            "Log records dropped because the log writer could not keep up",
            value=dropped_records(),
        )
        yield CounterMetricFamily(
            "multimargin_calls_shed", "Calls refused RESOURCE_EXHAUSTED (OVERLOADED)", value=self._shed()
        )


class Metrics:
    """The server's metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rpc = Histogram(
            "multimargin_rpc_seconds",
            "Latency of each call, by method and status code",
            ["method", "code"],
            buckets=_RPC_BUCKETS,
            registry=self.registry,
        )
        self.commit = Histogram(
            "multimargin_journal_commit_seconds",
            "Duration of each journal group commit (one transaction and fsync)",
            buckets=_RPC_BUCKETS,
            registry=self.registry,
        )
        self.batch = Histogram(
            "multimargin_journal_batch_records",
            "Records per journal group commit",
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.events = Counter(
            "multimargin_events", "Events published, by kind", ["kind"], registry=self.registry
        )
        for kind in history_pb2.EventKind.DESCRIPTOR.values_by_name:  # every kind from 0
            if kind != "EVENT_KIND_UNSPECIFIED":
                self.events.labels(kind)
        self._lock = threading.Lock()

    def observe_rpc(self, method: str, code: str, seconds: float) -> None:
        self.rpc.labels(method, code).observe(seconds)

    def observe_commit(self, seconds: float, records: int) -> None:
        """Called from the store's committer thread after each batch."""
        self.commit.observe(seconds)
        self.batch.observe(records)

    def observe_event(self, kind: str) -> None:
        self.events.labels(kind).inc()

    def watch(self, engine: EngineView, shed: Callable[[], int] = lambda: 0) -> None:
        """Reads the engine's gauges at each scrape."""
        with self._lock:
            self.registry.register(_EngineCollector(engine, shed))

    def serve(self, listen: str) -> Any:
        """Starts the HTTP endpoint (``/metrics``) on ``host:port``; returns the server
        (``.shutdown()`` stops it) and its port."""
        host, _, port = listen.rpartition(":")
        server, thread = start_http_server(
            int(port), addr=host.strip("[]") or "127.0.0.1", registry=self.registry
        )
        return server, thread


__all__ = ["EngineView", "Metrics"]

"""Structured logging of the server: one JSON object per line on standard error,
written off the event loop.

A record's ``extra={"fields": {...}}`` become top-level keys of its line; a traceback,
when there is one, is the ``exc`` string (JSON escapes its newlines, so it stays one line).

Logging never blocks a call: :func:`configure_logging` puts a
:class:`logging.handlers.QueueHandler` on the root logger, feeding a bounded queue that a
:class:`logging.handlers.QueueListener` thread formats and writes. When the sink cannot
keep up (a full pipe, a slow disk) and the queue is full, records are dropped and
counted (:func:`dropped_records`); :func:`shutdown_logging` writes what is queued, then
reports the count in a ``log records dropped`` line.

>>> import logging
>>> record = logging.LogRecord("multimargin.access", logging.INFO, __file__, 1, "rpc", None, None)
>>> record.fields = {"method": "/multimargin.v1.OperatorService/GetEngineStatus", "code": "OK"}
>>> line = JsonFormatter().format(record)
>>> json.loads(line)["code"]
'OK'
"""

from __future__ import annotations

import datetime
import json
import logging
import logging.handlers
import queue
import sys
import threading
from typing import Any, TextIO

_RESERVED = frozenset({"ts", "level", "logger", "message"})

#: Records waiting for the writer thread at most; more are dropped (and counted).
DEFAULT_QUEUE_SIZE = 10_000
#: Seconds :func:`shutdown_logging` waits for the writer to drain the queue.
SHUTDOWN_TIMEOUT = 5.0

log = logging.getLogger("multimargin.logs")


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON: ts, level, logger, message, then its fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON object on one line."""
        ts = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
        line: dict[str, Any] = {
            "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update((k, v) for k, v in fields.items() if k not in _RESERVED)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class _DroppingQueueHandler(logging.handlers.QueueHandler):
    """Puts records on a bounded queue without ever waiting; counts what did not fit."""

    def __init__(self, records: queue.Queue[Any]) -> None:
        super().__init__(records)
        self.queue_size = records.maxsize
        self._formatter = JsonFormatter()
        self._count_lock = threading.Lock()
        self.dropped = 0

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """Fix now what could change before the writer formats the record (the message,
        a traceback); the JSON itself is made on the writer thread."""
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        """Queue ``record``, or drop it if the queue is full."""
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            with self._count_lock:
                self.dropped += 1


class _Writer(logging.handlers.QueueListener):
    """The writer thread, with a stop that cannot hang on a sink that never drains."""

    _sentinel = None  # what QueueListener's thread takes as "stop" (as in the stdlib)

    def __init__(self, records: queue.Queue[Any], sink: logging.Handler) -> None:
        super().__init__(records, sink)
        self._records = records

    def stop_within(self, timeout: float) -> bool:
        """Ask the thread to write what is queued and end; True if it did in time."""
        thread = self._thread
        if thread is None:
            return True
        try:
            self._records.put(self._sentinel, timeout=timeout)
        except queue.Full:
            return False
        thread.join(timeout)
        self._thread = None
        return not thread.is_alive()


class _State:
    handler: _DroppingQueueHandler | None = None
    writer: _Writer | None = None
    sink: logging.Handler | None = None


def configure_logging(level: str, stream: TextIO | None = None, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
    """Send every log record (ours and the libraries') to ``stream`` (default: stderr) as
    JSON lines at ``level``, through a queue of ``queue_size`` records and a writer thread.

    Raises :class:`ValueError` for an unknown level name.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    shutdown_logging()
    sink = logging.StreamHandler(stream if stream is not None else sys.stderr)
    sink.setFormatter(JsonFormatter())
    records: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
    handler = _DroppingQueueHandler(records)
    writer = _Writer(records, sink)
    writer.start()
    _State.handler, _State.writer, _State.sink = handler, writer, sink
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)


def dropped_records() -> int:
    """Log records dropped so far because the writer could not keep up (0 if logging was
    not configured by :func:`configure_logging`)."""
    handler = _State.handler
    return handler.dropped if handler is not None else 0


def shutdown_logging(timeout: float = SHUTDOWN_TIMEOUT) -> None:
    """Write what is queued, stop the writer thread, then report the dropped count (if any)
    in a ``log records dropped`` line; later records go straight to the sink.

    Waits at most about ``timeout`` seconds for a sink that does not drain; what it did
    not take by then is lost (and nothing more is logged). Idempotent.
    """
    handler, writer, sink = _State.handler, _State.writer, _State.sink
    if handler is None or writer is None or sink is None:
        return
    _State.handler = _State.writer = _State.sink = None
    stopped = writer.stop_within(timeout)
    root = logging.getLogger()
    root.handlers[:] = [sink] if stopped else []
    if stopped and handler.dropped:
        log.warning(
            "log records dropped",
            extra={"fields": {"dropped": handler.dropped, "queue_size": handler.queue_size}},
        )


__all__ = ["JsonFormatter", "configure_logging", "dropped_records", "shutdown_logging"]

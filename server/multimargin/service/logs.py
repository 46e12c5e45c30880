"""Structured logging of the server: one JSON object per line on standard error,
written off the event loop.

A record's ``extra={"fields": {...}}`` become top-level keys of its line; a traceback,
when there is one, is the ``exc`` string (JSON escapes its newlines, so it stays one line).

Logging never blocks a call: :func:`configure_logging` puts a handler on the root logger
that appends each record to a bounded buffer, which a writer thread formats and writes —
everything queued at once in one write (no flush per line), then a short pause so that
the next batch gathers records instead of waking the thread for each one. When the sink
cannot keep up (a full pipe, a slow disk) and the buffer is full, records are dropped and
counted (:func:`dropped_records`); :func:`shutdown_logging` writes what is queued, then
reports the count in a ``log records dropped`` line.

The access log (one line per call) skips the :class:`logging.LogRecord` machinery when
nothing but this handler would see the record: :func:`log_access` queues the line's
fields and the writer formats them exactly as :class:`JsonFormatter` formats a record.

>>> import logging
>>> record = logging.LogRecord("multimargin.access", logging.INFO, __file__, 1, "rpc", None, None)
>>> record.fields = {"method": "/multimargin.v1.OperatorService/GetEngineStatus", "code": "OK"}
>>> line = JsonFormatter().format(record)
>>> json.loads(line)["code"]
'OK'
>>> format_access(record.created, logging.INFO, record.fields) == line
True
"""

from __future__ import annotations

import collections
import json
import logging
import math
import sys
import threading
import time
from typing import Any, TextIO

_RESERVED = frozenset({"ts", "level", "logger", "message"})

#: Records waiting for the writer thread at most; more are dropped (and counted).
DEFAULT_QUEUE_SIZE = 10_000
#: Seconds :func:`shutdown_logging` waits for the writer to drain the queue.
SHUTDOWN_TIMEOUT = 5.0
#: Seconds the writer pauses after a batch, so that the next one gathers records.
BATCH_PAUSE = 0.01

ACCESS_LOGGER = "multimargin.access"

log = logging.getLogger("multimargin.logs")
_access_logger = logging.getLogger(ACCESS_LOGGER)
_root = logging.getLogger()


_second: tuple[int, str] = (-1, "")  # the last second formatted, and its text


def _timestamp(created: float) -> str:
    """``created`` as ISO 8601 UTC with milliseconds (as ``datetime.isoformat``
    writes it, ``Z`` for ``+00:00``); the date and time of day are formatted once a
    second.

    >>> _timestamp(1764647000.1239)
    '2025-12-02T03:43:20.123Z'
    """
    frac, whole = math.modf(created)
    us = round(frac * 1e6)  # as datetime.fromtimestamp rounds
    if us >= 1_000_000:
        whole, us = whole + 1, us - 1_000_000
    second = int(whole)
    global _second
    known, text = _second
    if known != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second = (second, text)
    return f"{text}.{us // 1000:03d}Z"


_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON: ts, level, logger, message, then its fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON object on one line."""
        line: dict[str, Any] = {
            "ts": _timestamp(record.created),
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
        return _encode(line)


def format_access(created: float, level: int, fields: dict[str, Any]) -> str:
    """The line :class:`JsonFormatter` writes for an access record (message ``rpc``)."""
    line: dict[str, Any] = {
        "ts": _timestamp(created),
        "level": logging.getLevelName(level),
        "logger": ACCESS_LOGGER,
        "message": "rpc",
    }
    line.update((k, v) for k, v in fields.items() if k not in _RESERVED)
    return _encode(line)


class _Buffer:
    """A bounded FIFO between the threads that log and the writer: appending never
    waits, and wakes the writer only when it sleeps."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.items: collections.deque[Any] = collections.deque()
        self.dropped = 0
        self.idle = False
        self.wake = threading.Event()
        self._count_lock = threading.Lock()

    def offer(self, item: Any) -> None:
        """Append ``item``, or count it as dropped when the buffer is full."""
        if len(self.items) >= self.maxsize:
            with self._count_lock:
                self.dropped += 1
            return
        self.items.append(item)
        if self.idle:
            self.idle = False
            self.wake.set()


class _DroppingHandler(logging.Handler):
    """Puts records in the buffer without ever waiting; counts what did not fit."""

    def __init__(self, buffer: _Buffer) -> None:
        super().__init__()
        self.buffer = buffer
        self.queue_size = buffer.maxsize
        self._formatter = JsonFormatter()

    @property
    def dropped(self) -> int:
        return self.buffer.dropped

    def emit(self, record: logging.LogRecord) -> None:
        """Fix now what could change before the writer formats the record (the message,
        a traceback), and queue it; the JSON itself is made on the writer thread."""
        try:
            record.msg = record.getMessage()
            record.args = None
            if record.exc_info:
                record.exc_text = self._formatter.formatException(record.exc_info)
                record.exc_info = None
        except Exception:
            self.handleError(record)
            return
        self.buffer.offer(record)


_STOP = object()


class _Writer:
    """The writer thread: takes everything queued, formats it, writes it in one go."""

    def __init__(self, buffer: _Buffer, sink: logging.StreamHandler[TextIO]) -> None:
        self._buffer = buffer
        self._sink = sink
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _format(self, item: Any) -> str | None:
        if isinstance(item, tuple):
            created, level, fields = item
            return format_access(created, level, fields)
        record: logging.LogRecord = item
        if record.levelno < self._sink.level or not self._sink.filter(record):
            return None
        return self._sink.format(record)

    def _write(self, batch: list[Any]) -> None:
        lines = []
        for item in batch:
            try:
                line = self._format(item)
            except Exception:
                if isinstance(item, logging.LogRecord):
                    self._sink.handleError(item)
                continue
            if line is not None:
                lines.append(line)
        if not lines:
            return
        sink = self._sink
        sink.acquire()
        try:
            sink.stream.write("\n".join(lines) + "\n")
            sink.stream.flush()
        except Exception:
            last = batch[-1]
            if isinstance(last, logging.LogRecord):
                sink.handleError(last)
        finally:
            sink.release()

    def _run(self) -> None:
        buffer = self._buffer
        items = buffer.items
        while True:
            batch = []
            stop = False
            while items:
                item = items.popleft()
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            if batch:
                self._write(batch)
            if stop:
                return
            if batch:
                time.sleep(BATCH_PAUSE)
                continue
            buffer.idle = True
            if items:  # appended before it saw the writer idle
                buffer.idle = False
                continue
            buffer.wake.wait()
            buffer.wake.clear()

    def stop_within(self, timeout: float) -> bool:
        """Ask the thread to write what is queued and end; True if it did in time."""
        buffer = self._buffer
        deadline = time.monotonic() + timeout
        while len(buffer.items) >= buffer.maxsize:  # room for the stop mark
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        buffer.items.append(_STOP)
        buffer.idle = False
        buffer.wake.set()
        self._thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()


class _State:
    handler: _DroppingHandler | None = None
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
    buffer = _Buffer(queue_size)
    handler = _DroppingHandler(buffer)
    writer = _Writer(buffer, sink)
    writer.start()
    _State.handler, _State.writer, _State.sink = handler, writer, sink
    _root.handlers[:] = [handler]
    _root.setLevel(numeric)


def log_access(level: int, fields: dict[str, Any]) -> None:
    """Log one call on ``multimargin.access`` (message ``rpc``, these fields), if enabled
    at ``level``. When only :func:`configure_logging`'s handler would see the record,
    its fields go to the writer as they are (no LogRecord); otherwise through
    :mod:`logging` as usual."""
    if not _access_logger.isEnabledFor(level):
        return
    handler = _State.handler
    if handler is not None and _only_handler(handler):
        handler.buffer.offer((time.time(), level, fields))
    else:
        _access_logger.log(level, "rpc", extra={"fields": fields})


def _only_handler(handler: _DroppingHandler) -> bool:
    """True when an access record would reach ``handler`` and nothing else: no filter on
    the way, no other handler on ``multimargin.access``, its parents or the root."""
    if handler.filters or _access_logger.filters:
        return False
    logger: logging.Logger | None = _access_logger
    while logger is not None and logger is not _root:
        if logger.handlers or not logger.propagate:
            return False
        logger = logger.parent
    handlers = _root.handlers
    return len(handlers) == 1 and handlers[0] is handler


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
    _root.handlers[:] = [sink] if stopped else []
    if stopped and handler.dropped:
        log.warning(
            "log records dropped",
            extra={"fields": {"dropped": handler.dropped, "queue_size": handler.queue_size}},
        )


__all__ = [
    "ACCESS_LOGGER",
    "JsonFormatter",
    "configure_logging",
    "dropped_records",
    "format_access",
    "log_access",
    "shutdown_logging",
]

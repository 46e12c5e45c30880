"""Structured logging of the server: one JSON object per line on standard error.

A record's ``extra={"fields": {...}}`` become top-level keys of its line; a traceback,
when there is one, is the ``exc`` string (JSON escapes its newlines, so it stays one line).

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
import sys
from typing import Any

_RESERVED = frozenset({"ts", "level", "logger", "message"})


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
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str) -> None:
    """Send every log record (ours and the libraries') to stderr as JSON lines at ``level``.

    Raises :class:`ValueError` for an unknown level name.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)


__all__ = ["JsonFormatter", "configure_logging"]

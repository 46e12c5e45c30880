"""The server's configuration: one TOML file (``serve --config FILE``), environment
variables over it, command-line flags over both.

Every key is validated when the server starts, and a wrong one is named::

    [server]
    listen = "127.0.0.1:50051"
    data_dir = "./data"
    rulebook = "rulebook.json"     # optional; default: the shipped one
    demo = false
    clock = "explicit"             # or "system": settle interest each UTC hour
    grace = 5.0                    # seconds in-flight calls get on SIGTERM
    init_store = false

    [store]
    url = "postgresql://user@db:5432/mm"  # optional; default: SQLite under data_dir

    [cluster]                      # with a PostgreSQL store only
    shards = 16                    # fixed when the PostgreSQL schema is created
    lease_seconds = 5.0
    advertise = "10.0.0.5:50051"   # where other instances forward to; default: listen

    [limits]
    max_in_flight = 1024
    max_queue_delay_ms = 5.0       # shed a call that waited longer to be taken (0: off)
    max_loop_busy_ms = 1.0         # shed new calls once the server has had no CPU to
                                   # spare this long (0: off)
    shed_grace_ms = 100.0          # how long lateness may last before it is shed
    max_message_bytes = 1048576
    max_streams = 64               # WatchEvents streams per principal
    rate_limit = 0.0               # calls/s per principal (0: none)
    rate_burst = 0.0               # default: the rate

    [auth]
    principals = "principals.toml" # or insecure_no_auth = true (loopback only)

    [tls]
    cert = "server.pem"            # with key; client_ca for mutual TLS
    key = "server.key"

    [logging]
    level = "INFO"

    [metrics]
    listen = "127.0.0.1:9464"      # optional; default: no metrics endpoint

The environment variable of a key is ``MULTIMARGIN_<SECTION>_<KEY>`` in capitals, e.g.
``MULTIMARGIN_SERVER_LISTEN``; booleans there are ``true``/``false``/``1``/``0``.

>>> cfg = resolve(text='[server]\\nlisten = "0.0.0.0:6000"', environ={"MULTIMARGIN_LOGGING_LEVEL": "debug"})
>>> cfg["server.listen"], cfg["logging.level"], cfg["limits.max_in_flight"]
('0.0.0.0:6000', 'DEBUG', 1024)
>>> resolve(text="[server]\\nlsten = 1")
Traceback (most recent call last):
multimargin.config.ConfigError: server.lsten: unknown key
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message starts with its key."""


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _address(value: Any) -> str:
    text = _text(value)
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"must be HOST:PORT, not {text!r}")
    return text


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    raise ValueError("must be true or false")


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("must be a number") from None
    if not number >= 0:
        raise ValueError("must be ≥ 0")
    return number


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be an integer ≥ 1")
    try:
        number = int(value)
    except ValueError:
        raise ValueError("must be an integer ≥ 1") from None
    if number < 1:
        raise ValueError("must be an integer ≥ 1")
    return number


def _store_url(value: Any) -> str:
    text = _text(value)
    if not text.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"must be a postgresql:// URL, not {text!r}")
    return text


def _positive(value: Any) -> float:
    number = _number(value)
    if number <= 0:
        raise ValueError("must be > 0")
    return number


def _level(value: Any) -> str:
    name = _text(value).upper()
    if not isinstance(logging.getLevelName(name), int):
        raise ValueError(f"must be a logging level (DEBUG, INFO, WARNING, ERROR), not {value!r}")
    return name


def _choice(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, not {value!r}")
        return str(value)

    return check


@dataclass(frozen=True)
class Setting:
    """One configuration key: its check, its default, and the ``serve`` flag (argparse
    dest) that overrides it."""

    key: str
    check: Callable[[Any], Any]
    default: Any
    flag: str

    @property
    def env(self) -> str:
        return "MULTIMARGIN_" + self.key.replace(".", "_").upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("server.listen", _address, "127.0.0.1:50051", "listen"),
    Setting("server.data_dir", _text, "./data", "data_dir"),
    Setting("server.rulebook", _text, None, "rulebook"),
    Setting("server.demo", _bool, False, "demo"),
    Setting("server.clock", _choice("explicit", "system"), "explicit", "clock"),
    Setting("server.grace", _number, 5.0, "grace"),
    Setting("server.init_store", _bool, False, "init_store"),
    Setting("store.url", _store_url, None, "store"),
    Setting("cluster.shards", _count, 16, "shards"),
    Setting("cluster.lease_seconds", _positive, 5.0, "lease_seconds"),
    Setting("cluster.advertise", _address, None, "advertise"),
    Setting("limits.max_in_flight", _count, 1024, "max_in_flight"),
    Setting("limits.max_queue_delay_ms", _number, 5.0, "max_queue_delay_ms"),
    Setting("limits.max_loop_busy_ms", _number, 1.0, "max_loop_busy_ms"),
    Setting("limits.shed_grace_ms", _number, 100.0, "shed_grace_ms"),
    Setting("limits.max_message_bytes", _count, 1024 * 1024, "max_message_bytes"),
    Setting("limits.max_streams", _count, 64, "max_streams"),
    Setting("limits.rate_limit", _number, 0.0, "rate_limit"),
    Setting("limits.rate_burst", _number, 0.0, "rate_burst"),
    Setting("auth.principals", _text, None, "auth"),
    Setting("auth.insecure_no_auth", _bool, False, "insecure_no_auth"),
    Setting("tls.cert", _text, None, "tls_cert"),
    Setting("tls.key", _text, None, "tls_key"),
    Setting("tls.client_ca", _text, None, "tls_client_ca"),
    Setting("logging.level", _level, "INFO", "log_level"),
    Setting("metrics.listen", _address, None, "metrics_listen"),
)
BY_KEY = {s.key: s for s in SETTINGS}


def _flatten(doc: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for section, table in doc.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{section}: must be a table ([{section}])")
        for key, value in table.items():
            out[f"{section}.{key}"] = value
    return out


def resolve(
    path: Path | None = None,
    *,
    text: str | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The effective configuration, by key: defaults, then the file (``path`` or
    ``text``), then the environment, then the flags that were given (not None).
    Raises :class:`ConfigError` naming the key of the first bad value."""
    values = {s.key: s.default for s in SETTINGS}
    if path is not None:
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read: {e}") from None
    if text is not None:
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path or 'config'}: not TOML: {e}") from None
        for key, value in _flatten(doc).items():
            if key not in BY_KEY:
                raise ConfigError(f"{key}: unknown key")
            values[key] = _checked(BY_KEY[key], value, key)
    env = os.environ if environ is None else environ
    for s in SETTINGS:
        if s.env in env:
            values[s.key] = _checked(s, env[s.env], s.env)
    for s in SETTINGS:
        given = (flags or {}).get(s.flag)
        if given is not None:
            values[s.key] = _checked(
                s, str(given) if isinstance(given, Path) else given, "--" + s.flag.replace("_", "-")
            )
    return values


def _checked(s: Setting, value: Any, where: str) -> Any:
    try:
        return s.check(value)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None


def render(values: Mapping[str, Any]) -> str:
    """The effective configuration as TOML (unset optional keys as comments)."""
    lines: list[str] = []
    section = ""
    for s in SETTINGS:
        head, _, key = s.key.partition(".")
        if head != section:
            lines.append(("\n" if lines else "") + f"[{head}]")
            section = head
        value = values[s.key]
        if value is None:
            lines.append(f"# {key} = (not set)")
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


__all__ = ["SETTINGS", "ConfigError", "Setting", "render", "resolve"]

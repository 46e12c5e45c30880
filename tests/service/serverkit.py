"""Run the real ``multimargin serve`` as a subprocess, for the service tests.

Imported as ``serverkit`` (pytest puts this folder on ``sys.path``)::

    with serverkit.running_server(tmp_path / "data") as server:
        stub = account_service_pb2_grpc.AccountServiceStub(server.channel)
        ...
    # left running by the test: stopped with SIGTERM here, exit code 0 asserted

The server listens on a free port of 127.0.0.1, logs (JSON lines) to
``<data_dir>.log``, and counts as started once the standard health service reports
SERVING. ``child=[...]`` runs it under ``child_server.py`` instead, which injects
faults around the real engine (slow calls, crashes, a failed store).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

BIN = Path(sys.executable).parent
MULTIMARGIN = BIN / "multimargin"
CHILD = Path(__file__).with_name("child_server.py")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
#: ``serve`` flags for a test that sends bursts of a hundred calls or more at once and
#: does not retry a shed one: only the in-flight limit applies (no shedding by queueing
#: delay or a busy event loop, see multimargin.service.admission).
TAKE_BURSTS = ("--max-queue-delay-ms", "0", "--max-loop-busy-ms", "0")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """A running ``multimargin serve`` and a channel to it."""

    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log_path: Path
    credentials: grpc.ChannelCredentials | None = None
    """TLS credentials of :attr:`channel` (a server started with ``--tls-cert``)."""
    channel: grpc.Channel = field(init=False)

    def __post_init__(self) -> None:
        self.channel = self.new_channel()

    def new_channel(self, credentials: grpc.ChannelCredentials | None = None) -> grpc.Channel:
        """A new channel to the server (TLS with ``credentials``, default :attr:`credentials`)."""
        credentials = credentials or self.credentials
        if credentials is None:
            return grpc.insecure_channel(self.address)
        # The test certificates name "localhost"; the server is reached on 127.0.0.1.
        return grpc.secure_channel(
            self.address, credentials, (("grpc.ssl_target_name_override", "localhost"),)
        )

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self.port}"

    def log_text(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log_path.read_text("utf-8", errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        """The server's JSON log lines, parsed (other lines skipped)."""
        records = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records

    def wait_for_log(self, predicate: Callable[[str], bool], timeout: float = 10.0) -> None:
        """Wait until a line of the log satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(predicate(line) for line in self.log_text().splitlines()):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no such log line within {timeout}s; log:\n{self.log_text()}")

    def health(self, service: str = "", timeout: float = 2.0) -> int:
        """The health service's status for ``service`` (a HealthCheckResponse.ServingStatus)."""
        stub = health_pb2_grpc.HealthStub(self.channel)
        response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        status: int = response.status
        return status

    def signal(self, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` to the server process."""
        self.proc.send_signal(sig)

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """Wait for the process to exit; its exit code. Closes the channel."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"server did not exit within {timeout}s; log:\n{self.log_text()}") from None
        finally:
            self.channel.close()
        return code

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then wait for the exit; the exit code."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait(timeout)


def _command(port: int, data_dir: Path, args: Sequence[str], child: Sequence[str] | None) -> list[str]:
    serve = ["serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir), *args]
    if "--auth" not in args:  # loopback: plaintext without authentication, by the explicit flag
        serve.append("--insecure-no-auth")
    if child is None:
        return [str(MULTIMARGIN), *serve]
    return [sys.executable, str(CHILD), *child, "--", *serve]


def start_server(
    data_dir: Path,
    *args: str,
    child: Sequence[str] | None = None,
    port: int | None = None,
    timeout: float = START_TIMEOUT,
    credentials: grpc.ChannelCredentials | None = None,
) -> ServerProcess:
    """Start ``multimargin serve --data-dir data_dir *args`` and wait until it is SERVING.

    Without ``--auth`` in ``args`` the server gets ``--insecure-no-auth`` (it listens on
    127.0.0.1); ``credentials`` are the TLS credentials of its channel (``--tls-cert``).
    Retries on another port when the chosen one was taken in the meantime.
    """
    attempts = 1 if port is not None else 3
    for attempt in range(attempts):
        chosen = port if port is not None else free_port()
        log_path = data_dir.with_name(f"{data_dir.name}.log")
        started_before = _serving_lines(log_path)
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                _command(chosen, data_dir, args, child),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        server = ServerProcess(proc, chosen, data_dir, log_path, credentials)
        try:
            _wait_serving(server, timeout, started_before)
            return server
        except _PortTaken:
            server.wait()
            if attempt == attempts - 1:
                raise AssertionError(f"port {chosen} taken; log:\n{server.log_text()}") from None
        except BaseException:
            if proc.poll() is None:
                proc.kill()
            server.wait()
            raise
    raise AssertionError("unreachable")


class _PortTaken(Exception):
    pass


def _serving_lines(log_path: Path) -> int:
    """How many times the log says a server started serving."""
    if not log_path.exists():
        return 0
    return log_path.read_text("utf-8", errors="replace").count('"message": "serving"')


def _wait_serving(server: ServerProcess, timeout: float, started_before: int) -> None:
    """Wait for SERVING, and for its "serving" log line: the log is written by a background
    thread, in order, so every line of the start-up is in the file from then on."""
    deadline = time.monotonic() + timeout
    serving = False
    while time.monotonic() < deadline:
        code = server.proc.poll()
        if code is not None:
            if "cannot listen" in server.log_text():
                raise _PortTaken
            raise AssertionError(f"server exited with {code} before serving; log:\n{server.log_text()}")
        if serving and _serving_lines(server.log_path) > started_before:
            return
        with suppress(grpc.RpcError):
            serving = serving or server.health(timeout=0.5) == health_pb2.HealthCheckResponse.SERVING
        time.sleep(0.005 if serving else 0.05)
    raise AssertionError(f"server not SERVING within {timeout}s; log:\n{server.log_text()}")


@contextmanager
def running_server(
    data_dir: Path,
    *args: str,
    child: Sequence[str] | None = None,
    port: int | None = None,
    credentials: grpc.ChannelCredentials | None = None,
) -> Iterator[ServerProcess]:
    """A started server; on exit, if still running, SIGTERM it and assert exit code 0.

    A test that ends the process itself checks its exit code itself.
    """
    server = start_server(data_dir, *args, child=child, port=port, credentials=credentials)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            code = server.stop()
            assert code == 0, f"exit code {code} after SIGTERM; log:\n{server.log_text()}"
        else:
            server.channel.close()

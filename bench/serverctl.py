"""Start and stop a real ``multimargin serve`` for the reliability benches
(``crash.py``, ``overload.py``). :func:`start_server` is the ONE place that builds the
server's command line: a flag every plaintext loopback server needs goes there."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

MULTIMARGIN = Path(sys.executable).parent / "multimargin"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    address: str
    log_path: Path
    started_s: float  # from spawn to SERVING
    log_offset: int = 0  # where this start's lines begin in the log

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)

    def recovery_s(self) -> float | None:
        """How long the engine's recovery took at this start ("opening the engine" to
        "recovered" in the server's JSON log), or None if the log does not tell."""
        opened = recovered = None
        with self.log_path.open("rb") as log:
            log.seek(max(0, self.log_offset))
            for line in log:
                if b'"opening the engine"' in line or b'"recovered"' in line:
                    ts = datetime.fromisoformat(json.loads(line)["ts"].replace("Z", "+00:00")).timestamp()
                    if b'"recovered"' in line:
                        recovered = ts
                    else:
                        opened = ts
        return recovered - opened if opened is not None and recovered is not None else None

    def rss_kib(self) -> int:
        """VmRSS of the server process, KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


def start_server(data_dir: Path, *extra: str, timeout: float = 120.0, cpus: set[int] | None = None) -> Server:
    """``multimargin serve`` on a free loopback port over ``data_dir``, once SERVING
    (pinned to ``cpus``, every thread of it, with ``taskset`` when given; no Python code
    runs between fork and exec, where gRPC's fork handlers are unsafe)."""
    port = free_port()
    log_path = data_dir.with_name(data_dir.name + ".log")
    command = [
        str(MULTIMARGIN),
        "serve",
        "--listen",
        f"127.0.0.1:{port}",
        "--data-dir",
        str(data_dir),
        "--insecure-no-auth",  # plaintext on loopback, by the explicit flag
        *extra,
    ]
    if cpus is not None:
        command = ["taskset", "-c", ",".join(map(str, sorted(cpus))), *command]
    t0 = time.monotonic()
    offset = log_path.stat().st_size if log_path.exists() else 0
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ},
        )
    address = f"127.0.0.1:{port}"
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() - t0 < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}; see {log_path}")
            try:
                status = health.Check(health_pb2.HealthCheckRequest(), timeout=0.5).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return Server(proc, address, log_path, time.monotonic() - t0, offset)
            except grpc.RpcError:
                pass
            time.sleep(0.01)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"server not SERVING within {timeout}s; see {log_path}")

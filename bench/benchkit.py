"""Helpers of the benchmarks: the one place that starts a server, CPU pinning, the machine.

    with benchkit.server(Path(tmp) / "data", "--demo", cpu=0) as address:
        ...

The server is a fresh ``multimargin serve`` on a free loopback port with the default
logging (INFO: one access-log line per call, JSON on standard error, written to
``<data_dir>.log``), optionally pinned to one core with ``taskset``.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

BIN = Path(sys.executable).parent
#: Flags every benchmark server gets. Servers with authentication will need the
#: plaintext loopback opt-out here (e.g. "--insecure-no-auth").
SERVE_FLAGS: tuple[str, ...] = ("--insecure-no-auth",)  # plaintext on loopback
START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pinned(cpu: int | None) -> list[str]:
    """``taskset -c CPU`` when there is such a core and taskset exists (util-linux); else []."""
    if cpu is None or shutil.which("taskset") is None or cpu >= (os.cpu_count() or 1):
        return []
    return ["taskset", "-c", str(cpu)]


@contextmanager
def server(data_dir: Path, *args: str, cpu: int | None = None) -> Iterator[str]:
    """A fresh ``multimargin serve`` (its address while running); SIGTERM on exit."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    command = [
        *pinned(cpu),
        str(BIN / "multimargin"),
        "serve",
        "--listen",
        address,
        "--data-dir",
        str(data_dir),
        *SERVE_FLAGS,
        *args,
    ]
    log_path = data_dir.with_name(f"{data_dir.name}.log")
    with log_path.open("ab") as log:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        _wait_serving(proc, address, log_path)
        yield address
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_serving(proc: subprocess.Popen[bytes], address: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise SystemExit(f"the server did not start within {START_TIMEOUT:g}s")


def _output(*command: str) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine() -> str:
    """One line: CPU model and cores, memory, OS, Python, rustc, k6."""
    lscpu = _output("lscpu")
    model = re.search(r"^Model name:\s*(.+)$", lscpu, re.M)
    mem = (
        re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text())
        if os.path.exists("/proc/meminfo")
        else None
    )
    parts = [
        f"{os.cpu_count()} vCPU ({model.group(1).strip() if model else platform.processor() or '?'})",
        f"{int(mem.group(1)) / 2**20:.0f} GiB" if mem else "",
        f"{platform.system()} {platform.release()}",
        f"Python {platform.python_version()}",
        _output("rustc", "--version").split(" (")[0],
        _output(str(BIN / "k6"), "version").split(" (")[0],
    ]
    return ", ".join(p for p in parts if p)

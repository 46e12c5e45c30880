"""Several real ``multimargin serve --store postgresql://…`` processes on loopback over one
throw-away PostgreSQL, for the cluster tests (imported as ``clusterkit``).

Each test gets a database of its own in the session's PostgreSQL; instances are
subprocesses with a free port each, logging to ``<tmp>/i<n>.log``; an instance counts as
up once the health service reports SERVING (it has reached PostgreSQL and owns a shard).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from multimargin.cluster.devpg import free_port
from multimargin.contract import contract_rpcs

MULTIMARGIN = Path(sys.executable).parent / "multimargin"
RPCS = {r.name: r for r in contract_rpcs()}


def new_database(admin_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + "/" + name


@dataclass
class Instance:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    channel: grpc.Channel = field(init=False)

    def __post_init__(self) -> None:
        self.channel = grpc.insecure_channel(self.address)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def call(self, method: str, request: Any, timeout: float = 10.0, metadata: Any = None) -> Any:
        """The call, retried on UNAVAILABLE (SHARD_MOVING while a shard changes owner) for
        up to 10 s with the same request, as the typed client does."""
        deadline = time.monotonic() + 20
        delay = 0.05
        while True:
            try:
                return self.call_once(method, request, timeout, metadata)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def call_once(self, method: str, request: Any, timeout: float = 10.0, metadata: Any = None) -> Any:
        rpc = RPCS[method]
        stub = self.channel.unary_unary(
            rpc.full_method,
            request_serializer=lambda m: m.SerializeToString(deterministic=True),
            response_deserializer=rpc.response_class.FromString,
        )
        return stub(request, timeout=timeout, metadata=metadata)

    def raw(self, method: str, request: Any, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + 20
        while True:
            try:
                return self.raw_once(method, request, timeout)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def raw_once(self, method: str, request: Any, timeout: float = 10.0) -> bytes:
        """The response bytes exactly as served."""
        rpc = RPCS[method]
        stub = self.channel.unary_unary(
            rpc.full_method,
            request_serializer=lambda m: m.SerializeToString(deterministic=True),
            response_deserializer=None,
        )
        out: bytes = stub(request, timeout=timeout)
        return out

    def serving(self) -> bool:
        try:
            reply = health_pb2_grpc.HealthStub(self.channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.RpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.proc.send_signal(sig)
        if sig == signal.SIGKILL:
            self.proc.wait(30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.channel.close()
        return int(self.proc.returncode)


@dataclass
class Cluster:
    url: str
    tmp: Path
    lease_seconds: float = 3.0
    shards: int = 8
    instances: list[Instance] = field(default_factory=list)

    def start(self, *extra: str, env: dict[str, str] | None = None) -> Instance:
        port = free_port()
        log_path = self.tmp / f"i{len(self.instances)}-{port}.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [
                    str(MULTIMARGIN),
                    "serve",
                    "--store",
                    self.url,
                    "--listen",
                    f"127.0.0.1:{port}",
                    "--insecure-no-auth",
                    "--data-dir",
                    str(self.tmp / "data"),
                    "--shards",
                    str(self.shards),
                    "--lease-seconds",
                    str(self.lease_seconds),
                    "--grace",
                    "2",
                    *extra,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
            )
        inst = Instance(proc, port, log_path)
        self.instances.append(inst)
        wait_until(lambda: inst.serving() or inst.proc.poll() is not None, 60, "instance SERVING")
        if inst.proc.poll() is not None:
            raise RuntimeError(f"instance exited {inst.proc.returncode}:\n{inst.log_text()[-3000:]}")
        return inst

    def leases(self) -> dict[int, tuple[str | None, str | None, int, bool]]:
        """shard -> (owner, address, token, live)."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT shard, owner, address, token, expires_at > now() FROM mm_shard_leases"
            ).fetchall()
        return {int(r[0]): (r[1], r[2], int(r[3]), bool(r[4])) for r in rows}

    def owned_by(self) -> dict[str, set[int]]:
        """address -> shards with a live lease."""
        out: dict[str, set[int]] = {}
        for shard, (_, address, _, live) in self.leases().items():
            if live and address:
                out.setdefault(address, set()).add(shard)
        return out

    def balanced(self, n: int) -> bool:
        owned = self.owned_by()
        return len(owned) == n and sum(len(s) for s in owned.values()) == self.shards

    def stop(self) -> None:
        for inst in self.instances:
            inst.stop()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> float:
    """Seconds it took for ``predicate`` to hold (AssertionError after ``timeout``)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)
    return time.monotonic() - start


def running_cluster(pg_dsn: str, tmp_path: Path) -> Iterator[Cluster]:
    """A new cluster (its own database on the session's PostgreSQL, tests/pgcluster.py);
    every instance must stop cleanly (or have been killed) at the end. For a fixture::

        @pytest.fixture
        def cluster(pg_dsn: str, tmp_path: Path) -> Iterator[Cluster]:
            yield from clusterkit.running_cluster(pg_dsn, tmp_path)
    """
    c = Cluster(pg_dsn, tmp_path)
    try:
        yield c
    finally:
        codes = [inst.stop() for inst in c.instances]
        for inst in c.instances:
            if inst.proc.returncode not in (0, -9):
                print(inst.log_text()[-4000:])
        assert all(code in (0, -9) for code in codes), codes

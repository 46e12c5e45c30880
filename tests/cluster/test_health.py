"""An instance that cannot reach PostgreSQL says so (NOT_SERVING) and stops answering
from state that may be stale; when PostgreSQL is back, it serves again with nothing lost."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import clusterkit
import grpc
import psycopg
import pytest
from clusterkit import Cluster, wait_until
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import types_pb2 as t


@pytest.fixture
def cluster(pg_dsn: str, tmp_path: Path) -> Iterator[Cluster]:
    yield from clusterkit.running_cluster(pg_dsn, tmp_path)


def _cut(url: str, allow: bool) -> None:
    """Refuse (or allow again) every connection to the cluster's database, and end the open ones."""
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {"true" if allow else "false"}')
        if not allow:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))


def test_not_serving_while_postgresql_is_unreachable(cluster: Cluster) -> None:
    inst = cluster.start()
    wait_until(lambda: cluster.balanced(1), 20, "one instance owning every shard")
    inst.call(
        "CreateAccount",
        acc.CreateAccountRequest(request_id="c", account_id="h-1", kind=t.ACCOUNT_KIND_FUTURES),
    )
    inst.call("TransferIn", fun.TransferInRequest(request_id="t", account_id="h-1", asset="USDT", amount="9"))
    _cut(cluster.url, allow=False)
    try:
        wait_until(lambda: not inst.serving(), cluster.lease_seconds * 2, "NOT_SERVING")

        def refused() -> bool:
            try:
                inst.call_once("GetAccount", acc.GetAccountRequest(account_id="h-1"), timeout=2)
            except grpc.RpcError as exc:
                return exc.code() == grpc.StatusCode.UNAVAILABLE
            return False

        # Within its lease it may still answer from memory; past it, never.
        wait_until(refused, cluster.lease_seconds * 2, "reads refused once the lease may be gone")
        assert inst.proc.poll() is None, "losing PostgreSQL must not stop the server"
    finally:
        _cut(cluster.url, allow=True)
    wait_until(inst.serving, 30, "SERVING again")
    account = inst.call("GetAccount", acc.GetAccountRequest(account_id="h-1")).account
    assert account.version == 2


def test_a_connection_string_that_does_not_work_is_a_clear_refusal(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            str(clusterkit.MULTIMARGIN),
            "serve",
            "--store",
            "postgresql://mm:secret@127.0.0.1:1/nothing",
            "--insecure-no-auth",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    text = out.stdout + out.stderr
    assert "cannot start" in text and "127.0.0.1:1" in text and "secret" not in text


def test_another_shard_count_is_refused_naming_both(cluster: Cluster) -> None:
    cluster.start()
    out = subprocess.run(
        [
            str(clusterkit.MULTIMARGIN),
            "serve",
            "--store",
            cluster.url,
            "--shards",
            "5",
            "--insecure-no-auth",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            str(cluster.tmp / "other"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    assert "8 shards" in out.stdout + out.stderr and "5" in out.stdout + out.stderr

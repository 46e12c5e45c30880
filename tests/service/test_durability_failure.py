"""A real write failure under a live server: the process's file-size limit
(RLIMIT_FSIZE, SIGXFSZ ignored) makes SQLite's journal write fail mid-load. The server
must stop rather than acknowledge anything after the failure, and every mutation it did
acknowledge must survive a restart (retrying it returns the original response bytes)."""

from __future__ import annotations

import resource
import signal
import subprocess
import time
from pathlib import Path

import grpc
import serverkit
from grpc_health.v1 import health_pb2, health_pb2_grpc
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import account_service_pb2_grpc as acc_grpc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import funds_service_pb2_grpc as fun_grpc
from multimargin.v1 import types_pb2 as t
from support import MULTIMARGIN

LIMIT = 768 * 1024  # bytes any file of the server may reach; the WAL hits it first


def _limited() -> None:
    # Runs in the child before exec: writes past the limit fail with EFBIG instead of
    # killing the process with SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _wait_serving(channel: grpc.Channel, proc: subprocess.Popen[bytes]) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited during start-up"
        try:
            if (
                stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                == health_pb2.HealthCheckResponse.SERVING
            ):
                return
        except grpc.RpcError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not start")


def test_a_real_write_failure_stops_the_server_and_loses_no_acknowledged_mutation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = serverkit.free_port()
    proc = subprocess.Popen(
        [
            MULTIMARGIN,
            "serve",
            "--insecure-no-auth",
            "--listen",
            f"127.0.0.1:{port}",
            "--data-dir",
            str(data),
            "--log-level",
            "ERROR",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_limited,
    )
    acked: dict[str, bytes] = {}
    failures: list[grpc.StatusCode] = []
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            _wait_serving(channel, proc)
            create = acc.CreateAccountRequest(
                request_id="create", account_id="a", kind=t.ACCOUNT_KIND_FUTURES
            )
            acc_grpc.AccountServiceStub(channel).CreateAccount(create, timeout=10)
            funds = fun_grpc.FundsServiceStub(channel)
            for i in range(20_000):
                request = fun.TransferInRequest(request_id=f"r{i}", account_id="a", asset="USDT", amount="1")
                try:
                    response = funds.TransferIn(request, timeout=10)
                except grpc.RpcError as e:
                    failures.append(e.code())
                    if len(failures) >= 3:
                        break
                    continue
                assert not failures, "a mutation was acknowledged after a write had failed"
                acked[request.request_id] = response.SerializeToString(deterministic=True)
        assert proc.wait(timeout=30) != 0, "the server must stop, with a failure exit code"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        stderr = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
    assert acked, "the limit was hit before anything was acknowledged"
    assert failures and failures[0] == grpc.StatusCode.INTERNAL, (failures, stderr[-2000:])
    assert "durab" in stderr.lower() or "disk" in stderr.lower(), stderr[-2000:]

    # Restart without the limit: every acknowledged mutation is in the journal.
    with serverkit.running_server(data) as server:
        funds = fun_grpc.FundsServiceStub(server.channel)
        for rid, original in acked.items():
            request = fun.TransferInRequest(request_id=rid, account_id="a", asset="USDT", amount="1")
            again = funds.TransferIn(request, timeout=10)
            assert again.SerializeToString(deterministic=True) == original, rid
        # Nothing was applied twice, and nothing unacknowledged survived the failure.
        stub = acc_grpc.AccountServiceStub(server.channel)
        account = stub.GetAccount(acc.GetAccountRequest(account_id="a"), timeout=10).account
        assert account.futures.wallet["USDT"] == str(len(acked))

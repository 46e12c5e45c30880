"""The gRPC server end to end: the real ``multimargin serve`` in a subprocess (serverkit).

Lifecycle (health, graceful SIGTERM, a failed store), reflection and ``buf curl``,
the error mapping on the wire (ErrorInfo, PreconditionFailure, INTERNAL without
details), request ids, message size limit, and a few engine RPCs.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import serverkit
from child_server import SECRET
from google.protobuf import descriptor_pool
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from grpc_status import rpc_status
from multimargin.v1 import (
    account_service_pb2,
    account_service_pb2_grpc,
    operator_service_pb2,
    operator_service_pb2_grpc,
    types_pb2,
)

REPO = Path(__file__).resolve().parents[2]
PROTO_DIR = REPO / "proto" / "multimargin" / "v1"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
HEALTH = "grpc.health.v1.Health"
REFLECTION = "grpc.reflection.v1alpha.ServerReflection"


def contract_from_protos() -> dict[str, list[str]]:
    """Service full name -> RPC names, read from the .proto files (the source of truth)."""
    services: dict[str, list[str]] = {}
    for path in sorted(PROTO_DIR.glob("*.proto")):
        text = path.read_text("utf-8")
        for match in re.finditer(r"^service (\w+) \{(.*?)^\}", text, re.S | re.M):
            rpcs = re.findall(r"^\s*rpc (\w+)\(", match.group(2), re.M)
            services[f"multimargin.v1.{match.group(1)}"] = sorted(rpcs)
    return services


@pytest.fixture
def server(tmp_path: Path) -> Iterator[serverkit.ServerProcess]:
    """The real server over an empty store; stopped with SIGTERM (exit 0 asserted)."""
    with serverkit.running_server(tmp_path / "data") as running:
        yield running


def accounts(server: serverkit.ServerProcess) -> Any:
    return account_service_pb2_grpc.AccountServiceStub(server.channel)


def operator(server: serverkit.ServerProcess) -> Any:
    return operator_service_pb2_grpc.OperatorServiceStub(server.channel)


def create_futures_account(
    server: serverkit.ServerProcess, account_id: str, request_id: str | None = None, **flags: bool
) -> Any:
    request = account_service_pb2.CreateAccountRequest(
        request_id=request_id or str(uuid.uuid4()),
        account_id=account_id,
        kind=types_pb2.ACCOUNT_KIND_FUTURES,
        **flags,
    )
    return accounts(server).CreateAccount(request, timeout=10).account


def error_details(error: grpc.RpcError) -> tuple[Any, list[Any], list[Any]]:
    """(google.rpc.Status, its ErrorInfos, its PreconditionFailures) of a failed call."""
    status = rpc_status.from_call(error)
    assert status is not None, f"no google.rpc.Status on {error}"
    infos, failures = [], []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            infos.append(info)
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            failures.append(failure)
    return status, infos, failures


def trailing(call_or_error: Any) -> dict[str, Any]:
    return dict(call_or_error.trailing_metadata() or ())


# --- lifecycle -------------------------------------------------------------------------


def test_health_is_serving_for_the_server_and_every_service(server: serverkit.ServerProcess) -> None:
    assert server.health("") == SERVING
    for service in contract_from_protos():
        assert server.health(service) == SERVING, service


def test_health_turns_not_serving_on_sigterm_then_exit_0(server: serverkit.ServerProcess) -> None:
    stub = health_pb2_grpc.HealthStub(server.channel)
    watch = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=30)
    assert next(watch).status == SERVING
    server.signal(signal.SIGTERM)
    assert next(watch).status == NOT_SERVING
    watch.cancel()  # an open Watch would otherwise hold the drain for the whole grace period
    assert server.wait() == 0
    messages = [r["message"] for r in server.log_records() if r.get("logger") == "multimargin.server"]
    assert "SIGTERM: shutting down" in messages
    assert messages[-1] == "stopped"


def test_sigterm_lets_the_call_in_flight_finish_and_it_is_durable(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serverkit.running_server(data, child=["--slow", "CreateAccount=1.5"]) as server:
        request = account_service_pb2.CreateAccountRequest(
            request_id=str(uuid.uuid4()), account_id="in-flight", kind=types_pb2.ACCOUNT_KIND_FUTURES
        )
        future = accounts(server).CreateAccount.future(request, timeout=30)
        server.wait_for_log(lambda line: line == "SLOW-CALL CreateAccount")
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        server.wait_for_log(lambda line: "draining calls in flight" in line)
        # New calls are refused while the old one drains.
        assert refused_while_draining(server)
        assert not future.done()
        assert future.result().account.account_id == "in-flight"
        assert server.wait() == 0
        assert time.monotonic() - started < 5  # it waited for the call, not for the grace period
    # What was acknowledged survives the restart.
    with serverkit.running_server(data) as server:
        got = accounts(server).GetAccount(
            account_service_pb2.GetAccountRequest(account_id="in-flight"), timeout=10
        )
        assert got.account.account_id == "in-flight"


def refused_while_draining(server: serverkit.ServerProcess) -> grpc.StatusCode:
    """The code a new call gets once the server is stopping: UNAVAILABLE, or CANCELLED
    when its connection raced the start of the shutdown (gRPC core's timing)."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        with grpc.insecure_channel(server.address) as fresh:
            try:
                operator_service_pb2_grpc.OperatorServiceStub(fresh).GetEngineStatus(
                    operator_service_pb2.GetEngineStatusRequest(), timeout=1
                )
            except grpc.RpcError as error:
                assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
                code: grpc.StatusCode = error.code()
                return code
        time.sleep(0.05)
    raise AssertionError("new calls were still served 1 s into the shutdown")


def test_second_signal_cancels_the_calls_in_flight(tmp_path: Path) -> None:
    with serverkit.running_server(tmp_path / "data", child=["--slow", "GetEngineStatus=60"]) as server:
        future = operator(server).GetEngineStatus.future(
            operator_service_pb2.GetEngineStatusRequest(), timeout=30
        )
        server.wait_for_log(lambda line: line == "SLOW-CALL GetEngineStatus")
        server.signal(signal.SIGTERM)
        server.wait_for_log(lambda line: "draining calls in flight" in line)
        server.signal(signal.SIGINT)
        with pytest.raises(grpc.RpcError) as cut:
            future.result()
        assert cut.value.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
        assert server.wait() == 0


def test_failed_store_stops_at_once_without_acks_and_exits_nonzero(tmp_path: Path) -> None:
    child = ["--fatal-on-sigusr1", "--slow", "GetEngineStatus=60"]
    with serverkit.running_server(tmp_path / "data", child=child) as server:
        future = operator(server).GetEngineStatus.future(
            operator_service_pb2.GetEngineStatusRequest(), timeout=30
        )
        server.wait_for_log(lambda line: line == "SLOW-CALL GetEngineStatus")
        started = time.monotonic()
        server.signal(signal.SIGUSR1)
        with pytest.raises(grpc.RpcError) as cut:
            future.result()
        assert cut.value.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
        assert server.wait() == 1
        assert time.monotonic() - started < 5  # no grace period
        critical = [r for r in server.log_records() if r["level"] == "CRITICAL"]
        assert len(critical) == 1
        assert "durable store failed" in critical[0]["message"]
        assert "No space left on device" in critical[0]["exc"]


def test_a_taken_port_fails_fast_with_exit_1(server: serverkit.ServerProcess, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(serverkit.MULTIMARGIN),
            "serve",
            "--insecure-no-auth",
            "--listen",
            server.address,
            "--data-dir",
            str(tmp_path / "other"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "cannot listen on" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "other").exists()  # failed before touching the store


def test_an_invalid_rulebook_is_refused_with_exit_2(tmp_path: Path) -> None:
    rulebook = tmp_path / "rulebook.json"
    rulebook.write_text('{"assets": 5}', "utf-8")
    result = subprocess.run(
        [
            str(serverkit.MULTIMARGIN),
            "serve",
            "--insecure-no-auth",
            "--listen",
            f"127.0.0.1:{serverkit.free_port()}",
            "--data-dir",
            str(tmp_path / "data"),
            "--rulebook",
            str(rulebook),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "refused to start" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_seeds_accounts_on_an_empty_store(tmp_path: Path) -> None:
    with serverkit.running_server(tmp_path / "data", "--demo") as server:
        listed = accounts(server).ListAccounts(account_service_pb2.ListAccountsRequest(), timeout=10)
        assert listed.accounts


def test_demo_request_ids_do_not_collide_with_a_clients(tmp_path: Path) -> None:
    with serverkit.running_server(tmp_path / "data", "--demo") as server:
        # Ids a client might well pick for itself, in the pattern of a counter.
        for n in range(1, 31):
            create_futures_account(server, f"mine-{n}", request_id=f"demo-{n}")
        listed = accounts(server).ListAccounts(
            account_service_pb2.ListAccountsRequest(page_size=1000), timeout=10
        )
        assert {f"mine-{n}" for n in range(1, 31)} <= {a.account_id for a in listed.accounts}


def _serve_once(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``multimargin serve`` that is expected to refuse to start."""
    command = [str(serverkit.MULTIMARGIN), "serve", "--insecure-no-auth"]
    command += ["--listen", f"127.0.0.1:{serverkit.free_port()}"]
    return subprocess.run(
        [*command, "--data-dir", str(data_dir), *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_lost_database_is_refused_not_reinitialised(tmp_path: Path, damage: str) -> None:
    data = tmp_path / "data"
    with serverkit.running_server(data, "--demo") as server:
        listed = accounts(server).ListAccounts(account_service_pb2.ListAccountsRequest(), timeout=10)
        assert listed.accounts
    database = data / "multimargin.db"
    if damage == "truncate":
        database.write_bytes(b"")  # truncate -s 0
    else:
        database.unlink()  # its lock file (and id marker) remain
    result = _serve_once(data, "--demo")
    assert result.returncode == 1, result.stderr
    assert str(database) in result.stderr and "--init-store" in result.stderr
    assert "Traceback" not in result.stderr and '"serving"' not in result.stderr
    # The operator's explicit flag creates a new store, once.
    with serverkit.running_server(data, "--init-store") as server:
        listed = accounts(server).ListAccounts(account_service_pb2.ListAccountsRequest(), timeout=10)
        assert not listed.accounts
    result = _serve_once(data, "--init-store")
    assert result.returncode == 1 and "already holds a store" in result.stderr, result.stderr


def test_an_unknown_log_level_is_refused_with_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(serverkit.MULTIMARGIN), "serve", "--data-dir", str(tmp_path / "data"), "--log-level", "LOUD"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--log-level" in result.stderr and "Traceback" not in result.stderr


# --- reflection and buf curl -----------------------------------------------------------


def test_reflection_lists_every_service_and_rpc(server: serverkit.ServerProcess) -> None:
    database = ProtoReflectionDescriptorDatabase(server.channel)
    contract = contract_from_protos()
    assert set(database.get_services()) == {*contract, HEALTH, REFLECTION}
    pool = descriptor_pool.DescriptorPool(database)
    for name, rpcs in contract.items():
        service = pool.FindServiceByName(name)
        assert sorted(m.name for m in service.methods) == rpcs
        for method in service.methods:
            assert method.input_type.name == f"{method.name}Request"
            assert method.output_type.name == f"{method.name}Response"


def buf_curl(server: serverkit.ServerProcess, path: str, *args: str) -> subprocess.CompletedProcess[str]:
    buf = serverkit.BIN / "buf"
    if not buf.exists():
        found = shutil.which("buf")
        if found is None:
            pytest.skip("buf is not installed")
        buf = Path(found)
    command = [str(buf), "curl", "--protocol", "grpc", "--http2-prior-knowledge", *args]
    return subprocess.run(
        [*command, f"http://{server.address}/{path}"], capture_output=True, text=True, timeout=60
    )


def test_buf_curl_through_reflection(server: serverkit.ServerProcess) -> None:
    create_futures_account(server, "curl-1")
    result = buf_curl(server, "multimargin.v1.OperatorService/GetEngineStatus")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["accounts"] == "1"  # int64 is a string in proto3 JSON
    assert re.fullmatch(r"[0-9a-f]+", status["stateHash"])

    result = buf_curl(server, "multimargin.v1.AccountService/GetAccount", "-d", '{"account_id": "curl-1"}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["account"]["accountId"] == "curl-1"

    result = buf_curl(server, "multimargin.v1.AccountService/GetAccount", "-d", '{"account_id": "nope"}')
    assert result.returncode != 0
    error = json.loads(result.stderr)
    assert error["code"] == "not_found"
    assert "ACCOUNT_NOT_FOUND" in error["message"]


# --- engine RPCs and the error mapping --------------------------------------------------


def test_create_get_list_and_engine_status(server: serverkit.ServerProcess) -> None:
    created = create_futures_account(server, "acct-1")
    assert created.account_id == "acct-1"
    assert created.kind == types_pb2.ACCOUNT_KIND_FUTURES
    assert created.version >= 1

    got = accounts(server).GetAccount(account_service_pb2.GetAccountRequest(account_id="acct-1"))
    assert got.account == created

    listed = accounts(server).ListAccounts(account_service_pb2.ListAccountsRequest())
    assert [a.account_id for a in listed.accounts] == ["acct-1"]
    assert listed.next_page_token == ""

    status = operator(server).GetEngineStatus(operator_service_pb2.GetEngineStatusRequest())
    assert status.accounts == 1
    assert status.journal_seq >= 1


def test_unknown_account_is_not_found_with_one_error_info(server: serverkit.ServerProcess) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        accounts(server).GetAccount(account_service_pb2.GetAccountRequest(account_id="no-such"))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    status, infos, failures = error_details(refused.value)
    assert len(infos) == 1 and not failures
    assert infos[0].reason == "ACCOUNT_NOT_FOUND"
    assert infos[0].domain == "multimargin"
    assert dict(infos[0].metadata) == {"field": "account_id"}
    assert "account_id" in status.message


def test_invalid_argument_names_the_field(server: serverkit.ServerProcess) -> None:
    request = account_service_pb2.CreateAccountRequest(request_id=str(uuid.uuid4()), account_id="a-1")
    with pytest.raises(grpc.RpcError) as refused:
        accounts(server).CreateAccount(request, timeout=10)  # kind UNSPECIFIED
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    _, infos, _ = error_details(refused.value)
    assert len(infos) == 1
    assert infos[0].reason == "INVALID_ARGUMENT"
    assert infos[0].domain == "multimargin"
    assert infos[0].metadata["field"] == "kind"


def test_a_refused_switch_lists_every_unmet_condition(server: serverkit.ServerProcess) -> None:
    # SPEC §9: a sub-account with copy trading on fails two conditions of MULTI_ASSET.
    create_futures_account(server, "sub-1", sub_account=True, copy_trading=True)
    request = account_service_pb2.SwitchModeRequest(
        request_id=str(uuid.uuid4()), account_id="sub-1", target_mode=types_pb2.ACCOUNT_MODE_MULTI_ASSET
    )
    with pytest.raises(grpc.RpcError) as refused:
        accounts(server).SwitchMode(request, timeout=10)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    status, infos, failures = error_details(refused.value)
    assert len(infos) == 1 and len(failures) == 1
    reasons = {"SUB_ACCOUNT", "COPY_TRADING_ON"}
    assert infos[0].reason in reasons
    assert {v.type for v in failures[0].violations} == reasons
    assert all(v.description for v in failures[0].violations)
    assert all(reason in status.message for reason in reasons)


def test_unexpected_fault_is_internal_without_details(tmp_path: Path) -> None:
    with serverkit.running_server(tmp_path / "data", child=["--fail", "GetEngineStatus"]) as server:
        with pytest.raises(grpc.RpcError) as failed:
            operator(server).GetEngineStatus(
                operator_service_pb2.GetEngineStatusRequest(), metadata=(("x-request-id", "fault-1"),)
            )
        error = failed.value
        assert error.code() == grpc.StatusCode.INTERNAL
        status, infos, _ = error_details(error)
        assert len(infos) == 1 and infos[0].reason == "INTERNAL" and infos[0].domain == "multimargin"
        wire = f"{error.details()} {status} {error.trailing_metadata()}"
        assert SECRET not in wire and "Traceback" not in wire and "RuntimeError" not in wire
        assert trailing(error)["x-request-id"] == "fault-1"
        # The server log has it all, under the request id.
        server.wait_for_log(lambda line: "unexpected fault" in line)
        faults = [r for r in server.log_records() if r.get("message") == "unexpected fault"]
        assert len(faults) == 1
        assert faults[0]["request_id"] == "fault-1"
        assert SECRET in faults[0]["exc"] and "Traceback" in faults[0]["exc"]
        # and the server goes on serving
        assert server.health() == SERVING


def test_oversized_request_is_resource_exhausted(server: serverkit.ServerProcess) -> None:
    request = account_service_pb2.GetAccountRequest(account_id="x" * (1024 * 1024 + 1))
    with pytest.raises(grpc.RpcError) as refused:
        accounts(server).GetAccount(request)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # Just under the limit is read, and refused by the engine (an id that long is
    # invalid); a status message quoting it would be clipped to fit the client's
    # metadata limit (test_service_mapping).
    request = account_service_pb2.GetAccountRequest(account_id="x" * (1024 * 1024 - 16))
    with pytest.raises(grpc.RpcError) as refused:
        accounts(server).GetAccount(request)
    assert refused.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)
    assert server.health() == SERVING


def _raw_call(server: serverkit.ServerProcess, method: str, payload: bytes) -> grpc.RpcError:
    """Send ``payload`` as the request bytes of ``method`` (no client-side serialization)."""
    call = server.channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as failed:
        call(payload, timeout=10, metadata=(("x-request-id", "raw-1"),))
    return failed.value


def _utf8_field(number: int, raw: bytes) -> bytes:
    """A length-delimited field ``number`` holding ``raw`` (wire type 2)."""
    return bytes([number << 3 | 2, len(raw)]) + raw


@pytest.mark.parametrize(
    ("method", "payload", "field"),
    [
        ("/multimargin.v1.AccountService/GetAccount", b"\xff\xff\xff\xff", None),  # not protobuf
        ("/multimargin.v1.AccountService/GetAccount", b"\x0a\x10abc", None),  # truncated
        ("/multimargin.v1.AccountService/GetAccount", _utf8_field(1, b"a\xff\xfe"), "account_id"),
        (
            "/multimargin.v1.FundsService/TransferIn",
            _utf8_field(1, b"r-1") + _utf8_field(2, b"acct") + _utf8_field(4, b"US\xc3"),
            "asset",
        ),
    ],
)
def test_undecodable_request_bytes_are_invalid_argument(
    server: serverkit.ServerProcess, method: str, payload: bytes, field: str | None
) -> None:
    # SPEC §11: bytes that do not decode as the request message are bad input, like any other.
    error = _raw_call(server, method, payload)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    status, infos, _ = error_details(error)
    assert [(i.reason, i.domain) for i in infos] == [("INVALID_ARGUMENT", "multimargin")]
    assert infos[0].metadata.get("field") == field
    assert "DecodeError" not in status.message and "Traceback" not in status.message
    assert trailing(error)["x-request-id"] == "raw-1"
    server.wait_for_log(lambda line: '"raw-1"' in line and '"INVALID_ARGUMENT"' in line)
    assert not [r for r in server.log_records() if r["level"] in ("ERROR", "CRITICAL") or "exc" in r]
    assert server.health() == SERVING


# --- request ids and the access log -----------------------------------------------------


def test_request_id_is_echoed_in_trailing_metadata(server: serverkit.ServerProcess) -> None:
    # The request's own request_id (AIP-155) wins.
    own = "req-" + uuid.uuid4().hex
    request = account_service_pb2.CreateAccountRequest(
        request_id=own, account_id="rid-1", kind=types_pb2.ACCOUNT_KIND_FUTURES
    )
    _, call = accounts(server).CreateAccount.with_call(
        request, timeout=10, metadata=(("x-request-id", "ignored"),)
    )
    assert trailing(call)["x-request-id"] == own

    # Else the x-request-id metadata the client sent.
    _, call = operator(server).GetEngineStatus.with_call(
        operator_service_pb2.GetEngineStatusRequest(), metadata=(("x-request-id", "trace-42"),)
    )
    assert trailing(call)["x-request-id"] == "trace-42"

    # Else a generated one.
    _, call = operator(server).GetEngineStatus.with_call(operator_service_pb2.GetEngineStatusRequest())
    assert re.fullmatch(r"[0-9a-f]{32}", trailing(call)["x-request-id"])

    # Errors carry it too, next to the status details.
    with pytest.raises(grpc.RpcError) as refused:
        accounts(server).GetAccount(
            account_service_pb2.GetAccountRequest(account_id="missing"),
            metadata=(("x-request-id", "trace-43"),),
        )
    metadata = trailing(refused.value)
    assert metadata["x-request-id"] == "trace-43"
    assert "grpc-status-details-bin" in metadata


@pytest.mark.parametrize("bad", ["has space", "tab\tid", "x" * 129, "ключ"])
def test_a_request_id_the_server_would_not_echo_is_refused(server: serverkit.ServerProcess, bad: str) -> None:
    # The idempotency key a client sent is the id it sees echoed and logged, or the call
    # is refused: never accepted under one id and reported under another.
    request = account_service_pb2.CreateAccountRequest(
        request_id=bad, account_id="spaced", kind=types_pb2.ACCOUNT_KIND_FUTURES
    )
    with pytest.raises(grpc.RpcError) as refused:
        accounts(server).CreateAccount(request, timeout=10)
    _, infos, _ = error_details(refused.value)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [(i.reason, i.metadata["field"]) for i in infos] == [("INVALID_ARGUMENT", "request_id")]
    assert re.fullmatch(r"[0-9a-f]{32}", trailing(refused.value)["x-request-id"])
    # The same rule, the same refusal, for the id in metadata.
    if bad.isascii() and bad.isprintable():  # gRPC itself refuses to send other metadata
        with pytest.raises(grpc.RpcError) as refused:
            operator(server).GetEngineStatus(
                operator_service_pb2.GetEngineStatusRequest(), metadata=(("x-request-id", bad),)
            )
        _, infos, _ = error_details(refused.value)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [(i.reason, i.metadata["field"]) for i in infos] == [("INVALID_ARGUMENT", "x-request-id")]
    # Nothing was created under the refused key.
    with pytest.raises(grpc.RpcError) as missing:
        accounts(server).GetAccount(account_service_pb2.GetAccountRequest(account_id="spaced"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    server.wait_for_log(lambda line: '"code": "INVALID_ARGUMENT"' in line and "CreateAccount" in line)


def test_one_json_log_line_per_call(server: serverkit.ServerProcess) -> None:
    with pytest.raises(grpc.RpcError):
        accounts(server).GetAccount(
            account_service_pb2.GetAccountRequest(account_id="logged"),
            metadata=(("x-request-id", "log-1"),),
        )
    operator(server).GetEngineStatus(
        operator_service_pb2.GetEngineStatusRequest(), metadata=(("x-request-id", "log-2"),)
    )
    # Lines are written by a background thread (logging never blocks a call).
    server.wait_for_log(lambda line: '"log-2"' in line)
    records = [r for r in server.log_records() if r.get("logger") == "multimargin.access"]
    by_id = {r["request_id"]: r for r in records}
    assert by_id["log-1"]["method"] == "/multimargin.v1.AccountService/GetAccount"
    assert by_id["log-1"]["account_id"] == "logged"
    assert by_id["log-1"]["code"] == "NOT_FOUND"
    assert by_id["log-2"]["method"] == "/multimargin.v1.OperatorService/GetEngineStatus"
    assert by_id["log-2"]["account_id"] is None
    assert by_id["log-2"]["code"] == "OK"
    assert all(isinstance(r["latency_ms"], float | int) and r["latency_ms"] >= 0 for r in records)
    # Health probes log at DEBUG only (the default level is INFO).
    assert not any(r["method"].startswith("/grpc.health.v1.") for r in records)

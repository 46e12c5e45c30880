"""Limits and transport security against a real ``multimargin serve`` (issue 8): the
per-principal rate limit and the message size limit answer RESOURCE_EXHAUSTED with an
ErrorInfo, a mutation needs a deadline, a cancelled call stops its work, TLS and mutual
TLS handshake (and plaintext to a TLS server fails)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import rpckit
import serverkit
from grpc_status import rpc_status
from multimargin import cli
from multimargin.client import Client
from multimargin.client.auth import secure_channel
from multimargin.errors import InvalidInputError, PermissionDeniedError, UnauthenticatedError
from multimargin.service.principals import add_principal
from multimargin.v1 import event_service_pb2 as ev
from rpckit import RESOURCE_EXHAUSTED, Rpc, acc, fun, mkt, refused, rid, t, unchanged

WORK = 2**10


# ---- rate limit ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[serverkit.ServerProcess, dict[str, str]]]:
    base = tmp_path_factory.mktemp("limited")
    path = base / "principals.toml"
    tokens = {
        "op": add_principal(path, "op", ["operator"], "*", work=WORK),
        "alice": add_principal(path, "alice", ["trader"], ["a-1"], work=WORK),
        "bob": add_principal(path, "bob", ["trader"], ["b-1"], work=WORK),
    }
    args = ("--auth", str(path), "--rate-limit", "5", "--rate-burst", "5", "--max-message-bytes", "2000")
    with serverkit.running_server(base / "data", *args) as server:
        yield server, tokens


def test_health_command_needs_no_token_and_reports_serving(
    limited: tuple[serverkit.ServerProcess, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, _ = limited
    assert cli.main(["health", "--target", server.address]) == 0
    assert capsys.readouterr().out.strip() == f"{server.address}: SERVING"
    assert cli.main(["health", "--target", server.address, "--service", "no.such.Service"]) == 1
    assert "NOT_FOUND" in capsys.readouterr().err


def test_a_principal_over_its_rate_is_refused_others_are_not(
    limited: tuple[serverkit.ServerProcess, dict[str, str]],
) -> None:
    server, tokens = limited
    alice = Rpc(secure_channel(server.address, token=tokens["alice"]))
    outcomes = []
    for _ in range(20):
        try:
            alice.prices()
            outcomes.append("OK")
        except grpc.RpcError as error:
            r = rpckit.refusal_of(error)
            assert (r.code, r.reason, r.domain) == (RESOURCE_EXHAUSTED, "RATE_LIMITED", "multimargin"), r
            assert "alice" in r.message and "retry in" in r.message
            outcomes.append("LIMITED")
    assert outcomes[:5] == ["OK"] * 5  # the burst
    assert outcomes.count("LIMITED") >= 10  # 20 calls take far less than 3 s
    bob = Rpc(secure_channel(server.address, token=tokens["bob"]))
    bob.prices()  # bob has a bucket of his own
    time.sleep(0.5)  # 2.5 tokens later
    alice.prices()


def test_the_typed_client_sends_its_token(limited: tuple[serverkit.ServerProcess, dict[str, str]]) -> None:
    server, tokens = limited
    with Client(server.address, token=tokens["op"], timeout=10) as client:
        client.create_account("a-1", "FUTURES")
        assert client.get_account("a-1").account.account_id == "a-1"
    with Client(server.address, token=tokens["alice"], timeout=10, retries=0) as client:
        with pytest.raises(PermissionDeniedError) as denied:
            client.create_account("a-2", "FUTURES")
        assert denied.value.reason == "PERMISSION_DENIED"
    with Client(server.address, timeout=10, retries=0) as client, pytest.raises(UnauthenticatedError):
        client.get_account("a-1")


def test_a_request_over_the_size_limit_is_refused_with_an_error_info(
    limited: tuple[serverkit.ServerProcess, dict[str, str]],
) -> None:
    server, tokens = limited
    time.sleep(1.2)  # refill the rate bucket
    operator = Rpc(secure_channel(server.address, token=tokens["op"]))
    big = acc.CreateAccountRequest(
        request_id=rid(), account_id="big", kind=t.ACCOUNT_KIND_FUTURES, region="X" * 3000
    )
    r = refused(operator.accounts.CreateAccount, big, RESOURCE_EXHAUSTED, "MESSAGE_TOO_LARGE", None)
    assert "larger than max" in r.message and "2000" in r.message
    # Far beyond it, gRPC's own bound (4x) refuses first, without details.
    huge = acc.CreateAccountRequest(
        request_id=rid(), account_id="big", kind=t.ACCOUNT_KIND_FUTURES, region="X" * 9000
    )
    with pytest.raises(grpc.RpcError) as failed:
        operator.accounts.CreateAccount(huge)
    assert failed.value.code() == RESOURCE_EXHAUSTED and rpc_status.from_call(failed.value) is None
    # The typed client reports it as bad input, and does not retry it.
    with Client(server.address, token=tokens["op"], timeout=10) as client, pytest.raises(InvalidInputError):
        client.create_account("big", "FUTURES", region="X" * 3000)


# ---- deadlines and cancellation --------------------------------------------------------------


def test_a_mutation_without_a_deadline_is_refused(tmp_path: Path) -> None:
    with rpckit.serving(tmp_path / "data") as (_, rpc):
        account = rpc.create("FUTURES").account_id
        stub = rpc.funds._stub  # no default deadline
        request = fun.TransferInRequest(request_id=rid(), account_id=account, asset="USDT", amount="1")
        with unchanged(rpc, account):
            refused(stub.TransferIn, request, grpc.StatusCode.INVALID_ARGUMENT, "DEADLINE_REQUIRED", None)
        rpc.accounts._stub.GetAccount(acc.GetAccountRequest(account_id=account))  # a read needs none
        assert rpc.funds.TransferIn(request).account.futures.wallet["USDT"] == "1"


def test_a_cancelled_or_expired_call_stops_its_work(tmp_path: Path) -> None:
    """The server cancels the handler of a call the client cancelled, or whose deadline
    passed: the mutation, held before the engine, is never applied."""
    with serverkit.running_server(tmp_path / "data", child=["--slow", "TransferIn=3"]) as server:
        rpc = Rpc(server.channel)
        account = rpc.create("FUTURES").account_id
        before = rpckit.state(rpc, account)
        request = fun.TransferInRequest(request_id=rid(), account_id=account, asset="USDT", amount="1")
        started = time.monotonic()
        future = rpc.funds.TransferIn.future(request)
        server.wait_for_log(lambda line: "SLOW-CALL TransferIn" in line)
        future.cancel()
        server.wait_for_log(lambda line: "TransferIn" in line and '"code": "CANCELLED"' in line)
        expired = fun.TransferInRequest(request_id=rid(), account_id=account, asset="USDT", amount="2")
        with pytest.raises(grpc.RpcError) as failed:
            rpc.funds.TransferIn(expired, timeout=1.0)
        assert failed.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        time.sleep(max(0.0, started + 4.5 - time.monotonic()))  # past the slow calls' end
        assert rpckit.state(rpc, account) == before


# ---- TLS --------------------------------------------------------------------------------------

OPENSSL = shutil.which("openssl")


def _openssl(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _certificate(cwd: Path, name: str, cn: str, extensions: str) -> None:
    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=cwd)
    (cwd / f"{name}.ext").write_text(extensions)
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        f"{name}.pem",
        "-days",
        "2",
        "-extfile",
        f"{name}.ext",
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for localhost / 127.0.0.1, and a client certificate."""
    if OPENSSL is None:
        pytest.skip("the openssl command is needed to make test certificates")
    cwd = tmp_path_factory.mktemp("pki")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=multimargin test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
        cwd=cwd,
    )
    _certificate(
        cwd, "server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
    )
    _certificate(cwd, "client", "alice", "extendedKeyUsage=clientAuth\n")
    return cwd


def _read(pki: Path, name: str) -> bytes:
    return (pki / name).read_bytes()


def test_tls_serves_and_plaintext_to_it_fails(pki: Path, tmp_path: Path) -> None:
    credentials = grpc.ssl_channel_credentials(_read(pki, "ca.pem"))
    args = ("--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"))
    with serverkit.running_server(tmp_path / "data", *args, credentials=credentials) as server:
        rpc = Rpc(server.channel)
        rpc.set_prices({"BTC": "60000"})
        assert rpc.prices().index_prices["BTC"] == "60000"
        with Client(server.address, root_certificates=_read(pki, "ca.pem"), timeout=10) as client:
            client.create_account("tls-1", "MARGIN")
        with grpc.insecure_channel(server.address) as plain:
            with pytest.raises(grpc.RpcError) as failed:
                Rpc(plain).prices()
            assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
        assert '"tls": "on"' in server.log_text()
        # `multimargin health` (the Dockerfile's HEALTHCHECK) speaks TLS too.
        ca = str(pki / "ca.pem")
        assert cli.main(["health", "--target", server.address, "--tls-ca", ca]) == 0
        assert cli.main(["health", "--target", server.address, "--timeout", "2"]) == 1


def test_mutual_tls_requires_a_client_certificate_of_the_ca(pki: Path, tmp_path: Path) -> None:
    root = _read(pki, "ca.pem")
    with_cert = grpc.ssl_channel_credentials(root, _read(pki, "client.key"), _read(pki, "client.pem"))
    args = ("--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"))
    args += ("--tls-client-ca", str(pki / "ca.pem"))
    with serverkit.running_server(tmp_path / "data", *args, credentials=with_cert) as server:
        assert Rpc(server.channel).prices().prices_version >= 0
        without = server.new_channel(grpc.ssl_channel_credentials(root))
        with pytest.raises(grpc.RpcError) as failed:
            Rpc(without).market.GetPrices(mkt.GetPricesRequest(), timeout=5)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
        without.close()
        assert '"tls": "mutual"' in server.log_text()
        health = ["health", "--target", server.address, "--tls-ca", str(pki / "ca.pem"), "--timeout", "2"]
        assert cli.main(health) == 1  # no client certificate: no handshake
        mine = ["--tls-cert", str(pki / "client.pem"), "--tls-key", str(pki / "client.key")]
        assert cli.main([*health, *mine]) == 0


# ---- event streams per principal ---------------------------------------------------------------


def test_a_principal_holds_at_most_max_streams_event_streams(tmp_path: Path) -> None:
    with rpckit.serving(tmp_path / "data", "--max-streams", "2") as (_, rpc):
        f = rpc.create("FUTURES").account_id
        rpc.transfer_in(f, "BTC", "1")
        rpc.post(f, ("USDT", "-100"))
        rpc.funds.RepayLiability(
            fun.RepayLiabilityRequest(
                request_id=rid(), account_id=f, debt_asset="USDT", payer_asset="BTC", amount="1"
            )
        )
        streams = [rpc.events.WatchEvents(ev.WatchEventsRequest(), timeout=60) for _ in range(2)]
        try:
            for stream in streams:  # an event: the server is holding the stream open
                assert next(stream).event.account_id == f
            with pytest.raises(grpc.RpcError) as failed:
                next(rpc.events.WatchEvents(ev.WatchEventsRequest(), timeout=10))
            r = rpckit.refusal_of(failed.value)
            assert (r.code, r.reason) == (RESOURCE_EXHAUSTED, "TOO_MANY_STREAMS"), r
            streams.pop().cancel()
            deadline = time.monotonic() + 10
            while True:  # the server sees the cancellation and frees the slot
                stream = rpc.events.WatchEvents(ev.WatchEventsRequest(), timeout=60)
                try:
                    assert next(stream).event.account_id == f
                    streams.append(stream)
                    break
                except grpc.RpcError as error:
                    assert error.code() == RESOURCE_EXHAUSTED and time.monotonic() < deadline
                    time.sleep(0.05)
        finally:
            for stream in streams:
                stream.cancel()

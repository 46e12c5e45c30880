"""The typed client's failures and results against real servers on loopback: one error
family (every failure a :class:`multimargin.MarginError`, never a raw ``grpc.RpcError``),
messages that say each thing once and match the library's, floats refused before
anything is sent, frozen results, and retries of shed (RESOURCE_EXHAUSTED), refused
(nothing listening) and drained (server stopping) calls within the deadline.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import multimargin
import pytest
import rpckit
import serverkit
from multimargin.client import Client
from multimargin.errors import (
    AccountNotFoundError,
    DeadlineExceededError,
    InternalError,
    InvalidInputError,
    MarginError,
    OverloadedError,
    PriceUnavailableError,
    RuleViolationError,
    UnavailableError,
    VersionConflictError,
)
from multimargin.results import Account, AccountView, EngineStatus, RiskSummary
from multimargin.service.errors import INTERNAL_MESSAGE
from rpckit import new_id
from test_rpc_client import Recorder, recording_client

OK = grpc.StatusCode.OK
RESOURCE_EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
CANCELLED = grpc.StatusCode.CANCELLED


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[serverkit.ServerProcess]:
    with rpckit.serving(tmp_path_factory.mktemp("client-errors") / "data") as (running, _):
        yield running


def refusal(call: Callable[[], object], cls: type[MarginError]) -> MarginError:
    """The error ``call`` raises: of class ``cls``, caused by the call's RpcError, whose
    status message is exactly the error's text."""
    with pytest.raises(cls) as raised:
        call()
    error = raised.value
    cause = error.__cause__
    assert isinstance(cause, grpc.RpcError) and isinstance(cause, grpc.Call)
    assert str(error) == cause.details()
    return error


# ---- one family, each thing said once ------------------------------------------------------------


def test_refusals_are_the_library_classes_with_each_thing_said_once(
    server: serverkit.ServerProcess,
) -> None:
    with Client(server.address) as c:
        m = new_id()
        c.create_account(m, "MARGIN")
        c.transfer_in(m, "USDT", 100)
        limit = c.get_risk_summary(m).max_borrow["USDT"]
        assert limit == Decimal("200")  # 100 USDT at Classic 3x: CV ≥ 1.5 × TL

        too_much = refusal(lambda: c.borrow(m, "USDT", 1000), RuleViolationError)
        assert (too_much.reason, too_much.field) == ("EXCEEDS_MAX_BORROW", "amount")
        assert too_much.message == "1000 USDT exceeds the max borrow 200"
        assert str(too_much) == "amount: 1000 USDT exceeds the max borrow 200 (EXCEEDS_MAX_BORROW)"

        # The same text as the library raises locally for the same input.
        bad = refusal(lambda: c.transfer_in(m, "USDT", "0.000000001"), InvalidInputError)
        with pytest.raises(InvalidInputError) as local:
            multimargin.check_decimal("0.000000001", "amount", "amount")
        assert (bad.reason, bad.field, bad.message, str(bad)) == (
            local.value.reason,
            local.value.field,
            local.value.message,
            str(local.value),
        )
        assert str(bad) == 'amount: "0.000000001" has more than 8 digits after the point (INVALID_DECIMAL)'

        missing = refusal(lambda: c.get_account("nobody-" + new_id()), AccountNotFoundError)
        assert (missing.reason, missing.field) == ("ACCOUNT_NOT_FOUND", "account_id")
        assert str(missing).count("ACCOUNT_NOT_FOUND") == 1 and str(missing).count("account_id:") == 1

        stale = refusal(lambda: c.transfer_in(m, "USDT", 1, expected_version=99), VersionConflictError)
        assert (stale.reason, stale.field) == ("VERSION_CONFLICT", "expected_version")
        assert str(stale).count("VERSION_CONFLICT") == 1 and str(stale).count("expected_version:") == 1

        # Several unmet conditions: the engine's message joins theirs; each is listed.
        f = new_id()
        c.create_account(f, "FUTURES", sub_account=True, copy_trading=True)
        with pytest.raises(RuleViolationError) as refused:
            c.switch_mode(f, "MULTI_ASSET")
        unmet = c.check_mode_switch(f, "MULTI_ASSET").unmet
        assert refused.value.conditions == list(unmet) and len(unmet) == 2
        assert refused.value.message == "; ".join(message for _, message in unmet)
        assert str(refused.value) == f"{refused.value.message} (SUB_ACCOUNT)"


def test_price_internal_and_transport_failures_are_margin_errors(tmp_path: Path) -> None:
    # A server without prices, whose GetEngineStatus fails inside the engine.
    with (
        serverkit.running_server(tmp_path / "data", child=["--fail", "GetEngineStatus"]) as server,
        Client(server.address) as c,
    ):
        m = new_id()
        c.create_account(m, "MARGIN")
        c.transfer_in(m, "BTC", 1)
        no_price = refusal(lambda: c.get_risk_summary(m), PriceUnavailableError)
        assert no_price.reason == "PRICE_UNAVAILABLE" and str(no_price).count("PRICE_UNAVAILABLE") == 1
        assert c.get_account(m).risk is None

        with pytest.raises(InternalError) as fault:
            c.engine_status()
        assert (fault.value.reason, fault.value.field) == ("INTERNAL", None)
        assert str(fault.value) == f"{INTERNAL_MESSAGE} (INTERNAL)"


def test_nothing_listening_is_unavailable_after_bounded_retries() -> None:
    recorder = Recorder()
    started = time.monotonic()
    with (
        recording_client(f"127.0.0.1:{serverkit.free_port()}", recorder, timeout=2.0, retries=3) as c,
        pytest.raises(UnavailableError) as down,
    ):
        c.create_account("a-1", "FUTURES")
    elapsed = time.monotonic() - started
    assert type(down.value) is UnavailableError and down.value.reason == "UNAVAILABLE"
    assert not isinstance(down.value, grpc.RpcError) and isinstance(down.value, MarginError)
    attempts = recorder.of("CreateAccount")
    assert [a.code for a in attempts] == [UNAVAILABLE] * 4  # the call and 3 retries
    assert len({a.request for a in attempts}) == 1  # one request_id throughout
    assert elapsed < 2.0


def test_retries_stop_at_the_deadline() -> None:
    recorder = Recorder()
    started = time.monotonic()
    with (
        recording_client(
            f"127.0.0.1:{serverkit.free_port()}", recorder, timeout=0.5, retries=100, backoff=0.1
        ) as c,
        pytest.raises(UnavailableError),
    ):
        c.get_prices()
    assert time.monotonic() - started < 0.5 + 0.5  # the deadline, and a slow machine's slack
    assert 1 < len(recorder.attempts) < 10


# ---- floats refused, results frozen ---------------------------------------------------------------


def test_floats_and_bools_are_refused_before_anything_is_sent(server: serverkit.ServerProcess) -> None:
    recorder = Recorder()
    with recording_client(server.address, recorder) as c:
        calls: dict[str, Callable[[Any], object]] = {
            "amount": lambda x: c.transfer_in("a", "USDT", x),
            "amount ": lambda x: c.transfer_out("a", "USDT", x),
            "amount  ": lambda x: c.borrow("a", "USDT", x),
            "amount   ": lambda x: c.repay("a", "USDT", x),
            "ratio": lambda x: c.set_margin_call_ratio("a", "CLASSIC", x),
            "size": lambda x: c.set_position("a", "BTCUSDT", x, "60000", 10),
            "entry_price": lambda x: c.set_position("a", "BTCUSDT", "1", x, 10),
            "isolated_margin": lambda x: c.set_position("a", "BTCUSDT", "1", "1", 10, isolated_margin=x),
            "price": lambda x: Client.futures_order("BTCUSDT", "BUY", x, "1"),
            "quantity": lambda x: Client.margin_order("BTC", "USDT", "BUY", "1", x),
            "entries.amount": lambda x: c.post_ledger_entries("a", [("FEE", "USDT", x)]),
            "index_prices.BTC": lambda x: c.update_prices({"BTC": x}),
            "mark_prices.BTCUSDT": lambda x: c.update_prices(mark_prices={"BTCUSDT": x}),
        }
        for name, call in calls.items():
            with pytest.raises(TypeError) as floated:
                call(100.5)
            assert str(floated.value).startswith(f"{name.strip()}: a float is not accepted")
            assert "Decimal('100.5')" in str(floated.value)
            with pytest.raises(TypeError, match="expected Decimal, str or int, got bool"):
                call(True)
    assert recorder.attempts == []


def test_results_are_frozen_and_typed(server: serverkit.ServerProcess) -> None:
    with Client(server.address) as c:
        m = new_id()
        account = c.create_account(m, "MARGIN")
        account = c.transfer_in(m, "BTC", Decimal("0.5")).account
        view = c.get_account(m)
        status = c.engine_status()
    assert isinstance(view, AccountView) and view.account == account
    assert isinstance(view.risk, RiskSummary) and view.risk.total_asset_value == Decimal("30000")
    assert isinstance(status, EngineStatus) and status.accounts >= 1 and len(status.state_hash) == 64
    for result, attribute in (
        (account, "version"),
        (view, "risk"),
        (view.risk, "liquidatable"),
        (status, "accounts"),
    ):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, attribute, None)
    with pytest.raises(TypeError):
        account.holdings["BTC"] = Decimal(1)  # type: ignore[index]
    assert isinstance(account, Account) and account.holdings == {"BTC": Decimal("0.5")}
    assert all(isinstance(v, Decimal) for v in view.risk.max_transfer_out.values())


# ---- retries: a server that sheds calls, a server that drains -------------------------------------


def test_a_shed_call_is_retried_with_backoff_and_the_same_request_id(tmp_path: Path) -> None:
    # One call at a time; TransferIn holds the slot for 1 s.
    child = ["--max-concurrent", "1", "--slow", "TransferIn=1"]
    with serverkit.running_server(tmp_path / "data", child=child) as server:
        account_id = new_id()
        with Client(server.address) as c:
            c.create_account(account_id, "FUTURES")
        holder = threading.Thread(target=lambda: Client(server.address).transfer_in(account_id, "USDT", 1))
        holder.start()
        try:
            server.wait_for_log(lambda line: "SLOW-CALL TransferIn" in line)
            # Without retries the shed call fails at once, as an OverloadedError...
            with Client(server.address, retries=0) as impatient, pytest.raises(OverloadedError) as shed:
                impatient.get_prices()
            # (reason: the ErrorInfo's where the server sends one, else the status code)
            assert shed.value.reason in ("RESOURCE_EXHAUSTED", "OVERLOADED")
            assert isinstance(shed.value, UnavailableError) and str(shed.value).count(shed.value.reason) == 1
            # ...with them, it waits for the slot, keeping its request_id.
            recorder = Recorder()
            with recording_client(server.address, recorder, retries=30, backoff=0.02, max_backoff=0.2) as c:
                done = c.transfer_in(account_id, "USDT", 2)
        finally:
            holder.join()
        attempts = recorder.of("TransferIn")
        assert attempts[0].code == RESOURCE_EXHAUSTED and attempts[-1].code == OK
        assert all(a.code == RESOURCE_EXHAUSTED for a in attempts[:-1]) and len(attempts) >= 3
        assert len({a.request for a in attempts}) == 1  # the same request_id throughout
        with Client(server.address) as c:
            assert c.get_account(account_id).account.wallet == {"USDT": Decimal(3)}  # each applied once
        assert done.account.version == 3


def test_a_call_cancelled_by_a_draining_server_is_unavailable(tmp_path: Path) -> None:
    # The server holds TransferIn for 5 s but drains for only 0.2 s after SIGTERM: the
    # call in flight is cancelled. The client retries it as UNAVAILABLE (the server is
    # gone by then) and reports UnavailableError within its deadline.
    data = tmp_path / "data"
    server = serverkit.start_server(data, "--grace", "0.2", child=["--slow", "TransferIn=5"])
    try:
        account_id = new_id()
        with Client(server.address) as c:
            c.create_account(account_id, "FUTURES")
        recorder = Recorder()
        errors: list[BaseException] = []

        def transfer() -> None:
            with recording_client(server.address, recorder, timeout=3.0, retries=3) as c:
                try:
                    c.transfer_in(account_id, "USDT", 1)
                except BaseException as e:
                    errors.append(e)

        caller = threading.Thread(target=transfer)
        caller.start()
        server.wait_for_log(lambda line: "SLOW-CALL TransferIn" in line)
        server.signal(signal.SIGTERM)
        caller.join()
        assert server.wait() == 0
    finally:
        if server.proc.poll() is None:
            server.stop()
    (error,) = errors
    assert type(error) is UnavailableError and not isinstance(error, DeadlineExceededError)
    attempts = recorder.of("TransferIn")
    assert attempts[0].code in (CANCELLED, UNAVAILABLE) and len(attempts) >= 2
    assert all(a.code in (CANCELLED, UNAVAILABLE) for a in attempts[1:])
    assert len({a.request for a in attempts}) == 1

"""The typed client (:class:`multimargin.client.Client`) against a real server: decimals
in and out, the default deadline, typed errors, and request ids that stay the same
across the client's own retries, so that a mutation retried after a failure in transit
is applied exactly once.

A recording client interceptor observes each attempt (method, deadline, request bytes,
outcome) on the real channel; one test also makes it lose the first response, as a
dropped connection would after the server applied the change.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
import rpckit
import serverkit
from multimargin.client import Client, OrderCheck
from multimargin.errors import (
    AccountNotFoundError,
    DeadlineExceededError,
    InvalidInputError,
    RuleViolationError,
    UnavailableError,
    VersionConflictError,
)
from multimargin.results import FuturesOrder, Position, Repaid
from rpckit import Rpc, fun, new_id, risk, risk_result, t

OK = grpc.StatusCode.OK
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
DEADLINE_EXCEEDED = grpc.StatusCode.DEADLINE_EXCEEDED


@dataclass(frozen=True)
class Attempt:
    method: str
    timeout: float | None
    request: bytes
    code: grpc.StatusCode


class _LostInTransit(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    """What a client sees when the connection drops before the response arrives."""

    def code(self) -> grpc.StatusCode:
        return UNAVAILABLE

    def details(self) -> str:
        return "connection lost before the response arrived (injected)"

    def initial_metadata(self) -> Any:
        return ()

    def trailing_metadata(self) -> Any:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float | None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Any) -> bool:
        return False


class Recorder(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Records every attempt; loses the response of the first successful call of each
    method in ``lose`` (the server did apply it)."""

    def __init__(self, lose: tuple[str, ...] = ()) -> None:
        self.attempts: list[Attempt] = []
        self.lose = set(lose)
        self.failed = threading.Event()
        self._lock = threading.Lock()

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        outcome = continuation(details, request)
        method = details.method.rsplit("/", 1)[-1]
        code = outcome.code() if isinstance(outcome, grpc.Call) else OK
        with self._lock:
            self.attempts.append(Attempt(method, details.timeout, request.SerializeToString(), code))
            lose = code == OK and method in self.lose
            self.lose.discard(method)
        if code != OK:
            self.failed.set()
        if lose:
            raise _LostInTransit()
        return outcome

    def of(self, method: str) -> list[Attempt]:
        return [a for a in self.attempts if a.method == method]


def recording_client(address: str, recorder: Recorder, **kwargs: Any) -> Client:
    channel = grpc.insecure_channel(
        address,
        options=[
            # Reconnect quickly once the server is there (keeps the retry test short).
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 200),
        ],
    )
    return Client(channel=grpc.intercept_channel(channel, recorder), **kwargs)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[serverkit.ServerProcess]:
    with rpckit.serving(tmp_path_factory.mktemp("client") / "data") as (running, _):
        yield running


@pytest.fixture
def rpc(server: serverkit.ServerProcess) -> Rpc:
    return Rpc(server.channel)


# ---- decimals ---------------------------------------------------------------------------------


def test_decimals_in_and_out(server: serverkit.ServerProcess, rpc: Rpc) -> None:
    with Client(server.address) as c:
        account_id = new_id()
        created = c.create_account(account_id, "MARGIN", region="JP")
        assert (created.kind, created.mode, created.status, created.version) == (
            "MARGIN",
            "CLASSIC",
            "ACTIVE",
            1,
        )
        assert created.margin is not None and created.margin.mcr_classic == Decimal("1.3")

        done = c.transfer_in(account_id, "USDT", Decimal("1234.50000000"))
        assert done.account.holdings == {"USDT": Decimal("1234.5")} and done.repaid == Decimal(0)
        assert all(isinstance(v, Decimal) for v in done.account.holdings.values())
        # Decimals in any notation go out in the SPEC §1 form (no exponent); ints too.
        c.transfer_in(account_id, "USDT", Decimal("1E+3"))
        c.transfer_in(account_id, "USDT", Decimal("5E-8"))
        account = c.transfer_in(account_id, "BTC", "0.01").account
        assert account.holdings == {"USDT": Decimal("2234.50000005"), "BTC": Decimal("0.01")}

        summary = c.get_risk_summary(account_id)
        assert summary.kind == "MARGIN" and summary.total_asset_value == Decimal("2834.50000005")
        assert summary.margin_level is None and summary.net_collateral is None
        assert all(isinstance(v, Decimal) for v in summary.max_borrow.values())
        # The same figures as on the wire, as Decimals.
        for key, value in risk_result(rpc.risk_of(account_id), t.ACCOUNT_MODE_CLASSIC).items():
            if isinstance(value, dict):
                assert getattr(summary, key) == {asset: Decimal(x) for asset, x in value.items()}
            elif isinstance(value, str):
                assert getattr(summary, key) == Decimal(value)
            else:
                assert getattr(summary, key) == value

        borrowed = c.borrow(account_id, "USDT", Decimal("1000"))
        assert borrowed.interest_charged == Decimal("0.0045")
        assert borrowed.account.interest == {"USDT": Decimal("0.0045")}
        paid = c.repay(account_id, "USDT", Decimal("0.0045"))
        assert paid == Repaid(
            account=paid.account,
            repaid=Decimal("0.0045"),
            payer_asset="USDT",
            payer_amount=Decimal("0.0045"),
            interest_repaid=Decimal("0.0045"),
            principal_repaid=Decimal(0),
        )
        view = c.get_account(account_id)
        assert view.account == paid.account and view.risk == c.get_risk_summary(account_id)

        # Decimal arithmetic leaves trailing zeros (here 9 fractional digits): the value
        # has a valid wire form, and the client sends that.
        product = Decimal("0.1") * Decimal("3.00000000")
        assert str(product) == "0.300000000"
        account = c.transfer_in(account_id, "ETH", product).account
        assert account.holdings["ETH"] == Decimal("0.3")
        # A value with more than 8 digits is not rounded: the server refuses it, and the
        # typed error names the reason and the field.
        with pytest.raises(InvalidInputError) as bad:
            c.transfer_in(account_id, "USDT", Decimal("0.000000001"))
        assert (bad.value.reason, bad.value.field) == ("INVALID_DECIMAL", "amount")
        with pytest.raises(InvalidInputError) as bad:
            c.transfer_in(account_id, "USDT", "1e3")
        assert (bad.value.reason, bad.value.field) == ("INVALID_DECIMAL", "amount")


def test_futures_orders_and_simulation_through_the_client(server: serverkit.ServerProcess) -> None:
    with Client(server.address) as c:
        f = new_id()
        c.create_account(f, "FUTURES")
        c.transfer_in(f, "USDT", Decimal("1000"))
        acct = c.set_position(f, "BTCUSDT", Decimal("0.1"), Decimal("59000"), 20)
        assert acct.positions == (Position("BTCUSDT", Decimal("0.1"), Decimal("59000"), 20),)
        order = Client.futures_order("ETHUSDT", "BUY", Decimal("2900"), Decimal("1"), leverage=10)
        check = c.check_order(f, order)
        assert check == OrderCheck(
            accepted=True,
            rejections=(),
            order_initial_margin=Decimal("290"),
            available=Decimal("800"),  # 1000 + 100 uPnL − 300 IM
            version=acct.version,
        )
        placed = c.place_order(f, order, expected_version=check.version)
        acct, order_id = placed.account, placed.order_id
        assert acct.orders == (
            FuturesOrder(order_id, "ETHUSDT", "BUY", Decimal("2900"), Decimal("1"), leverage=10),
        )
        shocked = c.simulate(
            f,
            [risk.SimulatedChange(price_shock=risk.PriceShock(symbol="BTCUSDT", factor=str(Decimal("0.5"))))],
        )
        # Mark 30000: uPnL 0.1 × (30000 − 59000) = −2900, so EM = −1900.
        assert shocked.liquidatable is True and shocked.pools[0].effective_margin == Decimal("-1900")
        assert c.get_account(f).account.version == acct.version  # nothing changed
        assert c.cancel_order(f, order_id).orders == ()


# ---- typed errors --------------------------------------------------------------------------


def test_refusals_raise_typed_errors(server: serverkit.ServerProcess) -> None:
    with Client(server.address) as c:
        with pytest.raises(AccountNotFoundError) as missing:
            c.get_account(new_id())
        assert (missing.value.reason, missing.value.field) == ("ACCOUNT_NOT_FOUND", "account_id")

        f = new_id()
        c.create_account(f, "FUTURES", sub_account=True, copy_trading=True)
        check = c.check_mode_switch(f, "MULTI_ASSET")
        assert not check.allowed and [r for r, _ in check.unmet] == ["SUB_ACCOUNT", "COPY_TRADING_ON"]
        version = check.version
        with pytest.raises(RuleViolationError) as refused:
            c.switch_mode(f, "MULTI_ASSET", expected_version=version)
        assert refused.value.reason == "SUB_ACCOUNT"
        assert [r for r, _ in refused.value.conditions] == ["SUB_ACCOUNT", "COPY_TRADING_ON"]

        with pytest.raises(VersionConflictError) as conflict:
            c.transfer_in(f, "USDT", 1, expected_version=version + 5)
        assert (conflict.value.reason, conflict.value.field) == ("VERSION_CONFLICT", "expected_version")

        with pytest.raises(RuleViolationError) as too_much:
            c.transfer_out(f, "USDT", Decimal("0.00000001"))
        assert (too_much.value.reason, too_much.value.field) == ("EXCEEDS_MAX_TRANSFER", "amount")

        with pytest.raises(RuleViolationError) as reused:
            c.transfer_in(f, "USDT", 1, request_id="fixed-key-1")
            c.transfer_in(f, "USDT", 2, request_id="fixed-key-1")
        assert reused.value.reason == "IDEMPOTENCY_KEY_REUSED"

        with pytest.raises(InvalidInputError) as wrong_kind:
            c.borrow(f, "USDT", 1)
        assert (wrong_kind.value.reason, wrong_kind.value.field) == ("INVALID_ARGUMENT", "account_id")


def test_list_accounts_pages_through_everything(server: serverkit.ServerProcess, rpc: Rpc) -> None:
    for _ in range(5):
        rpc.create("MARGIN")
    with Client(server.address) as c:
        listed = [a.account_id for a in c.list_accounts(page_size=2)]
    assert listed == rpc.all_account_ids() and len(listed) == rpc.status().accounts >= 5


# ---- deadlines and request ids across retries -------------------------------------------------------


def test_every_call_has_a_deadline(server: serverkit.ServerProcess) -> None:
    recorder = Recorder()
    with recording_client(server.address, recorder) as c:
        c.engine_status()
        c.create_account(new_id(), "FUTURES")
    with recording_client(server.address, recorder, timeout=2.5) as c:
        c.get_prices()
    # The first attempt gets the whole deadline (less the microseconds spent so far).
    assert [(a.method, a.timeout) for a in recorder.attempts] == [
        ("GetEngineStatus", pytest.approx(5.0, abs=0.05)),
        ("CreateAccount", pytest.approx(5.0, abs=0.05)),
        ("GetPrices", pytest.approx(2.5, abs=0.05)),
    ]


def test_a_call_past_its_deadline_fails_and_is_retried_with_the_same_request(tmp_path: Path) -> None:
    # The server holds every TransferIn for 2 s before the engine sees it; the client
    # gives each attempt 0.2 s, and retries once, within its 5 s deadline.
    recorder = Recorder()
    with (
        serverkit.running_server(tmp_path / "data", child=["--slow", "TransferIn=2"]) as server,
        recording_client(server.address, recorder, attempt_timeout=0.2, retries=1) as c,
    ):
        Rpc(server.channel).create("FUTURES", "slow-1")
        with pytest.raises(DeadlineExceededError) as late:
            c.transfer_in("slow-1", "USDT", 1)
        assert isinstance(late.value, UnavailableError) and late.value.reason == "DEADLINE_EXCEEDED"
        assert isinstance(late.value.__cause__, grpc.RpcError)
    attempts = recorder.of("TransferIn")
    assert [a.code for a in attempts] == [DEADLINE_EXCEEDED, DEADLINE_EXCEEDED]
    assert [a.timeout for a in attempts] == [pytest.approx(0.2, abs=0.01)] * 2
    assert attempts[0].request == attempts[1].request  # same request_id
    assert fun.TransferInRequest.FromString(attempts[0].request).request_id


def test_a_lost_response_is_retried_with_the_same_request_id_and_applied_once(
    server: serverkit.ServerProcess, rpc: Rpc
) -> None:
    f = rpc.create("FUTURES").account_id
    before = rpc.status()
    recorder = Recorder(lose=("TransferIn",))
    with recording_client(server.address, recorder, retries=3, backoff=0.01) as c:
        account, repaid = (done := c.transfer_in(f, "USDT", Decimal("42.5"))).account, done.repaid
    attempts = recorder.of("TransferIn")
    # The first attempt was applied by the server, but the client saw UNAVAILABLE...
    assert len(attempts) == 2 and all(a.code == OK for a in attempts)
    # ...and retried the identical request: same request_id, so the server answered
    # from its journal.
    assert attempts[0].request == attempts[1].request
    request = fun.TransferInRequest.FromString(attempts[0].request)
    assert len(request.request_id) >= 32
    assert account.version == 2 and account.wallet == {"USDT": Decimal("42.5")} and repaid == 0
    assert rpc.account(f).futures.wallet["USDT"] == "42.5"
    assert rpc.status().journal_seq == before.journal_seq + 1  # applied once

    # Each new call gets a new id: two calls, two changes.
    with Client(server.address) as c:
        c.transfer_in(f, "USDT", 1)
        c.transfer_in(f, "USDT", 1)
    assert rpc.account(f).futures.wallet["USDT"] == "44.5"


def test_a_call_made_before_the_server_is_up_is_retried_until_it_is(tmp_path: Path) -> None:
    port = serverkit.free_port()
    recorder = Recorder()
    started: list[serverkit.ServerProcess] = []

    def start_when_refused() -> None:
        # Start the server only once the client has seen the connection refused.
        if recorder.failed.wait(60):
            started.append(serverkit.start_server(tmp_path / "data", port=port))

    starter = threading.Thread(target=start_when_refused)
    starter.start()
    try:
        with recording_client(f"127.0.0.1:{port}", recorder, retries=10, backoff=0.05) as c:
            created = c.create_account("early-1", "MARGIN")
        starter.join()
        assert created.version == 1
        attempts = recorder.of("CreateAccount")
        assert attempts[0].code == UNAVAILABLE and attempts[-1].code == OK
        assert all(a.code == UNAVAILABLE for a in attempts[:-1])
        assert len({a.request for a in attempts}) == 1  # one request_id throughout
        (server,) = started
        rpc = Rpc(server.channel)
        assert rpc.status().accounts == 1 and rpc.status().journal_seq == 2  # rulebook + one create
        assert rpc.account("early-1").version == 1
    finally:
        starter.join()
        for s in started:
            assert s.stop() == 0

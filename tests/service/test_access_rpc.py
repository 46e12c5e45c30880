"""Authentication and authorization against a real ``multimargin serve --auth`` (issue 8):
every RPC classified; for every account-scoped RPC a trader on another's account is
PERMISSION_DENIED and nothing changes; operator RPCs refuse traders; a missing or wrong
token is UNAUTHENTICATED; a trader's WatchEvents streams only its accounts."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import multimargin
import pytest
import rpckit
import serverkit
from grpc_health.v1 import health_pb2
from multimargin.client.auth import secure_channel
from multimargin.contract import contract_rpcs
from multimargin.service.access import POLICY, Access
from multimargin.service.principals import add_principal
from multimargin.v1 import event_service_pb2 as ev
from multimargin.v1 import risk_service_pb2 as risk
from rpckit import Rpc, acc, fun, mkt, op, refused, rid, t, trd, unchanged

PERMISSION_DENIED = grpc.StatusCode.PERMISSION_DENIED
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
WORK = 2**10  # scrypt cost of the test principals: the format is the same, the test is faster


@dataclass
class World:
    server: serverkit.ServerProcess
    tokens: dict[str, str]
    op: Rpc
    alice: Rpc
    feed: Rpc
    mine: dict[str, str]  # alice's accounts by kind
    theirs: dict[str, str]  # bob's accounts by kind

    def rpc(self, token: str | None) -> Rpc:
        return Rpc(secure_channel(self.server.address, token=token))


def _principals(path: Path) -> dict[str, str]:
    return {
        "op": add_principal(path, "op", ["operator"], "*", work=WORK),
        "alice": add_principal(path, "alice", ["trader"], ["a-fut", "a-mar"], work=WORK),
        "bob": add_principal(path, "bob", ["trader"], ["b-fut", "b-mar"], work=WORK),
        "feed": add_principal(path, "feed", ["market_data"], [], work=WORK),
    }


def _fund(rpc: Rpc, futures: str, margin: str) -> None:
    """Accounts with something to change: collateral, a debt, a loan, an open order."""
    rpc.create("FUTURES", futures)
    rpc.create("MARGIN", margin)
    rpc.transfer_in(futures, "USDT", "0.00000001")
    rpc.transfer_in(futures, "BTC", "1")
    rpc.post(futures, ("USDT", "-100"))  # a USDT debt, repayable by BTC
    rpc.transfer_in(margin, "USDT", "10000")
    rpc.borrow(margin, "USDT", "100")
    rpc.place_margin(
        margin, base="BTC", quote="USDT", side=t.SIDE_BUY, price="50000", quantity="0.01", order_id="o-1"
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("access")
    tokens = _principals(base / "principals.toml")
    with serverkit.running_server(base / "data", "--auth", str(base / "principals.toml")) as server:
        operator = Rpc(secure_channel(server.address, token=tokens["op"]))
        operator.set_prices(rpckit.INDEX, rpckit.MARKS)
        _fund(operator, "a-fut", "a-mar")
        _fund(operator, "b-fut", "b-mar")
        yield World(
            server,
            tokens,
            operator,
            Rpc(secure_channel(server.address, token=tokens["alice"])),
            Rpc(secure_channel(server.address, token=tokens["feed"])),
            {"FUTURES": "a-fut", "MARGIN": "a-mar"},
            {"FUTURES": "b-fut", "MARGIN": "b-mar"},
        )


# ---- one valid request per RPC, aimed at the accounts given ------------------------------

Build = Callable[[Rpc, dict[str, str]], tuple[Any, Any]]

ACCOUNT_CALLS: dict[str, Build] = {
    "GetAccount": lambda r, a: (r.accounts.GetAccount, acc.GetAccountRequest(account_id=a["FUTURES"])),
    "SetAccountFlags": lambda r, a: (
        r.accounts.SetAccountFlags,
        acc.SetAccountFlagsRequest(request_id=rid(), account_id=a["FUTURES"], copy_trading=True),
    ),
    "AcceptProTerms": lambda r, a: (
        r.accounts.AcceptProTerms,
        acc.AcceptProTermsRequest(
            request_id=rid(), account_id=a["MARGIN"], quiz_passed=True, terms_version="v1"
        ),
    ),
    "CheckModeSwitch": lambda r, a: (
        r.accounts.CheckModeSwitch,
        acc.CheckModeSwitchRequest(account_id=a["FUTURES"], target_mode=t.ACCOUNT_MODE_MULTI_ASSET),
    ),
    "SwitchMode": lambda r, a: (
        r.accounts.SwitchMode,
        acc.SwitchModeRequest(request_id=rid(), account_id=a["MARGIN"], target_mode=t.ACCOUNT_MODE_PRO),
    ),
    "SetMarginCallRatio": lambda r, a: (
        r.accounts.SetMarginCallRatio,
        acc.SetMarginCallRatioRequest(
            request_id=rid(), account_id=a["MARGIN"], mode=t.ACCOUNT_MODE_CLASSIC, ratio="1.6"
        ),
    ),
    "SetClassicLeverage": lambda r, a: (
        r.accounts.SetClassicLeverage,
        acc.SetClassicLeverageRequest(request_id=rid(), account_id=a["MARGIN"], leverage=5),
    ),
    "WatchEvents": lambda r, a: (
        lambda request, **kw: list(r.events.WatchEvents(request, timeout=rpckit.DEADLINE)),
        ev.WatchEventsRequest(account_ids=[a["FUTURES"]]),
    ),
    "TransferIn": lambda r, a: (
        r.funds.TransferIn,
        fun.TransferInRequest(request_id=rid(), account_id=a["FUTURES"], asset="USDT", amount="5"),
    ),
    "TransferOut": lambda r, a: (
        r.funds.TransferOut,
        fun.TransferOutRequest(request_id=rid(), account_id=a["MARGIN"], asset="USDT", amount="5"),
    ),
    "PostLedgerEntries": lambda r, a: (
        r.funds.PostLedgerEntries,
        fun.PostLedgerEntriesRequest(
            request_id=rid(),
            account_id=a["FUTURES"],
            entries=[fun.LedgerEntry(kind=t.LEDGER_ENTRY_KIND_FEE, asset="USDT", amount="-1")],
        ),
    ),
    "Borrow": lambda r, a: (
        r.funds.Borrow,
        fun.BorrowRequest(request_id=rid(), account_id=a["MARGIN"], asset="USDT", amount="10"),
    ),
    "Repay": lambda r, a: (
        r.funds.Repay,
        fun.RepayRequest(request_id=rid(), account_id=a["MARGIN"], asset="USDT", amount="10"),
    ),
    "RepayLiability": lambda r, a: (
        r.funds.RepayLiability,
        fun.RepayLiabilityRequest(
            request_id=rid(), account_id=a["FUTURES"], debt_asset="USDT", payer_asset="BTC", amount="1"
        ),
    ),
    "ListHistory": lambda r, a: (r.funds.ListHistory, fun.ListHistoryRequest(account_id=a["FUTURES"])),
    "GetRiskSummary": lambda r, a: (
        r.risk.GetRiskSummary,
        risk.GetRiskSummaryRequest(account_id=a["FUTURES"]),
    ),
    "Simulate": lambda r, a: (
        r.risk.Simulate,
        risk.SimulateRequest(
            account_id=a["FUTURES"],
            changes=[risk.SimulatedChange(price_shock=risk.PriceShock(symbol="BTCUSDT", factor="0.9"))],
        ),
    ),
    "SetPosition": lambda r, a: (
        r.trading.SetPosition,
        trd.SetPositionRequest(
            request_id=rid(),
            account_id=a["FUTURES"],
            position=t.Position(symbol="ETHUSDT", size="0.1", entry_price="3000", leverage=10),
        ),
    ),
    "CheckOrder": lambda r, a: (
        r.trading.CheckOrder,
        trd.CheckOrderRequest(
            account_id=a["FUTURES"],
            futures=t.FuturesOrder(
                symbol="ETHUSDT", side=t.SIDE_BUY, price="2900", quantity="0.1", leverage=10
            ),
        ),
    ),
    "PlaceOrder": lambda r, a: (
        r.trading.PlaceOrder,
        trd.PlaceOrderRequest(
            request_id=rid(),
            account_id=a["FUTURES"],
            futures=t.FuturesOrder(
                symbol="ETHUSDT", side=t.SIDE_BUY, price="2900", quantity="0.1", leverage=10
            ),
        ),
    ),
    "CancelOrder": lambda r, a: (
        r.trading.CancelOrder,
        trd.CancelOrderRequest(request_id=rid(), account_id=a["MARGIN"], order_id="o-1"),
    ),
}


def _settlement() -> op.RunSettlementRequest:
    request = op.RunSettlementRequest(request_id=rid())
    request.as_of.GetCurrentTime()
    return request


OPERATOR_CALLS: dict[str, Callable[[Rpc], tuple[Any, Any]]] = {
    "CreateAccount": lambda r: (
        r.accounts.CreateAccount,
        acc.CreateAccountRequest(request_id=rid(), account_id="a-new", kind=t.ACCOUNT_KIND_FUTURES),
    ),
    "ListAccounts": lambda r: (r.accounts.ListAccounts, acc.ListAccountsRequest()),
    "UpdatePrices": lambda r: (
        r.market.UpdatePrices,
        mkt.UpdatePricesRequest(request_id=rid(), index_prices={"SOL": "151"}),
    ),
    "GetEngineStatus": lambda r: (r.operator.GetEngineStatus, op.GetEngineStatusRequest()),
    "RunSettlement": lambda r: (r.operator.RunSettlement, _settlement()),
    "EndLiquidation": lambda r: (
        r.operator.EndLiquidation,
        op.EndLiquidationRequest(request_id=rid(), account_id="a-fut"),
    ),
    "SetVipLevel": lambda r: (
        r.operator.SetVipLevel,
        op.SetVipLevelRequest(request_id=rid(), account_id="a-mar", vip_level=3),
    ),
    "ReloadRulebook": lambda r: (
        r.operator.ReloadRulebook,
        op.ReloadRulebookRequest(request_id=rid(), rulebook_json=multimargin.default_rulebook_json()),
    ),
    "PreviewRulebook": lambda r: (
        r.operator.PreviewRulebook,
        op.PreviewRulebookRequest(rulebook_json=multimargin.default_rulebook_json()),
    ),
}


def test_every_rpc_is_classified_and_every_class_is_tested() -> None:
    names = {rpc.name for rpc in contract_rpcs()}
    assert set(POLICY) == names
    account = {n for n, rule in POLICY.items() if rule.access is Access.ACCOUNT}
    assert set(ACCOUNT_CALLS) == account, "an account-scoped RPC lacks its cross-account denial test"
    refused_to_traders = {
        n for n, rule in POLICY.items() if rule.access in (Access.OPERATOR, Access.MARKET_DATA)
    }
    assert set(OPERATOR_CALLS) == refused_to_traders, "an operator RPC lacks its test"
    assert {n for n, rule in POLICY.items() if rule.access is Access.AUTHENTICATED} == {"GetPrices"}


@pytest.mark.parametrize("name", sorted(ACCOUNT_CALLS))
def test_a_trader_on_another_account_is_denied_and_nothing_changes(world: World, name: str) -> None:
    method, request = ACCOUNT_CALLS[name](world.alice, world.theirs)
    with unchanged(world.op, *world.theirs.values()):
        r = refused(method, request, PERMISSION_DENIED, "PERMISSION_DENIED")
    assert r.field in ("account_id", "account_ids[0]"), r
    assert "alice" in r.message

    # The same request on its own accounts is not denied (it may fail on business rules).
    method, request = ACCOUNT_CALLS[name](world.alice, world.mine)
    try:
        if name == "WatchEvents":  # a live stream: its first event shows it was allowed
            next(iter(world.alice.events.WatchEvents(request, timeout=rpckit.DEADLINE)))
        else:
            method(request)
    except grpc.RpcError as error:
        assert error.code() not in (PERMISSION_DENIED, UNAUTHENTICATED), error


@pytest.mark.parametrize("name", sorted(OPERATOR_CALLS))
def test_operator_rpcs_refuse_traders(world: World, name: str) -> None:
    method, request = OPERATOR_CALLS[name](world.alice)
    with unchanged(world.op, *world.mine.values()):
        r = refused(method, request, PERMISSION_DENIED, "PERMISSION_DENIED", None)
    assert name in r.message and "operator" in r.message


def test_market_data_may_update_prices_and_nothing_else(world: World) -> None:
    before = world.op.prices().prices_version
    assert world.feed.set_prices({"DOGE": "0.11"}).prices_version > before
    assert world.feed.prices().index_prices["DOGE"] == "0.11"  # GetPrices: any principal
    for name in ("GetAccount", "TransferIn"):
        method, request = ACCOUNT_CALLS[name](world.feed, world.mine)
        with unchanged(world.op, *world.mine.values()):
            refused(method, request, PERMISSION_DENIED, "PERMISSION_DENIED", None)
    method, request = OPERATOR_CALLS["RunSettlement"](world.feed)
    refused(method, request, PERMISSION_DENIED, "PERMISSION_DENIED", None)


def test_an_operator_acts_on_any_account(world: World) -> None:
    assert world.op.account("b-fut").account_id == "b-fut"
    assert world.op.transfer_in("a-fut", "USDC", "1").account.futures.wallet["USDC"]


@pytest.mark.parametrize(
    "metadata",
    [
        (),
        (("authorization", "Bearer "),),
        (("authorization", "Basic dXNlcjpwdw=="),),
        (("authorization", "Bearer mm_00_x"),),
    ],
    ids=["none", "empty", "basic", "malformed"],
)
def test_a_missing_or_malformed_token_is_unauthenticated(world: World, metadata: tuple[Any, ...]) -> None:
    anonymous = world.rpc(None)
    request = fun.TransferInRequest(request_id=rid(), account_id="a-fut", asset="USDT", amount="1")
    with unchanged(world.op, "a-fut"):
        r = refused(
            lambda req: anonymous.funds.TransferIn(req, metadata=metadata),
            request,
            UNAUTHENTICATED,
            "UNAUTHENTICATED",
            None,
        )
    assert "token" in r.message
    refused(
        lambda req: anonymous.market.GetPrices(req, metadata=metadata),
        mkt.GetPricesRequest(),
        UNAUTHENTICATED,
        "UNAUTHENTICATED",
    )


def test_a_wrong_token_is_unauthenticated(world: World) -> None:
    alice = world.tokens["alice"]
    wrong_secret = alice[:-4] + ("aaaa" if not alice.endswith("aaaa") else "bbbb")
    unknown_key = "mm_0123456789abcdef_" + alice.split("_", 2)[2]
    for token in (wrong_secret, unknown_key, world.tokens["bob"] + "x"):
        impostor = world.rpc(token)
        for _ in range(2):  # a failure is remembered: the second costs no hash, same answer
            with unchanged(world.op, "a-fut"):
                refused(
                    impostor.funds.TransferIn,
                    ACCOUNT_CALLS["TransferIn"](impostor, world.mine)[1],
                    UNAUTHENTICATED,
                    "UNAUTHENTICATED",
                    None,
                )


def test_health_and_reflection_need_no_token(world: World) -> None:
    assert world.server.health() == health_pb2.HealthCheckResponse.SERVING
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    stub = reflection_pb2_grpc.ServerReflectionStub(world.server.channel)
    answers = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
    )
    services = {s.name for answer in answers for s in answer.list_services_response.service}
    assert "multimargin.v1.AccountService" in services


def test_the_access_log_names_the_principal(world: World) -> None:
    world.alice.account("a-fut")
    world.server.wait_for_log(lambda line: '"principal": "alice"' in line and "GetAccount" in line)


# ---- WatchEvents ----------------------------------------------------------------------------


def _collect(stream: Any, into: queue.Queue[Any]) -> None:
    try:
        for response in stream:
            into.put(response.event)
    except grpc.RpcError as error:
        into.put(error)


def _seen(received: queue.Queue[Any], count: int) -> list[str]:
    """The accounts of the next ``count`` events of a stream."""
    accounts = []
    for _ in range(count):
        item = received.get(timeout=30)
        assert not isinstance(item, grpc.RpcError), item
        accounts.append(item.account_id)
    return accounts


def test_a_traders_event_stream_carries_only_its_accounts(world: World) -> None:
    """Events of both traders' accounts commit (bob, alice, bob, alice); alice's stream
    without account_ids ("all mine") delivers her two and none of bob's, in between;
    the operator's delivers all four."""
    after = world.op.status().event_seq
    streams = {}
    received: dict[str, queue.Queue[Any]] = {}
    for who, rpc in (("alice", world.alice), ("op", world.op)):
        received[who] = queue.Queue()
        streams[who] = rpc.events.WatchEvents(ev.WatchEventsRequest(after_seq=after), timeout=60)
        threading.Thread(target=_collect, args=(streams[who], received[who]), daemon=True).start()
    try:
        for account_id in ("b-fut", "a-fut", "b-fut", "a-fut"):
            world.op.funds.RepayLiability(
                fun.RepayLiabilityRequest(
                    request_id=rid(), account_id=account_id, debt_asset="USDT", payer_asset="BTC", amount="1"
                )
            )
        assert _seen(received["op"], 4) == ["b-fut", "a-fut", "b-fut", "a-fut"]
        assert _seen(received["alice"], 2) == ["a-fut", "a-fut"]
        # Naming another's account is denied; naming her own is allowed.
        refused(
            lambda req: list(world.alice.events.WatchEvents(req, timeout=10)),
            ev.WatchEventsRequest(account_ids=["a-fut", "b-mar"], after_seq=after),
            PERMISSION_DENIED,
            "PERMISSION_DENIED",
            "account_ids[1]",
        )
    finally:
        for stream in streams.values():
            stream.cancel()

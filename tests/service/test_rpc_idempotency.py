"""Idempotency (AIP-155) and optimistic concurrency against a real server, for every
mutating RPC: a retry with the same request_id and request returns the first response
byte for byte and changes nothing; the same id with another request is refused
(IDEMPOTENCY_KEY_REUSED); a stale expected_version is ABORTED (VERSION_CONFLICT)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import multimargin
import pytest
import rpckit
from rpckit import (
    ABORTED,
    FAILED_PRECONDITION,
    Rpc,
    acc,
    fun,
    mkt,
    new_id,
    op,
    refused,
    rid,
    state,
    t,
    trd,
    unchanged,
)


@pytest.fixture(scope="module")
def rpc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rpc]:
    with rpckit.serving(tmp_path_factory.mktemp("idempotency") / "data") as (_, client):
        yield client


Setup = Callable[[Rpc], tuple[Any, Any, str | None]]


def _futures(rpc: Rpc, usdt: str = "10000") -> str:
    f = rpc.create("FUTURES").account_id
    rpc.transfer_in(f, "USDT", usdt)
    return f


def _margin(rpc: Rpc, usdt: str = "10000") -> str:
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDT", usdt)
    return m


def _create(rpc: Rpc) -> tuple[Any, Any, str | None]:
    request = acc.CreateAccountRequest(
        request_id=rid(), account_id=new_id(), kind=t.ACCOUNT_KIND_MARGIN, region="JP"
    )
    return rpc.accounts.CreateAccount, request, None


def _flags(rpc: Rpc) -> tuple[Any, Any, str | None]:
    f = _futures(rpc)
    return (
        rpc.accounts.SetAccountFlags,
        acc.SetAccountFlagsRequest(request_id=rid(), account_id=f, copy_trading=True),
        f,
    )


def _terms(rpc: Rpc) -> tuple[Any, Any, str | None]:
    m = _margin(rpc)
    request = acc.AcceptProTermsRequest(request_id=rid(), account_id=m, quiz_passed=True, terms_version="v1")
    return rpc.accounts.AcceptProTerms, request, m


def _switch(rpc: Rpc) -> tuple[Any, Any, str | None]:
    f = _futures(rpc)
    request = acc.SwitchModeRequest(request_id=rid(), account_id=f, target_mode=t.ACCOUNT_MODE_MULTI_ASSET)
    return rpc.accounts.SwitchMode, request, f


def _mcr(rpc: Rpc) -> tuple[Any, Any, str | None]:
    m = _margin(rpc)
    request = acc.SetMarginCallRatioRequest(
        request_id=rid(), account_id=m, mode=t.ACCOUNT_MODE_PRO, ratio="1.6"
    )
    return rpc.accounts.SetMarginCallRatio, request, m


def _leverage(rpc: Rpc) -> tuple[Any, Any, str | None]:
    m = _margin(rpc)
    return (
        rpc.accounts.SetClassicLeverage,
        acc.SetClassicLeverageRequest(request_id=rid(), account_id=m, leverage=5),
        m,
    )


def _transfer_in(rpc: Rpc) -> tuple[Any, Any, str | None]:
    f = _futures(rpc)
    request = fun.TransferInRequest(request_id=rid(), account_id=f, asset="USDT", amount="12.5")
    return rpc.funds.TransferIn, request, f


def _transfer_out(rpc: Rpc) -> tuple[Any, Any, str | None]:
    f = _futures(rpc)
    request = fun.TransferOutRequest(request_id=rid(), account_id=f, asset="USDT", amount="12.5")
    return rpc.funds.TransferOut, request, f


def _ledger(rpc: Rpc) -> tuple[Any, Any, str | None]:
    f = _futures(rpc)
    request = fun.PostLedgerEntriesRequest(
        request_id=rid(),
        account_id=f,
        entries=[
            fun.LedgerEntry(kind=t.LEDGER_ENTRY_KIND_FEE, asset="USDT", amount="-1.5", memo="fee"),
            fun.LedgerEntry(kind=t.LEDGER_ENTRY_KIND_REALIZED_PNL, asset="USDT", amount="20"),
        ],
    )
    return rpc.funds.PostLedgerEntries, request, f


def _borrow(rpc: Rpc) -> tuple[Any, Any, str | None]:
    m = _margin(rpc)
    return (
        rpc.funds.Borrow,
        fun.BorrowRequest(request_id=rid(), account_id=m, asset="USDT", amount="123.45678901"),
        m,
    )


def _repay(rpc: Rpc) -> tuple[Any, Any, str | None]:
    m = _margin(rpc)
    rpc.borrow(m, "USDT", "1000")
    return rpc.funds.Repay, fun.RepayRequest(request_id=rid(), account_id=m, asset="USDT", amount="100"), m


def _repay_liability(rpc: Rpc) -> tuple[Any, Any, str | None]:
    f = _futures(rpc, "0.00000001")
    rpc.transfer_in(f, "BTC", "1")
    rpc.post(f, ("USDT", "-100"))
    request = fun.RepayLiabilityRequest(
        request_id=rid(), account_id=f, debt_asset="USDT", payer_asset="BTC", amount="10"
    )
    return rpc.funds.RepayLiability, request, f


def _settle(rpc: Rpc) -> tuple[Any, Any, str | None]:
    request = op.RunSettlementRequest(request_id=rid())
    request.as_of.GetCurrentTime()
    return rpc.operator.RunSettlement, request, None


def _reload(rpc: Rpc) -> tuple[Any, Any, str | None]:
    rules = json.loads(multimargin.default_rulebook_json())
    rules["settings"]["pro_switch_in_bar"] = "2.5"
    request = op.ReloadRulebookRequest(request_id=rid(), rulebook_json=json.dumps(rules))
    return rpc.operator.ReloadRulebook, request, None


def _end_liquidation(rpc: Rpc) -> tuple[Any, Any, str | None]:
    f = rpc.create("FUTURES").account_id
    rpc.post(f, ("USDT", "-50"))  # EM < 0: liquidating at once
    rpc.transfer_in(f, "USDT", "100")
    return rpc.operator.EndLiquidation, op.EndLiquidationRequest(request_id=rid(), account_id=f), f


def _vip(rpc: Rpc) -> tuple[Any, Any, str | None]:
    m = _margin(rpc)
    return rpc.operator.SetVipLevel, op.SetVipLevelRequest(request_id=rid(), account_id=m, vip_level=3), m


def _position(rpc: Rpc) -> tuple[Any, Any, str | None]:
    f = _futures(rpc)
    position = t.Position(symbol="BTCUSDT", size="0.1", entry_price="59000", leverage=20)
    return (
        rpc.trading.SetPosition,
        trd.SetPositionRequest(request_id=rid(), account_id=f, position=position),
        f,
    )


def _place(rpc: Rpc) -> tuple[Any, Any, str | None]:
    # No order id: the engine assigns one, and the replay must give the same.
    f = _futures(rpc)
    order = t.FuturesOrder(symbol="ETHUSDT", side=t.SIDE_BUY, price="2900", quantity="1", leverage=10)
    return rpc.trading.PlaceOrder, trd.PlaceOrderRequest(request_id=rid(), account_id=f, futures=order), f


def _cancel(rpc: Rpc) -> tuple[Any, Any, str | None]:
    m = _margin(rpc)
    placed = rpc.place_margin(m, base="BTC", quote="USDT", side=t.SIDE_BUY, price="50000", quantity="0.01")
    return (
        rpc.trading.CancelOrder,
        trd.CancelOrderRequest(request_id=rid(), account_id=m, order_id=placed.order_id),
        m,
    )


def _prices(rpc: Rpc) -> tuple[Any, Any, str | None]:
    request = mkt.UpdatePricesRequest(
        request_id=rid(), index_prices={"SOL": "151"}, mark_prices={"SOLUSDT": "151.5"}
    )
    return rpc.market.UpdatePrices, request, None


MUTATIONS: dict[str, Setup] = {
    "CreateAccount": _create,
    "SetAccountFlags": _flags,
    "AcceptProTerms": _terms,
    "SwitchMode": _switch,
    "SetMarginCallRatio": _mcr,
    "SetClassicLeverage": _leverage,
    "TransferIn": _transfer_in,
    "TransferOut": _transfer_out,
    "PostLedgerEntries": _ledger,
    "Borrow": _borrow,
    "Repay": _repay,
    "RepayLiability": _repay_liability,
    "RunSettlement": _settle,
    "EndLiquidation": _end_liquidation,
    "SetVipLevel": _vip,
    "ReloadRulebook": _reload,
    "SetPosition": _position,
    "PlaceOrder": _place,
    "CancelOrder": _cancel,
    "UpdatePrices": _prices,
}


GLOBAL = frozenset({"UpdatePrices", "RunSettlement", "ReloadRulebook"})  # mutations of no one account


def test_every_mutating_rpc_is_covered() -> None:
    from multimargin.state import handlers

    assert set(MUTATIONS) == set(handlers.MUTATIONS)


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_retry_returns_the_first_response_byte_for_byte(rpc: Rpc, name: str) -> None:
    method, request, account_id = MUTATIONS[name](rpc)
    if account_id is None and name == "CreateAccount":
        account_id = request.account_id
    first = method(request)
    after = state(rpc, *([account_id] if account_id else []))
    prices = rpc.prices()

    again = method(request)
    assert again.SerializeToString(deterministic=True) == first.SerializeToString(deterministic=True)
    assert again.SerializeToString() == first.SerializeToString()
    assert state(rpc, *([account_id] if account_id else [])) == after  # nothing applied, nothing journaled
    assert rpc.prices() == prices

    # Still the first response after the account (or the prices) moved on.
    if account_id is not None:
        rpc.transfer_in(account_id, "USDC", "1")
    else:
        rpc.set_prices({"MX": "3.5"})
    moved = state(rpc, *([account_id] if account_id else []))
    assert method(request).SerializeToString() == first.SerializeToString()
    assert state(rpc, *([account_id] if account_id else [])) == moved


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_the_same_id_with_another_request_is_refused(rpc: Rpc, name: str) -> None:
    method, request, account_id = MUTATIONS[name](rpc)
    method(request)
    ids = [account_id or getattr(request, "account_id", "")] if name not in GLOBAL else []

    other = type(request)()
    other.CopyFrom(request)
    # A different request under the same key: another account, or another price.
    if name == "UpdatePrices":
        other.index_prices["SOL"] = "152"
    elif name == "RunSettlement":
        other.as_of.seconds -= 1
    elif name == "ReloadRulebook":
        other.rulebook_json = other.rulebook_json.replace('"2.5"', '"2.25"')
    else:
        other.account_id = new_id()
    with unchanged(rpc, *ids):
        refused(method, other, FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED", "request_id")
        # The same key on another RPC is another request too.
        stray = fun.TransferInRequest(
            request_id=request.request_id, account_id=ids[0] if ids else new_id(), asset="USDT", amount="1"
        )
        if name != "TransferIn":
            refused(rpc.funds.TransferIn, stray, FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED", "request_id")


def test_concurrent_duplicates_apply_once(rpc: Rpc) -> None:
    f = _futures(rpc, "0.00000001")
    request = fun.TransferInRequest(request_id=rid(), account_id=f, asset="USDT", amount="1")
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: rpc.funds.TransferIn(request).SerializeToString(), range(32)))
    assert len(set(responses)) == 1
    account = rpc.account(f)
    assert account.version == 3 and account.futures.wallet["USDT"] == "1.00000001"


# ---- optimistic concurrency -----------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in MUTATIONS if n not in {"CreateAccount", *GLOBAL}])
def test_a_stale_expected_version_is_aborted(rpc: Rpc, name: str) -> None:
    method, request, account_id = MUTATIONS[name](rpc)
    assert account_id is not None
    current = rpc.account(account_id).version
    for stale in (current - 1, current + 1, 0):
        request.expected_version = stale
        request.request_id = rid()
        with unchanged(rpc, account_id):
            r = refused(method, request, ABORTED, "VERSION_CONFLICT", "expected_version")
        assert str(current) in r.message
    request.expected_version = current
    request.request_id = rid()
    assert method(request).account.version == current + 1


def test_check_then_act_with_the_returned_version(rpc: Rpc) -> None:
    f = _futures(rpc)
    order = t.FuturesOrder(symbol="ETHUSDT", side=t.SIDE_BUY, price="2900", quantity="1", leverage=10)
    check = rpc.trading.CheckOrder(trd.CheckOrderRequest(account_id=f, futures=order))
    assert check.accepted
    rpc.transfer_in(f, "USDT", "1")  # something changed since the check
    with unchanged(rpc, f):
        refused(
            rpc.trading.PlaceOrder,
            trd.PlaceOrderRequest(
                request_id=rid(), account_id=f, expected_version=check.version, futures=order
            ),
            ABORTED,
            "VERSION_CONFLICT",
            "expected_version",
        )
    check = rpc.trading.CheckOrder(trd.CheckOrderRequest(account_id=f, futures=order))
    placed = rpc.trading.PlaceOrder(
        trd.PlaceOrderRequest(request_id=rid(), account_id=f, expected_version=check.version, futures=order)
    )
    assert placed.account.version == check.version + 1

    # A retry of an applied request with expected_version returns its response, even
    # though that version is stale now.
    request = fun.TransferInRequest(
        request_id=rid(), account_id=f, asset="USDT", amount="2", expected_version=placed.account.version
    )
    first = rpc.funds.TransferIn(request)
    rpc.transfer_in(f, "USDT", "3")
    assert rpc.funds.TransferIn(request).SerializeToString() == first.SerializeToString()

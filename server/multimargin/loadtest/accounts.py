"""The accounts a load test drives, and the request each RPC of the mix sends for each.

Without ``--accounts`` the load test creates its own through the ordinary RPCs, so that
they are real accounts with real state: per pair a MULTI_ASSET-capable futures account
(100,000 USDT, a 0.01 BTCUSDT position at 20×) and a Classic margin account (100,000
USDT and 1 BTC). Missing BTC / BTCUSDT prices are set first (the demo prices). Given
accounts are read with GetAccount to learn their kind and position.

The requests are plain JSON (the protobuf JSON mapping), which the k6 script sends
as they are; a mutating RPC gets a fresh ``request_id`` per call in the script.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format

from multimargin.loadtest.mix import RPCS
from multimargin.state.demo import INDEX, MARKS
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import account_service_pb2_grpc as acc_grpc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import funds_service_pb2_grpc as fun_grpc
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import market_data_service_pb2_grpc as mkt_grpc
from multimargin.v1 import trading_service_pb2 as trd
from multimargin.v1 import trading_service_pb2_grpc as trd_grpc
from multimargin.v1 import types_pb2 as t

SYMBOL = "BTCUSDT"
BASE, QUOTE = "BTC", "USDT"
ORDER_QUANTITY = "0.01"
ORDER_LEVERAGE = 10
TIMEOUT = 10.0


@dataclass(frozen=True)
class Target:
    """Where the server is and how to talk to it."""

    address: str
    token: str | None = None
    tls: bool = False

    def metadata(self) -> list[tuple[str, str]]:
        """Call metadata: the bearer token, when there is one."""
        return [("authorization", f"Bearer {self.token}")] if self.token else []

    def channel(self) -> grpc.Channel:
        """A blocking channel to the server."""
        if self.tls:
            return grpc.secure_channel(self.address, grpc.ssl_channel_credentials())
        return grpc.insecure_channel(self.address)


@dataclass(frozen=True)
class Account:
    """An account under load: its id, kind and whether it holds a BTCUSDT position."""

    account_id: str
    futures: bool
    has_position: bool


def _prices(stub: Any, target: Target) -> tuple[dict[str, str], dict[str, str]]:
    reply = stub.GetPrices(mkt.GetPricesRequest(), timeout=TIMEOUT, metadata=target.metadata())
    return dict(reply.index_prices), dict(reply.mark_prices)


def ensure_prices(channel: grpc.Channel, target: Target) -> tuple[str, str]:
    """Set the demo BTC index / BTCUSDT mark price when missing; (index, mark) of BTC."""
    stub = mkt_grpc.MarketDataServiceStub(channel)  # type: ignore[no-untyped-call]
    index, marks = _prices(stub, target)
    missing_index = {a: INDEX[a] for a in (BASE,) if a not in index}
    missing_marks = {s: MARKS[s] for s in (SYMBOL,) if s not in marks}
    if missing_index or missing_marks:
        stub.UpdatePrices(
            mkt.UpdatePricesRequest(
                request_id=f"loadtest-{uuid.uuid4().hex}",
                index_prices=missing_index,
                mark_prices=missing_marks,
            ),
            timeout=TIMEOUT,
            metadata=target.metadata(),
        )
        index, marks = _prices(stub, target)
    return index[BASE], marks[SYMBOL]


def create_accounts(channel: grpc.Channel, target: Target, pairs: int, mark: str) -> list[Account]:
    """Create ``pairs`` futures and margin accounts, funded; interleaved futures, margin, ..."""
    run = uuid.uuid4().hex[:8]
    md = target.metadata()
    accounts = acc_grpc.AccountServiceStub(channel)  # type: ignore[no-untyped-call]
    funds = fun_grpc.FundsServiceStub(channel)  # type: ignore[no-untyped-call]
    trading = trd_grpc.TradingServiceStub(channel)  # type: ignore[no-untyped-call]

    def rid() -> str:
        return f"loadtest-{uuid.uuid4().hex}"

    def transfer(account_id: str, asset: str, amount: str) -> None:
        funds.TransferIn(
            fun.TransferInRequest(request_id=rid(), account_id=account_id, asset=asset, amount=amount),
            timeout=TIMEOUT,
            metadata=md,
        )

    out = []
    for i in range(pairs):
        fid, mid = f"loadtest-{run}-f{i}", f"loadtest-{run}-m{i}"
        for account_id, kind in ((fid, t.ACCOUNT_KIND_FUTURES), (mid, t.ACCOUNT_KIND_MARGIN)):
            accounts.CreateAccount(
                acc.CreateAccountRequest(request_id=rid(), account_id=account_id, kind=kind),
                timeout=TIMEOUT,
                metadata=md,
            )
            transfer(account_id, QUOTE, "100000")
        transfer(mid, BASE, "1")
        position = t.Position(symbol=SYMBOL, size=ORDER_QUANTITY, entry_price=mark, leverage=20)
        trading.SetPosition(
            trd.SetPositionRequest(request_id=rid(), account_id=fid, position=position),
            timeout=TIMEOUT,
            metadata=md,
        )
        out.append(Account(fid, futures=True, has_position=True))
        out.append(Account(mid, futures=False, has_position=False))
    return out


def describe_accounts(channel: grpc.Channel, target: Target, ids: Sequence[str]) -> list[Account]:
    """Read the given accounts' kind and whether they hold a BTCUSDT position."""
    stub = acc_grpc.AccountServiceStub(channel)  # type: ignore[no-untyped-call]
    out = []
    for account_id in ids:
        reply = stub.GetAccount(
            acc.GetAccountRequest(account_id=account_id), timeout=TIMEOUT, metadata=target.metadata()
        )
        account = reply.account
        futures = account.kind == t.ACCOUNT_KIND_FUTURES
        has_position = futures and any(p.symbol == SYMBOL for p in account.futures.positions)
        out.append(Account(account_id, futures=futures, has_position=has_position))
    return out


def _json(message: Any) -> dict[str, Any]:
    body: dict[str, Any] = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return body


def requests_for(account: Account, index: str, mark: str) -> dict[str, dict[str, Any]]:
    """The request body of every RPC for ``account`` (request_id is set per call)."""
    if account.futures:
        order = t.FuturesOrder(symbol=SYMBOL, side=t.SIDE_BUY, price=mark, quantity=ORDER_QUANTITY)
        if not account.has_position:
            order.leverage = ORDER_LEVERAGE
        check = trd.CheckOrderRequest(account_id=account.account_id, futures=order)
    else:
        margin_order = t.MarginOrder(
            base=BASE, quote=QUOTE, side=t.SIDE_BUY, price=index, quantity=ORDER_QUANTITY
        )
        check = trd.CheckOrderRequest(account_id=account.account_id, margin=margin_order)
    bodies: dict[str, dict[str, Any]] = {
        "CheckOrder": _json(check),
        "GetRiskSummary": {"account_id": account.account_id},
        "GetAccount": {"account_id": account.account_id},
        "TransferIn": {"account_id": account.account_id, "asset": QUOTE, "amount": "1"},
        "GetPrices": {},
        "Health/Check": {},
    }
    assert set(bodies) == set(RPCS)
    return bodies

"""Helpers of the RPC tests (``test_rpc_*.py``) against a real ``multimargin serve``.

Imported as ``rpckit`` (this folder is on ``sys.path``)::

    with rpckit.serving(tmp_path / "data") as (server, rpc):   # prices set, SIGTERM at the end
        account_id = rpc.create("FUTURES").account_id
        rpc.funds.TransferIn(rpckit.fun.TransferInRequest(request_id=rpckit.rid(), ...))
        with rpckit.unchanged(rpc, account_id):
            rpckit.refused(rpc.funds.TransferOut, request, FAILED_PRECONDITION, "EXCEEDS_MAX_TRANSFER")

* :class:`Rpc` holds one stub per service; every call gets a deadline unless it names one.
* :func:`refused` makes a call that must fail and checks its status code, its single
  ``google.rpc.ErrorInfo`` (reason, domain ``multimargin``, ``metadata["field"]``).
* :func:`unchanged` asserts that a block changed nothing: the engine's state hash and
  journal position, and the given accounts (messages and versions).
* :func:`scenario_of` / :func:`risk_result` turn what the server reports into a SPEC §10
  scenario and result, to compare the service with :func:`multimargin.evaluate`.
* :func:`populate` makes a varied state (every kind of mutation); :func:`observe` reads
  back everything a client can see, for before/after comparisons across restarts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import grpc
import multimargin
import pytest
import serverkit
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import account_service_pb2_grpc as acc_grpc
from multimargin.v1 import event_service_pb2_grpc as ev_grpc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import funds_service_pb2_grpc as fun_grpc
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import market_data_service_pb2_grpc as mkt_grpc
from multimargin.v1 import operator_service_pb2 as op
from multimargin.v1 import operator_service_pb2_grpc as op_grpc
from multimargin.v1 import risk_service_pb2 as risk
from multimargin.v1 import risk_service_pb2_grpc as risk_grpc
from multimargin.v1 import trading_service_pb2 as trd
from multimargin.v1 import trading_service_pb2_grpc as trd_grpc
from multimargin.v1 import types_pb2 as t

__all__ = ["acc", "fun", "mkt", "op", "risk", "t", "trd"]

#: Deadline of every call that does not name one (generous: CI machines are slow).
DEADLINE = 30.0
DOMAIN = "multimargin"

OK = grpc.StatusCode.OK
INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
ABORTED = grpc.StatusCode.ABORTED
RESOURCE_EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED

#: Prices most modules start from: every asset and contract of the default rulebook
#: priced, so any account can be evaluated.
INDEX = {"BTC": "60000", "ETH": "3000", "USDC": "1", "SOL": "150", "MX": "3", "DOGE": "0.1"}
MARKS = {
    "BTCUSDT": "60000",
    "ETHUSDT": "3000",
    "SOLUSDT": "150",
    "BTCUSDC": "60000",
    "ETHUSDC": "3000",
    "TSLAUSDT": "250",
    "BTCUSD": "60000",
}


STEP = Decimal("0.00000001")


def ceil8(x: Decimal) -> Decimal:
    """Rounded up to 8 fractional digits (SPEC §1, against the holder)."""
    return x.quantize(STEP, rounding=ROUND_CEILING)


def wire(x: Decimal) -> str:
    """SPEC §1 output form: no exponent, no trailing zeros, "0" for zero."""
    if x == 0:
        return "0"
    text = format(x, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def rid() -> str:
    """A fresh idempotency key."""
    return f"rid-{uuid.uuid4().hex}"


def new_id(prefix: str = "acct") -> str:
    """A fresh account (or order) id, unique across the tests of a shared server."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# ---- stubs with a default deadline --------------------------------------------------


class _Method:
    def __init__(self, multicallable: Any) -> None:
        self._m = multicallable

    def __call__(self, request: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", DEADLINE)
        return self._m(request, **kwargs)

    def with_call(self, request: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", DEADLINE)
        return self._m.with_call(request, **kwargs)

    def future(self, request: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", DEADLINE)
        return self._m.future(request, **kwargs)


class _Stub:
    def __init__(self, stub: Any) -> None:
        self._stub = stub

    def __getattr__(self, name: str) -> _Method:
        return _Method(getattr(self._stub, name))


class Rpc:
    """One stub per service of the contract, over ``channel``."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.accounts: Any = _Stub(acc_grpc.AccountServiceStub(channel))
        self.funds: Any = _Stub(fun_grpc.FundsServiceStub(channel))
        self.trading: Any = _Stub(trd_grpc.TradingServiceStub(channel))
        self.risk: Any = _Stub(risk_grpc.RiskServiceStub(channel))
        self.market: Any = _Stub(mkt_grpc.MarketDataServiceStub(channel))
        self.operator: Any = _Stub(op_grpc.OperatorServiceStub(channel))
        self.events: Any = ev_grpc.EventServiceStub(channel)

    # -- reads --

    def account(self, account_id: str) -> t.Account:
        return self.accounts.GetAccount(acc.GetAccountRequest(account_id=account_id)).account

    def risk_of(self, account_id: str) -> t.RiskSummary:
        return self.risk.GetRiskSummary(risk.GetRiskSummaryRequest(account_id=account_id)).risk

    def status(self) -> op.GetEngineStatusResponse:
        return self.operator.GetEngineStatus(op.GetEngineStatusRequest())

    def prices(self) -> mkt.GetPricesResponse:
        return self.market.GetPrices(mkt.GetPricesRequest())

    def all_account_ids(self) -> list[str]:
        ids: list[str] = []
        token = ""
        while True:
            page = self.accounts.ListAccounts(acc.ListAccountsRequest(page_size=1000, page_token=token))
            ids.extend(a.account_id for a in page.accounts)
            if not page.next_page_token:
                return ids
            token = page.next_page_token

    # -- common mutations --

    def set_prices(
        self, index: Mapping[str, str] | None = None, marks: Mapping[str, str] | None = None
    ) -> mkt.UpdatePricesResponse:
        return self.market.UpdatePrices(
            mkt.UpdatePricesRequest(request_id=rid(), index_prices=index or {}, mark_prices=marks or {})
        )

    def create(self, kind: str, account_id: str | None = None, **kwargs: Any) -> t.Account:
        request = acc.CreateAccountRequest(
            request_id=rid(),
            account_id=account_id or new_id(kind.lower()),
            kind=t.ACCOUNT_KIND_FUTURES if kind == "FUTURES" else t.ACCOUNT_KIND_MARGIN,
            **kwargs,
        )
        return self.accounts.CreateAccount(request).account

    def transfer_in(self, account_id: str, asset: str, amount: str) -> fun.TransferInResponse:
        return self.funds.TransferIn(
            fun.TransferInRequest(request_id=rid(), account_id=account_id, asset=asset, amount=amount)
        )

    def post(self, account_id: str, *entries: tuple[str, str]) -> t.Account:
        """Posts (asset, signed amount) ledger entries of kind REALIZED_PNL."""
        request = fun.PostLedgerEntriesRequest(request_id=rid(), account_id=account_id)
        for asset, amount in entries:
            request.entries.add(kind=t.LEDGER_ENTRY_KIND_REALIZED_PNL, asset=asset, amount=amount)
        return self.funds.PostLedgerEntries(request).account

    def borrow(self, account_id: str, asset: str, amount: str) -> fun.BorrowResponse:
        return self.funds.Borrow(
            fun.BorrowRequest(request_id=rid(), account_id=account_id, asset=asset, amount=amount)
        )

    def set_position(self, account_id: str, **position: Any) -> t.Account:
        request = trd.SetPositionRequest(
            request_id=rid(), account_id=account_id, position=t.Position(**position)
        )
        return self.trading.SetPosition(request).account

    def place_futures(self, account_id: str, **order: Any) -> trd.PlaceOrderResponse:
        request = trd.PlaceOrderRequest(
            request_id=rid(), account_id=account_id, futures=t.FuturesOrder(**order)
        )
        return self.trading.PlaceOrder(request)

    def place_margin(self, account_id: str, **order: Any) -> trd.PlaceOrderResponse:
        request = trd.PlaceOrderRequest(
            request_id=rid(), account_id=account_id, margin=t.MarginOrder(**order)
        )
        return self.trading.PlaceOrder(request)

    def accept_terms(self, account_id: str) -> t.Account:
        request = acc.AcceptProTermsRequest(
            request_id=rid(), account_id=account_id, quiz_passed=True, terms_version="v1"
        )
        return self.accounts.AcceptProTerms(request).account

    def switch(self, account_id: str, mode: int) -> t.Account:
        request = acc.SwitchModeRequest(request_id=rid(), account_id=account_id, target_mode=mode)
        return self.accounts.SwitchMode(request).account

    def check_switch(self, account_id: str, mode: int) -> acc.CheckModeSwitchResponse:
        return self.accounts.CheckModeSwitch(
            acc.CheckModeSwitchRequest(account_id=account_id, target_mode=mode)
        )


# ---- servers ------------------------------------------------------------------------


@contextmanager
def serving(data_dir: Path, *args: str, prices: bool = True) -> Iterator[tuple[serverkit.ServerProcess, Rpc]]:
    """A real server over ``data_dir`` (stopped with SIGTERM, exit 0 asserted); with
    ``prices`` the :data:`INDEX` and :data:`MARKS` prices are set first."""
    with serverkit.running_server(data_dir, *args) as server:
        rpc = Rpc(server.channel)
        if prices:
            rpc.set_prices(INDEX, MARKS)
        yield server, rpc


def rulebook_file(directory: Path, edit: Mapping[tuple[str, ...], Any]) -> tuple[Path, dict[str, Any]]:
    """The default rulebook with ``edit`` applied ({path: value}), written to a file."""
    rules = json.loads(multimargin.default_rulebook_json())
    for path, value in edit.items():
        node = rules
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    target = directory / "rulebook.json"
    target.write_text(json.dumps(rules), "utf-8")
    return target, rules


# ---- refusals -----------------------------------------------------------------------


@dataclass
class Refusal:
    """What a failed call carried."""

    code: grpc.StatusCode
    message: str
    reason: str
    domain: str
    metadata: dict[str, str]
    violations: list[tuple[str, str]] = field(default_factory=list)

    @property
    def field(self) -> str | None:
        return self.metadata.get("field")


def refusal_of(error: grpc.RpcError) -> Refusal:
    """The status code, the one ErrorInfo and any PreconditionFailure of a failed call."""
    assert isinstance(error, grpc.Call)
    status = rpc_status.from_call(error)
    assert status is not None, f"no google.rpc.Status details on {error.code()}: {error.details()}"
    infos = []
    violations: list[tuple[str, str]] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            infos.append(info)
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            violations.extend((v.type, v.description) for v in failure.violations)
    assert len(infos) == 1, f"expected exactly one ErrorInfo, got {infos}"
    return Refusal(
        code=error.code(),
        message=status.message,
        reason=infos[0].reason,
        domain=infos[0].domain,
        metadata=dict(infos[0].metadata),
        violations=violations,
    )


_ANY = object()


def refused(
    method: Any,
    request: Any,
    code: grpc.StatusCode,
    reason: str,
    field: str | object | None = _ANY,
) -> Refusal:
    """Calls ``method(request)``, which must fail with ``code`` and an ErrorInfo of
    ``reason`` in domain ``multimargin``; with ``field`` given (None = no field), its
    ``metadata["field"]`` must be that."""
    with pytest.raises(grpc.RpcError) as failed:
        method(request)
    r = refusal_of(failed.value)
    assert (r.code, r.reason) == (code, reason), r
    assert r.domain == DOMAIN, r
    if field is not _ANY:
        assert r.field == field, r
    if r.field and not r.violations:
        assert r.field in r.message, r  # the message names the field
    return r


# ---- "nothing changed" --------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """The engine's state hash and journal position, and some accounts' bytes."""

    state_hash: str
    journal_seq: int
    accounts: tuple[bytes, ...]


def state(rpc: Rpc, *account_ids: str) -> State:
    status = rpc.status()
    return State(
        status.state_hash,
        status.journal_seq,
        tuple(rpc.account(i).SerializeToString(deterministic=True) for i in account_ids),
    )


@contextmanager
def unchanged(rpc: Rpc, *account_ids: str) -> Iterator[None]:
    """Asserts that the block changed nothing in the engine (same state hash, nothing
    journaled) nor in the given accounts."""
    before = state(rpc, *account_ids)
    yield
    assert state(rpc, *account_ids) == before


# ---- SPEC §10: scenario and result of what the server reports ----------------------------

_MODE = {v: k.removeprefix("ACCOUNT_MODE_") for k, v in t.AccountMode.items()}
_KIND = {v: k.removeprefix("ACCOUNT_KIND_") for k, v in t.AccountKind.items()}
_SIDE = {t.SIDE_BUY: "BUY", t.SIDE_SELL: "SELL"}


def scenario_of(
    account: t.Account, prices: mkt.GetPricesResponse, rulebook: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The SPEC §10 scenario of an account as the server reports it, at the given prices."""
    a: dict[str, Any] = {"kind": _KIND[account.kind], "mode": _MODE[account.mode]}
    if account.region:
        a["region"] = account.region
    if account.WhichOneof("state") == "futures":
        f = account.futures
        a["wallet"] = dict(f.wallet)
        a["positions"] = []
        for p in f.positions:
            pos: dict[str, Any] = {
                "symbol": p.symbol,
                "size": p.size,
                "entry_price": p.entry_price,
                "leverage": p.leverage,
            }
            if p.isolated:
                pos.update(isolated=True, isolated_margin=p.isolated_margin or "0")
            if p.airdrop:
                pos["airdrop"] = True
            a["positions"].append(pos)
        a["orders"] = []
        for o in f.orders:
            order: dict[str, Any] = {
                "symbol": o.symbol,
                "side": _SIDE[o.side],
                "price": o.price,
                "quantity": o.quantity,
            }
            if o.HasField("leverage"):
                order["leverage"] = o.leverage
            a["orders"].append(order)
    else:
        m = account.margin
        a.update(
            holdings=dict(m.holdings),
            borrowed=dict(m.borrowed),
            interest=dict(m.interest),
            classic_leverage=m.classic_leverage,
            mcr={"CLASSIC": m.mcr_classic, "PRO": m.mcr_pro},
            orders=[
                {
                    "base": o.base,
                    "quote": o.quote,
                    "side": _SIDE[o.side],
                    "price": o.price,
                    "quantity": o.quantity,
                }
                for o in m.orders
            ],
        )
    out: dict[str, Any] = {
        "prices": dict(prices.index_prices),
        "marks": dict(prices.mark_prices),
        "account": a,
    }
    if rulebook is not None:
        out["rulebook"] = rulebook
    return out


_CLASSIC_KEYS = (
    "total_asset_value",
    "total_liability_value",
    "collateral_value",
    "margin_level",
    "collateral_margin_level",
    "liquidatable",
    "margin_call",
    "max_borrow",
    "max_transfer_out",
)
_PRO_KEYS = (
    "total_asset_value",
    "total_liability_value",
    "collateral_value",
    "net_collateral",
    "open_order_loss",
    "initial_margin",
    "maintenance_margin",
    "available",
    "margin_level",
    "liquidatable",
    "margin_call",
    "max_borrow",
    "max_transfer_out",
)


_ALWAYS_SET = (
    "liquidatable",
    "margin_call",
    "total_asset_value",
    "total_liability_value",
    "collateral_value",
)


def risk_result(summary: t.RiskSummary, mode: int) -> dict[str, Any]:
    """A wire RiskSummary as the SPEC §10 result of an account in ``mode`` (absent
    optional fields as None, maps as dicts)."""

    def opt(msg: Any, name: str) -> str | None:
        return getattr(msg, name) if msg.HasField(name) else None

    if summary.WhichOneof("kind") == "futures":
        f = summary.futures
        return {
            "pools": [
                {
                    "id": p.id,
                    "effective_margin": p.effective_margin,
                    "initial_margin": p.initial_margin,
                    "maintenance_margin": p.maintenance_margin,
                    "available": p.available,
                    "margin_level": opt(p, "margin_level"),
                    "liquidatable": p.liquidatable,
                    "equity": dict(p.equity),
                    "value": dict(p.value),
                }
                for p in f.pools
            ],
            "liquidatable": f.liquidatable,
            "max_transfer_out": dict(f.max_transfer_out),
        }
    m = summary.margin
    keys = _PRO_KEYS if mode == t.ACCOUNT_MODE_PRO else _CLASSIC_KEYS
    out: dict[str, Any] = {}
    for key in keys:
        if key in ("max_borrow", "max_transfer_out"):
            out[key] = dict(getattr(m, key))
        elif key in _ALWAYS_SET:
            out[key] = getattr(m, key)
        else:
            out[key] = opt(m, key)
    if mode != t.ACCOUNT_MODE_PRO:  # Pro-only figures are absent in Classic
        assert not any(m.HasField(k) for k in ("net_collateral", "open_order_loss", "available")), m
    return out


# ---- a varied engine state -----------------------------------------------------------------


def populate(rpc: Rpc) -> list[str]:
    """A mix of every kind of mutation over several accounts of both kinds, including an
    account liquidated and one whose orders were cancelled by a price update; returns
    the ids of the accounts created."""
    rpc.set_prices(INDEX, MARKS)
    ids: list[str] = []

    def create(kind: str, **kwargs: Any) -> str:
        account_id = rpc.create(kind, **kwargs).account_id
        ids.append(account_id)
        return account_id

    # Futures, SINGLE_ASSET: cross and isolated positions, orders, flags, a cancel.
    f = create("FUTURES", region="JP")
    rpc.transfer_in(f, "USDT", "5000")
    rpc.transfer_in(f, "USDC", "1500.5")
    rpc.set_position(f, symbol="BTCUSDT", size="0.1", entry_price="58000", leverage=20)
    rpc.set_position(
        f, symbol="SOLUSDT", size="-10", entry_price="155", leverage=5, isolated=True, isolated_margin="300"
    )
    kept = rpc.place_futures(
        f, symbol="ETHUSDT", side=t.SIDE_BUY, price="2900", quantity="1", leverage=25
    ).order_id
    dropped = rpc.place_futures(
        f, symbol="BTCUSDC", side=t.SIDE_SELL, price="61000", quantity="0.01", leverage=10
    )
    rpc.trading.CancelOrder(trd.CancelOrderRequest(request_id=rid(), account_id=f, order_id=dropped.order_id))
    rpc.accounts.SetAccountFlags(
        acc.SetAccountFlagsRequest(request_id=rid(), account_id=f, copy_trading=True)
    )
    rpc.post(f, ("USDT", "-12.34"), ("USDC", "7"))
    rpc.funds.TransferOut(fun.TransferOutRequest(request_id=rid(), account_id=f, asset="USDC", amount="100"))
    assert kept

    # Futures, MULTI_ASSET: collateral in several assets, a debt, a repayment by BTC.
    g = create("FUTURES")
    rpc.switch(g, t.ACCOUNT_MODE_MULTI_ASSET)
    for asset, amount in (("BTC", "0.5"), ("ETH", "150"), ("MX", "20000")):
        rpc.transfer_in(g, asset, amount)
    rpc.post(g, ("USDT", "-3000"))
    rpc.funds.Repay(
        fun.RepayRequest(request_id=rid(), account_id=g, asset="USDT", amount="1000", payer_asset="BTC")
    )
    rpc.transfer_in(g, "USDT", "500")
    rpc.set_position(g, symbol="ETHUSDC", size="-3", entry_price="3050", leverage=20)

    # Margin, CLASSIC: borrow, orders, MCR and leverage settings.
    m = create("MARGIN", region="FR")
    rpc.transfer_in(m, "USDT", "10000")
    rpc.transfer_in(m, "ETH", "3")
    rpc.borrow(m, "USDT", "5000")
    rpc.borrow(m, "BTC", "0.01")
    rpc.place_margin(m, base="ETH", quote="USDT", side=t.SIDE_SELL, price="3100", quantity="1")
    rpc.accounts.SetMarginCallRatio(
        acc.SetMarginCallRatioRequest(
            request_id=rid(), account_id=m, mode=t.ACCOUNT_MODE_CLASSIC, ratio="1.45"
        )
    )
    rpc.accounts.SetClassicLeverage(acc.SetClassicLeverageRequest(request_id=rid(), account_id=m, leverage=5))
    rpc.funds.Repay(fun.RepayRequest(request_id=rid(), account_id=m, asset="USDT", amount="100.5"))

    # Margin, PRO: terms, switch, a loan repaid in another asset.
    p = create("MARGIN")
    rpc.transfer_in(p, "USDT", "3000")
    rpc.transfer_in(p, "BTC", "0.2")
    rpc.accept_terms(p)
    rpc.switch(p, t.ACCOUNT_MODE_PRO)
    rpc.borrow(p, "USDC", "2000")
    rpc.funds.Repay(
        fun.RepayRequest(request_id=rid(), account_id=p, asset="USDC", amount="500", payer_asset="BTC")
    )
    rpc.place_margin(p, base="SOL", quote="USDT", side=t.SIDE_BUY, price="150", quantity="4")

    # Liquidated on a price update (futures), and orders cancelled by one (Pro).
    x = create("FUTURES")
    rpc.transfer_in(x, "USDT", "1000")
    rpc.set_position(x, symbol="BTCUSDT", size="1", entry_price="60000", leverage=100)
    rpc.place_futures(x, symbol="ETHUSDT", side=t.SIDE_BUY, price="3000", quantity="0.1", leverage=10)
    q = create("MARGIN")
    rpc.transfer_in(q, "USDT", "20000")
    rpc.accept_terms(q)
    rpc.switch(q, t.ACCOUNT_MODE_PRO)
    rpc.borrow(q, "USDT", "40000")
    rpc.place_margin(q, base="BTC", quote="USDT", side=t.SIDE_BUY, price="60000", quantity="1")
    rpc.set_prices({"BTC": "41000"}, {"BTCUSDT": "59000"})
    assert rpc.account(x).status == t.ACCOUNT_STATUS_LIQUIDATING
    assert not rpc.account(q).margin.orders
    rpc.set_prices({"BTC": "60500", "ETH": "3010.25"}, {"BTCUSDT": "60400"})
    return ids


@dataclass(frozen=True)
class Observed:
    """Everything a client can read of the engine, as bytes (for exact comparison).
    ``snapshot_seq`` is where the last snapshot is, not state: not compared."""

    state_hash: str
    journal_seq: int
    prices: bytes
    accounts: dict[str, bytes]  # GetAccount responses (account and risk)
    listing: bytes
    snapshot_seq: int = field(compare=False)


def observe(rpc: Rpc) -> Observed:
    ids = rpc.all_account_ids()
    listing = rpc.accounts.ListAccounts(acc.ListAccountsRequest(page_size=1000))
    status = rpc.status()
    assert status.accounts == len(ids)
    return Observed(
        state_hash=status.state_hash,
        journal_seq=status.journal_seq,
        snapshot_seq=status.snapshot_seq,
        prices=rpc.prices().SerializeToString(deterministic=True),
        accounts={
            i: rpc.accounts.GetAccount(acc.GetAccountRequest(account_id=i)).SerializeToString(
                deterministic=True
            )
            for i in ids
        },
        listing=listing.SerializeToString(deterministic=True),
    )


def recovered_records(server: serverkit.ServerProcess) -> list[dict[str, Any]]:
    """The engine's "recovered" log records, one per start, oldest first."""
    return [r for r in server.log_records() if r.get("message") == "recovered"]

"""A typed Python client of the multimargin gRPC service.

>>> from decimal import Decimal
>>> from multimargin.client import Client
>>> with Client("127.0.0.1:50051") as c:                        # doctest: +SKIP
...     c.create_account("alice", "FUTURES")
...     c.transfer_in("alice", "USDT", Decimal("1000"))
...     c.get_risk_summary("alice")["pools"][0]["available"]
Decimal('1000')

* Amounts go in as :class:`~decimal.Decimal` (or decimal strings) and come out as
  ``Decimal``; they travel as SPEC §1 strings.
* Every call has a deadline (``timeout``, 5 s by default).
* Every mutation gets a ``request_id`` (a UUID unless given). The client retries calls
  that failed in transit (UNAVAILABLE, DEADLINE_EXCEEDED) with the **same** id, so a
  retry can never apply a change twice.
* Refusals raise the :mod:`multimargin.errors` exception of their SPEC §11 reason, with
  ``reason`` and ``field`` from the status's ``google.rpc.ErrorInfo``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from multimargin.errors import (
    AccountNotFoundError,
    InternalError,
    InvalidInputError,
    MarginError,
    PriceUnavailableError,
    RuleViolationError,
    VersionConflictError,
)
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import account_service_pb2_grpc as acc_grpc
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

Amount = Decimal | str | int

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
_KIND: dict[str, Any] = {"FUTURES": t.ACCOUNT_KIND_FUTURES, "MARGIN": t.ACCOUNT_KIND_MARGIN}
_MODE: dict[str, Any] = {
    "SINGLE_ASSET": t.ACCOUNT_MODE_SINGLE_ASSET,
    "MULTI_ASSET": t.ACCOUNT_MODE_MULTI_ASSET,
    "CLASSIC": t.ACCOUNT_MODE_CLASSIC,
    "PRO": t.ACCOUNT_MODE_PRO,
}
_SIDE: dict[str, Any] = {"BUY": t.SIDE_BUY, "SELL": t.SIDE_SELL}
_LEDGER: dict[str, Any] = {
    "REALIZED_PNL": t.LEDGER_ENTRY_KIND_REALIZED_PNL,
    "FEE": t.LEDGER_ENTRY_KIND_FEE,
    "FUNDING": t.LEDGER_ENTRY_KIND_FUNDING,
    "TRADE": t.LEDGER_ENTRY_KIND_TRADE,
}


def _s(x: Amount) -> str:
    """A decimal for the wire: plain notation, never an exponent, and no trailing zeros
    after the point (``Decimal("0.300000000")`` is 0.3, which has a valid wire form)."""
    if isinstance(x, Decimal):
        text = format(x, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    return str(x)


def _d(text: str) -> Decimal:
    return Decimal(text) if text else Decimal(0)


def _dmap(m: Mapping[str, str]) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in sorted(m.items())}


def _name(enum: Any, value: int) -> str:
    return str(enum.Name(value)).split("_", 2)[-1] if value else ""


@dataclass(frozen=True)
class Account:
    """An account as the server reports it."""

    account_id: str
    kind: str
    mode: str
    region: str
    status: str
    version: int
    sub_account: bool = False
    copy_trading: bool = False
    wallet: dict[str, Decimal] = field(default_factory=dict)
    positions: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    holdings: dict[str, Decimal] = field(default_factory=dict)
    borrowed: dict[str, Decimal] = field(default_factory=dict)
    interest: dict[str, Decimal] = field(default_factory=dict)
    margin: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def of(m: t.Account) -> Account:
        """From the wire message."""
        common: dict[str, Any] = {
            "account_id": m.account_id,
            "kind": _name(t.AccountKind, m.kind),
            "mode": {v: k for k, v in _MODE.items()}.get(m.mode, ""),
            "region": m.region,
            "status": _name(t.AccountStatus, m.status),
            "version": m.version,
            "sub_account": m.flags.sub_account,
            "copy_trading": m.flags.copy_trading,
        }
        if m.WhichOneof("state") == "futures":
            f = m.futures
            return Account(
                **common,
                wallet=_dmap(f.wallet),
                positions=[
                    {
                        "symbol": p.symbol,
                        "size": _d(p.size),
                        "entry_price": _d(p.entry_price),
                        "leverage": p.leverage,
                        "isolated": p.isolated,
                        "isolated_margin": _d(p.isolated_margin),
                        "airdrop": p.airdrop,
                    }
                    for p in f.positions
                ],
                orders=[
                    {
                        "order_id": o.order_id,
                        "symbol": o.symbol,
                        "side": _name(t.Side, o.side),
                        "price": _d(o.price),
                        "quantity": _d(o.quantity),
                        "leverage": o.leverage if o.HasField("leverage") else None,
                    }
                    for o in f.orders
                ],
            )
        ms = m.margin
        return Account(
            **common,
            holdings=_dmap(ms.holdings),
            borrowed=_dmap(ms.borrowed),
            interest=_dmap(ms.interest),
            orders=[
                {
                    "order_id": o.order_id,
                    "base": o.base,
                    "quote": o.quote,
                    "side": _name(t.Side, o.side),
                    "price": _d(o.price),
                    "quantity": _d(o.quantity),
                }
                for o in ms.orders
            ],
            margin={
                "classic_leverage": ms.classic_leverage,
                "pro_terms_accepted": ms.pro_terms_accepted,
                "pro_terms_version": ms.pro_terms_version,
                "mcr_classic": _d(ms.mcr_classic),
                "mcr_pro": _d(ms.mcr_pro),
                "pro_entered": ms.pro_entered,
            },
        )


def risk_dict(r: t.RiskSummary) -> dict[str, Any]:
    """A risk summary as the SPEC §10 result, numbers as ``Decimal``, absent levels None."""
    if r.WhichOneof("kind") == "futures":
        return {
            "pools": [
                {
                    "id": p.id,
                    "effective_margin": _d(p.effective_margin),
                    "initial_margin": _d(p.initial_margin),
                    "maintenance_margin": _d(p.maintenance_margin),
                    "available": _d(p.available),
                    "margin_level": _d(p.margin_level) if p.HasField("margin_level") else None,
                    "liquidatable": p.liquidatable,
                    "equity": _dmap(p.equity),
                    "value": _dmap(p.value),
                }
                for p in r.futures.pools
            ],
            "liquidatable": r.futures.liquidatable,
            "max_transfer_out": _dmap(r.futures.max_transfer_out),
        }
    m = r.margin
    out: dict[str, Any] = {
        "total_asset_value": _d(m.total_asset_value),
        "total_liability_value": _d(m.total_liability_value),
        "collateral_value": _d(m.collateral_value),
    }
    for key in (
        "net_collateral",
        "open_order_loss",
        "initial_margin",
        "maintenance_margin",
        "available",
        "margin_level",
        "collateral_margin_level",
    ):
        out[key] = _d(getattr(m, key)) if m.HasField(key) else None
    out.update(
        liquidatable=m.liquidatable,
        margin_call=m.margin_call,
        max_borrow=_dmap(m.max_borrow),
        max_transfer_out=_dmap(m.max_transfer_out),
    )
    return out


@dataclass(frozen=True)
class OrderCheck:
    """The answer of CheckOrder."""

    accepted: bool
    rejections: list[tuple[str, str]]
    order_initial_margin: Decimal | None
    available: Decimal
    version: int


def error_from(e: grpc.RpcError) -> BaseException:
    """The :mod:`multimargin.errors` exception of a refused call (or ``e`` itself for
    transport failures)."""
    code = e.code() if isinstance(e, grpc.Call) else None
    message = e.details() if isinstance(e, grpc.Call) else str(e)
    reason, fld, conditions = "", None, []
    status = rpc_status.from_call(e) if isinstance(e, grpc.Call) else None
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, fld = info.reason, info.metadata.get("field") or None
            elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
                pf = error_details_pb2.PreconditionFailure()
                detail.Unpack(pf)
                conditions = [(v.type, v.description) for v in pf.violations]
    message = message or ""
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidInputError(message, reason or "INVALID_ARGUMENT", fld)
    if code == grpc.StatusCode.NOT_FOUND:
        return AccountNotFoundError(message, reason or "ACCOUNT_NOT_FOUND", fld)
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        if reason == "PRICE_UNAVAILABLE":
            return PriceUnavailableError(message, reason, fld)
        return RuleViolationError(message, reason or "FAILED_PRECONDITION", fld, conditions or None)
    if code == grpc.StatusCode.ABORTED:
        return VersionConflictError(message, reason or "VERSION_CONFLICT", fld)
    if code == grpc.StatusCode.INTERNAL:
        return InternalError(message, reason or "INTERNAL", fld)
    transport: BaseException = e
    return transport


class Client:
    """A blocking client over one channel (see the module documentation)."""

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.05,
        channel: grpc.Channel | None = None,
    ) -> None:
        self._channel = channel or grpc.insecure_channel(target)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.accounts = acc_grpc.AccountServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self.funds = fun_grpc.FundsServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self.trading = trd_grpc.TradingServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self.risk = risk_grpc.RiskServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self.market = mkt_grpc.MarketDataServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self.operator = op_grpc.OperatorServiceStub(self._channel)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing --------------------------------------------------------------------

    def _call(self, method: Callable[..., Any], request: Any, timeout: float | None = None) -> Any:
        """One RPC with a deadline, retried in transit with the same request (and so the
        same request_id)."""
        attempt = 0
        while True:
            try:
                return method(request, timeout=timeout or self.timeout)
            except grpc.RpcError as e:
                code = e.code() if isinstance(e, grpc.Call) else None
                if code in RETRYABLE and attempt < self.retries:
                    attempt += 1
                    time.sleep(min(1.0, self.backoff * 2 ** (attempt - 1)))
                    continue
                err = error_from(e)
                if err is e:
                    raise
                raise err from None

    @staticmethod
    def _rid(request_id: str | None) -> str:
        return request_id or str(uuid.uuid4())

    @staticmethod
    def _version(req: Any, expected_version: int | None) -> Any:
        if expected_version is not None:
            req.expected_version = expected_version
        return req

    # ---- accounts --------------------------------------------------------------------

    def create_account(
        self,
        account_id: str,
        kind: str,
        *,
        region: str = "",
        sub_account: bool = False,
        copy_trading: bool = False,
        request_id: str | None = None,
    ) -> Account:
        """Creates a FUTURES or MARGIN account."""
        req = acc.CreateAccountRequest(
            request_id=self._rid(request_id),
            account_id=account_id,
            kind=_KIND.get(kind, t.ACCOUNT_KIND_UNSPECIFIED),
            region=region,
            sub_account=sub_account,
            copy_trading=copy_trading,
        )
        return Account.of(self._call(self.accounts.CreateAccount, req).account)

    def get_account(self, account_id: str) -> tuple[Account, dict[str, Any] | None]:
        """The account and its risk summary (None when a price is missing)."""
        r = self._call(self.accounts.GetAccount, acc.GetAccountRequest(account_id=account_id))
        return Account.of(r.account), risk_dict(r.risk) if r.HasField("risk") else None

    def list_accounts(self, page_size: int = 100) -> Iterator[acc.AccountSummary]:
        """Every account, page by page."""
        token = ""
        while True:
            r = self._call(
                self.accounts.ListAccounts, acc.ListAccountsRequest(page_size=page_size, page_token=token)
            )
            yield from r.accounts
            if not r.next_page_token:
                return
            token = r.next_page_token

    def set_account_flags(
        self,
        account_id: str,
        *,
        sub_account: bool | None = None,
        copy_trading: bool | None = None,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Sets the sub-account and/or copy-trading flag of a futures account."""
        req = acc.SetAccountFlagsRequest(request_id=self._rid(request_id), account_id=account_id)
        if sub_account is not None:
            req.sub_account = sub_account
        if copy_trading is not None:
            req.copy_trading = copy_trading
        return Account.of(
            self._call(self.accounts.SetAccountFlags, self._version(req, expected_version)).account
        )

    def accept_pro_terms(
        self,
        account_id: str,
        terms_version: str,
        *,
        quiz_passed: bool = True,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Records that the Pro quiz was passed and the terms accepted."""
        req = acc.AcceptProTermsRequest(
            request_id=self._rid(request_id),
            account_id=account_id,
            quiz_passed=quiz_passed,
            terms_version=terms_version,
        )
        return Account.of(
            self._call(self.accounts.AcceptProTerms, self._version(req, expected_version)).account
        )

    def check_mode_switch(self, account_id: str, target_mode: str) -> tuple[bool, list[tuple[str, str]], int]:
        """(allowed, every unmet condition as (reason, message), version)."""
        r = self._call(
            self.accounts.CheckModeSwitch,
            acc.CheckModeSwitchRequest(account_id=account_id, target_mode=_MODE.get(target_mode, 0)),
        )
        return r.allowed, [(u.reason, u.message) for u in r.unmet], r.version

    def switch_mode(
        self,
        account_id: str,
        target_mode: str,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Switches mode; a refusal lists every unmet condition (``RuleViolationError.conditions``)."""
        req = acc.SwitchModeRequest(
            request_id=self._rid(request_id), account_id=account_id, target_mode=_MODE.get(target_mode, 0)
        )
        return Account.of(self._call(self.accounts.SwitchMode, self._version(req, expected_version)).account)

    def set_margin_call_ratio(
        self,
        account_id: str,
        mode: str,
        ratio: Amount,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Sets the margin-call ratio of a margin mode."""
        req = acc.SetMarginCallRatioRequest(
            request_id=self._rid(request_id), account_id=account_id, mode=_MODE.get(mode, 0), ratio=_s(ratio)
        )
        return Account.of(
            self._call(self.accounts.SetMarginCallRatio, self._version(req, expected_version)).account
        )

    def set_classic_leverage(
        self,
        account_id: str,
        leverage: int,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Sets the Classic leverage (3 or 5)."""
        req = acc.SetClassicLeverageRequest(
            request_id=self._rid(request_id), account_id=account_id, leverage=leverage
        )
        return Account.of(
            self._call(self.accounts.SetClassicLeverage, self._version(req, expected_version)).account
        )

    # ---- money -----------------------------------------------------------------------

    def transfer_in(
        self,
        account_id: str,
        asset: str,
        amount: Amount,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> tuple[Account, Decimal]:
        """Credits the account; returns it and the part that repaid a negative wallet."""
        req = fun.TransferInRequest(
            request_id=self._rid(request_id), account_id=account_id, asset=asset, amount=_s(amount)
        )
        r = self._call(self.funds.TransferIn, self._version(req, expected_version))
        return Account.of(r.account), _d(r.repaid)

    def transfer_out(
        self,
        account_id: str,
        asset: str,
        amount: Amount,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Debits the account, up to its max transfer-out."""
        req = fun.TransferOutRequest(
            request_id=self._rid(request_id), account_id=account_id, asset=asset, amount=_s(amount)
        )
        return Account.of(self._call(self.funds.TransferOut, self._version(req, expected_version)).account)

    def post_ledger_entries(
        self,
        account_id: str,
        entries: Sequence[tuple[str, str, Amount] | tuple[str, str, Amount, str]],
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Posts (kind, asset, signed amount[, memo]) entries as one atomic batch."""
        req = fun.PostLedgerEntriesRequest(request_id=self._rid(request_id), account_id=account_id)
        for e in entries:
            req.entries.add(
                kind=_LEDGER.get(e[0], 0), asset=e[1], amount=_s(e[2]), memo=e[3] if len(e) > 3 else ""
            )
        return Account.of(
            self._call(self.funds.PostLedgerEntries, self._version(req, expected_version)).account
        )

    def borrow(
        self,
        account_id: str,
        asset: str,
        amount: Amount,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> tuple[Account, Decimal]:
        """Borrows up to the max borrow; returns the account and the first hour's interest."""
        req = fun.BorrowRequest(
            request_id=self._rid(request_id), account_id=account_id, asset=asset, amount=_s(amount)
        )
        r = self._call(self.funds.Borrow, self._version(req, expected_version))
        return Account.of(r.account), _d(r.interest_charged)

    def repay(
        self,
        account_id: str,
        asset: str,
        amount: Amount,
        *,
        payer_asset: str = "",
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> tuple[Account, dict[str, Any]]:
        """Repays debt of ``asset`` (from ``payer_asset`` when given)."""
        req = fun.RepayRequest(
            request_id=self._rid(request_id),
            account_id=account_id,
            asset=asset,
            amount=_s(amount),
            payer_asset=payer_asset,
        )
        r = self._call(self.funds.Repay, self._version(req, expected_version))
        return Account.of(r.account), {
            "repaid": _d(r.repaid),
            "payer_asset": r.payer_asset,
            "payer_amount": _d(r.payer_amount),
            "interest_repaid": _d(r.interest_repaid),
            "principal_repaid": _d(r.principal_repaid),
        }

    # ---- trading ---------------------------------------------------------------------

    def set_position(
        self,
        account_id: str,
        symbol: str,
        size: Amount,
        entry_price: Amount,
        leverage: int,
        *,
        isolated: bool = False,
        isolated_margin: Amount = "",
        airdrop: bool = False,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Records a position snapshot from the trading system (size 0 closes it)."""
        p = t.Position(
            symbol=symbol,
            size=_s(size),
            entry_price=_s(entry_price),
            leverage=leverage,
            isolated=isolated,
            isolated_margin=_s(isolated_margin),
            airdrop=airdrop,
        )
        req = trd.SetPositionRequest(request_id=self._rid(request_id), account_id=account_id, position=p)
        return Account.of(self._call(self.trading.SetPosition, self._version(req, expected_version)).account)

    @staticmethod
    def futures_order(
        symbol: str,
        side: str,
        price: Amount,
        quantity: Amount,
        leverage: int | None = None,
        order_id: str = "",
    ) -> t.FuturesOrder:
        """A futures order message."""
        o = t.FuturesOrder(
            order_id=order_id, symbol=symbol, side=_SIDE.get(side, 0), price=_s(price), quantity=_s(quantity)
        )
        if leverage is not None:
            o.leverage = leverage
        return o

    @staticmethod
    def margin_order(
        base: str, quote: str, side: str, price: Amount, quantity: Amount, order_id: str = ""
    ) -> t.MarginOrder:
        """A margin (spot) order message."""
        return t.MarginOrder(
            order_id=order_id,
            base=base,
            quote=quote,
            side=_SIDE.get(side, 0),
            price=_s(price),
            quantity=_s(quantity),
        )

    def check_order(self, account_id: str, order: t.FuturesOrder | t.MarginOrder) -> OrderCheck:
        """The pre-trade check, without changing anything."""
        req = trd.CheckOrderRequest(account_id=account_id)
        if isinstance(order, t.FuturesOrder):
            req.futures.CopyFrom(order)
        else:
            req.margin.CopyFrom(order)
        r = self._call(self.trading.CheckOrder, req)
        return OrderCheck(
            accepted=r.accepted,
            rejections=[(x.reason, x.message) for x in r.rejections],
            order_initial_margin=_d(r.order_initial_margin) if r.order_initial_margin else None,
            available=_d(r.available),
            version=r.version,
        )

    def place_order(
        self,
        account_id: str,
        order: t.FuturesOrder | t.MarginOrder,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> tuple[Account, str]:
        """Checks and records an order; returns the account and the order id."""
        req = trd.PlaceOrderRequest(request_id=self._rid(request_id), account_id=account_id)
        if isinstance(order, t.FuturesOrder):
            req.futures.CopyFrom(order)
        else:
            req.margin.CopyFrom(order)
        r = self._call(self.trading.PlaceOrder, self._version(req, expected_version))
        return Account.of(r.account), r.order_id

    def cancel_order(
        self,
        account_id: str,
        order_id: str,
        *,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Cancels an open order."""
        req = trd.CancelOrderRequest(
            request_id=self._rid(request_id), account_id=account_id, order_id=order_id
        )
        return Account.of(self._call(self.trading.CancelOrder, self._version(req, expected_version)).account)

    # ---- risk and market data ---------------------------------------------------------

    def get_risk_summary(self, account_id: str) -> dict[str, Any]:
        """The SPEC §10 result of the live account."""
        r = self._call(self.risk.GetRiskSummary, risk.GetRiskSummaryRequest(account_id=account_id))
        return risk_dict(r.risk)

    def simulate(self, account_id: str, changes: Sequence[risk.SimulatedChange]) -> dict[str, Any]:
        """The SPEC §10 result after hypothetical changes; nothing changes."""
        r = self._call(self.risk.Simulate, risk.SimulateRequest(account_id=account_id, changes=list(changes)))
        return risk_dict(r.risk)

    def update_prices(
        self,
        index_prices: Mapping[str, Amount] | None = None,
        mark_prices: Mapping[str, Amount] | None = None,
        *,
        request_id: str | None = None,
    ) -> mkt.UpdatePricesResponse:
        """Updates index/mark prices; every affected account is re-evaluated."""
        req = mkt.UpdatePricesRequest(
            request_id=self._rid(request_id),
            index_prices={k: _s(v) for k, v in (index_prices or {}).items()},
            mark_prices={k: _s(v) for k, v in (mark_prices or {}).items()},
        )
        response: mkt.UpdatePricesResponse = self._call(self.market.UpdatePrices, req)
        return response

    def get_prices(self) -> tuple[dict[str, Decimal], dict[str, Decimal], int]:
        """(index prices, mark prices, prices version)."""
        r = self._call(self.market.GetPrices, mkt.GetPricesRequest())
        return _dmap(r.index_prices), _dmap(r.mark_prices), r.prices_version

    def engine_status(self) -> op.GetEngineStatusResponse:
        """The state hash, journal position and account count."""
        response: op.GetEngineStatusResponse = self._call(
            self.operator.GetEngineStatus, op.GetEngineStatusRequest()
        )
        return response


__all__ = ["Account", "Client", "MarginError", "OrderCheck", "error_from", "risk_dict"]

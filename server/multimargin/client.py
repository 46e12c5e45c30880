"""A typed Python client of the multimargin gRPC service.

>>> from decimal import Decimal
>>> from multimargin.client import Client
>>> with Client("127.0.0.1:50051") as c:                        # doctest: +SKIP
...     c.create_account("alice", "FUTURES")
...     c.transfer_in("alice", "USDT", Decimal("1000"))
...     c.get_account("alice").risk.pools[0].available
Decimal('1000')

* **Numbers.** Amounts, prices and ratios go in as :class:`~decimal.Decimal`, decimal
  strings or ints, and travel as SPEC §1 strings; a ``float`` (or ``bool``) is refused
  with :class:`TypeError`, since binary floating point cannot hold money exactly.
* **Results** are frozen dataclasses of :mod:`multimargin.results` with ``Decimal``
  fields: every account is an :class:`~multimargin.results.Account`, every risk
  evaluation a :class:`~multimargin.results.RiskSummary`. A mutation that only changes
  the account returns the account; one that also reports figures returns an object
  with ``.account`` and those figures (:class:`~multimargin.results.Transferred`, ...).
* **Errors.** Every failure raises a :class:`multimargin.MarginError` subclass, never a
  raw ``grpc.RpcError``: refusals the class of their SPEC §11 row, with ``reason`` and
  ``field`` from the status's ``google.rpc.ErrorInfo`` (the same classes and text as the
  library raises locally); failures in transit :class:`~multimargin.errors.UnavailableError`
  (:class:`~multimargin.errors.DeadlineExceededError`,
  :class:`~multimargin.errors.OverloadedError`).
* **Deadline.** ``timeout`` (5 s) bounds each call, retries included;
  ``attempt_timeout`` optionally bounds each attempt.
* **Retries.** Every mutation carries a ``request_id`` (a UUID unless given) that the
  client keeps across its own retries, so a retried mutation is applied at most once
  (the server answers a repeat from its journal). Retried, up to ``retries`` times with
  exponential backoff and jitter while the deadline allows: UNAVAILABLE (server down or
  restarting), RESOURCE_EXHAUSTED (the server shed the call), CANCELLED (a draining
  server cancelled it) and an attempt's own DEADLINE_EXCEEDED.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import grpc

from multimargin.errors import MarginError, UnavailableError
from multimargin.results import (
    Account,
    AccountSummary,
    AccountView,
    Borrowed,
    EngineStatus,
    ModeSwitchCheck,
    OrderCheck,
    PlacedOrder,
    Prices,
    PricesUpdated,
    Repaid,
    RiskChange,
    RiskSummary,
    Transferred,
    _dmap,
    _name,
)
from multimargin.transport import RetryPolicy, error_from
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


def _s(x: Amount, name: str) -> str:
    """A decimal for the wire: plain notation, never an exponent, and no trailing zeros
    after the point (``Decimal("0.300000000")`` is 0.3, which has a valid wire form).

    >>> _s(Decimal("1E+3"), "amount"), _s(7, "amount"), _s("0.5", "amount")
    ('1000', '7', '0.5')
    >>> _s(100.5, "amount")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    TypeError: amount: a float is not accepted (binary floating point cannot hold money ...
    """
    if isinstance(x, Decimal):
        text = format(x, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    if isinstance(x, bool) or not isinstance(x, str | int):
        if isinstance(x, float):
            raise TypeError(
                f"{name}: a float is not accepted (binary floating point cannot hold money exactly); "
                f"pass a Decimal or a decimal string, e.g. Decimal({str(x)!r})"
            )
        raise TypeError(f"{name}: expected Decimal, str or int, got {type(x).__name__}")
    return str(x)


def _d(text: str) -> Decimal:
    return Decimal(text) if text else Decimal(0)


class Client:
    """A blocking client over one channel (see the module documentation).

    ``timeout``, ``attempt_timeout``, ``retries``, ``backoff`` and ``max_backoff`` are
    those of :class:`~multimargin.transport.RetryPolicy`.
    """

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        timeout: float = 5.0,
        attempt_timeout: float | None = None,
        retries: int = 5,
        backoff: float = 0.05,
        max_backoff: float = 1.0,
        channel: grpc.Channel | None = None,
    ) -> None:
        self._channel = channel or grpc.insecure_channel(target)
        self.timeout = timeout
        self.attempt_timeout = attempt_timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
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

    def _call(self, method: Callable[..., Any], request: Any) -> Any:
        """One RPC under the client's retry policy (:class:`~multimargin.transport.RetryPolicy`)."""
        policy = RetryPolicy(self.timeout, self.attempt_timeout, self.retries, self.backoff, self.max_backoff)
        return policy.call(method, request)

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

    def get_account(self, account_id: str) -> AccountView:
        """The account and its risk summary (``risk`` None when a price it needs is missing)."""
        r = self._call(self.accounts.GetAccount, acc.GetAccountRequest(account_id=account_id))
        return AccountView(Account.of(r.account), RiskSummary.of(r.risk) if r.HasField("risk") else None)

    def list_accounts(self, page_size: int = 100) -> Iterator[AccountSummary]:
        """Every account, page by page."""
        token = ""
        while True:
            r = self._call(
                self.accounts.ListAccounts, acc.ListAccountsRequest(page_size=page_size, page_token=token)
            )
            yield from (AccountSummary.of(a) for a in r.accounts)
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

    def check_mode_switch(self, account_id: str, target_mode: str) -> ModeSwitchCheck:
        """Whether the switch is allowed now, else every unmet condition (SPEC §9)."""
        r = self._call(
            self.accounts.CheckModeSwitch,
            acc.CheckModeSwitchRequest(account_id=account_id, target_mode=_MODE.get(target_mode, 0)),
        )
        return ModeSwitchCheck(r.allowed, tuple((u.reason, u.message) for u in r.unmet), r.version)

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
            request_id=self._rid(request_id),
            account_id=account_id,
            mode=_MODE.get(mode, 0),
            ratio=_s(ratio, "ratio"),
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
    ) -> Transferred:
        """Credits the account; returns it and the part that repaid a negative wallet."""
        req = fun.TransferInRequest(
            request_id=self._rid(request_id), account_id=account_id, asset=asset, amount=_s(amount, "amount")
        )
        r = self._call(self.funds.TransferIn, self._version(req, expected_version))
        return Transferred(Account.of(r.account), _d(r.repaid))

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
            request_id=self._rid(request_id), account_id=account_id, asset=asset, amount=_s(amount, "amount")
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
                kind=_LEDGER.get(e[0], 0),
                asset=e[1],
                amount=_s(e[2], "entries.amount"),
                memo=e[3] if len(e) > 3 else "",
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
    ) -> Borrowed:
        """Borrows up to the max borrow; returns the account and the first hour's interest."""
        req = fun.BorrowRequest(
            request_id=self._rid(request_id), account_id=account_id, asset=asset, amount=_s(amount, "amount")
        )
        r = self._call(self.funds.Borrow, self._version(req, expected_version))
        return Borrowed(Account.of(r.account), _d(r.interest_charged))

    def repay(
        self,
        account_id: str,
        asset: str,
        amount: Amount,
        *,
        payer_asset: str = "",
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> Repaid:
        """Repays debt of ``asset`` (from ``payer_asset`` when given)."""
        req = fun.RepayRequest(
            request_id=self._rid(request_id),
            account_id=account_id,
            asset=asset,
            amount=_s(amount, "amount"),
            payer_asset=payer_asset,
        )
        r = self._call(self.funds.Repay, self._version(req, expected_version))
        return Repaid(
            Account.of(r.account),
            _d(r.repaid),
            r.payer_asset,
            _d(r.payer_amount),
            _d(r.interest_repaid),
            _d(r.principal_repaid),
        )

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
            size=_s(size, "size"),
            entry_price=_s(entry_price, "entry_price"),
            leverage=leverage,
            isolated=isolated,
            isolated_margin=_s(isolated_margin, "isolated_margin"),
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
            order_id=order_id,
            symbol=symbol,
            side=_SIDE.get(side, 0),
            price=_s(price, "price"),
            quantity=_s(quantity, "quantity"),
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
            price=_s(price, "price"),
            quantity=_s(quantity, "quantity"),
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
            rejections=tuple((x.reason, x.message) for x in r.rejections),
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
    ) -> PlacedOrder:
        """Checks and records an order; returns the account and the order id."""
        req = trd.PlaceOrderRequest(request_id=self._rid(request_id), account_id=account_id)
        if isinstance(order, t.FuturesOrder):
            req.futures.CopyFrom(order)
        else:
            req.margin.CopyFrom(order)
        r = self._call(self.trading.PlaceOrder, self._version(req, expected_version))
        return PlacedOrder(Account.of(r.account), r.order_id)

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

    def get_risk_summary(self, account_id: str) -> RiskSummary:
        """The SPEC §10 result of the live account."""
        r = self._call(self.risk.GetRiskSummary, risk.GetRiskSummaryRequest(account_id=account_id))
        return RiskSummary.of(r.risk)

    def simulate(self, account_id: str, changes: Sequence[risk.SimulatedChange]) -> RiskSummary:
        """The SPEC §10 result after hypothetical changes; nothing changes."""
        r = self._call(self.risk.Simulate, risk.SimulateRequest(account_id=account_id, changes=list(changes)))
        return RiskSummary.of(r.risk)

    def update_prices(
        self,
        index_prices: Mapping[str, Amount] | None = None,
        mark_prices: Mapping[str, Amount] | None = None,
        *,
        request_id: str | None = None,
    ) -> PricesUpdated:
        """Updates index/mark prices; every affected account is re-evaluated."""
        req = mkt.UpdatePricesRequest(
            request_id=self._rid(request_id),
            index_prices={k: _s(v, f"index_prices.{k}") for k, v in (index_prices or {}).items()},
            mark_prices={k: _s(v, f"mark_prices.{k}") for k, v in (mark_prices or {}).items()},
        )
        r = self._call(self.market.UpdatePrices, req)
        return PricesUpdated(
            r.prices_version,
            tuple(
                RiskChange(
                    a.account_id, a.version, _name(t.AccountStatus, a.status), a.liquidatable, a.margin_call
                )
                for a in r.accounts
            ),
        )

    def get_prices(self) -> Prices:
        """The index prices, mark prices and prices version."""
        r = self._call(self.market.GetPrices, mkt.GetPricesRequest())
        return Prices(_dmap(r.index_prices), _dmap(r.mark_prices), r.prices_version)

    def engine_status(self) -> EngineStatus:
        """The state hash, journal position, account count and snapshot position."""
        return EngineStatus.of(self._call(self.operator.GetEngineStatus, op.GetEngineStatusRequest()))


__all__ = [
    "Account",
    "AccountView",
    "Client",
    "MarginError",
    "OrderCheck",
    "RiskSummary",
    "UnavailableError",
    "error_from",
]

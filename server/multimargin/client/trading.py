"""Calls of TradingService: positions and orders."""

from __future__ import annotations

from multimargin.client.base import SIDES, Amount, ClientBase, as_decimal, wire
from multimargin.results import (
    Account,
    OrderCheck,
    PlacedOrder,
)
from multimargin.v1 import trading_service_pb2 as trd
from multimargin.v1 import types_pb2 as t


class TradingCalls(ClientBase):
    """Calls of TradingService: positions and orders."""

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
            size=wire(size, "size"),
            entry_price=wire(entry_price, "entry_price"),
            leverage=leverage,
            isolated=isolated,
            isolated_margin=wire(isolated_margin, "isolated_margin"),
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
            side=SIDES.get(side, 0),
            price=wire(price, "price"),
            quantity=wire(quantity, "quantity"),
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
            side=SIDES.get(side, 0),
            price=wire(price, "price"),
            quantity=wire(quantity, "quantity"),
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
            order_initial_margin=as_decimal(r.order_initial_margin) if r.order_initial_margin else None,
            available=as_decimal(r.available),
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

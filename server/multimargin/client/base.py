"""The plumbing of :class:`multimargin.client.Client`: channel, stubs, the retry
policy of every call, request ids, and decimals for the wire."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Self

import grpc

from multimargin.client.auth import secure_channel
from multimargin.transport import RetryPolicy
from multimargin.v1 import account_service_pb2_grpc as acc_grpc
from multimargin.v1 import event_service_pb2_grpc as ev_grpc
from multimargin.v1 import funds_service_pb2_grpc as fun_grpc
from multimargin.v1 import market_data_service_pb2_grpc as mkt_grpc
from multimargin.v1 import operator_service_pb2_grpc as op_grpc
from multimargin.v1 import risk_service_pb2_grpc as risk_grpc
from multimargin.v1 import trading_service_pb2_grpc as trd_grpc
from multimargin.v1 import types_pb2 as t

Amount = Decimal | str | int

KINDS: dict[str, Any] = {"FUTURES": t.ACCOUNT_KIND_FUTURES, "MARGIN": t.ACCOUNT_KIND_MARGIN}
MODES: dict[str, Any] = {
    "SINGLE_ASSET": t.ACCOUNT_MODE_SINGLE_ASSET,
    "MULTI_ASSET": t.ACCOUNT_MODE_MULTI_ASSET,
    "CLASSIC": t.ACCOUNT_MODE_CLASSIC,
    "PRO": t.ACCOUNT_MODE_PRO,
}
SIDES: dict[str, Any] = {"BUY": t.SIDE_BUY, "SELL": t.SIDE_SELL}
LEDGER_KINDS: dict[str, Any] = {
    "REALIZED_PNL": t.LEDGER_ENTRY_KIND_REALIZED_PNL,
    "FEE": t.LEDGER_ENTRY_KIND_FEE,
    "FUNDING": t.LEDGER_ENTRY_KIND_FUNDING,
    "TRADE": t.LEDGER_ENTRY_KIND_TRADE,
}


def wire(x: Amount, name: str) -> str:
    """A decimal for the wire: plain notation, never an exponent, and no trailing zeros
    after the point (``Decimal("0.300000000")`` is 0.3, which has a valid wire form).

    >>> wire(Decimal("1E+3"), "amount"), wire(7, "amount"), wire("0.5", "amount")
    ('1000', '7', '0.5')
    >>> wire(100.5, "amount")  # doctest: +ELLIPSIS
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


def as_decimal(text: str) -> Decimal:
    return Decimal(text) if text else Decimal(0)


class ClientBase:
    """The channel, one stub per service, and how every call is made."""

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
        token: str | None = None,
        tls: bool = False,
        root_certificates: bytes | None = None,
        private_key: bytes | None = None,
        certificate_chain: bytes | None = None,
    ) -> None:
        self._channel = channel or secure_channel(
            target,
            token=token,
            tls=tls,
            root_certificates=root_certificates,
            private_key=private_key,
            certificate_chain=certificate_chain,
        )
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
        self.events = ev_grpc.EventServiceStub(self._channel)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def __enter__(self) -> Self:
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

"""Demo data for ``multimargin serve --demo``: prices and a few accounts of each kind,
created through the ordinary mutations (so they are journaled like any other change).

Their request ids are ``demo-<n>-<random>``: one random token per seeding, so no id a
client picks for itself (``demo-3``, say) is ever refused as a reused idempotency key.
"""

from __future__ import annotations

import uuid
from typing import Any

from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import trading_service_pb2 as trd
from multimargin.v1 import types_pb2 as t

INDEX = {"BTC": "64000", "ETH": "3100", "SOL": "150", "MX": "3.2", "DOGE": "0.12", "USDC": "0.9998"}
MARKS = {
    "BTCUSDT": "64050",
    "ETHUSDT": "3102",
    "SOLUSDT": "150.2",
    "BTCUSDC": "64040",
    "ETHUSDC": "3101",
    "TSLAUSDT": "250",
}


def commands() -> list[tuple[str, Any]]:
    """(method, request) pairs that build the demo state, in order.

    >>> ids = [request.request_id for _, request in commands()]
    >>> ids[0].startswith("demo-1-") and len(set(ids)) == len(ids)
    True
    >>> ids[0] == commands()[0][1].request_id  # fresh ids every time
    False
    """
    n = 0
    token = uuid.uuid4().hex

    def rid() -> str:
        nonlocal n
        n += 1
        return f"demo-{n}-{token}"

    def create(account_id: str, kind: Any, region: str = "") -> tuple[str, Any]:
        return "CreateAccount", acc.CreateAccountRequest(
            request_id=rid(), account_id=account_id, kind=kind, region=region
        )

    def transfer(account_id: str, asset: str, amount: str) -> tuple[str, Any]:
        return "TransferIn", fun.TransferInRequest(
            request_id=rid(), account_id=account_id, asset=asset, amount=amount
        )

    def position(account_id: str, symbol: str, size: str, entry: str, leverage: int) -> tuple[str, Any]:
        p = t.Position(symbol=symbol, size=size, entry_price=entry, leverage=leverage)
        return "SetPosition", trd.SetPositionRequest(request_id=rid(), account_id=account_id, position=p)

    return [
        ("UpdatePrices", mkt.UpdatePricesRequest(request_id=rid(), index_prices=INDEX, mark_prices=MARKS)),
        # A SINGLE_ASSET futures account with a position and an open order.
        create("demo-futures-single", t.ACCOUNT_KIND_FUTURES, "JP"),
        transfer("demo-futures-single", "USDT", "10000"),
        position("demo-futures-single", "BTCUSDT", "0.1", "63000", 10),
        (
            "PlaceOrder",
            trd.PlaceOrderRequest(
                request_id=rid(),
                account_id="demo-futures-single",
                futures=t.FuturesOrder(
                    order_id="demo-order-1",
                    symbol="ETHUSDT",
                    side=t.SIDE_BUY,
                    price="3000",
                    quantity="1",
                    leverage=10,
                ),
            ),
        ),
        # A MULTI_ASSET futures account: tiered ETH/BTC collateral and a small USDT debt.
        create("demo-futures-multi", t.ACCOUNT_KIND_FUTURES, "SG"),
        transfer("demo-futures-multi", "ETH", "350"),
        transfer("demo-futures-multi", "BTC", "1.5"),
        transfer("demo-futures-multi", "USDC", "20000"),
        (
            "SwitchMode",
            acc.SwitchModeRequest(
                request_id=rid(), account_id="demo-futures-multi", target_mode=t.ACCOUNT_MODE_MULTI_ASSET
            ),
        ),
        position("demo-futures-multi", "BTCUSDT", "0.5", "63500", 20),
        (
            "PostLedgerEntries",
            fun.PostLedgerEntriesRequest(
                request_id=rid(),
                account_id="demo-futures-multi",
                entries=[
                    fun.LedgerEntry(
                        kind=t.LEDGER_ENTRY_KIND_FUNDING, asset="USDT", amount="-12.5", memo="funding"
                    )
                ],
            ),
        ),
        # A Classic margin account with a USDT loan.
        create("demo-margin-classic", t.ACCOUNT_KIND_MARGIN, "DE"),
        transfer("demo-margin-classic", "USDT", "20000"),
        transfer("demo-margin-classic", "BTC", "0.5"),
        (
            "Borrow",
            fun.BorrowRequest(
                request_id=rid(), account_id="demo-margin-classic", asset="USDT", amount="10000"
            ),
        ),
        # A Pro margin account in a restricted region (IMR floor applies).
        create("demo-margin-pro", t.ACCOUNT_KIND_MARGIN, "FR"),
        transfer("demo-margin-pro", "BTC", "2"),
        (
            "AcceptProTerms",
            acc.AcceptProTermsRequest(
                request_id=rid(), account_id="demo-margin-pro", quiz_passed=True, terms_version="2026-01"
            ),
        ),
        (
            "SwitchMode",
            acc.SwitchModeRequest(
                request_id=rid(), account_id="demo-margin-pro", target_mode=t.ACCOUNT_MODE_PRO
            ),
        ),
        (
            "Borrow",
            fun.BorrowRequest(request_id=rid(), account_id="demo-margin-pro", asset="USDC", amount="50000"),
        ),
    ]

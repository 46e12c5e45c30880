"""Engine invariants, in-process over real SQLite files: replay reproduces state, and
repayment conserves value (SPEC §7.2–§7.4)."""

from __future__ import annotations

import asyncio
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import multimargin
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multimargin.state.engine import Engine
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import operator_service_pb2 as op
from multimargin.v1 import trading_service_pb2 as trd
from multimargin.v1 import types_pb2 as t

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

ACCOUNTS = ["f1", "f2", "m1", "m2"]
ASSETS = ["USDT", "USDC", "BTC", "ETH"]
amounts = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("5000"), places=8).map(
    lambda d: format(d.normalize(), "f")
)


def command(draw: st.DrawFn, n: int) -> tuple[str, Any]:
    rid = f"r{n}"
    a = draw(st.sampled_from(ACCOUNTS))
    asset = draw(st.sampled_from(ASSETS))
    kind = draw(
        st.sampled_from(["in", "out", "borrow", "repay", "ledger", "position", "order", "prices", "mode"])
    )
    if kind == "in":
        return "TransferIn", fun.TransferInRequest(
            request_id=rid, account_id=a, asset=asset, amount=draw(amounts)
        )
    if kind == "out":
        return "TransferOut", fun.TransferOutRequest(
            request_id=rid, account_id=a, asset=asset, amount=draw(amounts)
        )
    if kind == "borrow":
        return "Borrow", fun.BorrowRequest(request_id=rid, account_id=a, asset=asset, amount=draw(amounts))
    if kind == "repay":
        payer = draw(st.sampled_from(["", *ASSETS]))
        return "Repay", fun.RepayRequest(
            request_id=rid, account_id=a, asset=asset, amount=draw(amounts), payer_asset=payer
        )
    if kind == "ledger":
        sign = draw(st.sampled_from(["", "-"]))
        entry = fun.LedgerEntry(
            kind=t.LEDGER_ENTRY_KIND_REALIZED_PNL, asset=asset, amount=sign + draw(amounts)
        )
        return "PostLedgerEntries", fun.PostLedgerEntriesRequest(
            request_id=rid, account_id=a, entries=[entry]
        )
    if kind == "position":
        size = draw(st.sampled_from(["0", "0.5", "-0.25", "2"]))
        p = t.Position(
            symbol="BTCUSDT", size=size, entry_price="60000", leverage=draw(st.sampled_from([5, 20]))
        )
        return "SetPosition", trd.SetPositionRequest(request_id=rid, account_id=a, position=p)
    if kind == "order":
        if a.startswith("f"):
            o = t.FuturesOrder(symbol="ETHUSDT", side=t.SIDE_BUY, price="3000", quantity="0.5", leverage=10)
            return "PlaceOrder", trd.PlaceOrderRequest(request_id=rid, account_id=a, futures=o)
        mo = t.MarginOrder(base="BTC", quote="USDT", side=t.SIDE_BUY, price="59000", quantity="0.01")
        return "PlaceOrder", trd.PlaceOrderRequest(request_id=rid, account_id=a, margin=mo)
    if kind == "prices":
        btc = draw(st.sampled_from(["40000", "60000", "61234.5", "90000"]))
        return "UpdatePrices", mkt.UpdatePricesRequest(
            request_id=rid, index_prices={"BTC": btc}, mark_prices={"BTCUSDT": btc}
        )
    target = draw(
        st.sampled_from([t.ACCOUNT_MODE_MULTI_ASSET, t.ACCOUNT_MODE_SINGLE_ASSET, t.ACCOUNT_MODE_PRO])
    )
    return "SwitchMode", acc.SwitchModeRequest(request_id=rid, account_id=a, target_mode=target)


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[str, Any]]:
    return [command(draw, n) for n in range(draw(st.integers(5, 40)))]


async def setup(e: Engine) -> None:
    await e.call(
        "UpdatePrices",
        mkt.UpdatePricesRequest(
            request_id="p0",
            index_prices={"BTC": "60000", "ETH": "3000", "USDC": "1"},
            mark_prices={"BTCUSDT": "60000", "ETHUSDT": "3000"},
        ),
    )
    for a in ACCOUNTS:
        kind = t.ACCOUNT_KIND_FUTURES if a.startswith("f") else t.ACCOUNT_KIND_MARGIN
        await e.call("CreateAccount", acc.CreateAccountRequest(request_id=f"c-{a}", account_id=a, kind=kind))
        await e.call(
            "TransferIn",
            fun.TransferInRequest(request_id=f"i-{a}", account_id=a, asset="USDT", amount="100000"),
        )
    await e.call(
        "AcceptProTerms",
        acc.AcceptProTermsRequest(request_id="terms", account_id="m2", quiz_passed=True, terms_version="v1"),
    )


async def play(e: Engine, history: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Runs every command; returns those that were applied (refusals change nothing)."""
    applied = []
    for method, request in history:
        try:
            await e.call(method, request)
            applied.append((method, request))
        except multimargin.MarginError:
            pass
    return applied


async def status(e: Engine) -> op.GetEngineStatusResponse:
    s: op.GetEngineStatusResponse = await e.call("GetEngineStatus", op.GetEngineStatusRequest())
    return s


@SETTINGS
@given(histories(), st.sampled_from([3, 10_000]))
def test_replay_reproduces_state(history: list[tuple[str, Any]], snapshot_every: int) -> None:
    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            e = await Engine.open(Path(tmp), snapshot_every=snapshot_every)
            await setup(e)
            applied = await play(e, history)
            before = await status(e)
            accounts = {i: e.account(i).canonical() for i in ACCOUNTS}
            await e.close()
            e2 = await Engine.open(Path(tmp), snapshot_every=snapshot_every)
            after = await status(e2)
            assert after.state_hash == before.state_hash
            assert after.journal_seq == before.journal_seq
            assert {i: e2.account(i).canonical() for i in ACCOUNTS} == accounts
            # Retrying every applied request returns its stored response and changes
            # nothing. (A refused request is not recorded: its retry is decided anew.)
            assert await play(e2, applied) == applied
            assert (await status(e2)).state_hash == before.state_hash
            await e2.close()

    asyncio.run(run())


def value_of(holdings: dict[str, Decimal], prices: dict[str, Decimal]) -> Decimal:
    return sum((q * prices.get(a, Decimal(1)) for a, q in holdings.items()), Decimal(0))


@SETTINGS
@given(
    borrow=st.decimals(min_value=Decimal("1"), max_value=Decimal("20000"), places=2),
    repay_share=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1"), places=2),
    payer=st.sampled_from(["", "BTC", "ETH", "USDC"]),
)
def test_margin_repayment_conserves_value(borrow: Decimal, repay_share: Decimal, payer: str) -> None:
    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            e = await Engine.open(Path(tmp))
            await setup(e)
            for asset, amount in (("BTC", "1"), ("ETH", "10"), ("USDC", "30000")):
                await e.call(
                    "TransferIn",
                    fun.TransferInRequest(
                        request_id=f"x-{asset}", account_id="m1", asset=asset, amount=amount
                    ),
                )
            await e.call(
                "Borrow", fun.BorrowRequest(request_id="b", account_id="m1", asset="USDT", amount=str(borrow))
            )
            before = e.account("m1").clone()
            owed = before.m.liability("USDT")
            amount = max(Decimal("0.00000001"), (owed * repay_share).quantize(Decimal("0.00000001")))
            r = await e.call(
                "Repay",
                fun.RepayRequest(
                    request_id="r",
                    account_id="m1",
                    asset="USDT",
                    amount=format(amount, "f"),
                    payer_asset=payer,
                ),
            )
            after = e.account("m1")
            paid_by = r.payer_asset
            paid = Decimal(r.payer_amount)
            # The liability falls by exactly the amount repaid, interest first.
            assert after.m.liability("USDT") == owed - amount
            assert Decimal(r.interest_repaid) == min(amount, before.m.interest.get("USDT", Decimal(0)))
            assert Decimal(r.interest_repaid) + Decimal(r.principal_repaid) == amount
            # Only the payer's holdings move, by exactly what it paid.
            for a in set(before.m.holdings) | set(after.m.holdings):
                delta = after.m.holdings.get(a, Decimal(0)) - before.m.holdings.get(a, Decimal(0))
                assert delta == (-paid if a == paid_by else 0), a
            if not payer:
                assert paid == amount
            else:
                # SPEC §7.2: the payer pays the value repaid at its discount, rounded up by
                # less than one 10^-8 unit.
                prices = {"BTC": Decimal(60000), "ETH": Decimal(3000), "USDC": Decimal(1)}
                discount = Decimal(multimargin.default_rulebook().to_dict()["assets"][payer]["discount"])
                worth = paid * prices[payer] * discount
                assert worth >= amount
                assert worth - amount < Decimal("0.00000001") * prices[payer] * discount
            await e.close()

    asyncio.run(run())


@SETTINGS
@given(
    debt=st.decimals(min_value=Decimal("1"), max_value=Decimal("5000"), places=4),
    payer=st.sampled_from(["BTC", "ETH", "USDC"]),
)
def test_futures_repayment_conserves_value(debt: Decimal, payer: str) -> None:
    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            e = await Engine.open(Path(tmp))
            await setup(e)
            funding = {"BTC": "1", "ETH": "5", "USDC": "10000"}[payer]  # worth more than any debt drawn
            await e.call(
                "TransferIn",
                fun.TransferInRequest(request_id="x", account_id="f1", asset=payer, amount=funding),
            )
            await e.call(
                "SwitchMode",
                acc.SwitchModeRequest(
                    request_id="m", account_id="f1", target_mode=t.ACCOUNT_MODE_MULTI_ASSET
                ),
            )
            loss = fun.LedgerEntry(
                kind=t.LEDGER_ENTRY_KIND_REALIZED_PNL, asset="USDT", amount=format(-(debt + 100000), "f")
            )
            await e.call(
                "PostLedgerEntries",
                fun.PostLedgerEntriesRequest(request_id="l", account_id="f1", entries=[loss]),
            )
            before = e.account("f1").clone()
            assert before.f.wallet["USDT"] == -debt
            r = await e.call(
                "Repay",
                fun.RepayRequest(
                    request_id="r", account_id="f1", asset="USDT", amount=format(debt, "f"), payer_asset=payer
                ),
            )
            after = e.account("f1")
            assert after.f.wallet["USDT"] == 0
            assert after.f.wallet[payer] == before.f.wallet[payer] - Decimal(r.payer_amount)
            price = {"BTC": Decimal(60000), "ETH": Decimal(3000), "USDC": Decimal(1)}[payer]
            discount = Decimal(multimargin.default_rulebook().to_dict()["assets"][payer]["discount"])
            worth = Decimal(r.payer_amount) * price * discount
            assert debt <= worth < debt + Decimal("0.00000001") * price * discount
            await e.close()

    asyncio.run(run())

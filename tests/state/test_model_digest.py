"""An account's digest is the sha256 of its canonical JSON, at any version — however it
is built (the template split at the version, the orders' remembered bytes)."""

from __future__ import annotations

import asyncio
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from multimargin.state.engine import Engine
from multimargin.state.model import (
    AccountState,
    FuturesOrder,
    FuturesState,
    MarginOrder,
    MarginState,
    Position,
    sha256_json,
)
from multimargin.v1 import funds_service_pb2 as fun

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,8}", fullmatch=True)
# Free text may hold anything, the placeholders included.
texts = st.sampled_from(["", "v1", "\0version\0", "\0orders\0", 'a"b\\c'])
decimals = st.decimals(min_value=-1000, max_value=1000, places=8, allow_nan=False, allow_infinity=False)
positive = st.decimals(min_value=Decimal("0.00000001"), max_value=1000, places=8)
assets = st.dictionaries(st.sampled_from(["USDT", "BTC", "ETH"]), decimals, max_size=3)


@st.composite
def accounts(draw: st.DrawFn) -> AccountState:
    a = AccountState(
        account_id=draw(ids),
        kind="FUTURES",
        mode="MULTI_ASSET",
        region=draw(st.sampled_from(["", "SG"])),
        version=draw(st.integers(1, 10**6)),
        margin_call=draw(st.booleans()),
    )
    if draw(st.booleans()):
        leverage = draw(st.none() | st.just(5))
        orders = {
            oid: FuturesOrder(oid, "BTCUSDT", "BUY", draw(positive), draw(positive), leverage)
            for oid in draw(st.lists(ids, max_size=3, unique=True))
        }
        positions = {
            "BTCUSDT": Position("BTCUSDT", draw(decimals), draw(positive), 10, isolated=draw(st.booleans()))
        }
        a.futures = FuturesState(wallet=draw(assets), positions=positions, orders=orders)
    else:
        a.kind, a.mode = "MARGIN", "CLASSIC"
        orders_m = {
            oid: MarginOrder(oid, "BTC", "USDT", "SELL", draw(positive), draw(positive))
            for oid in draw(st.lists(ids, max_size=3, unique=True))
        }
        a.margin = MarginState(
            holdings=draw(assets), borrowed=draw(assets), orders=orders_m, pro_terms_version=draw(texts)
        )
    return a


@settings(max_examples=200, deadline=None, database=None)
@given(accounts(), st.integers(1, 10**9))
def test_the_digest_at_any_version_is_the_hash_of_the_canonical_form(a: AccountState, version: int) -> None:
    assert a.digest() == sha256_json(a.canonical())
    template = a.digest_template()
    moved = a.clone()
    moved.version = version
    assert a.digest_at(version, template) == sha256_json(moved.canonical())
    assert a.digest_at(version) == moved.digest()


def test_the_engine_keeps_the_hash_of_the_state_it_applied() -> None:
    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            engine = await Engine.open(Path(tmp), demo=True)
            try:
                for n in range(3):
                    request = fun.TransferInRequest(
                        request_id=f"t{n}", account_id="demo-futures-multi", asset="USDT", amount="1.5"
                    )
                    await engine.call("TransferIn", request)
                    live = engine.account("demo-futures-multi")
                    assert engine.account_digest(live.account_id) == sha256_json(live.canonical())
                    assert live.digested is None  # taken by the engine, not kept
            finally:
                await engine.close()

    asyncio.run(run())

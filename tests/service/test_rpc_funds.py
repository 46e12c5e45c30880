"""FundsService against a real server: transfers (max transfer-out exactly), atomic
ledger batches, borrowing (first-hour interest), repayment (margin interest first,
futures conversion at a discount), and every refusal with its reason and field.

The server runs the default rulebook with two edits so that the SPEC's own example
numbers come out: BTC discount 0.9 (SPEC §7.2) and USDC borrow rate 0.00001/h (§7.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import rpckit
from multimargin.v1 import event_service_pb2 as evs
from multimargin.v1 import history_pb2 as h
from rpckit import (
    FAILED_PRECONDITION,
    INVALID_ARGUMENT,
    NOT_FOUND,
    STEP,
    Rpc,
    ceil8,
    fun,
    new_id,
    refused,
    rid,
    t,
    unchanged,
    wire,
)

BTC_PRICE = "30000"  # SPEC §7.2 example
USDT_RATE = Decimal("0.0000045")  # default rulebook: USDT borrow hourly rate


@pytest.fixture(scope="module")
def rpc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rpc]:
    directory = tmp_path_factory.mktemp("funds")
    rulebook, _ = rpckit.rulebook_file(
        directory,
        {
            ("assets", "BTC", "discount"): "0.9",
            ("assets", "USDC", "borrow", "hourly_rate"): "0.00001",
        },
    )
    with rpckit.serving(directory / "data", "--rulebook", str(rulebook)) as (_, client):
        client.set_prices({"BTC": BTC_PRICE})
        yield client


def transfer_out(account_id: str, asset: str, amount: str, **kwargs: object) -> fun.TransferOutRequest:
    return fun.TransferOutRequest(
        request_id=rid(), account_id=account_id, asset=asset, amount=amount, **kwargs
    )


def borrow(account_id: str, asset: str, amount: str) -> fun.BorrowRequest:
    return fun.BorrowRequest(request_id=rid(), account_id=account_id, asset=asset, amount=amount)


def repay(account_id: str, asset: str, amount: str, payer: str = "") -> fun.RepayRequest:
    return fun.RepayRequest(
        request_id=rid(), account_id=account_id, asset=asset, amount=amount, payer_asset=payer
    )


def ledger(account_id: str, *entries: tuple[int, str, str]) -> fun.PostLedgerEntriesRequest:
    return fun.PostLedgerEntriesRequest(
        request_id=rid(),
        account_id=account_id,
        entries=[
            fun.LedgerEntry(kind=k, asset=a, amount=x, memo=f"m{i}") for i, (k, a, x) in enumerate(entries)
        ],
    )


def multi_asset_with_debt(rpc: Rpc, btc: str, usdt_debt: str) -> str:
    """A MULTI_ASSET futures account holding BTC with a negative USDT wallet."""
    f = rpc.create("FUTURES").account_id
    rpc.switch(f, t.ACCOUNT_MODE_MULTI_ASSET)
    rpc.transfer_in(f, "BTC", btc)
    rpc.post(f, ("USDT", f"-{usdt_debt}"))
    return f


# ---- TransferIn ---------------------------------------------------------------------------


def test_transfer_in_credits_futures_wallet_and_margin_holdings(rpc: Rpc) -> None:
    f = rpc.create("FUTURES").account_id
    m = rpc.create("MARGIN").account_id
    r = rpc.transfer_in(f, "USDT", "1000.12345678")
    assert (dict(r.account.futures.wallet), r.repaid, r.account.version) == (
        {"USDT": "1000.12345678"},
        "0",
        2,
    )
    r = rpc.transfer_in(f, "ETH", "2")
    assert dict(r.account.futures.wallet) == {"USDT": "1000.12345678", "ETH": "2"}
    r = rpc.transfer_in(m, "BTC", "0.5")
    assert (dict(r.account.margin.holdings), r.repaid, r.account.version) == ({"BTC": "0.5"}, "0", 2)


def test_transfer_in_repays_a_negative_futures_wallet_first(rpc: Rpc) -> None:
    # SPEC §7.3: a transfer into a negative wallet repays first; repaid = min(amount, debt).
    f = multi_asset_with_debt(rpc, "1", "500")
    r = rpc.transfer_in(f, "USDT", "200")
    assert r.repaid == "200" and r.account.futures.wallet["USDT"] == "-300"
    r = rpc.transfer_in(f, "USDT", "400")
    assert r.repaid == "300" and r.account.futures.wallet["USDT"] == "100"
    r = rpc.transfer_in(f, "USDT", "5")
    assert r.repaid == "0" and r.account.futures.wallet["USDT"] == "105"
    assert r.account.status == t.ACCOUNT_STATUS_ACTIVE


def test_transfer_in_refusals(rpc: Rpc) -> None:
    f = rpc.create("FUTURES").account_id
    with unchanged(rpc, f):
        refused(
            rpc.funds.TransferIn,
            fun.TransferInRequest(request_id=rid(), account_id=new_id(), asset="USDT", amount="1"),
            NOT_FOUND,
            "ACCOUNT_NOT_FOUND",
            "account_id",
        )
        refused(
            rpc.funds.TransferIn,
            fun.TransferInRequest(request_id=rid(), account_id=f, asset="XRP", amount="1"),
            INVALID_ARGUMENT,
            "UNKNOWN_ASSET",
            "asset",
        )
        refused(
            rpc.funds.TransferIn,
            fun.TransferInRequest(request_id=rid(), account_id=f, asset="USDT", amount="0"),
            INVALID_ARGUMENT,
            "OUT_OF_RANGE",
            "amount",
        )
    # The resulting balance must stay within 10^15 too.
    rpc.transfer_in(f, "USDT", "1000000000000000")
    with unchanged(rpc, f):
        refused(
            rpc.funds.TransferIn,
            fun.TransferInRequest(request_id=rid(), account_id=f, asset="USDT", amount="0.00000001"),
            INVALID_ARGUMENT,
            "OUT_OF_RANGE",
            "amount",
        )


# ---- TransferOut --------------------------------------------------------------------------


def assert_max_transfer_out_is_exact(rpc: Rpc, account_id: str, asset: str, max_of: object) -> Decimal:
    """Max+1e-8 is refused (nothing changes), exactly the max is accepted; returns it."""
    limit = Decimal(max_of(rpc.risk_of(account_id)).get(asset, "0"))  # type: ignore[operator]
    assert limit > 0
    with unchanged(rpc, account_id):
        r = refused(
            rpc.funds.TransferOut,
            transfer_out(account_id, asset, wire(limit + STEP)),
            FAILED_PRECONDITION,
            "EXCEEDS_MAX_TRANSFER",
            "amount",
        )
        assert wire(limit) in r.message
    before = rpc.account(account_id).version
    done = rpc.funds.TransferOut(
        transfer_out(account_id, asset, wire(limit), expected_version=before)
    ).account
    assert done.version == before + 1
    assert asset not in max_of(rpc.risk_of(account_id))  # type: ignore[operator]
    with unchanged(rpc, account_id):
        refused(
            rpc.funds.TransferOut,
            transfer_out(account_id, asset, "0.00000001"),
            FAILED_PRECONDITION,
            "EXCEEDS_MAX_TRANSFER",
            "amount",
        )
    return limit


def test_transfer_out_futures_up_to_max_exactly(rpc: Rpc) -> None:
    # Available = 1000 − ceil8(6000 / 7) = 142.85714285: a max that is not a round number.
    f = rpc.create("FUTURES").account_id
    rpc.transfer_in(f, "USDT", "1000")
    rpc.set_position(f, symbol="BTCUSDT", size="0.1", entry_price="60000", leverage=7)
    limit = assert_max_transfer_out_is_exact(rpc, f, "USDT", lambda r: r.futures.max_transfer_out)
    assert limit == Decimal("142.85714285")
    assert rpc.account(f).futures.wallet["USDT"] == "857.14285715"


def test_transfer_out_margin_up_to_max_exactly(rpc: Rpc) -> None:
    # Classic: after the transfer CV ≥ 2 × TL (classic_transfer_bar).
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "BTC", "1")
    rpc.borrow(m, "USDT", "10000")
    limit = assert_max_transfer_out_is_exact(rpc, m, "BTC", lambda r: r.margin.max_transfer_out)
    assert limit < 1
    assert Decimal(rpc.account(m).margin.holdings["BTC"]) == 1 - limit


def test_transfer_out_refusals(rpc: Rpc) -> None:
    f = rpc.create("FUTURES").account_id
    rpc.transfer_in(f, "USDT", "10")
    with unchanged(rpc, f):
        # Nothing of the asset: the max is 0.
        refused(
            rpc.funds.TransferOut,
            transfer_out(f, "ETH", "1"),
            FAILED_PRECONDITION,
            "EXCEEDS_MAX_TRANSFER",
            "amount",
        )
        refused(
            rpc.funds.TransferOut,
            transfer_out(f, "USDT", "10.00000001"),
            FAILED_PRECONDITION,
            "EXCEEDS_MAX_TRANSFER",
        )
        refused(
            rpc.funds.TransferOut, transfer_out(f, "USDT", "-1"), INVALID_ARGUMENT, "OUT_OF_RANGE", "amount"
        )
        refused(
            rpc.funds.TransferOut, transfer_out(f, "DOT", "1"), INVALID_ARGUMENT, "UNKNOWN_ASSET", "asset"
        )
        refused(
            rpc.funds.TransferOut,
            transfer_out(new_id(), "USDT", "1"),
            NOT_FOUND,
            "ACCOUNT_NOT_FOUND",
            "account_id",
        )
    assert dict(rpc.funds.TransferOut(transfer_out(f, "USDT", "10")).account.futures.wallet) == {}


# ---- PostLedgerEntries --------------------------------------------------------------------

PNL, FEE, FUNDING, TRADE = (
    t.LEDGER_ENTRY_KIND_REALIZED_PNL,
    t.LEDGER_ENTRY_KIND_FEE,
    t.LEDGER_ENTRY_KIND_FUNDING,
    t.LEDGER_ENTRY_KIND_TRADE,
)


def test_post_ledger_entries_applies_a_batch_as_one_change(rpc: Rpc) -> None:
    f = rpc.create("FUTURES").account_id
    rpc.transfer_in(f, "USDT", "100")
    account = rpc.funds.PostLedgerEntries(
        ledger(
            f, (PNL, "USDT", "25.5"), (FEE, "USDT", "-0.25"), (FUNDING, "USDT", "-1.125"), (PNL, "USDC", "3")
        )
    ).account
    assert account.version == 3  # one version for the whole batch
    assert dict(account.futures.wallet) == {"USDT": "124.125", "USDC": "3"}

    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDT", "1000")
    # A trade fill: USDT given, BTC received.
    account = rpc.funds.PostLedgerEntries(ledger(m, (TRADE, "USDT", "-600"), (TRADE, "BTC", "0.02"))).account
    assert dict(account.margin.holdings) == {"USDT": "400", "BTC": "0.02"} and account.version == 3


def test_a_batch_with_one_bad_entry_changes_nothing(rpc: Rpc) -> None:
    f = rpc.create("FUTURES").account_id
    rpc.transfer_in(f, "USDT", "100")
    good = (PNL, "USDT", "10")
    with unchanged(rpc, f):
        for bad, reason, field in (
            ((PNL, "USDT", "1e3"), "INVALID_DECIMAL", "entries[2].amount"),
            ((PNL, "USDT", "0"), "OUT_OF_RANGE", "entries[2].amount"),
            ((PNL, "XRP", "1"), "UNKNOWN_ASSET", "entries[2].asset"),
            ((t.LEDGER_ENTRY_KIND_UNSPECIFIED, "USDT", "1"), "INVALID_ARGUMENT", "entries[2].kind"),
            # A batch is one change: the resulting balance is out of range, named at the
            # asset's last entry.
            ((PNL, "USDT", "1000000000000000"), "OUT_OF_RANGE", "entries[3].amount"),
        ):
            refused(
                rpc.funds.PostLedgerEntries, ledger(f, good, good, bad, good), INVALID_ARGUMENT, reason, field
            )
        refused(rpc.funds.PostLedgerEntries, ledger(f), INVALID_ARGUMENT, "INVALID_ARGUMENT", "entries")


def test_ledger_entries_may_create_a_futures_liability(rpc: Rpc) -> None:
    f = multi_asset_with_debt(rpc, "1", "1000")
    account = rpc.account(f)
    assert account.futures.wallet["USDT"] == "-1000" and account.status == t.ACCOUNT_STATUS_ACTIVE
    (pool,) = rpc.risk_of(f).futures.pools
    assert pool.equity["USDT"] == "-1000"
    # MM = liability × liability.mmr(USDT 0.01) × 1; EM = 1 × 0.975 × 30000 − 1000.
    assert (pool.maintenance_margin, pool.effective_margin) == ("10", "28250")

    # SINGLE_ASSET: only a settlement asset may go negative.
    s = rpc.create("FUTURES").account_id
    rpc.transfer_in(s, "BTC", "1")
    with unchanged(rpc, s):
        refused(
            rpc.funds.PostLedgerEntries,
            ledger(s, (PNL, "BTC", "-2")),
            FAILED_PRECONDITION,
            "INSUFFICIENT_BALANCE",
            "entries[0].amount",
        )


def test_a_ledger_loss_that_makes_the_account_liquidatable_starts_liquidation(rpc: Rpc) -> None:
    # SPEC §8 after every state change: orders cancelled first; still liquidatable, so
    # LIQUIDATING, in the same new version the batch created.
    f = rpc.create("FUTURES").account_id
    rpc.transfer_in(f, "USDT", "1000")
    rpc.set_position(f, symbol="BTCUSDT", size="0.1", entry_price="60000", leverage=10)
    placed = rpc.place_futures(
        f, symbol="ETHUSDT", side=t.SIDE_BUY, price="3000", quantity="0.1", leverage=10
    )
    account = rpc.funds.PostLedgerEntries(ledger(f, (PNL, "USDT", "-980"))).account
    assert account.status == t.ACCOUNT_STATUS_LIQUIDATING and account.version == placed.account.version + 1
    assert not account.futures.orders and account.futures.wallet["USDT"] == "20"
    with unchanged(rpc, f):
        refused(
            rpc.funds.TransferOut, transfer_out(f, "USDT", "1"), FAILED_PRECONDITION, "ACCOUNT_LIQUIDATING"
        )


def test_ledger_entries_never_overdraw_margin_holdings(rpc: Rpc) -> None:
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDT", "100")
    with unchanged(rpc, m):
        r = refused(
            rpc.funds.PostLedgerEntries,
            ledger(m, (TRADE, "BTC", "0.001"), (TRADE, "USDT", "-100.00000001")),
            FAILED_PRECONDITION,
            "INSUFFICIENT_BALANCE",
        )
        assert r.field is not None and r.field.startswith("entries[")
    assert "USDT" not in rpc.funds.PostLedgerEntries(ledger(m, (FEE, "USDT", "-100"))).account.margin.holdings


def test_a_ledger_entry_below_locked_funds_cancels_the_newest_orders(rpc: Rpc) -> None:
    # SPEC §7.4 (ours): a fact is never refused; holdings left below the funds open
    # orders lock cancel the newest orders locking that asset, one change, one event.
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDT", "1000")
    rpc.transfer_in(m, "BTC", "1")
    ids = [
        rpc.place_margin(m, base="BTC", quote="USDT", side=t.SIDE_BUY, price="100", quantity=q).order_id
        for q in ("3", "4")
    ]
    sell = rpc.place_margin(m, base="BTC", quote="USDT", side=t.SIDE_SELL, price="90000", quantity="1")
    ids.append(
        rpc.place_margin(m, base="BTC", quote="USDT", side=t.SIDE_BUY, price="100", quantity="2").order_id
    )
    # Locked USDT 900; holdings fall to 450: the 200 and 400 BUYs go (newest first).
    account = rpc.funds.PostLedgerEntries(ledger(m, (FEE, "USDT", "-550"))).account
    assert [o.order_id for o in account.margin.orders] == [ids[0], sell.order_id]
    assert account.margin.holdings["USDT"] == "450" and account.version == sell.account.version + 2
    stream = rpc.events.WatchEvents(evs.WatchEventsRequest(account_ids=[m]), timeout=10)
    for message in stream:
        if message.event.kind == h.EVENT_KIND_ORDERS_CANCELLED:
            stream.cancel()
            break
    assert list(message.event.order_ids) == [ids[2], ids[1]]
    assert message.event.cancel_reason == h.CANCEL_REASON_BELOW_LOCKED


# ---- Borrow -------------------------------------------------------------------------------


def test_borrow_up_to_max_with_first_hour_interest(rpc: Rpc) -> None:
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDT", "1000")
    limit = Decimal(rpc.risk_of(m).margin.max_borrow["USDT"])
    assert limit == 2000  # Classic 3x: CV ≥ 1.5 × TL
    with unchanged(rpc, m):
        refused(
            rpc.funds.Borrow,
            borrow(m, "USDT", wire(limit + STEP)),
            FAILED_PRECONDITION,
            "EXCEEDS_MAX_BORROW",
            "amount",
        )

    amount = Decimal("1.23456789")
    r = rpc.funds.Borrow(borrow(m, "USDT", wire(amount)))
    interest = ceil8(amount * USDT_RATE)
    assert r.interest_charged == wire(interest) == "0.00000556"
    ms = r.account.margin
    assert (ms.holdings["USDT"], ms.borrowed["USDT"], ms.interest["USDT"]) == (
        "1001.23456789",
        "1.23456789",
        "0.00000556",
    )

    # Exactly the new (rounded-down) max is accepted; then nothing more.
    limit = Decimal(rpc.risk_of(m).margin.max_borrow["USDT"])
    r = rpc.funds.Borrow(borrow(m, "USDT", wire(limit)))
    assert r.interest_charged == wire(ceil8(limit * USDT_RATE))
    assert Decimal(r.account.margin.borrowed["USDT"]) == amount + limit
    assert "USDT" not in rpc.risk_of(m).margin.max_borrow
    with unchanged(rpc, m):
        refused(
            rpc.funds.Borrow,
            borrow(m, "USDT", "0.00000001"),
            FAILED_PRECONDITION,
            "EXCEEDS_MAX_BORROW",
            "amount",
        )


def test_borrow_spec_interest_example(rpc: Rpc) -> None:
    # SPEC §7.1: 1,000 USDC at 0.00001/h → 0.01 charged when the loan is made.
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDC", "1000")
    r = rpc.borrow(m, "USDC", "1000")
    assert r.interest_charged == "0.01" and r.account.margin.interest["USDC"] == "0.01"


def test_borrow_refusals(rpc: Rpc) -> None:
    m = rpc.create("MARGIN").account_id
    f = rpc.create("FUTURES").account_id
    rpc.transfer_in(m, "USDT", "1000")
    rpc.transfer_in(f, "USDT", "1000")
    with unchanged(rpc, m, f):
        # Futures debt is a negative wallet: Borrow is for margin accounts only.
        refused(rpc.funds.Borrow, borrow(f, "USDT", "1"), INVALID_ARGUMENT, "INVALID_ARGUMENT", "account_id")
        # DOGE: borrowing disabled; MX: no borrow section. Max borrow 0.
        for asset in ("DOGE", "MX"):
            refused(
                rpc.funds.Borrow, borrow(m, asset, "1"), FAILED_PRECONDITION, "EXCEEDS_MAX_BORROW", "amount"
            )
        refused(rpc.funds.Borrow, borrow(m, "USDT", "-5"), INVALID_ARGUMENT, "OUT_OF_RANGE", "amount")
        refused(rpc.funds.Borrow, borrow(m, "WBTC", "1"), INVALID_ARGUMENT, "UNKNOWN_ASSET", "asset")
        refused(rpc.funds.Borrow, borrow(new_id(), "USDT", "1"), NOT_FOUND, "ACCOUNT_NOT_FOUND", "account_id")


# ---- Repay --------------------------------------------------------------------------------


def test_margin_repay_pays_interest_first(rpc: Rpc) -> None:
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDT", "1000")
    rpc.borrow(m, "USDT", "1000")  # interest 0.0045

    r = rpc.funds.Repay(repay(m, "USDT", "0.001"))
    assert (r.repaid, r.payer_asset, r.payer_amount, r.interest_repaid, r.principal_repaid) == (
        "0.001",
        "USDT",
        "0.001",
        "0.001",
        "0",
    )
    assert r.account.margin.interest["USDT"] == "0.0035"

    r = rpc.funds.Repay(repay(m, "USDT", "500"))
    assert (r.interest_repaid, r.principal_repaid) == ("0.0035", "499.9965")
    ms = r.account.margin
    assert "USDT" not in ms.interest
    assert (ms.borrowed["USDT"], ms.holdings["USDT"]) == ("500.0035", "1499.999")

    # Another asset pays at the SPEC §7.2 conversion price (BTC at 30000, discount 0.9).
    rpc.transfer_in(m, "BTC", "1")
    r = rpc.funds.Repay(repay(m, "USDT", "100", "BTC"))
    cost = ceil8(Decimal(100) / (Decimal(BTC_PRICE) * Decimal("0.9")))
    assert (r.payer_asset, r.payer_amount, r.principal_repaid) == ("BTC", wire(cost), "100")
    assert Decimal(r.account.margin.holdings["BTC"]) == 1 - cost
    assert r.account.margin.holdings["USDT"] == "1499.999"


def test_margin_repay_refusals(rpc: Rpc) -> None:
    m = rpc.create("MARGIN").account_id
    rpc.transfer_in(m, "USDT", "100")
    rpc.borrow(m, "USDT", "100")  # liability 100.00045
    # Lock all but 50 USDT with an open BUY.
    rpc.place_margin(m, base="BTC", quote="USDT", side=t.SIDE_BUY, price="30000", quantity="0.005")
    with unchanged(rpc, m):
        refused(rpc.funds.Repay, repay(m, "USDT", "100.00046"), INVALID_ARGUMENT, "OUT_OF_RANGE", "amount")
        refused(rpc.funds.Repay, repay(m, "ETH", "1"), INVALID_ARGUMENT, "OUT_OF_RANGE", "amount")
        refused(
            rpc.funds.Repay,
            repay(m, "USDT", "50.00000001"),
            FAILED_PRECONDITION,
            "INSUFFICIENT_BALANCE",
            "amount",
        )
        refused(
            rpc.funds.Repay,
            repay(m, "USDT", "1", "BTC"),
            FAILED_PRECONDITION,
            "INSUFFICIENT_BALANCE",
            "payer_asset",
        )
        refused(rpc.funds.Repay, repay(m, "USDT", "0"), INVALID_ARGUMENT, "OUT_OF_RANGE", "amount")
        refused(
            rpc.funds.Repay, repay(m, "USDT", "1", "XRP"), INVALID_ARGUMENT, "UNKNOWN_ASSET", "payer_asset"
        )
    r = rpc.funds.Repay(repay(m, "USDT", "50"))
    assert (r.interest_repaid, r.principal_repaid) == ("0.00045", "49.99955")


def test_futures_repay_with_a_payer_at_the_spec_example_price(rpc: Rpc) -> None:
    # SPEC §7.2: repaying 1,000 USDT with BTC at 30,000 and discount 0.9 costs
    # ceil8(1000 / 27000) = 0.03703704 BTC.
    f = multi_asset_with_debt(rpc, "1", "1000")
    r = rpc.funds.Repay(repay(f, "USDT", "1000", "BTC"))
    assert (r.repaid, r.payer_asset, r.payer_amount, r.interest_repaid, r.principal_repaid) == (
        "1000",
        "BTC",
        "0.03703704",
        "0",
        "1000",
    )
    assert dict(r.account.futures.wallet) == {"BTC": "0.96296296"}


def test_a_debt_above_its_threshold_is_auto_repaid_by_the_other_assets(rpc: Rpc) -> None:
    # SPEC §7.3: USDT threshold 1,000,000, ratio 0.5 (default rulebook). A debt of
    # 1,200,000 repays A = 1,200,000 − 500,000 = 700,000 in the same change, paid by BTC
    # (the first payer with a wallet) at 30,000 × discount 0.9.
    f = multi_asset_with_debt(rpc, "100", "1200000")
    cost = ceil8(Decimal(700000) / (Decimal(BTC_PRICE) * Decimal("0.9")))
    assert dict(rpc.account(f).futures.wallet) == {"USDT": "-500000", "BTC": wire(100 - cost)}
    history = rpc.funds.ListHistory(fun.ListHistoryRequest(account_id=f)).entries
    entry = history[0]
    assert (entry.kind, entry.asset, entry.amount, entry.payer_asset, entry.payer_amount) == (
        h.HISTORY_KIND_REPAY_THRESHOLD,
        "USDT",
        "700000",
        "BTC",
        wire(cost),
    )
    assert (entry.asset_price, entry.payer_price, entry.discount) == ("1", BTC_PRICE, "0.9")


def test_futures_repay_refusals(rpc: Rpc) -> None:
    f = multi_asset_with_debt(rpc, "0.01", "100")
    with unchanged(rpc, f):
        # A futures repayment names a payer other than the debt asset.
        refused(rpc.funds.Repay, repay(f, "USDT", "10"), INVALID_ARGUMENT, "INVALID_ARGUMENT", "payer_asset")
        refused(
            rpc.funds.Repay,
            repay(f, "USDT", "10", "USDT"),
            INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
            "payer_asset",
        )
        refused(
            rpc.funds.Repay,
            repay(f, "USDT", "100.00000001", "BTC"),
            INVALID_ARGUMENT,
            "OUT_OF_RANGE",
            "amount",
        )
        refused(rpc.funds.Repay, repay(f, "BTC", "1", "USDT"), INVALID_ARGUMENT, "OUT_OF_RANGE", "amount")
        # The payer must hold the conversion cost: the wallet has no ETH.
        refused(
            rpc.funds.Repay,
            repay(f, "USDT", "10", "ETH"),
            FAILED_PRECONDITION,
            "INSUFFICIENT_BALANCE",
            "payer_asset",
        )


def test_futures_repay_that_would_make_the_account_liquidatable_is_refused(rpc: Rpc) -> None:
    # Paying 1000 USDT of debt costs 0.03703704 BTC, worth more in margin (×0.975 × 30000 ≈
    # 1083) than the debt it removes (1000 + its 10 of MM): EM drops below the position's MM.
    f = multi_asset_with_debt(rpc, "0.04", "1000")
    rpc.set_position(f, symbol="BTCUSDT", size="0.41666666", entry_price="60000", leverage=10)
    assert not rpc.risk_of(f).futures.liquidatable
    with unchanged(rpc, f):
        refused(
            rpc.funds.Repay,
            repay(f, "USDT", "1000", "BTC"),
            FAILED_PRECONDITION,
            "INSUFFICIENT_MARGIN",
            "amount",
        )
    r = rpc.funds.Repay(repay(f, "USDT", "100", "BTC"))
    assert r.account.futures.wallet["USDT"] == "-900"

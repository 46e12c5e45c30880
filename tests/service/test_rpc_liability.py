"""The liability lifecycle over gRPC (SPEC §7–§8): interest settlement, repay-all,
history with signed and stable paging, the event stream with resume, and ending a
liquidation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
import rpckit
from google.protobuf.timestamp_pb2 import Timestamp
from multimargin.v1 import event_service_pb2 as evs
from multimargin.v1 import history_pb2 as h
from multimargin.v1 import operator_service_pb2 as op
from multimargin.v1 import types_pb2 as t
from rpckit import FAILED_PRECONDITION, INVALID_ARGUMENT, Rpc, fun, refused, rid

HOUR = 3600


@pytest.fixture(scope="module")
def rpc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rpc]:
    directory = tmp_path_factory.mktemp("liability")
    rulebook, _ = rpckit.rulebook_file(directory, {("assets", "USDC", "borrow", "hourly_rate"): "0.00001"})
    with rpckit.serving(directory / "data", "--rulebook", str(rulebook)) as (_, client):
        yield client


def at(seconds: int) -> Timestamp:
    ts = Timestamp()
    ts.FromSeconds(seconds)
    return ts


def settle(rpc: Rpc, seconds: int) -> op.RunSettlementResponse:
    return rpc.operator.RunSettlement(op.RunSettlementRequest(request_id=rid(), as_of=at(seconds)))


def last_settled(rpc: Rpc) -> int:
    """Settles up to now; returns the hour boundary (seconds) settled through."""
    return settle(rpc, int(time.time())).settled_through.seconds


def history(rpc: Rpc, account_id: str, page_size: int = 0, token: str = "") -> fun.ListHistoryResponse:
    return rpc.funds.ListHistory(
        fun.ListHistoryRequest(account_id=account_id, page_size=page_size, page_token=token)
    )


def test_interest_settles_each_hour_once_and_is_recorded(rpc: Rpc) -> None:
    through = last_settled(rpc)
    acct = rpc.create("MARGIN").account_id
    rpc.transfer_in(acct, "USDT", "10000")
    # SPEC §7.1: 1,000 USDC at 0.00001/h → 0.01 at once, then 0.01 per hour boundary.
    assert rpc.borrow(acct, "USDC", "1000").interest_charged == "0.01"
    # Nothing new to settle: the same hour again changes nothing.
    again = settle(rpc, through + 10)
    assert again.hours_settled == 0
    assert rpc.account(acct).margin.interest["USDC"] == "0.01"
    refused(
        rpc.operator.RunSettlement,
        op.RunSettlementRequest(request_id=rid(), as_of=at(through - 1)),
        INVALID_ARGUMENT,
        "OUT_OF_RANGE",
        "as_of",
    )
    refused(
        rpc.operator.RunSettlement,
        op.RunSettlementRequest(request_id=rid(), as_of=at(int(time.time()) + 2 * HOUR)),
        INVALID_ARGUMENT,
        "OUT_OF_RANGE",
        "as_of",
    )
    (first,) = history(rpc, acct).entries  # the borrow's first hour, charged at once
    assert (first.kind, first.asset, first.amount, first.interest_base) == (
        h.HISTORY_KIND_INTEREST,
        "USDC",
        "0.01",
        "1000",
    )
    # Repay all: interest first, then principal, nothing left (SPEC §7.4).
    rpc.transfer_in(acct, "USDC", "5")
    repaid = rpc.funds.Repay(fun.RepayRequest(request_id=rid(), account_id=acct, asset="USDC", all=True))
    assert (repaid.repaid, repaid.interest_repaid, repaid.principal_repaid) == ("1000.01", "0.01", "1000")
    assert not rpc.account(acct).margin.borrowed and not rpc.account(acct).margin.interest
    entry, _ = history(rpc, acct).entries
    assert (entry.kind, entry.asset, entry.amount, entry.payer_asset) == (
        h.HISTORY_KIND_REPAY_MANUAL,
        "USDC",
        "1000.01",
        "USDC",
    )


def test_history_pages_newest_first_stably_with_signed_tokens(rpc: Rpc) -> None:
    acct = rpc.create("FUTURES").account_id
    rpc.post(acct, ("USDT", "-100"))
    for _ in range(5):  # five transfer-in repayments of 10 USDT
        rpc.transfer_in(acct, "USDT", "10")
    first = history(rpc, acct, page_size=2)
    assert [e.amount for e in first.entries] == ["10", "10"]
    assert all(e.kind == h.HISTORY_KIND_REPAY_TRANSFER_IN for e in first.entries)
    rpc.transfer_in(acct, "USDT", "7")  # a new entry while paging
    second = history(rpc, acct, page_size=2, token=first.next_page_token)
    third = history(rpc, acct, page_size=2, token=second.next_page_token)
    assert len(second.entries) == 2 and len(third.entries) == 1 and not third.next_page_token
    assert history(rpc, acct).entries[0].amount == "7"
    token = first.next_page_token
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    refused(
        rpc.funds.ListHistory,
        fun.ListHistoryRequest(account_id=acct, page_size=2, page_token=forged),
        INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        "page_token",
    )
    other = rpc.create("FUTURES").account_id  # a token is bound to its account
    refused(
        rpc.funds.ListHistory,
        fun.ListHistoryRequest(account_id=other, page_token=token),
        INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        "page_token",
    )


def watch(rpc: Rpc, after: int, *accounts: str) -> Iterator[h.Event]:
    request = evs.WatchEventsRequest(after_seq=after, account_ids=list(accounts))
    for message in rpc.events.WatchEvents(request, timeout=30):
        yield message.event


def test_liquidation_events_resume_and_end_liquidation(rpc: Rpc) -> None:
    acct = rpc.create("MARGIN").account_id
    rpc.transfer_in(acct, "USDT", "1000")
    rpc.borrow(acct, "BTC", "0.02")  # 1,200 USDT of debt against 2,200 of assets
    rpc.place_margin(acct, base="BTC", quote="USDT", side=t.SIDE_BUY, price="100", quantity="1")
    # BTC at 200,000: TA 1000 + 4000 = 5000 vs TL ≈ 4000 → ML 1.25 ≤ 1.3, a margin call;
    # at 1,000,000: 21,000 vs ≈ 20,000 → ≤ 1.1, liquidatable: orders first, then LIQUIDATING.
    rpc.set_prices({"BTC": "200000"})
    rpc.set_prices({"BTC": "1000000"})
    assert rpc.account(acct).status == t.ACCOUNT_STATUS_LIQUIDATING
    kinds = [e.kind for e in watch_until(rpc, acct, h.EVENT_KIND_LIQUIDATION_STARTED)]
    assert kinds == [
        h.EVENT_KIND_INTEREST_CHARGED,  # the borrow's first hour
        h.EVENT_KIND_MARGIN_CALL,
        h.EVENT_KIND_ORDERS_CANCELLED,
        h.EVENT_KIND_LIQUIDATION_STARTED,
    ]
    refused(
        rpc.operator.EndLiquidation,
        op.EndLiquidationRequest(request_id=rid(), account_id=acct),
        FAILED_PRECONDITION,
        "MARGIN_LEVEL_TOO_LOW",
    )
    rpc.set_prices({"BTC": "60000"})
    ended = rpc.operator.EndLiquidation(op.EndLiquidationRequest(request_id=rid(), account_id=acct))
    assert ended.account.status == t.ACCOUNT_STATUS_ACTIVE
    events = list(watch_until(rpc, acct, h.EVENT_KIND_LIQUIDATION_ENDED))
    assert [e.kind for e in events][-2:] == [h.EVENT_KIND_MARGIN_CALL_CLEARED, h.EVENT_KIND_LIQUIDATION_ENDED]
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs))
    # Resume after the third event: exactly the later ones, once each.
    resumed = list(watch_until(rpc, acct, h.EVENT_KIND_LIQUIDATION_ENDED, after=seqs[2]))
    assert [e.seq for e in resumed] == seqs[3:]
    refused(
        lambda r: list(rpc.events.WatchEvents(r, timeout=10)),
        evs.WatchEventsRequest(after_seq=10**9),
        INVALID_ARGUMENT,
        "OUT_OF_RANGE",
        "after_seq",
    )


def watch_until(rpc: Rpc, acct: str, kind: int, after: int = 0) -> Iterator[h.Event]:
    for event in watch(rpc, after, acct):
        yield event
        if event.kind == kind:
            return


def test_a_live_subscriber_sees_new_events(rpc: Rpc) -> None:
    acct = rpc.create("FUTURES").account_id
    rpc.post(acct, ("USDT", "-50"))  # EM < 0: liquidatable at once (SPEC §5.2)
    seen: list[h.Event] = []
    stream = rpc.events.WatchEvents(evs.WatchEventsRequest(account_ids=[acct]), timeout=30)

    def read() -> None:
        for message in stream:
            seen.append(message.event)
            if len(seen) == 3:
                return

    reader = threading.Thread(target=read)
    reader.start()
    rpc.transfer_in(acct, "USDT", "20")
    rpc.transfer_in(acct, "USDT", "40")
    reader.join(30)
    stream.cancel()
    assert [(e.kind, e.entry.amount) for e in seen] == [
        (h.EVENT_KIND_LIQUIDATION_STARTED, ""),  # from the store, then live:
        (h.EVENT_KIND_REPAID, "20"),
        (h.EVENT_KIND_REPAID, "30"),
    ]
    assert Decimal(rpc.account(acct).futures.wallet["USDT"]) == 10
    with pytest.raises(grpc.RpcError):
        next(iter(stream))


def test_vip_level_bounds_borrowing(tmp_path: Path) -> None:
    limits = [[0, "100"], [3, "1000"]]
    rulebook, _ = rpckit.rulebook_file(tmp_path, {("assets", "USDT", "borrow", "vip_limits"): limits})
    with rpckit.serving(tmp_path / "data", "--rulebook", str(rulebook)) as (_, rpc):
        acct = rpc.create("MARGIN").account_id
        rpc.transfer_in(acct, "BTC", "1")
        assert rpc.risk_of(acct).margin.max_borrow["USDT"] == "100"
        refused(
            rpc.funds.Borrow,
            fun.BorrowRequest(request_id=rid(), account_id=acct, asset="USDT", amount="200"),
            FAILED_PRECONDITION,
            "EXCEEDS_MAX_BORROW",
            "amount",
        )
        for level, code in ((10, "OUT_OF_RANGE"), (-1, "OUT_OF_RANGE")):
            refused(
                rpc.operator.SetVipLevel,
                op.SetVipLevelRequest(request_id=rid(), account_id=acct, vip_level=level),
                INVALID_ARGUMENT,
                code,
                "vip_level",
            )
        set_ = rpc.operator.SetVipLevel(op.SetVipLevelRequest(request_id=rid(), account_id=acct, vip_level=4))
        assert set_.account.margin.vip_level == 4
        assert rpc.risk_of(acct).margin.max_borrow["USDT"] == "1000"
        rpc.borrow(acct, "USDT", "200")


def test_events_resume_across_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with rpckit.serving(data) as (_, rpc):
        acct = rpc.create("FUTURES").account_id
        rpc.post(acct, ("USDT", "-30"))
        rpc.transfer_in(acct, "USDT", "10")
        before = [e.seq for e in watch_until(rpc, acct, h.EVENT_KIND_REPAID)]
    with rpckit.serving(data, prices=False) as (_, rpc):
        rpc.transfer_in(acct, "USDT", "10")
        resumed = list(watch_until(rpc, acct, h.EVENT_KIND_REPAID, after=before[-1]))
        assert len(resumed) == 1 and resumed[0].seq == before[-1] + 1
        assert [e.amount for e in history(rpc, acct).entries] == ["10", "10"]

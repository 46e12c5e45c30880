"""The typed client's liability calls against a real server: repay all, RepayLiability,
history pages as frozen entries with Decimal fields and UTC times, interest settlement;
and the event iterator, which resumes by itself across a server restart and after the
server ends it as too slow, delivering every event once and in order."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import rpckit
import serverkit
from multimargin.client import Client, Event, EventStream
from multimargin.errors import InvalidInputError, UnavailableError
from rpckit import Rpc

D = Decimal


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Rpc, Client]]:
    directory = tmp_path_factory.mktemp("client-liability")
    rulebook, _ = rpckit.rulebook_file(directory, {("assets", "USDC", "borrow", "hourly_rate"): "0.00001"})
    data = directory / "data"
    with (
        rpckit.serving(data, "--rulebook", str(rulebook)) as (server, rpc),
        Client(server.address, timeout=30) as c,
    ):
        yield rpc, c


def test_settlement_repay_all_and_history(served: tuple[Rpc, Client]) -> None:
    rpc, client = served
    first = client.run_settlement(datetime.now(UTC))
    assert first.settled_through is not None and first.settled_through.tzinfo is not None
    assert first.settled_through <= datetime.now(UTC)
    acct = rpc.create("MARGIN").account_id
    rpc.transfer_in(acct, "USDT", "10000")
    assert client.borrow(acct, "USDC", "1000").interest_charged == D("0.01")
    again = client.run_settlement(first.settled_through + timedelta(seconds=10))
    assert (again.hours_settled, again.settled_through) == (0, first.settled_through)
    with pytest.raises(InvalidInputError) as refused:
        client.run_settlement(datetime.now(UTC) + timedelta(hours=2))
    assert (refused.value.reason, refused.value.field) == ("OUT_OF_RANGE", "as_of")
    with pytest.raises(TypeError, match="naive"):
        client.run_settlement(datetime.now())  # naive: the point of the test

    rpc.transfer_in(acct, "USDC", "5")
    repaid = client.repay(acct, "USDC", "all")
    assert (repaid.repaid, repaid.interest_repaid, repaid.principal_repaid) == (
        D("1000.01"),
        D("0.01"),
        D(1000),
    )
    assert not repaid.account.borrowed and not repaid.account.interest

    page = client.list_history(acct)
    assert page.next_page_token == "" and page.version == repaid.account.version
    manual, interest = page.entries
    assert (manual.kind, manual.asset, manual.amount, manual.payer_asset, manual.payer_amount) == (
        "REPAY_MANUAL",
        "USDC",
        D("1000.01"),
        "USDC",
        D("1000.01"),
    )
    assert (manual.interest_repaid, manual.principal_repaid, manual.hourly_rate) == (D("0.01"), D(1000), None)
    assert (interest.kind, interest.amount, interest.interest_base, interest.hourly_rate) == (
        "INTEREST",
        D("0.01"),
        D(1000),
        D("0.00001"),
    )
    assert interest.payer_asset == "" and interest.payer_amount is None
    assert manual.time.tzinfo is not None and manual.time >= interest.time
    with pytest.raises(dataclasses.FrozenInstanceError):
        manual.amount = D(0)  # type: ignore[misc]


def test_history_pages_and_the_iterator_over_all_pages(served: tuple[Rpc, Client]) -> None:
    rpc, client = served
    acct = rpc.create("FUTURES").account_id
    client.post_ledger_entries(acct, [("REALIZED_PNL", "USDT", "-100")])
    for amount in ("10", "11", "12", "13", "14"):
        assert client.transfer_in(acct, "USDT", amount).repaid == D(amount)
    page = client.list_history(acct, page_size=2)
    assert [e.amount for e in page.entries] == [D(14), D(13)] and page.next_page_token
    second = client.list_history(acct, page_size=2, page_token=page.next_page_token)
    assert [e.amount for e in second.entries] == [D(12), D(11)]
    entries = list(client.history(acct, page_size=2))
    assert [e.amount for e in entries] == [D(14), D(13), D(12), D(11), D(10)]
    assert {e.kind for e in entries} == {"REPAY_TRANSFER_IN"}
    with pytest.raises(InvalidInputError) as refused:
        client.list_history(acct, page_token="forged")
    assert refused.value.field == "page_token"


def test_repay_liability_by_amount_and_all(served: tuple[Rpc, Client]) -> None:
    rpc, client = served
    acct = rpc.create("FUTURES").account_id
    rpc.transfer_in(acct, "BTC", "1")
    client.post_ledger_entries(acct, [("REALIZED_PNL", "USDT", "-100")])
    part = client.repay_liability(acct, "USDT", "BTC", D("40"))
    entry = part.entry
    assert (entry.kind, entry.asset, entry.amount, entry.payer_asset) == (
        "REPAY_MANUAL",
        "USDT",
        D(40),
        "BTC",
    )
    assert (entry.payer_price, entry.discount) == (D(60000), D("0.95"))
    # SPEC §7.2: ceil8(40 × 1 / (60000 × 0.95)).
    assert entry.payer_amount == D("0.00070176")
    assert part.account.wallet["USDT"] == D(-60)
    rest = client.repay_liability(acct, "USDT", "BTC", "all")
    assert rest.entry.amount == D(60)
    assert rest.account.wallet.get("USDT", D(0)) == 0
    assert [e.amount for e in client.history(acct)] == [D(60), D(40)]


# ---- events ---------------------------------------------------------------------------


def collect(stream: EventStream, count: int, into: list[Event]) -> threading.Thread:
    """Reads ``count`` events of ``stream`` in a thread."""

    def read() -> None:
        for event in stream:
            into.append(event)
            if len(into) == count:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_events_resume_across_a_server_restart_once_each_in_order(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = serverkit.start_server(data, "--grace", "0.5")
    try:
        rpc = Rpc(server.channel)
        rpc.set_prices(rpckit.INDEX, rpckit.MARKS)
        acct = rpc.create("FUTURES").account_id
        rpc.post(acct, ("USDT", "-40"))  # liquidatable at once: LIQUIDATION_STARTED
        rpc.transfer_in(acct, "USDT", "5")
        client = Client(server.address, backoff=0.05, max_backoff=0.5)
        seen: list[Event] = []
        with client, client.watch_events([acct]) as stream:
            reader = collect(stream, 6, seen)
            wait_for(lambda: len(seen) == 2)  # the backlog
            rpc.transfer_in(acct, "USDT", "6")  # live
            wait_for(lambda: len(seen) == 3)
            assert server.stop() == 0
            server = serverkit.start_server(data, "--grace", "0.5", port=server.port)
            rpc = Rpc(server.channel)
            for amount in ("7", "8", "9"):  # while the client may still be reconnecting
                rpc.transfer_in(acct, "USDT", amount)
            reader.join(60)
            assert not reader.is_alive()
            assert stream.resumed >= 1
            assert client.engine_status().event_seq == seen[-1].seq
        assert [e.kind for e in seen] == ["LIQUIDATION_STARTED"] + ["REPAID"] * 5
        assert [e.entry.amount for e in seen[1:] if e.entry] == [D(5), D(6), D(7), D(8), D(9)]
        seqs = [e.seq for e in seen]
        assert seqs == list(range(seqs[0], seqs[0] + 6))
        started = seen[0]
        assert started.account is not None and started.account.status == "LIQUIDATING"
        assert started.risk is not None and started.risk.liquidatable and started.time.tzinfo is not None
        # A resume after a sequence number the server never issued is refused at once.
        with Client(server.address) as other, pytest.raises(InvalidInputError) as refused:
            next(other.watch_events(after_seq=10**9))
        assert (refused.value.reason, refused.value.field) == ("OUT_OF_RANGE", "after_seq")
    finally:
        assert server.stop() == 0


def test_a_closed_stream_ends_a_blocked_iteration(served: tuple[Rpc, Client]) -> None:
    rpc, client = served
    acct = rpc.create("FUTURES").account_id
    stream = client.watch_events([acct])
    seen: list[Event] = []
    reader = collect(stream, 1, seen)
    time.sleep(0.2)
    stream.close()
    reader.join(10)
    assert not reader.is_alive() and seen == []
    with pytest.raises(StopIteration):
        next(stream)


def test_events_resume_after_the_server_ends_a_slow_subscriber(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MULTIMARGIN_SUBSCRIBER_BUFFER", "2")  # read by the server at start
    with rpckit.serving(tmp_path / "data") as (server, rpc):
        accounts = []
        for _ in range(4):  # margin accounts that one price move makes liquidatable
            acct = rpc.create("MARGIN").account_id
            rpc.transfer_in(acct, "USDT", "1000")
            rpc.borrow(acct, "BTC", "0.02")
            accounts.append(acct)
        marker = rpc.create("MARGIN").account_id
        rpc.transfer_in(marker, "USDT", "1000")
        with Client(server.address, timeout=30) as client:
            start = client.engine_status().event_seq
            seen: list[Event] = []
            with client.watch_events(after_seq=start) as live:
                reader = collect(live, 10**6, seen)
                rpc.borrow(marker, "USDT", "1")  # one event: the subscriber is live once seen
                wait_for(lambda: len(seen) == 1)
                burst = rpc.set_prices({"BTC": "1000000"})  # one commit, many events at once
                assert len(burst.accounts) == 4 and burst.accounts_evaluated >= 4
                end = client.engine_status().event_seq
                assert end - start >= 1 + 4 + 2  # more than the subscriber's buffer of 2
                wait_for(lambda: bool(seen) and seen[-1].seq == end)
                assert live.resumed >= 1  # it was ended as too slow and resumed
            reader.join(10)
            assert [e.seq for e in seen] == list(range(start + 1, end + 1))
            with client.watch_events(after_seq=start) as replay:
                again = [next(replay) for _ in range(end - start)]
            assert again == seen
            assert {e.account_id for e in seen if e.kind == "LIQUIDATION_STARTED"} == set(accounts)


def test_the_iterator_gives_up_after_its_reconnects() -> None:
    with Client(f"127.0.0.1:{serverkit.free_port()}", backoff=0.01, max_backoff=0.05) as client:
        stream = client.watch_events(reconnects=3)
        started = time.monotonic()
        with pytest.raises(UnavailableError):
            next(stream)
        assert stream.resumed == 3 and time.monotonic() - started < 10
        with pytest.raises(StopIteration):  # a stream that raised is closed
            next(stream)

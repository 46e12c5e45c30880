"""Durability against a real server: a restart (SIGTERM, then a new server on the same
data dir) reproduces the state exactly; so does recovery from a snapshot plus a journal
tail; and a ``kill -9`` in the middle of a burst of concurrent mutations loses no
acknowledged mutation and leaves no half-applied one."""

from __future__ import annotations

import itertools
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
import rpckit
import serverkit
from rpckit import Rpc, acc, fun, observe, rid, t, wire

SNAPSHOT_EVERY = 10_000  # the engine's default (engine.Engine snapshot_every)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def first(data_dir: Path) -> Iterator[serverkit.ServerProcess]:
    server = serverkit.start_server(data_dir, *serverkit.TAKE_BURSTS)  # windows of 200 calls
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.wait()


def stop(server: serverkit.ServerProcess) -> None:
    assert server.stop() == 0, server.log_text()


def kill9(server: serverkit.ServerProcess) -> None:
    server.signal(signal.SIGKILL)
    assert server.wait() == -signal.SIGKILL


# ---- restart ------------------------------------------------------------------------------


def test_restart_reproduces_every_account_and_the_state_hash(
    data_dir: Path, first: serverkit.ServerProcess
) -> None:
    rpc = Rpc(first.channel)
    ids = rpckit.populate(rpc)
    # A request to retry after the restart: its response must come from the journal.
    retry = fun.TransferInRequest(request_id=rid(), account_id=ids[0], asset="ETH", amount="0.5")
    retried = rpc.funds.TransferIn(retry).SerializeToString()
    before = observe(rpc)
    assert len(ids) == len(before.accounts)
    assert {t.ACCOUNT_STATUS_LIQUIDATING, t.ACCOUNT_STATUS_ACTIVE} <= {
        a.status for a in acc.ListAccountsResponse.FromString(before.listing).accounts
    }
    stop(first)

    with serverkit.running_server(data_dir) as second:
        rpc2 = Rpc(second.channel)
        after = observe(rpc2)
        assert after.state_hash == before.state_hash
        assert after.journal_seq == before.journal_seq
        assert after.accounts == before.accounts  # every GetAccount response, byte for byte
        assert after.listing == before.listing and after.prices == before.prices
        # A clean stop snapshots; the new server restored it, with nothing to replay.
        assert after.snapshot_seq == before.journal_seq
        assert rpckit.recovered_records(second)[-1]["replayed"] == 0

        # Idempotency survives the restart: the retry is answered from the journal.
        assert rpc2.funds.TransferIn(retry).SerializeToString() == retried
        assert observe(rpc2) == after
        # And the engine carries on from where it was.
        version = rpc2.account(ids[0]).version
        assert rpc2.transfer_in(ids[0], "USDT", "1").account.version == version + 1
        assert rpc2.status().journal_seq == before.journal_seq + 1
        again = observe(rpc2)

    # A second restart, after changes made by the restarted server.
    with serverkit.running_server(data_dir) as third:
        assert observe(Rpc(third.channel)) == again


@pytest.mark.slow
def test_recovery_from_a_snapshot_and_a_journal_tail(data_dir: Path, first: serverkit.ServerProcess) -> None:
    """More than SNAPSHOT_EVERY records: the engine snapshots on its own; records after
    the snapshot are replayed on recovery (after kill -9, so no final snapshot)."""
    rpc = Rpc(first.channel)
    ids = [rpc.create("FUTURES" if i % 2 else "MARGIN").account_id for i in range(4)]
    amounts = (f"{i // 4 + 1}.{i % 97:02d}" for i in itertools.count())
    requests = [
        fun.TransferInRequest(
            request_id=f"bulk-{i}", account_id=ids[i % 4], asset="USDT", amount=next(amounts)
        )
        for i in range(SNAPSHOT_EVERY)
    ]
    window = 200  # requests in flight at once
    responses: list[bytes] = []
    for start in range(0, len(requests), window):
        futures = [rpc.funds.TransferIn.future(r) for r in requests[start : start + window]]
        responses.extend(future.result().SerializeToString() for future in futures)
    status = rpc.status()
    assert status.journal_seq == 1 + 4 + SNAPSHOT_EVERY  # rulebook, creates, transfers
    assert 0 < status.snapshot_seq <= status.journal_seq

    # A tail after the snapshot: every kind of change, prices included.
    tail_ids = rpckit.populate(rpc)
    tail = rpc.status()
    assert tail.snapshot_seq == status.snapshot_seq and tail.journal_seq > status.journal_seq
    before = observe(rpc)
    for i in ids:
        total = sum(Decimal(r.amount) for r in requests if r.account_id == i)
        account = rpc.account(i)
        balances = (
            account.futures.wallet if account.WhichOneof("state") == "futures" else account.margin.holdings
        )
        assert balances["USDT"] == wire(total)
    kill9(first)

    with serverkit.running_server(data_dir) as second:
        after = observe(Rpc(second.channel))
        assert after == before
        recovered = rpckit.recovered_records(second)[-1]
        assert recovered["snapshot_seq"] == status.snapshot_seq
        assert recovered["replayed"] == before.journal_seq - status.snapshot_seq > 0
        assert recovered["accounts"] == len(ids) + len(tail_ids)
        # Requests from before the snapshot are still known to idempotency.
        rpc2 = Rpc(second.channel)
        for k in (0, status.snapshot_seq // 2, len(requests) - 1):
            assert rpc2.funds.TransferIn(requests[k]).SerializeToString() == responses[k]
        assert observe(rpc2) == after

    with serverkit.running_server(data_dir) as third:
        final = observe(Rpc(third.channel))
        assert final == before
        assert final.snapshot_seq == before.journal_seq  # the clean stop took a final snapshot


# ---- kill -9 during a burst ---------------------------------------------------------------


@dataclass
class Burst:
    """What the writers sent, and which of it was acknowledged (with the response)."""

    sent: dict[str, fun.TransferInRequest] = field(default_factory=dict)
    acked: dict[str, bytes] = field(default_factory=dict)
    failed: dict[str, grpc.StatusCode] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def test_kill_9_during_a_burst_loses_nothing_acknowledged(
    data_dir: Path, first: serverkit.ServerProcess
) -> None:
    rpc = Rpc(first.channel)
    accounts = [rpc.create("FUTURES" if i % 2 else "MARGIN", f"crash-{i}").account_id for i in range(4)]
    create_requests = len(accounts)

    burst = Burst()
    counter = itertools.count()
    enough = threading.Event()
    kill_after = 300  # acknowledgements before the kill

    def writer(k: int) -> None:
        # Each writer has its own channel: several HTTP/2 connections, as several clients.
        channel = grpc.insecure_channel(first.address)
        try:
            funds = Rpc(channel).funds
            while True:
                n = next(counter)
                # Distinct amounts (n + 1 units and a fraction): sums identify nothing
                # alone, but they are checked against the set of applied requests.
                request = fun.TransferInRequest(
                    request_id=f"burst-{n}",
                    account_id=accounts[n % len(accounts)],
                    asset="USDT",
                    amount=f"{n + 1}.{n % 10**8:08d}",
                )
                with burst.lock:
                    burst.sent[request.request_id] = request
                try:
                    response = funds.TransferIn(request, timeout=30)
                except grpc.RpcError as e:
                    with burst.lock:
                        burst.failed[request.request_id] = e.code()
                    return
                with burst.lock:
                    burst.acked[request.request_id] = response.SerializeToString()
                    if len(burst.acked) >= kill_after:
                        enough.set()
        finally:
            channel.close()

    with ThreadPoolExecutor(8) as pool:
        writers = [pool.submit(writer, k) for k in range(8)]
        assert enough.wait(120), "the burst did not get going"
        kill9(first)  # SIGKILL with requests in flight
        wait(writers)
        for w in writers:
            w.result()
    assert len(burst.acked) >= kill_after
    assert set(burst.failed) == set(burst.sent) - set(burst.acked)
    # Failures are the transport's (the server went away), never a refusal by the engine.
    refusals = {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.NOT_FOUND,
    }
    assert not refusals & set(burst.failed.values()), burst.failed

    with serverkit.running_server(data_dir) as second:
        rpc2 = Rpc(second.channel)
        status = rpc2.status()
        recovered = {i: rpc2.account(i) for i in accounts}
        versions = {i: a.version for i, a in recovered.items()}

        # Retry every request that was sent. One that was journaled before the crash is
        # answered from the journal (its version is at most the recovered one); one that
        # was not is applied now (a version beyond it).
        journaled: dict[str, list[fun.TransferInRequest]] = {i: [] for i in accounts}
        versions_of: dict[str, list[int]] = {i: [] for i in accounts}
        for request_id, request in sorted(burst.sent.items(), key=lambda kv: int(kv[0].split("-")[1])):
            response = rpc2.funds.TransferIn(request)
            if response.account.version <= versions[request.account_id]:
                journaled[request.account_id].append(request)
                versions_of[request.account_id].append(response.account.version)
                if request_id in burst.acked:
                    assert response.SerializeToString() == burst.acked[request_id]
            else:
                assert request_id not in burst.acked, f"acknowledged {request_id} was lost"

        n_journaled = sum(len(v) for v in journaled.values())
        assert n_journaled >= len(burst.acked)
        # The journal holds exactly: the rulebook, the creates, the journaled transfers.
        assert status.journal_seq == 1 + create_requests + n_journaled
        for i, account in recovered.items():
            # Every version of the account is accounted for by exactly one request...
            assert sorted(versions_of[i]) == list(range(2, versions[i] + 1))
            # ...and its balance is exactly the sum of those requests: nothing half-applied.
            balances = (
                account.futures.wallet
                if account.WhichOneof("state") == "futures"
                else account.margin.holdings
            )
            assert Decimal(balances.get("USDT", "0")) == sum(
                (Decimal(r.amount) for r in journaled[i]), Decimal(0)
            )

        # After the retries, everything that was sent is applied exactly once.
        for i in accounts:
            account = rpc2.account(i)
            balances = (
                account.futures.wallet
                if account.WhichOneof("state") == "futures"
                else account.margin.holdings
            )
            sent_total = sum(
                (Decimal(r.amount) for r in burst.sent.values() if r.account_id == i), Decimal(0)
            )
            assert Decimal(balances["USDT"]) == sent_total

    # Independent recomputation: a fresh engine given only the journaled requests, in
    # each account's version order, reaches the same state hash as the recovered one.
    with serverkit.running_server(data_dir.with_name("recomputed")) as fresh:
        rpc3 = Rpc(fresh.channel)
        for i in range(len(accounts)):
            rpc3.create("FUTURES" if i % 2 else "MARGIN", accounts[i])
        for i in accounts:
            for request, version in sorted(
                zip(journaled[i], versions_of[i], strict=True), key=lambda rv: rv[1]
            ):
                assert rpc3.funds.TransferIn(request).account.version == version
        assert rpc3.status().state_hash == status.state_hash
        assert {i: rpc3.account(i) for i in accounts} == recovered

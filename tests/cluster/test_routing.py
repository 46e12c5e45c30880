"""Routing across real instances: any instance answers any call, byte for byte as the
owner does; a forwarded call keeps the caller's deadline; prices, the rulebook and the
cluster-wide answers (ListAccounts, GetEngineStatus) are the same on every instance."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import clusterkit
import grpc
import multimargin
import psycopg
import pytest
from clusterkit import Cluster, wait_until
from multimargin.cluster.shards import shard_of
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import event_service_pb2 as ev
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import operator_service_pb2 as op
from multimargin.v1 import types_pb2 as t


@pytest.fixture
def cluster(pg_dsn: str, tmp_path: Path) -> Iterator[Cluster]:
    yield from clusterkit.running_cluster(pg_dsn, tmp_path)


ACCOUNTS = [f"acct-{i}" for i in range(12)]


def _seed(c: Cluster) -> None:
    first = c.instances[0]
    for i, a in enumerate(ACCOUNTS):
        first.call(
            "CreateAccount",
            acc.CreateAccountRequest(request_id=f"c-{a}", account_id=a, kind=t.ACCOUNT_KIND_FUTURES),
        )
        c.instances[i % len(c.instances)].call(
            "TransferIn", fun.TransferInRequest(request_id=f"t-{a}", account_id=a, asset="USDT", amount="100")
        )


def test_any_instance_reaches_the_owner(cluster: Cluster) -> None:
    for _ in range(3):
        cluster.start()
    wait_until(lambda: cluster.balanced(3), 20, "three instances sharing the shards")
    owners = {s: address for address, shards in cluster.owned_by().items() for s in shards}
    first = cluster.instances[0].address
    assert any(owners[shard_of(a, cluster.shards)] != first for a in ACCOUNTS), "nothing to forward"
    _seed(cluster)
    for a in ACCOUNTS:
        answers = {inst.raw("GetAccount", acc.GetAccountRequest(account_id=a)) for inst in cluster.instances}
        assert len(answers) == 1
        account = acc.GetAccountResponse.FromString(answers.pop()).account
        assert account.account_id == a and account.version == 2
    # An error travels back unchanged too (NOT_FOUND with its ErrorInfo).
    for inst in cluster.instances:
        with pytest.raises(grpc.RpcError) as err:
            inst.call("GetAccount", acc.GetAccountRequest(account_id="nobody-here"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert "ACCOUNT_NOT_FOUND" in (err.value.details() or "")
    # Cluster-wide answers agree on every instance.
    listed = [
        [s.account_id for s in inst.call("ListAccounts", acc.ListAccountsRequest(page_size=5)).accounts]
        for inst in cluster.instances
    ]
    assert listed == [sorted(ACCOUNTS)[:5]] * 3
    page = cluster.instances[1].call("ListAccounts", acc.ListAccountsRequest(page_size=1000))
    assert sorted(s.account_id for s in page.accounts) == sorted(ACCOUNTS) and not page.next_page_token
    statuses = {inst.raw("GetEngineStatus", op.GetEngineStatusRequest()) for inst in cluster.instances}
    assert len(statuses) == 1
    status = op.GetEngineStatusResponse.FromString(statuses.pop())
    assert status.accounts == len(ACCOUNTS)


def test_prices_and_rulebook_reach_every_instance(cluster: Cluster) -> None:
    for _ in range(3):
        cluster.start()
    wait_until(lambda: cluster.balanced(3), 20, "three instances sharing the shards")
    _seed(cluster)
    cluster.instances[2].call(
        "UpdatePrices", mkt.UpdatePricesRequest(request_id="p-1", index_prices={"BTC": "50000"})
    )
    cluster.instances[1].call(
        "UpdatePrices", mkt.UpdatePricesRequest(request_id="p-2", index_prices={"ETH": "3000"})
    )

    def everywhere() -> bool:
        for inst in cluster.instances:
            prices = inst.call("GetPrices", mkt.GetPricesRequest()).index_prices
            if prices.get("BTC") != "50000" or prices.get("ETH") != "3000":
                return False
        return True

    wait_until(everywhere, 5, "the prices on every instance")
    rulebook = cluster.instances[0].call("GetEngineStatus", op.GetEngineStatusRequest()).rulebook_version
    rules = json.loads(multimargin.default_rulebook_json())
    rules["assets"]["USDC"]["discount"] = "0.99"
    text = json.dumps(rules)
    reload = op.ReloadRulebookRequest(request_id="r-1", rulebook_json=text)
    cluster.instances[1].call("ReloadRulebook", reload)

    def reloaded() -> bool:
        return all(
            inst.call("GetEngineStatus", op.GetEngineStatusRequest()).rulebook_version > rulebook
            for inst in cluster.instances
        )

    wait_until(reloaded, 5, "the new rulebook on every shard")


def test_forwarded_call_keeps_the_callers_deadline(cluster: Cluster) -> None:
    cluster.lease_seconds = 5.0
    a, b = cluster.start(), cluster.start()
    wait_until(lambda: cluster.balanced(2), 20, "two instances sharing the shards")
    _seed(cluster)
    owners = {s: address for address, shards in cluster.owned_by().items() for s in shards}
    remote = next(x for x in ACCOUNTS if owners[shard_of(x, cluster.shards)] == b.address)
    b.kill(signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as err:
            a.call_once("GetAccount", acc.GetAccountRequest(account_id=remote), timeout=0.5)
        elapsed = time.monotonic() - started
    finally:
        b.kill(signal.SIGCONT)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert elapsed < 1.5
    assert a.call("GetAccount", acc.GetAccountRequest(account_id=remote)).account.account_id == remote


def _watch(
    inst: clusterkit.Instance, request: ev.WatchEventsRequest, count: int
) -> list[ev.WatchEventsResponse]:
    rpc = clusterkit.RPCS["WatchEvents"]
    stream = inst.channel.unary_stream(
        rpc.full_method,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=ev.WatchEventsResponse.FromString,
    )(request, timeout=15)
    out = []
    for response in stream:
        out.append(response)
        if len(out) == count:
            stream.cancel()
            break
    return out


def test_watch_events_on_any_instance_streams_every_shard_with_an_exact_cursor(cluster: Cluster) -> None:
    for _ in range(2):
        cluster.start()
    wait_until(lambda: cluster.balanced(2), 20, "two instances sharing the shards")
    for i, a in enumerate(ACCOUNTS):  # a loan repaid: a REPAID event per account
        inst = cluster.instances[i % 2]
        kind = t.ACCOUNT_KIND_MARGIN
        inst.call("CreateAccount", acc.CreateAccountRequest(request_id=f"c-{a}", account_id=a, kind=kind))
        inst.call(
            "TransferIn",
            fun.TransferInRequest(request_id=f"t-{a}", account_id=a, asset="USDT", amount="1000"),
        )
        inst.call("Borrow", fun.BorrowRequest(request_id=f"b-{a}", account_id=a, asset="USDT", amount="10"))
        inst.call("Repay", fun.RepayRequest(request_id=f"r-{a}", account_id=a, asset="USDT", amount="5"))
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        total = conn.execute("SELECT count(*) FROM mm_events").fetchone()[0]
        shards_with_events = conn.execute("SELECT count(DISTINCT shard) FROM mm_events").fetchone()[0]
    assert total >= len(ACCOUNTS) and shards_with_events > 1
    seen = {}
    for inst in cluster.instances:
        events = _watch(inst, ev.WatchEventsRequest(), total)
        assert len(events) == total
        assert {e.shard for e in events} == {shard_of(e.event.account_id, cluster.shards) for e in events}
        seen[inst.address] = sorted((e.shard, e.event.seq) for e in events)
    assert len({tuple(v) for v in seen.values()}) == 1
    # Resume exactly: after every shard's last event, only what comes next.
    last = {}
    for shard, seq in next(iter(seen.values())):
        last[shard] = max(seq, last.get(shard, 0))
    nxt = ACCOUNTS[5]
    cluster.instances[0].call(
        "Repay",
        fun.RepayRequest(request_id="after-watch", account_id=nxt, asset="USDT", amount="1"),
    )
    resumed = _watch(cluster.instances[1], ev.WatchEventsRequest(after_shard_seq=last), 1)
    assert resumed[0].event.account_id == nxt
    assert resumed[0].event.seq == last.get(resumed[0].shard, 0) + 1
    # One account only.
    only = _watch(cluster.instances[1], ev.WatchEventsRequest(account_ids=[nxt]), 2)
    assert {e.event.account_id for e in only} == {nxt}


def test_a_global_write_journaled_but_never_published_is_published_by_its_retry(cluster: Cluster) -> None:
    # The instance that takes UpdatePrices journals it on its first shard, then publishes
    # it to mm_market. If it dies in between, the client's retry is an idempotent replay
    # on that shard: it must publish then, not answer OK with the cluster never told.
    inst = cluster.start()
    wait_until(lambda: cluster.balanced(1), 20, "one instance owning every shard")
    inst.call("UpdatePrices", mkt.UpdatePricesRequest(request_id="p-0", index_prices={"ETH": "3000"}))
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        (before,) = conn.execute("SELECT body FROM mm_market WHERE id = 1").fetchone()
    p1 = mkt.UpdatePricesRequest(request_id="p-1", index_prices={"BTC": "50000"})
    first = inst.call("UpdatePrices", p1)
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        # As if the instance had died after journaling p-1 and before publishing it.
        conn.execute("UPDATE mm_market SET body = %s WHERE id = 1", (before,))
        conn.execute("DELETE FROM mm_meta WHERE shard = -1 AND key = 'published/p-1'")
    again = inst.call("UpdatePrices", p1)
    assert again == first  # the replay's response
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        (body,) = conn.execute("SELECT body FROM mm_market WHERE id = 1").fetchone()
        marked = conn.execute("SELECT 1 FROM mm_meta WHERE shard = -1 AND key = 'published/p-1'").fetchone()
    published = mkt.UpdatePricesRequest.FromString(bytes(body))
    assert published.index_prices.get("BTC") == "50000" and published.index_prices.get("ETH") == "3000"
    assert marked is not None
    # A second retry publishes nothing more.
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        (version,) = conn.execute("SELECT version FROM mm_market WHERE id = 1").fetchone()
    inst.call("UpdatePrices", p1)
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM mm_market WHERE id = 1").fetchone() == (version,)

"""Overload (issue 8, item 8): drive the real server at about twice its saturation rate
and check that it sheds with RESOURCE_EXHAUSTED / OVERLOADED, stays up, keeps its memory
bounded, and serves the calls it admits.

    python bench/overload.py [--max-in-flight 16] [--seconds 30] [--factor 2] [--no-pin]
                             [--max-queue-delay-ms MS] [--max-loop-busy-ms MS] [--shed-grace-ms MS]

1. saturation: ``--max-in-flight`` closed-loop clients for 5 s → the saturation rate, on
   a server that sheds only beyond ``--max-in-flight`` (shedding by delay would lower it);
2. unloaded: on a fresh server with the admission bounds under test, one call at a time
   (TransferIn, durable) → the unloaded p99;
3. overload: on that server, an open loop at ``factor`` × the saturation rate for
   ``--seconds``: every call is either OK (its latency counted) or RESOURCE_EXHAUSTED with
   ErrorInfo OVERLOADED (counted by the rule that shed it, from its message); VmRSS of the
   server is sampled throughout.

The load generator runs in this process. On a machine with two cores or more the server
is pinned to core 0 and this process to core 1 (as ``run_all.py`` pins k6), so that the
client's own work does not queue the server's; ``--no-pin`` leaves both to the
scheduler. The client's CPU use during the overload phase is reported: near 100 % of
its core, its own event loop adds to the latencies it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import account_service_pb2_grpc as acc_grpc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import funds_service_pb2_grpc as fun_grpc
from multimargin.v1 import market_data_service_pb2 as mkt
from multimargin.v1 import market_data_service_pb2_grpc as mkt_grpc
from multimargin.v1 import types_pb2 as t
from serverctl import Server, start_server

ACCOUNTS = [f"load-{i}" for i in range(8)]
UNLOADED_CALLS = 2000  # the p99 of 2,000: its 20 slowest, not 5
#: Seconds of the overload's onset, reported apart: admission control lets lateness last
#: its grace (CoDel's interval, 100 ms) before it sheds, so calls sent then queue.
ONSET = 1.0
#: ``serve`` flags of the server whose saturation rate is measured: only the in-flight limit.
ONLY_LIMIT = ("--max-queue-delay-ms", "0", "--max-loop-busy-ms", "0")


def p99(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=100)[98] if len(xs) >= 2 else (xs[0] if xs else 0.0)


@dataclass
class Result:
    unloaded_p99_ms: float = 0.0
    saturation_rate: float = 0.0
    offered_rate: float = 0.0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    admitted_p99_ms: float = 0.0
    admitted_p50_ms: float = 0.0
    #: admitted calls sent after the onset (the first ONSET seconds): the sustained overload
    sustained_p99_ms: float = 0.0
    sustained_p50_ms: float = 0.0
    onset_max_ms: float = 0.0  # the slowest admitted call sent during the onset
    shed_p99_ms: float = 0.0
    shed_by: collections.Counter[str] = field(default_factory=collections.Counter)
    rss_kib: list[int] = field(default_factory=list)
    alive: bool = False
    pinned: bool = False
    client_cpu: float = 0.0  # of one core, during the overload phase

    def summary(self) -> str:
        total = sum(self.outcomes.values())
        shed = self.outcomes["RESOURCE_EXHAUSTED/OVERLOADED"]
        return (
            f"unloaded p99 {self.unloaded_p99_ms:.1f} ms; saturation {self.saturation_rate:.0f}/s; "
            f"offered {self.offered_rate:.0f}/s: {total} calls, {shed} shed ({shed / max(1, total):.0%}), "
            f"outcomes {dict(self.outcomes)}, shed by rule {dict(self.shed_by)}; "
            f"shed p99 {self.shed_p99_ms:.1f} ms; admitted p50 {self.admitted_p50_ms:.1f} ms, "
            f"p99 {self.admitted_p99_ms:.1f} ms "
            f"({self.admitted_p99_ms / max(1e-9, self.unloaded_p99_ms):.1f}x unloaded); "
            f"after the first {ONSET:g} s: admitted p50 {self.sustained_p50_ms:.1f} ms, "
            f"p99 {self.sustained_p99_ms:.1f} ms "
            f"({self.sustained_p99_ms / max(1e-9, self.unloaded_p99_ms):.1f}x unloaded), "
            f"slowest in the first {ONSET:g} s {self.onset_max_ms:.1f} ms; "
            f"RSS {self.rss_kib[0] // 1024} MiB before, max {max(self.rss_kib) // 1024} MiB, "
            f"{self.rss_kib[-1] // 1024} MiB after; alive {self.alive}; "
            f"{'server on core 0, client on core 1' if self.pinned else 'not pinned'}, "
            f"client CPU {self.client_cpu:.0%}"
        )


class Client:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.funds = fun_grpc.FundsServiceStub(channel)
        self.n = 0
        self.shed_by: collections.Counter[str] = collections.Counter()

    def request(self) -> fun.TransferInRequest:
        self.n += 1
        return fun.TransferInRequest(
            request_id=f"load-{time.monotonic_ns()}-{self.n}",
            account_id=ACCOUNTS[self.n % len(ACCOUNTS)],
            asset="USDT",
            amount="1",
        )

    async def one(self) -> tuple[str, float]:
        """(outcome, latency in seconds) of one call."""
        return (await self.timed())[1:]

    async def timed(self) -> tuple[float, str, float]:
        """(start on the monotonic clock, outcome, latency in seconds) of one call."""
        start, t0 = time.monotonic(), time.perf_counter()
        outcome, latency = await self._call(t0)
        return start, outcome, latency

    async def _call(self, t0: float) -> tuple[str, float]:
        try:
            await self.funds.TransferIn(self.request(), timeout=30)
            return "OK", time.perf_counter() - t0
        except grpc.aio.AioRpcError as e:
            reason = ""
            status = rpc_status.from_call(e)
            for detail in status.details if status is not None else ():
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    reason = info.reason
            if reason == "OVERLOADED":
                self.shed_by[_rule(e.details() or "")] += 1
            return f"{e.code().name}/{reason}", time.perf_counter() - t0


def _rule(message: str) -> str:
    """The admission rule that shed a call, from its message (service/admission.py)."""
    rules = (("waited more than", "queued"), ("no CPU to spare", "busy"), ("in flight", "limit"))
    for words, rule in rules:
        if words in message:
            return rule
    return "other"


async def setup(address: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        market = mkt_grpc.MarketDataServiceStub(channel)
        await market.UpdatePrices(
            mkt.UpdatePricesRequest(request_id="setup-prices", index_prices={"BTC": "60000"}, mark_prices={}),
            timeout=30,
        )
        accounts = acc_grpc.AccountServiceStub(channel)
        for a in ACCOUNTS:
            await accounts.CreateAccount(
                acc.CreateAccountRequest(request_id=f"setup-{a}", account_id=a, kind=t.ACCOUNT_KIND_FUTURES),
                timeout=30,
            )


async def saturation(server: Server, clients: int) -> float:
    """Calls/s served with ``clients`` closed-loop callers (5 s)."""
    await setup(server.address)
    async with grpc.aio.insecure_channel(server.address) as channel:
        client = Client(channel)
        done = 0
        stop_at = time.monotonic() + 5.0

        async def closed() -> None:
            nonlocal done
            while time.monotonic() < stop_at:
                outcome, _ = await client.one()
                done += outcome == "OK"

        t0 = time.monotonic()
        await asyncio.gather(*(closed() for _ in range(clients)))
        return done / (time.monotonic() - t0)


async def measure(server: Server, rate: float, seconds: float) -> Result:
    """The unloaded p99, then ``seconds`` of an open loop at ``rate`` calls/s."""
    result = Result(rss_kib=[server.rss_kib()], offered_rate=rate)
    await setup(server.address)
    async with grpc.aio.insecure_channel(server.address) as channel:
        client = Client(channel)
        # 1. unloaded
        latencies = []
        for _ in range(UNLOADED_CALLS):
            outcome, latency = await client.one()
            assert outcome == "OK", outcome
            latencies.append(latency)
        result.unloaded_p99_ms = p99(latencies) * 1e3

        # 2. open loop at the offered rate; the client's garbage collector is off, so
        # that its pauses do not count as the server's latency
        tasks: list[asyncio.Task[tuple[float, str, float]]] = []
        client.shed_by.clear()
        gc.collect()
        gc.disable()
        t0 = time.monotonic()
        cpu0 = time.process_time()
        next_rss = t0
        while (now := time.monotonic()) - t0 < seconds:
            due = int((now - t0) * rate) + 1
            while len(tasks) < due:
                tasks.append(asyncio.create_task(client.timed()))
            if now >= next_rss:
                result.rss_kib.append(server.rss_kib())
                next_rss = now + 0.25
            await asyncio.sleep(0.0005)  # epoll's 1 ms: calls go out at most 1 ms apart
        calls: list[Any] = await asyncio.gather(*tasks)
        result.client_cpu = (time.process_time() - cpu0) / (time.monotonic() - t0)
        gc.enable()
    admitted = [latency for _, outcome, latency in calls if outcome == "OK"]
    result.outcomes = collections.Counter(outcome for _, outcome, _ in calls)
    result.admitted_p99_ms = p99(admitted) * 1e3
    result.admitted_p50_ms = statistics.median(admitted) * 1e3 if admitted else 0.0
    sustained = [latency for start, outcome, latency in calls if outcome == "OK" and start - t0 >= ONSET]
    result.sustained_p99_ms = p99(sustained) * 1e3
    result.sustained_p50_ms = statistics.median(sustained) * 1e3 if sustained else 0.0
    onset = [latency for start, outcome, latency in calls if outcome == "OK" and start - t0 < ONSET]
    result.onset_max_ms = max(onset, default=0.0) * 1e3
    result.shed_p99_ms = p99([latency for _, outcome, latency in calls if outcome != "OK"]) * 1e3
    result.shed_by = client.shed_by
    result.rss_kib.append(server.rss_kib())
    result.alive = server.proc.poll() is None
    return result


def run(
    data_dir: Path,
    max_in_flight: int = 16,
    seconds: float = 10.0,
    factor: float = 2.0,
    server_args: tuple[str, ...] = (),
    pin: bool = True,
) -> Result:
    """Measure the saturation rate on a server that sheds only beyond ``max_in_flight``
    (so that shedding by delay does not lower it), then a fresh server with
    ``server_args`` (more ``serve`` flags) unloaded and at ``factor`` × that rate."""
    pin = pin and shutil.which("taskset") is not None and {0, 1} <= os.sched_getaffinity(0)
    mine = os.sched_getaffinity(0)
    cpus = {0} if pin else None
    limit = ("--max-in-flight", str(max_in_flight))
    try:
        if pin:
            os.sched_setaffinity(0, {1})
        reference = start_server(data_dir.with_name(data_dir.name + "-ref"), *limit, *ONLY_LIMIT, cpus=cpus)
        try:
            rate = asyncio.run(saturation(reference, max_in_flight))
        finally:
            assert reference.stop() == 0
        server = start_server(data_dir, *limit, *server_args, cpus=cpus)
        try:
            result = asyncio.run(measure(server, factor * rate, seconds))
            result.saturation_rate = rate
            result.alive = result.alive and server.proc.poll() is None
            result.pinned = pin
        finally:
            code = server.stop()
    finally:
        os.sched_setaffinity(0, mine)
    assert code == 0, f"server exit code {code}"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-in-flight", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--factor", type=float, default=2.0)
    parser.add_argument("--max-queue-delay-ms", help="serve --max-queue-delay-ms (default: the server's)")
    parser.add_argument("--max-loop-busy-ms", help="serve --max-loop-busy-ms (default: the server's)")
    parser.add_argument("--shed-grace-ms", help="serve --shed-grace-ms (default: the server's)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and client to cores")
    args = parser.parse_args()
    server_args: tuple[str, ...] = ()
    if args.max_queue_delay_ms is not None:
        server_args += ("--max-queue-delay-ms", args.max_queue_delay_ms)
    if args.max_loop_busy_ms is not None:
        server_args += ("--max-loop-busy-ms", args.max_loop_busy_ms)
    if args.shed_grace_ms is not None:
        server_args += ("--shed-grace-ms", args.shed_grace_ms)
    with tempfile.TemporaryDirectory() as tmp:
        result = run(
            Path(tmp) / "data", args.max_in_flight, args.seconds, args.factor, server_args, not args.no_pin
        )
        print(result.summary())


if __name__ == "__main__":
    main()

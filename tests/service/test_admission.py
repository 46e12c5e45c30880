"""Admission control by queueing delay and by a saturated CPU
(:mod:`multimargin.service.admission`), tested without timings: the clocks the rules read
are stepped by the test, over a real gRPC server on loopback and a real store.

* a call that waited longer than the bound before its handler ran, or that arrives
  while the server has had no CPU to spare for longer than its bound, is refused
  RESOURCE_EXHAUSTED with ErrorInfo OVERLOADED and its own request id, and changes
  nothing (a retry with the same request id is applied, once);
* the health check is never shed;
* with nothing in the engine, no call is refused for delay (the server makes progress),
  but a saturated CPU is shed whatever is in the engine;
* the CPU meter tells a saturated span from one with CPU to spare, by its loop thread's
  or its process's CPU time, leaving out the CPU of maintenance (which no call waits
  behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import doctest
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
import serverkit
from google.rpc import error_details_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from multimargin import config
from multimargin.service import admission as admission_module
from multimargin.service.admission import (
    ARRIVED,
    BUSY,
    LIMIT,
    QUEUED,
    Admission,
    CpuMeter,
)
from multimargin.service.dispatch import add_engine_services
from multimargin.service.server import make_server
from multimargin.state.engine import Engine
from multimargin.state.maintenance import maintenance, maintenance_cpu, run_as_maintenance
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import account_service_pb2_grpc as acc_grpc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import funds_service_pb2_grpc as fun_grpc
from multimargin.v1 import types_pb2 as t


class SteppedClock:
    """A clock that advances ``step`` seconds at every reading: with step 1, any call
    seems to have waited at least 1 s between its arrival and its handler."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.step = 0.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


# ---- the rules, one by one ---------------------------------------------------------------


@contextlib.contextmanager
def arrived(at: float) -> Iterator[None]:
    token = ARRIVED.set(at)
    try:
        yield
    finally:
        ARRIVED.reset(token)


def test_each_rule_refuses_only_past_its_bound_and_counts_what_it_shed() -> None:
    now, idle = [100.0], [100.0]  # bounds and times exact in binary: no rounding at the bound
    a = Admission(
        2, max_queue_delay=0.125, max_loop_busy=0.25, grace=0, clock=lambda: now[0], idle_at=lambda: idle[0]
    )
    a.in_flight = 1
    with arrived(100.0 - 0.125):  # waited exactly the bound: admitted
        assert a.refusal() is None
    with arrived(100.0 - 0.1875):
        assert a.refusal() == QUEUED
    idle[0] = 100.0 - 0.25
    assert a.refusal() is None  # busy exactly the bound: admitted
    idle[0] = 100.0 - 0.375
    assert a.refusal() == BUSY
    a.in_flight = 2
    assert a.refusal() == LIMIT and a.full() == LIMIT
    assert a.shed_by == {QUEUED: 1, BUSY: 1, LIMIT: 2} and a.shed == 4
    assert "125 ms" in a.message(QUEUED) and "250 ms" in a.message(BUSY) and "2 calls" in a.message(LIMIT)


def test_an_idle_engine_admits_whatever_the_delay_but_not_a_saturated_cpu_and_a_zero_bound_is_off() -> None:
    a = Admission(4, max_loop_busy=0, grace=0, clock=lambda: 50.0, idle_at=lambda: 0.0)
    with arrived(0.0):  # waited 50 s
        assert a.refusal() is None  # nothing in the engine: progress
        a.in_flight = 1
        assert a.refusal() == QUEUED
    # No CPU to spare for 50 s: shed even with nothing in the engine (the queue is
    # outside it, in gRPC core).
    busy = Admission(4, max_queue_delay=0, grace=0, clock=lambda: 50.0, idle_at=lambda: 0.0)
    assert busy.refusal() == BUSY
    off = Admission(4, max_queue_delay=0, max_loop_busy=0, clock=lambda: 50.0, idle_at=lambda: 0.0)
    off.in_flight = 3
    with arrived(0.0):
        assert off.refusal() is None
    with pytest.raises(ValueError):
        Admission(4, max_queue_delay=-1)
    with pytest.raises(ValueError):
        Admission(0)


def test_lateness_is_shed_only_once_it_outlasts_the_grace_and_at_once_soon_after() -> None:
    now, idle = [100.0], [100.0]
    a = Admission(8, max_loop_busy=0.25, grace=0.5, clock=lambda: now[0], idle_at=lambda: idle[0])
    a.in_flight = 1
    idle[0] = 99.0  # busy for 1 s: late
    assert a.refusal() is None  # the grace starts
    now[0] = 100.25
    assert a.refusal() is None  # still within it: a burst
    now[0] = 100.5
    assert a.refusal() == BUSY  # late for the whole grace: shed
    idle[0] = 100.5  # the loop paused: the queue drained
    assert a.refusal() is None
    idle[0], now[0] = 100.0, 101.0  # late again 0.5 s after the last shed: no new grace
    assert a.refusal() == BUSY
    idle[0] = now[0] = 103.0  # quiet for 2 s (more than MEMORY)
    assert a.refusal() is None
    now[0] = 104.0  # late again, long after the last shed: a new grace
    assert a.refusal() is None
    assert a.shed_by == {BUSY: 2}
    with pytest.raises(ValueError):
        Admission(4, grace=-1)


def test_the_docstring_examples_run() -> None:
    failed, attempted = doctest.testmod(admission_module)
    assert attempted > 0 and failed == 0


def test_a_call_without_an_arrival_stamp_is_not_judged_by_delay() -> None:
    a = Admission(4, max_queue_delay=0.001, clock=SteppedClock())
    a.in_flight = 1
    assert a.refusal() is None  # e.g. a handler called without the interceptor


class Clocks:
    """Wall, loop-thread and process CPU clocks that the test steps."""

    def __init__(self) -> None:
        self.wall = self.thread = self.process = 10.0
        self.maintenance = 0.0

    def meter(self, cores: int) -> CpuMeter:
        return CpuMeter(
            0.0008,  # steps of 1 ms are read whatever their rounding, steps of 0.5 ms not
            0.9,
            cores=cores,
            clock=lambda: self.wall,
            thread_clock=lambda: self.thread,
            process_clock=lambda: self.process,
            maintenance_clock=lambda: self.maintenance,
        )

    def run(self, wall: float, thread: float, process: float, maintenance: float = 0.0) -> None:
        self.wall += wall
        self.thread += thread
        self.process += process + maintenance
        self.maintenance += maintenance


def test_the_cpu_meter_counts_a_span_saturated_by_the_loop_thread_or_by_the_whole_process() -> None:
    clocks = Clocks()
    meter = clocks.meter(cores=2)
    assert meter.idle_at() == 10.0  # the first reading
    clocks.run(0.001, 0.001, 0.001)  # the loop's thread ran throughout: saturated
    assert meter.idle_at() == 10.0
    clocks.run(0.001, 0.0005, 0.00145)  # core's threads ran beside it, 95 % of one core,
    assert meter.idle_at() == clocks.wall  # but the process may use two: CPU to spare
    spare = clocks.wall
    clocks.run(0.002, 0.0006, 0.0037)  # the process at 92.5 % of both cores: saturated
    assert meter.idle_at() == spare
    clocks.run(0.0005, 0.0005, 0.0005)  # shorter than a sample: not read yet
    assert meter.idle_at() == spare
    clocks.run(0.0005, 0.0, 0.0)  # the sample is due: 50 % of the loop's thread
    assert meter.idle_at() == clocks.wall


def test_a_descheduled_server_is_not_saturated_and_one_core_is_saturated_by_the_process() -> None:
    clocks = Clocks()
    one_core = clocks.meter(cores=1)
    one_core.idle_at()
    clocks.run(0.010, 0.0, 0.0)  # 10 ms without running at all (the machine was busy)
    assert one_core.idle_at() == clocks.wall  # not our own work: CPU to spare
    clocks.run(0.001, 0.0004, 0.00095)  # the loop's thread at 40 %, the process at 95 %
    assert one_core.idle_at() == clocks.wall - 0.001
    with pytest.raises(ValueError):
        CpuMeter(0)
    with pytest.raises(ValueError):
        CpuMeter(0.001, 1.5)


def test_maintenance_does_not_saturate_the_server_but_calls_beside_it_do() -> None:
    clocks = Clocks()
    meter = clocks.meter(cores=1)
    meter.idle_at()
    # The journal's verification took 95 % of the one core, the calls 3 %: a lone call
    # then is not queued behind other calls, and is not shed.
    clocks.run(0.001, 0.0001, 0.00003, maintenance=0.00095)
    assert meter.idle_at() == clocks.wall
    clocks.run(0.001, 0.0001, 0.00091, maintenance=0.00005)  # the calls took 91 %
    assert meter.idle_at() == clocks.wall - 0.001


def test_maintenance_cpu_counts_a_threads_own_cpu_time_while_inside() -> None:
    inside: list[float] = []

    def work() -> None:
        start = time.thread_time()
        while time.thread_time() - start < 0.02:
            pass
        inside.append(time.thread_time() - start)

    before = maintenance_cpu()
    thread = threading.Thread(target=run_as_maintenance, args=(work,))
    thread.start()
    thread.join()
    spent = maintenance_cpu() - before
    assert spent >= inside[0] >= 0.02
    with maintenance(), maintenance():  # nested: counted once
        time.sleep(0.001)  # no CPU
    assert maintenance_cpu() - before - spent < 0.01


def test_the_cpu_meter_on_the_real_clocks_sees_a_sleeping_server_with_cpu_to_spare() -> None:
    meter = CpuMeter()
    meter.idle_at()  # the first reading
    time.sleep(0.01)  # no CPU used, however busy the machine
    before = time.monotonic()
    idle_at = meter.idle_at()
    assert before <= idle_at <= time.monotonic()  # this very reading had CPU to spare


# ---- over real gRPC ------------------------------------------------------------------------------


class GatedEngine:
    """The real engine, except that TransferIn waits for ``gate`` before going to it, so
    that a call is surely in the engine while the test sends the next one."""

    def __init__(self, inner: Engine) -> None:
        self._inner = inner
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def call(self, method: str, request: Any) -> Any:
        if method == "TransferIn" and request.request_id.startswith("held-"):
            self.waiting.set()
            await self.gate.wait()
        return await self._inner.call(method, request)

    def stream(self, method: str, request: Any) -> AsyncIterator[Any]:
        return self._inner.stream(method, request)

    @property
    def fatal(self) -> asyncio.Future[None]:
        return self._inner.fatal

    async def close(self) -> None:
        await self._inner.close()


def _failure(error: grpc.aio.AioRpcError) -> tuple[str, list[str], str | None, str]:
    """(code, ErrorInfo reasons, x-request-id echoed, message) of a failed call."""
    status = rpc_status.from_call(error)
    reasons = []
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reasons.append(info.reason)
    echoed = dict(error.trailing_metadata() or ()).get("x-request-id")
    return error.code().name, reasons, echoed, error.details() or ""


def _transfer(request_id: str, amount: str) -> fun.TransferInRequest:
    return fun.TransferInRequest(request_id=request_id, account_id="acct-1", asset="USDT", amount=amount)


async def _shed_scenario(data: Path, rule: str) -> None:
    clock = SteppedClock()
    busy = [False]
    admission = Admission(
        8,
        max_queue_delay=0.005,
        max_loop_busy=0.005,
        grace=0,
        clock=clock,
        # "busy": the server last had CPU to spare long before now, on the stepped clock.
        idle_at=lambda: clock.now - (10.0 if busy[0] else 0.0),
    )
    engine = GatedEngine(await Engine.open(data))
    server = make_server(admission=admission)
    port = server.add_insecure_port("127.0.0.1:0")
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    add_engine_services(server, engine, admission)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            funds = fun_grpc.FundsServiceStub(channel)
            await acc_grpc.AccountServiceStub(channel).CreateAccount(
                acc.CreateAccountRequest(request_id="c-1", account_id="acct-1", kind=t.ACCOUNT_KIND_FUTURES),
                timeout=30,
            )
            # One call held in the engine: from here on the engine is not idle.
            held = asyncio.ensure_future(funds.TransferIn(_transfer("held-1", "1"), timeout=30))
            await engine.waiting.wait()
            assert admission.in_flight == 1

            if rule == QUEUED:
                clock.step = 1.0  # every call has waited >= 1 s before its handler
            else:
                busy[0] = True  # no CPU to spare for 10 s
            with pytest.raises(grpc.aio.AioRpcError) as shed:
                await funds.TransferIn(_transfer("late-1", "100"), timeout=30)
            code, reasons, echoed, message = _failure(shed.value)
            assert (code, reasons, echoed) == ("RESOURCE_EXHAUSTED", ["OVERLOADED"], "late-1")
            assert admission.message(rule) in message
            assert admission.shed_by == {rule: 1}
            # The health check is never shed.
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=30
            )
            assert answer.status == health_pb2.HealthCheckResponse.SERVING

            engine.gate.set()
            await held
            clock.step, busy[0] = 0.0, False
            # The shed call changed nothing: only the held transfer was applied, and its
            # request id was not used up (the retry is applied, once).
            account = await acc_grpc.AccountServiceStub(channel).GetAccount(
                acc.GetAccountRequest(account_id="acct-1"), timeout=30
            )
            assert Decimal(account.account.futures.wallet["USDT"]) == 1
            await funds.TransferIn(_transfer("late-1", "100"), timeout=30)
            await funds.TransferIn(_transfer("late-1", "100"), timeout=30)  # a replay
            account = await acc_grpc.AccountServiceStub(channel).GetAccount(
                acc.GetAccountRequest(account_id="acct-1"), timeout=30
            )
            assert Decimal(account.account.futures.wallet["USDT"]) == 101
            assert admission.shed == 1 and admission.in_flight == 0
    finally:
        await server.stop(None)
        await engine.close()


@pytest.mark.parametrize("rule", [QUEUED, BUSY])
def test_a_late_call_is_shed_overloaded_changes_nothing_and_health_still_answers(
    tmp_path: Path, rule: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="multimargin")
    asyncio.run(_shed_scenario(tmp_path / "data", rule))
    # The shed call's access-log line is DEBUG; a WARNING line counts it by rule.
    access = [
        r for r in caplog.records if r.name == "multimargin.access" and r.fields["request_id"] == "late-1"
    ]
    assert [(r.levelno, r.fields["code"]) for r in access] == [
        (logging.DEBUG, "RESOURCE_EXHAUSTED"),
        (logging.INFO, "OK"),
        (logging.INFO, "OK"),
    ]
    counted = [r for r in caplog.records if r.getMessage() == "calls shed"]
    assert [(r.levelno, r.fields["shed"], r.fields["total"]) for r in counted] == [
        (logging.WARNING, {rule: 1}, 1)
    ]


# ---- configuration --------------------------------------------------------------------------------


def test_the_bounds_are_configured_like_the_other_limits(tmp_path: Path) -> None:
    cfg = config.resolve(text="[limits]\nmax_queue_delay_ms = 2.5\nmax_loop_busy_ms = 0\nshed_grace_ms = 20")
    assert (
        cfg["limits.max_queue_delay_ms"],
        cfg["limits.max_loop_busy_ms"],
        cfg["limits.shed_grace_ms"],
    ) == (
        2.5,
        0.0,
        20.0,
    )
    defaults = config.resolve(text="")
    assert (
        defaults["limits.max_queue_delay_ms"],
        defaults["limits.max_loop_busy_ms"],
        defaults["limits.shed_grace_ms"],
    ) == (5.0, 1.0, 100.0)
    with pytest.raises(config.ConfigError, match=r"limits\.max_loop_busy_ms: must be ≥ 0"):
        config.resolve(text="[limits]\nmax_loop_busy_ms = -1")
    flags = {"max_queue_delay_ms": 7.0}
    assert config.resolve(text="", environ={}, flags=flags)["limits.max_queue_delay_ms"] == 7.0

    # `serve` takes them.
    args = ("--max-queue-delay-ms", "3", "--max-loop-busy-ms", "4", "--shed-grace-ms", "50")
    with serverkit.running_server(tmp_path / "data", *args) as server:
        serving = [r for r in server.log_records() if r.get("message") == "serving"]
    bounds = ("max_queue_delay_ms", "max_loop_busy_ms", "shed_grace_ms")
    assert serving and tuple(serving[0][k] for k in bounds) == (3.0, 4.0, 50.0)

"""Admission control by queueing delay and by a busy event loop
(:mod:`multimargin.service.admission`), tested without timings: the clocks the rules read
are stepped by the test, over a real gRPC server on loopback and a real store.

* a call that waited longer than the bound before its handler ran, or that arrives
  while the event loop has not paused for longer than its bound, is refused
  RESOURCE_EXHAUSTED with ErrorInfo OVERLOADED and its own request id, and changes
  nothing (a retry with the same request id is applied, once);
* the health check is never shed;
* with nothing in the engine, no call is refused for delay (the server makes progress);
* the event loop of ``serve`` knows when it was last idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import doctest
import logging
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
    idle_clock,
    new_event_loop,
)
from multimargin.service.dispatch import add_engine_services
from multimargin.service.server import make_server
from multimargin.state.engine import Engine
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


def test_an_idle_engine_admits_whatever_the_delays_and_a_zero_bound_is_off() -> None:
    a = Admission(4, grace=0, clock=lambda: 50.0, idle_at=lambda: 0.0)
    with arrived(0.0):  # waited 50 s, the loop busy for 50 s
        assert a.refusal() is None  # nothing in the engine: progress
        a.in_flight = 1
        assert a.refusal() == QUEUED
        off = Admission(4, max_queue_delay=0, max_loop_busy=0, clock=lambda: 50.0, idle_at=lambda: 0.0)
        off.in_flight = 3
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


def test_the_loop_of_serve_knows_when_it_was_last_idle() -> None:
    loop = new_event_loop()
    try:
        idle_at = idle_clock(loop)
        assert idle_at is not None

        async def scenario() -> tuple[float, float, float]:
            before = time.monotonic()
            # Nothing to run until another thread is done: the loop waits for it.
            await asyncio.get_running_loop().run_in_executor(None, time.sleep, 0.01)
            after_idle = idle_at()
            time.sleep(0.05)  # the loop's thread is busy: no idle moment
            busy_for = time.monotonic() - idle_at()
            return before, after_idle, busy_for

        before, after_idle, busy_for = loop.run_until_complete(scenario())
        assert after_idle >= before
        assert busy_for >= 0.05
    finally:
        loop.close()
    other = asyncio.new_event_loop()
    try:
        assert idle_clock(other) is None  # not ours: the busy rule is off there
    finally:
        other.close()


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
        # "busy": the loop was last idle long before now, on the stepped clock.
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
                busy[0] = True  # the loop has not been idle for 10 s
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
    cfg = config.resolve(text="[limits]\nmax_queue_delay_ms = 2.5\nmax_loop_busy_ms = 0")
    assert (cfg["limits.max_queue_delay_ms"], cfg["limits.max_loop_busy_ms"]) == (2.5, 0.0)
    defaults = config.resolve(text="")
    assert (defaults["limits.max_queue_delay_ms"], defaults["limits.max_loop_busy_ms"]) == (5.0, 5.0)
    with pytest.raises(config.ConfigError, match=r"limits\.max_loop_busy_ms: must be ≥ 0"):
        config.resolve(text="[limits]\nmax_loop_busy_ms = -1")
    flags = {"max_queue_delay_ms": 7.0}
    assert config.resolve(text="", environ={}, flags=flags)["limits.max_queue_delay_ms"] == 7.0

    # `serve` takes them, and runs on the loop whose idle moments the busy rule sees.
    args = ("--max-queue-delay-ms", "3", "--max-loop-busy-ms", "4")
    with serverkit.running_server(tmp_path / "data", *args) as server:
        serving = [r for r in server.log_records() if r.get("message") == "serving"]
    assert serving and (serving[0]["max_queue_delay_ms"], serving[0]["max_loop_busy_ms"]) == (3.0, 4.0)

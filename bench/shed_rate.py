"""How many calls/s a server pinned to one core can shed, against health checks/s.

    python bench/shed_rate.py [serve flags...]     e.g. --log-level WARNING

One TransferIn is held in the engine (``tests/service/child_server.py --slow``) by a
server limited to one call in flight, so every other TransferIn is shed OVERLOADED; 32
closed-loop callers (pinned to core 1, the server to core 0) send TransferIn for 4 s,
then health checks for 4 s. A shed call must cost little more than a health check, or
shedding alone saturates the server (see RESULTS.md "Overload").
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import account_service_pb2_grpc as acc_grpc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import funds_service_pb2_grpc as fun_grpc
from multimargin.v1 import types_pb2 as t
from serverctl import free_port

CHILD = Path(__file__).resolve().parents[1] / "tests" / "service" / "child_server.py"
CALLERS = 32
SECONDS = 4.0


async def rates(address: str) -> dict[str, float]:
    async with grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(600):
            try:
                await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                break
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.1)
        await acc_grpc.AccountServiceStub(channel).CreateAccount(
            acc.CreateAccountRequest(request_id="c", account_id="a", kind=t.ACCOUNT_KIND_FUTURES), timeout=30
        )
        funds = fun_grpc.FundsServiceStub(channel)

        def transfer(i: str) -> fun.TransferInRequest:
            return fun.TransferInRequest(request_id=i, account_id="a", asset="USDT", amount="1")

        holder = asyncio.ensure_future(funds.TransferIn(transfer("hold"), timeout=200))
        await asyncio.sleep(0.5)
        out = {}
        for what in ("shed TransferIn", "health Check"):
            done = 0
            stop = time.monotonic() + SECONDS

            async def caller(k: int, what: str = what, stop: float = stop) -> None:
                nonlocal done
                i = 0
                while time.monotonic() < stop:
                    i += 1
                    try:
                        if what == "health Check":
                            await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
                        else:
                            await funds.TransferIn(transfer(f"x{k}-{i}"), timeout=5)
                    except grpc.aio.AioRpcError as e:
                        assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
                    done += 1

            t0 = time.monotonic()
            await asyncio.gather(*(caller(k) for k in range(CALLERS)))
            out[what] = done / (time.monotonic() - t0)
        holder.cancel()
        return out


def main() -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            *(["taskset", "-c", "0"] if {0, 1} <= os.sched_getaffinity(0) else []),
            sys.executable,
            str(CHILD),
            "--slow",
            "TransferIn=100",
            "--max-concurrent",
            "1",
            "--",
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--data-dir",
            str(Path(tmp) / "data"),
            "--insecure-no-auth",
            *sys.argv[1:],
        ]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if {0, 1} <= os.sched_getaffinity(0):
                os.sched_setaffinity(0, {1})
            for what, rate in asyncio.run(rates(f"127.0.0.1:{port}")).items():
                print(f"{what}: {rate:,.0f} calls/s")
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()

"""The floor of a grpc.aio call on one core: what no handler of ours can go below.

    python bench/grpc_floor.py

A bare grpc.aio server (no interceptor, no engine) pinned to core 0 answers, for 3 s
each, 32 closed-loop callers pinned to core 1 with:

* an OK unary call;
* a unary handler that aborts RESOURCE_EXHAUSTED with an ErrorInfo (a shed call);
* a stream-unary handler that aborts without reading the request;
* gRPC's own ``maximum_concurrent_rpcs`` refusal (one call held, the limit 1), which
  carries no ErrorInfo.

Compare with ``shed_rate.py``: a shed call of the real server costs about what its
health check costs, and both about what a bare call costs here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from serverctl import free_port

CALLERS = 32
SECONDS = 3.0
_status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message="shed (OVERLOADED)")
_status.details.add().Pack(error_details_pb2.ErrorInfo(reason="OVERLOADED", domain="multimargin"))
WIRE = rpc_status.to_status(_status)
TRAILING = (("x-request-id", "r-1"), *WIRE.trailing_metadata)


async def _ok(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return b"ok"


async def _abort(request: object, context: grpc.aio.ServicerContext) -> None:
    await context.abort(WIRE.code, WIRE.details, trailing_metadata=TRAILING)


async def _hold(request: bytes, context: grpc.aio.ServicerContext) -> None:
    await asyncio.sleep(3600)


class Handlers(grpc.GenericRpcHandler):
    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        return {
            "/floor/Ok": grpc.unary_unary_rpc_method_handler(_ok),
            "/floor/Abort": grpc.unary_unary_rpc_method_handler(_abort),
            "/floor/AbortUnread": grpc.stream_unary_rpc_method_handler(_abort),
            "/floor/Hold": grpc.unary_unary_rpc_method_handler(_hold),
        }.get(details.method)


async def serve(port: int, limit: int | None) -> None:
    server = grpc.aio.server(maximum_concurrent_rpcs=limit)
    server.add_generic_rpc_handlers((Handlers(),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


async def rate(address: str, method: str, hold: bool = False) -> float:
    async with grpc.aio.insecure_channel(address) as channel:
        await channel.channel_ready()
        if hold:
            held = asyncio.ensure_future(channel.unary_unary("/floor/Hold")(b"x", timeout=60))
            await asyncio.sleep(0.3)
        call = channel.unary_unary(method)
        done = 0
        stop = time.monotonic() + SECONDS

        async def caller() -> None:
            nonlocal done
            while time.monotonic() < stop:
                with contextlib.suppress(grpc.aio.AioRpcError):
                    await call(b"x" * 60, timeout=5)
                done += 1

        await asyncio.gather(*(caller() for _ in range(CALLERS)))
        if hold:
            held.cancel()
        return done / SECONDS


def measure(limit: int | None, runs: list[tuple[str, str, bool]]) -> None:
    port = free_port()
    pin = ["taskset", "-c", "0"] if os.path.exists("/usr/bin/taskset") else []
    env = {**os.environ, "FLOOR_LIMIT": str(limit or "")}
    server = subprocess.Popen([*pin, sys.executable, __file__, "serve", str(port)], env=env)
    try:
        time.sleep(1.5)
        if pin:
            os.sched_setaffinity(0, {1})
        for label, method, hold in runs:
            print(f"{label}: {asyncio.run(rate(f'127.0.0.1:{port}', method, hold)):,.0f} calls/s")
    finally:
        server.kill()
        server.wait()


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        limit = os.environ.get("FLOOR_LIMIT")
        asyncio.run(serve(int(sys.argv[2]), int(limit) if limit else None))
        return
    measure(
        None,
        [
            ("OK unary", "/floor/Ok", False),
            ("abort with ErrorInfo", "/floor/Abort", False),
            ("abort, request unread", "/floor/AbortUnread", False),
        ],
    )
    measure(1, [("gRPC's maximum_concurrent_rpcs refusal", "/floor/Ok", True)])


if __name__ == "__main__":
    main()

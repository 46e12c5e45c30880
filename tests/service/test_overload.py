"""Overload: a call the server does not serve is shed RESOURCE_EXHAUSTED with an
ErrorInfo (SPEC §11), by the server's own admission control — never CANCELLED by
gRPC's internal queues, never UNKNOWN. Real concurrent calls over loopback against
the real ``multimargin serve``.
"""

from __future__ import annotations

import asyncio
import collections
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import rpckit
import serverkit
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import funds_service_pb2_grpc as fun_grpc
from multimargin.v1 import operator_service_pb2 as op
from multimargin.v1 import operator_service_pb2_grpc as op_grpc


def _outcome(error: grpc.aio.AioRpcError) -> tuple[str, str | None, str | None]:
    """(status code, ErrorInfo reason, x-request-id) of a failed call."""
    status = rpc_status.from_call(error)
    reasons = []
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            assert info.domain == "multimargin"
            reasons.append(info.reason)
    assert len(reasons) <= 1
    echoed = dict(error.trailing_metadata() or ()).get("x-request-id")
    return error.code().name, reasons[0] if reasons else None, echoed


async def _flood(address: str, calls: list[tuple[str, Any, str]]) -> list[tuple[str, str | None, str | None]]:
    """Make every (method, request, request id) call at once; their outcomes, in order."""
    async with grpc.aio.insecure_channel(address) as channel:
        stubs = {"op": op_grpc.OperatorServiceStub(channel), "funds": fun_grpc.FundsServiceStub(channel)}

        async def one(method: str, request: Any, request_id: str) -> tuple[str, str | None, str | None]:
            service, name = method.split(".")
            try:
                call = getattr(stubs[service], name)(
                    request, timeout=60, metadata=(("x-request-id", request_id),)
                )
                await call
                return "OK", None, dict(await call.trailing_metadata()).get("x-request-id")
            except grpc.aio.AioRpcError as error:
                return _outcome(error)

        return await asyncio.gather(*(one(*call) for call in calls))


def test_a_flood_of_calls_is_served_or_shed_never_cancelled(tmp_path: Path) -> None:
    # 2,000 calls at once used to be ~10% CANCELLED by gRPC core's pending-call limit.
    with serverkit.running_server(tmp_path / "data") as server:
        calls = [("op.GetEngineStatus", op.GetEngineStatusRequest(), f"flood-{i}") for i in range(2000)]
        outcomes = asyncio.run(_flood(server.address, calls))
    codes = collections.Counter(code for code, _, _ in outcomes)
    assert set(codes) <= {"OK", "RESOURCE_EXHAUSTED"}, codes
    for (code, reason, echoed), (_, _, request_id) in zip(outcomes, calls, strict=True):
        assert echoed == request_id
        if code == "RESOURCE_EXHAUSTED":
            assert reason == "OVERLOADED"


def test_calls_beyond_the_limit_are_shed_at_once_and_change_nothing(tmp_path: Path) -> None:
    with rpckit.serving(tmp_path / "data", "--max-in-flight", "4") as (server, rpc):
        account_id = rpc.create("FUTURES").account_id
        calls = []
        for i in range(300):
            request_id = f"flood-{i}"
            request = fun.TransferInRequest(
                request_id=request_id, account_id=account_id, asset="USDT", amount="1"
            )
            calls.append(("funds.TransferIn", request, request_id))
        outcomes = asyncio.run(_flood(server.address, calls))
        codes = collections.Counter(code for code, _, _ in outcomes)
        assert set(codes) == {"OK", "RESOURCE_EXHAUSTED"}, codes  # mutations wait on fsync: some shed
        for (code, reason, echoed), (_, _, request_id) in zip(outcomes, calls, strict=True):
            assert echoed == request_id  # a shed call can be traced like any other
            assert reason == ("OVERLOADED" if code == "RESOURCE_EXHAUSTED" else None)
        # Exactly the served transfers were applied; the shed ones were not.
        assert Decimal(rpc.account(account_id).futures.wallet["USDT"]) == codes["OK"]
        # The slots were given back: a retry of a shed call is served.
        shed = [call[1] for outcome, call in zip(outcomes, calls, strict=True) if outcome[0] != "OK"]
        rpc.funds.TransferIn(shed[0])
        assert Decimal(rpc.account(account_id).futures.wallet["USDT"]) == codes["OK"] + 1
        # Shed calls are counted in a WARNING line (their own access-log lines are DEBUG).
        server.wait_for_log(lambda line: '"calls shed"' in line and '"total"' in line)

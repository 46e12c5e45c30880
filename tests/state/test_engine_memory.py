"""The engine's memory does not grow with the number of requests served: idempotent
retries of old request ids are answered from the journal, byte-identically."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from multimargin.errors import RuleViolationError
from multimargin.state.engine import Engine
from multimargin.state.recent import DEFAULT_CAPACITY
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import funds_service_pb2 as fun
from multimargin.v1 import types_pb2 as t

MUTATIONS = 3 * DEFAULT_CAPACITY


def transfer(n: int, amount: str = "1") -> fun.TransferInRequest:
    return fun.TransferInRequest(request_id=f"t-{n}", account_id="a1", asset="USDT", amount=amount)


def test_the_idempotency_window_is_bounded_and_old_ids_still_replay(tmp_path: Path) -> None:
    async def run() -> None:
        engine = await Engine.open(tmp_path)
        try:
            await engine.call(
                "CreateAccount",
                acc.CreateAccountRequest(request_id="c-1", account_id="a1", kind=t.ACCOUNT_KIND_FUTURES),
            )
            first = await engine.call("TransferIn", transfer(0))
            for start in range(1, MUTATIONS, 500):  # many in flight at once, as under load
                stop = min(start + 500, MUTATIONS)
                await asyncio.gather(*(engine.call("TransferIn", transfer(n)) for n in range(start, stop)))
                assert len(engine._ids.recent) <= DEFAULT_CAPACITY
            await asyncio.sleep(0)  # let the last durability callbacks run
            assert len(engine._ids.recent) <= DEFAULT_CAPACITY

            # The first request id left memory long ago; its retry is answered from the
            # journal with the very same bytes and changes nothing.
            again = await engine.call("TransferIn", transfer(0))
            assert again.SerializeToString(deterministic=True) == first.SerializeToString(deterministic=True)
            account = await engine.call("GetAccount", acc.GetAccountRequest(account_id="a1"))
            assert account.account.futures.wallet["USDT"] == str(MUTATIONS)
            with pytest.raises(RuleViolationError) as reused:
                await engine.call("TransferIn", transfer(0, amount="2"))
            assert reused.value.reason == "IDEMPOTENCY_KEY_REUSED"
        finally:
            await engine.close()

    asyncio.run(run())

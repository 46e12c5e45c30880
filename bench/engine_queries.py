"""The engine's own cost per query, in-process (no gRPC): CheckOrder (a 0.01 BTCUSDT buy
at the mark, as the k6 bench sends it) and GetRiskSummary on ``demo-futures-multi``,
through ``Engine.call`` — request decoding excluded, response building included.

    python bench/engine_queries.py [--calls 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from multimargin.state.engine import Engine
from multimargin.v1 import risk_service_pb2 as rsk
from multimargin.v1 import trading_service_pb2 as trd
from multimargin.v1 import types_pb2 as t

ACCOUNT = "demo-futures-multi"


def requests(engine: Engine) -> dict[str, Any]:
    mark = engine.mark_prices["BTCUSDT"]
    order = t.FuturesOrder(symbol="BTCUSDT", side=t.SIDE_BUY, price=mark, quantity="0.01")
    return {
        "CheckOrder": trd.CheckOrderRequest(account_id=ACCOUNT, futures=order),
        "GetRiskSummary": rsk.GetRiskSummaryRequest(account_id=ACCOUNT),
    }


async def run(calls: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = await Engine.open(Path(tmp), demo=True)
        try:
            for method, request in requests(engine).items():
                await engine.call(method, request)  # compiles the account once
                best = float("inf")
                for r in range(rounds):
                    t0 = time.perf_counter()
                    for _ in range(calls):
                        await engine.call(method, request)
                    per_call = (time.perf_counter() - t0) / calls * 1e6
                    best = min(best, per_call)
                    print(f"{method} round {r + 1}: {per_call:.1f} µs per call")
                print(f"{method}: best {best:.1f} µs per call")
        finally:
            await engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.rounds))


if __name__ == "__main__":
    main()

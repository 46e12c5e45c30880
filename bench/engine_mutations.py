"""The engine's own cost per durable mutation, in-process (no gRPC): TransferIn on a demo
account, all submitted at once so the store commits them in groups.

    python bench/engine_mutations.py [--calls 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from multimargin.state.engine import Engine
from multimargin.v1 import funds_service_pb2 as fun


async def run(calls: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = await Engine.open(Path(tmp), demo=True)
        try:
            for r in range(rounds):
                requests = [
                    fun.TransferInRequest(
                        request_id=f"x{r}-{i}", account_id="demo-futures-multi", asset="USDT", amount="1"
                    )
                    for i in range(calls)
                ]
                t0 = time.perf_counter()
                await asyncio.gather(*(engine.call("TransferIn", q) for q in requests))
                elapsed = time.perf_counter() - t0
                per_call = elapsed / calls * 1e6
                print(f"round {r + 1}: {per_call:.0f} µs per durable TransferIn ({calls / elapsed:.0f}/s)")
        finally:
            await engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.rounds))


if __name__ == "__main__":
    main()

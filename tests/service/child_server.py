"""Child process for test_server: ``multimargin serve`` with faults injected around the
real engine, so the lifecycle can be tested deterministically.

    python child_server.py [--slow RPC=SECONDS]... [--fail RPC]... [--fatal-on-sigusr1] \\
        [--max-concurrent N] -- serve --listen ADDR --data-dir DIR ...

* ``--slow RPC=SECONDS``: the call writes ``SLOW-CALL <RPC>`` to stderr, waits, then
  goes to the engine (a call that is surely in flight when the test signals).
* ``--fail RPC``: the call raises a RuntimeError whose text must never reach the wire.
* ``--fatal-on-sigusr1``: SIGUSR1 completes ``engine.fatal`` with an OSError, as a
  failed durable store would.
* ``--max-concurrent N``: the server takes N calls at once and sheds the rest with
  RESOURCE_EXHAUSTED (gRPC's ``maximum_concurrent_rpcs``, or ``serve --max-in-flight``
  where the server has its own admission control).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import multimargin.service.server as server_module
from multimargin.cli import main

SECRET = "secret-detail-7f3a"  # what test_server checks never leaves the server


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    split = argv.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", action="append", default=[])
    parser.add_argument("--fail", action="append", default=[])
    parser.add_argument("--fatal-on-sigusr1", action="store_true")
    parser.add_argument("--max-concurrent", type=int)
    return parser.parse_args(argv[:split]), argv[split + 1 :]


def faulty_engine(options: argparse.Namespace) -> type:
    real = server_module.Engine
    slow = {name: float(seconds) for name, seconds in (item.split("=") for item in options.slow)}
    fail = set(options.fail)

    class FaultyEngine:
        def __init__(self, inner: Any) -> None:
            self._inner = inner
            self._fatal: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            inner.fatal.add_done_callback(self._propagate)

        @classmethod
        async def open(cls, data_dir: Path, **kwargs: Any) -> FaultyEngine:
            engine = cls(await real.open(data_dir, **kwargs))
            if options.fatal_on_sigusr1:
                asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, engine._fail_store)
            return engine

        def _propagate(self, inner: asyncio.Future[None]) -> None:
            if not self._fatal.done() and not inner.cancelled():
                error = inner.exception()
                if error is not None:
                    self._fatal.set_exception(error)

        def _fail_store(self) -> None:
            if not self._fatal.done():
                self._fatal.set_exception(OSError(28, "No space left on device (simulated)"))

        @property
        def fatal(self) -> asyncio.Future[None]:
            return self._fatal

        async def call(self, method: str, request: Any) -> Any:
            if method in slow:
                os.write(2, f"SLOW-CALL {method}\n".encode())
                await asyncio.sleep(slow[method])
            if method in fail:
                raise RuntimeError(f"{SECRET}: injected fault in {method}")
            return await self._inner.call(method, request)

        async def close(self) -> None:
            await self._inner.close()

    return FaultyEngine


if __name__ == "__main__":
    options, cli_args = parse(sys.argv[1:])
    server_module.Engine = faulty_engine(options)  # type: ignore[misc]
    if options.max_concurrent is not None:
        if hasattr(server_module, "MAX_CONCURRENT_RPCS"):  # gRPC's own limit
            server_module.MAX_CONCURRENT_RPCS = options.max_concurrent
        else:  # the server's own admission control
            cli_args += ["--max-in-flight", str(options.max_concurrent)]
    sys.exit(main(cli_args))

"""Child process for test_store_durability: the disk "fills up" mid-burst.

RLIMIT_FSIZE makes every write past ``limit`` bytes fail with EFBIG (SIGXFSZ
is ignored so the process is not killed), which SQLite reports like a full
disk. Prints one line per outcome, in the order the outcomes are observed:
``ACK <seq>``, ``FAIL <seq>``, then ``LATE-*``, ``FLUSH-*``, ``FAILED ...``,
``DONE``.
"""

from __future__ import annotations

import asyncio
import functools
import os
import resource
import signal
import sys
from pathlib import Path

from multimargin.store import DurabilityError, Store
from storekit import make_record

RECORD_SIZE = 2048


def out(line: str) -> None:
    # One write(2) per line: complete lines even if the parent kills us.
    os.write(1, (line + "\n").encode())


async def main(data_dir: Path, limit: int) -> None:
    store = Store.open(data_dir)
    store.recover()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    def report(seq: int, future: asyncio.Future[None]) -> None:
        # A done-callback, not code after the await: callbacks run in the order
        # the store settles futures, while woken tasks may interleave.
        error = future.exception()
        if error is None:
            out(f"ACK {seq}")
        else:
            out(f"FAIL {seq} {type(error).__name__}")

    async def submitter() -> None:
        while True:
            seq = store.next_seq
            future = store.submit(make_record(seq, size=RECORD_SIZE))
            future.add_done_callback(functools.partial(report, seq))
            try:
                await future
            except DurabilityError:
                return

    await asyncio.gather(*(submitter() for _ in range(16)))

    late = store.submit(make_record(store.next_seq, size=RECORD_SIZE))
    try:
        await late
        out("LATE-ACK")
    except DurabilityError:
        out("LATE-FAIL")
    try:
        await store.flush()
        out("FLUSH-OK")
    except DurabilityError:
        out("FLUSH-FAIL")
    failure = store.failure
    cause = failure.__cause__ if failure is not None else None
    out(f"FAILED {store.failed} cause={cause!r}")
    await store.close()
    out("DONE")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))

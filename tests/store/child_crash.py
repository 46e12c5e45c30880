"""Child process for test_store_durability: submit until killed with SIGKILL.

Prints ``START <next_seq>``, then ``<seq>`` for each record and
``SNAP <seq>`` for each snapshot, each only after its future resolved (i.e.
after the COMMIT that made it durable returned).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from multimargin.store import Store
from storekit import make_record, make_snapshot


def out(line: str) -> None:
    # One write(2) per line: the parent never sees half a line from us.
    os.write(1, (line + "\n").encode())


async def main(data_dir: Path) -> None:
    store = Store.open(data_dir)
    store.recover()
    out(f"START {store.next_seq}")

    async def submitter() -> None:
        while True:
            seq = store.next_seq
            await store.submit(make_record(seq, size=512))
            out(str(seq))

    async def snapshotter() -> None:
        while True:
            await asyncio.sleep(0.005)
            seq = store.next_seq - 1
            await store.submit_snapshot(make_snapshot(seq))
            out(f"SNAP {seq}")

    await asyncio.gather(snapshotter(), *(submitter() for _ in range(32)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))

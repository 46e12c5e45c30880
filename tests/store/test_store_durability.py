"""Acknowledged means durable: under a failing disk and under kill -9.

Both tests run the store in a child process (see child_fsize.py and
child_crash.py) that prints what it acknowledged, then reopen the data
directory here and check every acknowledged record against what recovered.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from storekit import close, make_record, make_snapshot, recover_fresh

HERE = Path(__file__).resolve().parent
# The children import the installed package (with its compiled core), like the tests;
# this folder is on their path only for storekit.
CHILD_ENV = {**os.environ, "PYTHONPATH": str(HERE), "PYTHONUNBUFFERED": "1"}


def test_write_failure_fails_everything_after_and_loses_nothing_acknowledged(
    tmp_path: Path,
) -> None:
    limit = 1024 * 1024  # the WAL hits it after a few hundred 2 KiB records
    result = subprocess.run(
        [sys.executable, str(HERE / "child_fsize.py"), str(tmp_path), str(limit)],
        env=CHILD_ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "DONE", result.stdout[-2000:]

    acked = [int(line.split()[1]) for line in lines if line.startswith("ACK ")]
    failed = [int(line.split()[1]) for line in lines if line.startswith("FAIL ")]
    assert all(line.endswith(" DurabilityError") for line in lines if line.startswith("FAIL "))
    assert acked, "the limit was hit before anything committed"
    assert failed, "no write failed; raise the record count or lower the limit"
    # Nothing is acknowledged once a failure has been reported ...
    first_fail = next(i for i, line in enumerate(lines) if line.startswith("FAIL "))
    assert not any(line.startswith("ACK ") for line in lines[first_fail:])
    # ... nor is any record that comes after a failed one.
    assert max(acked) < min(failed)
    assert "LATE-FAIL" in lines
    assert "FLUSH-FAIL" in lines
    failed_line = next(line for line in lines if line.startswith("FAILED "))
    assert failed_line.startswith("FAILED True")
    assert "OperationalError" in failed_line  # SQLite reports EFBIG as an I/O error

    # Without the limit, every acknowledged record is there, byte for byte.
    store, records, snapshot = recover_fresh(tmp_path)
    try:
        assert snapshot is None
        recovered = {r.seq: r for r in records}
        for seq in acked:
            assert recovered[seq] == make_record(seq, size=2048)
        assert [r.seq for r in records] == list(range(1, len(records) + 1))
    finally:
        close(store)


def test_kill_9_mid_burst_loses_no_acknowledged_record(tmp_path: Path) -> None:
    last_seq = 0
    for round_, kill_after in enumerate((300, 1000, 2500)):
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "child_crash.py"), str(tmp_path)],
            env=CHILD_ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        lines: list[bytes] = []
        acks = 0
        deadline = time.monotonic() + 60
        try:
            while acks < kill_after:
                line = proc.stdout.readline()
                assert line, f"child exited early: {proc.stderr.read().decode()[-2000:]}"
                lines.append(line)
                acks += line[:1].isdigit()
                assert time.monotonic() < deadline, "child too slow"
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            # Lines the child wrote before it died are still in the pipe.
            lines += proc.stdout.read().splitlines(keepends=True)
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL

        complete = [line.decode().strip() for line in lines if line.endswith(b"\n")]
        assert complete[0] == f"START {last_seq + 1}", f"round {round_}"
        acked = [int(line) for line in complete[1:] if line.isdigit()]
        snapped = [int(line.split()[1]) for line in complete if line.startswith("SNAP ")]

        store, records, snapshot = recover_fresh(tmp_path)
        try:
            # recover() has verified a contiguous, chained journal 1..next_seq-1.
            recovered_end = store.next_seq - 1
            assert max(acked) <= recovered_end
            first = snapshot.seq + 1 if snapshot is not None else 1
            assert [r.seq for r in records] == list(range(first, recovered_end + 1))
            for record in records:
                assert record == make_record(record.seq, size=512)
            if snapped:
                assert snapshot is not None and snapshot.seq >= max(snapped)
            if snapshot is not None:
                assert snapshot == make_snapshot(snapshot.seq)
            # Acknowledged records folded into the snapshot are still in the
            # journal, and answer idempotent retries.
            for seq in acked:
                request_id = make_record(seq).request_id
                if seq < first and request_id is not None:
                    assert store.lookup(request_id) == make_record(seq, size=512)
        finally:
            close(store)
        assert recovered_end >= last_seq
        last_seq = recovered_end

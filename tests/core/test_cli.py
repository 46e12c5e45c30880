"""The `multimargin evaluate` command."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from support import MULTIMARGIN, REPO

EXAMPLES = sorted((REPO / "examples").glob("*.json"))


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MULTIMARGIN, *args], input=stdin, capture_output=True, text=True, check=False)


def test_every_example_evaluates() -> None:
    assert len(EXAMPLES) >= 5
    for path in EXAMPLES:
        proc = run("evaluate", str(path))
        assert proc.returncode == 0, f"{path.name}: {proc.stderr}"
        result = json.loads(proc.stdout)
        assert "liquidatable" in result


def test_the_350_eth_example() -> None:
    proc = run("evaluate", str(REPO / "examples" / "mexc-eth-350.json"))
    assert json.loads(proc.stdout)["pools"][0]["effective_margin"] == "1080000"


def test_explain_prints_aligned_tables() -> None:
    proc = run("evaluate", "--explain", str(REPO / "examples" / "futures-multi-asset.json"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Pool CROSS" in out and "ETH collateral tiers" in out and "maintenance tiers" in out
    # A slice row: 100 ETH at 0.9 and 3000 → 270000.
    assert any(line.split() == ["0", "100", "100", "0.9", "270000"] for line in out.splitlines())
    assert_aligned(out)


def assert_aligned(text: str) -> None:
    """Every table's rows keep a gap where its dashed separator line has one."""
    lines = text.splitlines()
    tables = 0
    for i, sep in enumerate(lines):
        if not sep.strip() or set(sep.strip()) - {"-", " "}:
            continue
        tables += 1
        gaps = [j for j in range(len(sep) - 1) if sep[j : j + 2] == "  " and sep[j + 2 : j + 3] == "-"]
        indent = len(sep) - len(sep.lstrip())
        rows = [lines[i - 1]]
        for row in lines[i + 1 :]:
            if not row.strip() or len(row) - len(row.lstrip()) < indent or set(row.strip()) <= {"-", " "}:
                break
            rows.append(row)
        for row in rows:
            for j in gaps:
                assert row[j : j + 2].strip() == "", f"misaligned at column {j}:\n{sep}\n{row}"
    assert tables > 0


def test_explain_margin_account() -> None:
    proc = run("evaluate", "--explain", str(REPO / "examples" / "margin-pro-restricted.json"))
    assert proc.returncode == 0, proc.stderr
    assert "PRO mode (restricted region)" in proc.stdout
    assert "Pro IMR tiers" in proc.stdout
    assert "max borrow" in proc.stdout


def test_stdin_and_one_line_errors() -> None:
    good = json.dumps(
        {
            "prices": {"ETH": "4000"},
            "account": {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"ETH": "350"}},
        }
    )
    assert run("evaluate", "-", stdin=good).returncode == 0
    bad = '{"account": {"kind": "FUTURES", "wallet": {"USDT": 100}}}'
    proc = run("evaluate", "-", stdin=bad)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "account.wallet.USDT" in proc.stderr and "INVALID_DECIMAL" in proc.stderr


def test_a_misspelt_key_exits_2_naming_its_path() -> None:
    bad = {"account": {"kind": "MARGIN", "holding": {"USDT": "1"}}}
    proc = run("evaluate", "-", stdin=json.dumps(bad))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "account.holding" in proc.stderr and "INVALID_ARGUMENT" in proc.stderr
    # A comment key is no fault.
    good = {"_comment": "ok", "account": {"kind": "MARGIN", "_note": 1, "holdings": {"USDT": "1"}}}
    assert run("evaluate", "-", stdin=json.dumps(good)).returncode == 0


def test_unreadable_and_non_json_input(tmp_path: Path) -> None:
    proc = run("evaluate", str(tmp_path / "missing.json"))
    assert proc.returncode == 1 and "cannot read" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "x.json").write_text("{not json")
    proc = run("evaluate", str(tmp_path / "x.json"))
    assert proc.returncode == 1 and "not JSON" in proc.stderr

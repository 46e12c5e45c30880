"""The `multimargin rulebook diff` command: exactly the edits between two rulebooks,
aligned (a property: any one edited number is exactly one change, a rewritten equal
number none); a refused rulebook is one line and exit 2. (``--server`` is tested against a
real server in ``tests/service/test_rpc_client_operator.py``.)"""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import multimargin
from hypothesis import given, settings
from hypothesis import strategies as st
from multimargin.rulebook_diff import diff
from support import MULTIMARGIN


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MULTIMARGIN, *args], capture_output=True, text=True, check=False)


def default() -> dict[str, Any]:
    rules: dict[str, Any] = json.loads(multimargin.default_rulebook_json())
    return rules


def write(path: Path, rules: dict[str, Any]) -> str:
    path.write_text(json.dumps(rules, indent=1), "utf-8")
    return str(path)


def edited() -> dict[str, Any]:
    rules = default()
    btc = rules["assets"]["BTC"]
    btc["discount"] = "0.9"
    btc["haircut_tiers"][1] = ["130000000", "0.975"]
    btc["borrow"]["vip_limits"] = [[0, "200"], [5, "500"]]
    rules["contracts"]["ETHUSDT"]["risk_tiers"][0][1] = "0.006"
    rules["contracts"]["ETHUSDT"]["risk_tiers"].pop()
    rules["contracts"]["ETHUSDT"]["risk_tiers"][-1][0] = None
    del rules["assets"]["DOGE"]
    rules["settings"]["payer_order"].remove("DOGE")
    rules["settings"]["liquidation"]["CLASSIC"] = "1.15"
    rules["_comment"] = "comments are not changes"
    return rules


def test_a_diff_of_two_edited_copies_shows_exactly_the_edits(tmp_path: Path) -> None:
    a = default()
    a["assets"]["ETH"]["discount"] = "0.900"  # the same number, written differently
    proc = run("rulebook", "diff", write(tmp_path / "a.json", a), write(tmp_path / "b.json", edited()))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].endswith("a.json → " + str(tmp_path / "b.json"))
    body = [line.split() for line in lines[1:]]
    old_eth = default()["contracts"]["ETHUSDT"]["risk_tiers"]
    assert body == [
        ["assets", "removed:", "DOGE"],
        ["asset", "BTC"],
        ["haircut_tiers", "(up_to", "USDT", "/", "rate)"],
        ["row", "2", "120000000", "/", "0.975", "→", "130000000", "/", "0.975"],
        ["discount", "0.95", "→", "0.9"],
        ["borrow.vip_limits", "(vip", "level", "/", "max", "borrowed)"],
        ["row", "1", "—", "→", "0", "/", "200"],
        ["row", "2", "—", "→", "5", "/", "500"],
        ["contract", "ETHUSDT"],
        ["risk_tiers", "(up_to", "notional", "/", "mmr", "/", "max", "leverage)"],
        ["row", "1", *_row(old_eth[0]), "→", *_row([old_eth[0][0], "0.006", old_eth[0][2]])],
        [
            "row",
            str(len(old_eth) - 1),
            *_row(old_eth[-2]),
            "→",
            *_row([None, old_eth[-2][1], old_eth[-2][2]]),
        ],
        ["row", str(len(old_eth)), *_row(old_eth[-1]), "→", "—"],
        ["settings"],
        [
            "payer_order",
            *["USDT,", "USDC,", "BTC,", "ETH,", "SOL,", "MX,", "DOGE"],
            "→",
            *["USDT,", "USDC,", "BTC,", "ETH,", "SOL,", "MX"],
        ],
        ["liquidation.CLASSIC", "1.1", "→", "1.15"],
    ]
    # Aligned: every change's arrow in one column.
    arrows = {line.index("→") for line in lines[1:] if "→" in line and not line.lstrip().startswith("row")}
    assert len(arrows) == 1


def _row(row: list[Any]) -> list[str]:
    return " / ".join("∞" if c is None else str(c) for c in row).split()


def test_identical_rulebooks_have_no_changes(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", default())
    proc = run("rulebook", "diff", path, path)
    assert (proc.returncode, proc.stdout.splitlines()[1:]) == (0, ["no changes"])
    assert diff(default(), default()) == []


def test_a_refused_rulebook_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = default()
    bad["assets"]["USDT"]["discont"] = "1"  # a misspelt key is refused (SPEC v1.2)
    good = write(tmp_path / "good.json", default())
    proc = run("rulebook", "diff", good, write(tmp_path / "bad.json", bad))
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith("error: ") and "bad.json" in line and "discont" in line
    proc = run("rulebook", "diff", good, str(tmp_path / "missing.json"))
    assert proc.returncode == 1 and proc.stderr.startswith("error: cannot read")


def test_a_section_added_and_a_contract_added_are_named() -> None:
    a, b = default(), default()
    del a["assets"]["MX"]  # unused by payer order? then the diff names it added
    b["contracts"]["SOLUSDC"] = json.loads(json.dumps(b["contracts"]["BTCUSDC"]))
    b["assets"]["SOL"]["liability"] = dict(b["assets"]["ETH"]["liability"])
    out = diff(a, b)
    assert out[0].split() == ["assets", "added:", "MX"]
    assert out[1].split() == ["contracts", "added:", "SOLUSDC"]
    assert out[2] == "asset SOL"
    assert [line.split()[0] for line in out[3:]] == [
        "liability.hourly_rate",
        "liability.interest_free",
        "liability.mmr",
        "liability.auto_repay_threshold",
        "liability.auto_repay_ratio",
    ]
    assert out[3].split()[1:] == ["—", "→", "0.00000125"]


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of the numeric leaves of a rulebook, tier-table cells included."""
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*path, k))]
    if isinstance(node, list) and node and all(isinstance(r, list) for r in node):
        return [
            (*path, i, j)
            for i, row in enumerate(node)
            for j, cell in enumerate(row)
            if isinstance(cell, str | int) and not isinstance(cell, bool)
        ]
    if isinstance(node, str | int) and not isinstance(node, bool) and _numeric(node):
        return [path]
    return []


def _numeric(value: Any) -> bool:
    try:
        Decimal(str(value))
    except InvalidOperation:
        return False
    return True


LEAVES = _leaves(default())


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(LEAVES), st.integers(1, 10**6))
def test_one_edited_number_is_exactly_one_change(path: tuple[Any, ...], bump: int) -> None:
    a, b = default(), default()
    node = b
    for key in path[:-1]:
        node = node[key]
    old = node[path[-1]]
    node[path[-1]] = bump + int(old) if isinstance(old, int) else str(Decimal(old) + bump)
    node_a = a
    for key in path[:-1]:
        node_a = node_a[key]
    if isinstance(old, str):  # the same number, written differently in A
        node_a[path[-1]] = f"{old}0" if "." in old else f"{old}.0"
    lines = diff(a, b)
    changes = [line for line in lines if "→" in line]
    assert len(changes) == 1, lines
    section = {"assets": "asset", "contracts": "contract"}.get(path[0])
    assert lines[0] == (f"{section} {path[1]}" if section else "settings")
    label_and_old, new_text = (part.strip() for part in changes[0].split("→"))
    if isinstance(path[-2], int):  # a tier-table cell: its row, under the table's heading
        row, number, old_text = label_and_old.split(None, 2)
        assert (row, number) == ("row", str(path[-2] + 1))
        assert lines[-2].split()[0] == ".".join(path[2 if section else 1 : -2])
        cell = path[-1]
        assert old_text.split(" / ")[cell] == str(node_a[cell]) and new_text.split(" / ")[cell] == str(
            node[cell]
        )
    else:
        label, old_text = label_and_old.split()
        assert label.split(".") == [str(k) for k in path[2 if section else 1 :]]
        assert (old_text, new_text) == (str(node_a[path[-1]]), str(node[path[-1]]))
    assert diff(a, a) == [] and diff(b, b) == []

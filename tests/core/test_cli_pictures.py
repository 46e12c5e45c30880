"""`multimargin stress` and `multimargin tiers`: the printed numbers are the core's
(checked against :func:`multimargin.evaluate` at the printed prices), the liquidation
price is the exact boundary on the 10^-8 grid, and the pictures are real files: a PNG
that decodes to 1000 × 600 pixels with something drawn, an SVG that names its lines.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import multimargin
from matplotlib import image  # the plots extra; requirements-dev.txt installs it
from support import MULTIMARGIN, REPO

STEP = Decimal("0.00000001")
EXAMPLES = REPO / "examples"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MULTIMARGIN, *args], capture_output=True, text=True, check=False)


def floor8(x: Decimal) -> Decimal:
    return x.quantize(STEP, rounding=ROUND_FLOOR)


def table(stdout: str) -> tuple[list[str], list[list[str]]]:
    """The first table printed: its header cells and rows (cells split on 2+ spaces)."""
    lines = stdout.splitlines()
    sep = next(i for i, line in enumerate(lines) if line.strip() and set(line.strip()) <= {"-", " "})
    headers = [c for c in lines[sep - 1].strip().split("  ") if c]
    rows = []
    for line in lines[sep + 1 :]:
        if not line.strip() or ":" in line:  # the table ends at a blank or a "cap: ..." line
            break
        rows.append(line.split())
    return [h.strip() for h in headers], rows


def assert_pictures(prefix: Path, *labels: str) -> None:
    png, svg = prefix.with_name(prefix.name + ".png"), prefix.with_name(prefix.name + ".svg")
    pixels = image.imread(png)
    assert pixels.shape[:2] == (600, 1000)
    flat = pixels.reshape(-1, pixels.shape[2])
    assert len({tuple(p) for p in flat[::37].tolist()}) > 20  # lines, text, colours: not blank
    text = svg.read_text("utf-8")
    assert text.startswith("<?xml") and "<svg" in text
    for label in labels:
        assert label in text, label


# ---- stress -------------------------------------------------------------------------------


def test_stress_table_is_the_core_at_each_printed_price(tmp_path: Path) -> None:
    path = EXAMPLES / "margin-classic.json"
    proc = run(
        "stress",
        str(path),
        "--asset",
        "BTC",
        "--from",
        "-50%",
        "--to",
        "50%",
        "--steps",
        "10",
        "--out",
        str(tmp_path / "classic"),
    )
    assert proc.returncode == 0, proc.stderr
    headers, rows = table(proc.stdout)
    assert headers == ["move %", "BTC price", "margin level", "liquidatable", "margin call"]
    scenario = json.loads(path.read_text())
    assert [r[0] for r in rows] == [str(m) for m in range(-50, 51, 10)]
    for move, price, level, liquidatable, margin_call in rows:
        assert Decimal(price) == floor8(Decimal(60000) * (1 + Decimal(move) / 100))
        result = multimargin.evaluate({**scenario, "prices": {**scenario["prices"], "BTC": price}})
        assert Decimal(level) == Decimal(result["margin_level"])
        assert (liquidatable, margin_call) == (
            "yes" if result["liquidatable"] else "no",
            "yes" if result["margin_call"] else "no",
        )
    assert "thresholds: liquidation 1.1, margin call 1.3" in proc.stdout
    assert "not liquidatable anywhere from -50% to 50%" in proc.stdout
    assert_pictures(tmp_path / "classic", "liquidation threshold 1.1", "margin call threshold 1.3")


def classic(holdings_usdt: str = "10000") -> dict[str, Any]:
    # TA = P + 10000, TL = 40000: liquidatable ⇔ P + 10000 ≤ 1.1 × 40000 ⇔ P ≤ 34000.
    return {
        "prices": {"BTC": "60000"},
        "account": {
            "kind": "MARGIN",
            "mode": "CLASSIC",
            "holdings": {"BTC": "1", "USDT": holdings_usdt},
            "borrowed": {"USDT": "40000"},
        },
    }


def test_liquidation_price_is_the_boundary_on_the_grid(tmp_path: Path) -> None:
    path = tmp_path / "classic.json"
    path.write_text(json.dumps(classic()))
    proc = run(
        "stress",
        str(path),
        "--asset",
        "BTC",
        "--from",
        "-60%",
        "--to",
        "0%",
        "--steps",
        "6",
        "--out",
        str(tmp_path / "pic"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "liquidation price (down): 34000  (move -43.3333 %)" in proc.stdout
    _, rows = table(proc.stdout)
    assert [(r[1], r[3]) for r in rows] == [
        ("24000", "yes"),
        ("30000", "yes"),
        ("36000", "no"),
        ("42000", "no"),
        ("48000", "no"),
        ("54000", "no"),
        ("60000", "no"),
    ]

    def liquidatable(price: Decimal) -> bool:
        s = classic()
        s["prices"]["BTC"] = format(price, "f")
        return bool(multimargin.evaluate(s)["liquidatable"])

    assert liquidatable(Decimal(34000)) and not liquidatable(Decimal(34000) + STEP)
    assert_pictures(tmp_path / "pic", "liquidation price 34000", "liquidation threshold 1.1")


def test_a_rulebook_file_sets_the_thresholds_of_a_scenario_without_one(tmp_path: Path) -> None:
    rulebook = multimargin.default_rulebook().to_dict()
    rulebook["settings"]["liquidation"]["CLASSIC"] = "1.2"
    rulebook["settings"]["mcr_default"]["CLASSIC"] = "1.5"
    (tmp_path / "rb.json").write_text(json.dumps(rulebook))
    (tmp_path / "classic.json").write_text(json.dumps(classic()))
    proc = run(
        "stress", str(tmp_path / "classic.json"), "--asset", "BTC", "--rulebook", str(tmp_path / "rb.json"),
        "--from", "-60%", "--to", "0%", "--steps", "6", "--out", str(tmp_path / "pic"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # P + 10000 ≤ 1.2 × 40000 ⇔ P ≤ 38000
    assert "thresholds: liquidation 1.2, margin call 1.5" in proc.stdout
    assert "liquidation price (down): 38000  (move -36.6667 %)" in proc.stdout
    assert_pictures(tmp_path / "pic", "liquidation threshold 1.2", "margin call threshold 1.5")


def test_futures_marks_move_with_their_base_asset(tmp_path: Path) -> None:
    # No BTC index price here: BTCUSDC's mark is the reference, BTCUSDT's mark moves by
    # the same ratio (rounded down to 10^-8); SOLUSDT stays.
    path = EXAMPLES / "futures-single-asset-isolated.json"
    scenario = json.loads(path.read_text())
    proc = run("stress", str(path), "--asset", "BTC", "--steps", "10", "--out", str(tmp_path / "f"))
    assert proc.returncode == 0, proc.stderr
    assert "moving BTCUSDC, BTCUSDT" in proc.stdout
    headers, rows = table(proc.stdout)
    assert headers[:3] == ["move %", "BTCUSDC price", "margin level USDC"]
    pools = [h.removeprefix("margin level ") for h in headers if h.startswith("margin level")]

    def at(price: Decimal) -> dict[str, Any]:
        marks = dict(scenario["marks"])
        marks["BTCUSDC"] = format(price, "f")
        marks["BTCUSDT"] = format(floor8(Decimal("50000") * price / Decimal("50020")), "f")
        return multimargin.evaluate({**scenario, "marks": marks})

    for row in rows:
        result = at(Decimal(row[1]))
        by_id = {p["id"]: p for p in result["pools"]}
        levels = row[2 : 2 + len(pools)]
        assert [Decimal(x) for x in levels] == [Decimal(by_id[p]["margin_level"]) for p in pools]
        assert row[-1] == ("yes" if result["liquidatable"] else "no")
    line = next(x for x in proc.stdout.splitlines() if "liquidation price (down)" in x)
    boundary = Decimal(line.split(":")[1].split()[0])
    assert at(boundary)["liquidatable"] and not at(boundary + STEP)["liquidatable"]
    assert_pictures(tmp_path / "f", "liquidation threshold 1", "effective margin USDT")


def test_stress_input_errors_are_one_line(tmp_path: Path) -> None:
    path = str(EXAMPLES / "margin-classic.json")
    bad_move = run("stress", path, "--asset", "BTC", "--from", "-100%")
    assert bad_move.returncode == 2 and bad_move.stderr == "error: a move must be above -100%: '-100%'\n"
    unpriced = run("stress", path, "--asset", "SOL", "--out", str(tmp_path / "x"))
    assert unpriced.returncode == 2 and "SOL has no index price" in unpriced.stderr
    missing = run("stress", str(tmp_path / "nope.json"), "--asset", "BTC")
    assert missing.returncode == 1 and "No such file" in missing.stderr
    down = run("stress", "acct-1", "--asset", "BTC", "--server", "127.0.0.1:9")
    assert down.returncode == 1 and down.stderr.startswith("error: server 127.0.0.1:9:")
    assert "UNAVAILABLE" in down.stderr
    for proc in (bad_move, unpriced, missing, down):
        assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


# ---- tiers --------------------------------------------------------------------------------


def test_tiers_tables_are_the_core_at_each_breakpoint(tmp_path: Path) -> None:
    proc = run("tiers", "BTC", "--out", str(tmp_path / "btc"))
    assert proc.returncode == 0, proc.stderr
    collateral, haircut = proc.stdout.split("\n\n")[:2]
    _, rows = table(collateral)
    assert [r[:3] for r in rows[:2]] == [["0", "1", "0.975"], ["1", "5", "0.97"]]
    for _start, end, _rate, value in rows:
        result = multimargin.evaluate(
            {
                "prices": {"BTC": "1"},
                "account": {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"BTC": end}},
            }
        )
        assert Decimal(result["pools"][0]["value"]["BTC"]) == Decimal(value)
    assert rows[-1][2] == "0" and "cap: 100 BTC" in collateral  # nothing counts past the cap
    _, rows = table(haircut)
    for _start, end, _rate, value in rows:
        result = multimargin.evaluate(
            {"prices": {"BTC": "1"}, "account": {"kind": "MARGIN", "holdings": {"BTC": end}}}
        )
        assert Decimal(result["collateral_value"]) == Decimal(value)
    rulebook = multimargin.default_rulebook().to_dict()["assets"]["BTC"]["haircut_tiers"]
    assert [r[2] for r in rows] == [rate for _, rate in rulebook]
    assert_pictures(tmp_path / "btc", "collateral cap 100", "haircut ratio", "collateral value")


def test_tiers_of_a_rulebook_file_and_unknown_assets(tmp_path: Path) -> None:
    rulebook = multimargin.default_rulebook().to_dict()
    rulebook["assets"]["BTC"]["collateral_tiers"] = [["2", "0.5"], [None, "0.25"]]
    path = tmp_path / "rb.json"
    path.write_text(json.dumps(rulebook))
    proc = run("tiers", "BTC", "--rulebook", str(path), "--out", str(tmp_path / "t"))
    assert proc.returncode == 0, proc.stderr
    _, rows = table(proc.stdout)
    assert rows == [["0", "2", "0.5", "1"], ["2", "2.5", "0.25", "1.125"]]  # unbounded: no cap
    assert "cap:" not in proc.stdout.split("\n\n")[0]
    unknown = run("tiers", "XYZ", "--out", str(tmp_path / "u"))
    assert unknown.returncode == 2 and unknown.stderr == "error: asset: unknown asset 'XYZ' (UNKNOWN_ASSET)\n"


def test_the_server_and_the_cli_do_not_load_matplotlib() -> None:
    code = (
        "import sys, multimargin.cli, multimargin.client, multimargin.service.server;"
        "import multimargin.pictures.stress, multimargin.pictures.tiers;"
        "multimargin.cli.build_parser(); print('matplotlib' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"

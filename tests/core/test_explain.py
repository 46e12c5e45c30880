"""`multimargin evaluate --explain` for a risk engineer: every printed table adds up to the
total it reports, the figures are the core's (`multimargin.evaluate`), and no column is
empty. The tables are parsed from the printed text."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import multimargin
import pytest
from support import MULTIMARGIN, REPO

EXAMPLES = sorted((REPO / "examples").glob("*.json"))
EIGHT = Decimal("0.00000001")

Table = list[dict[str, str]]


def explain(path: Path) -> str:
    proc = subprocess.run(
        [MULTIMARGIN, "evaluate", "--explain", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def tables(text: str) -> Iterator[tuple[str, Table]]:
    """(title line above the header, rows as header → cell) of every printed table."""
    lines = text.splitlines()
    for i, sep in enumerate(lines):
        if not sep.strip() or set(sep.strip()) - {"-", " "}:
            continue
        spans = [(m.start(), m.end()) for m in re.finditer(r"-+", sep)]
        # A cell may overhang its dashes only to the left (right-aligned) or right (last column).
        header = lines[i - 1]
        names = [header[a:b].strip() for a, b in spans]
        rows: Table = []
        for row in lines[i + 1 :]:
            if not row.strip() or len(row) - len(row.lstrip()) < spans[0][0]:
                break
            cells = [row[a : (b if k + 1 < len(spans) else None)].strip() for k, (a, b) in enumerate(spans)]
            rows.append(dict(zip(names, cells, strict=True)))
        yield (lines[i - 2].strip() if i >= 2 else ""), rows


def in_usdt(text: str) -> list[Table]:
    return [rows for title, rows in tables(text) if "each row = amount × price" in title]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_usdt_table_adds_up_to_its_total(path: Path) -> None:
    text = explain(path)
    scenario = json.loads(path.read_text())
    result = multimargin.evaluate(scenario)
    recon = in_usdt(text)
    assert recon, "no reconciliation table"
    if "pools" in result:
        assert len(recon) == len(result["pools"])
        reported_figures = [dict(p) for p in result["pools"]]
    else:
        reported_figures = [dict(result)] * len(recon)
    checked = 0
    for rows, figures in zip(recon, reported_figures, strict=True):
        groups: dict[str, list[dict[str, str]]] = {}
        for r in rows:
            groups.setdefault(r["figure"], []).append(r)
        for figure, group in groups.items():
            parts = [r for r in group if r["item"] != "total (exact)" and "rounded" not in r["item"]]
            total = next(Decimal(r["= USDT"]) for r in group if r["item"] == "total (exact)")
            reported = next(r for r in group if r["item"].startswith("reported"))
            assert sum((Decimal(r["= USDT"]) for r in parts), Decimal(0)) == total, f"{path.name}: {figure}"
            for r in parts:
                if r.get("amount"):
                    assert Decimal(r["amount"]) * Decimal(r["× price"]) == Decimal(r["= USDT"]), r
            up = "rounded up" in reported["item"]
            rounded = total.quantize(EIGHT, rounding=ROUND_CEILING if up else ROUND_FLOOR).normalize()
            assert Decimal(reported["= USDT"]) == rounded
            key = figure.replace(" ", "_")
            assert Decimal(figures[key]) == Decimal(reported["= USDT"]), f"{path.name}: {key}"
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_no_table_has_an_empty_column(path: Path) -> None:
    for title, rows in tables(explain(path)):
        for column in rows[0] if rows else []:
            assert any(r[column] for r in rows), f"{path.name}: {title}: empty column {column!r}"


def risk_tables(text: str) -> dict[str, Table]:
    out: dict[str, Table] = {}
    for _, rows in tables(text):
        if rows and "threshold" in rows[0]:
            out["thresholds"] = rows
        for key in ("max borrow", "max transfer out"):
            if rows and key in rows[0]:
                out[key] = rows
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_risk_section_is_the_cores(path: Path) -> None:
    scenario = json.loads(path.read_text())
    result: dict[str, Any] = dict(multimargin.evaluate(scenario))
    risk = risk_tables(explain(path))
    thresholds = risk["thresholds"]
    if "pools" in result:
        pools = {p["id"]: p for p in result["pools"]}
        assert len(thresholds) == len(pools)
        for t in thresholds:
            pool = pools[t["threshold"].removeprefix("liquidation, pool ")]
            assert t["level"] == (pool["margin_level"] or "none")
            assert t["reached"] == ("REACHED" if pool["liquidatable"] else "no")
    else:
        assert [t["threshold"] for t in thresholds] == ["margin call", "liquidation"]
        for t in thresholds:
            assert t["level"] == (result["margin_level"] or "none")
            flag = result["margin_call" if t["threshold"] == "margin call" else "liquidatable"]
            assert t["reached"] == ("REACHED" if flag else "no")
            if t["level"] != "none":
                assert Decimal(t["distance (points)"]) == Decimal(t["level"]) - Decimal(t["at"])
    for key in ("max borrow", "max transfer out"):
        reported = result.get(key.replace(" ", "_"))
        if reported is None:
            assert key not in risk
            continue
        for row in risk[key]:
            assert Decimal(row["amount"]) == Decimal(reported.get(row[key], "0")), row
            assert row["binding constraint"], row
        assert set(reported) <= {r[key] for r in risk[key]}


def test_classic_mode_has_no_im_or_mm_column() -> None:
    text = explain(REPO / "examples" / "margin-classic.json")
    for _, rows in tables(text):
        assert not rows or not {"IM", "MM"} & set(rows[0])


def test_a_move_reaches_the_threshold(tmp_path: Path) -> None:
    """A thin long position: the move down of its mark lands where the core flips."""
    scenario = {
        "prices": {"BTC": "60000"},
        "marks": {"BTCUSDT": "60000"},
        "account": {
            "kind": "FUTURES",
            "wallet": {"USDT": "1000"},
            "positions": [{"symbol": "BTCUSDT", "size": "0.5", "entry_price": "60000", "leverage": 50}],
        },
    }
    path = tmp_path / "thin.json"
    path.write_text(json.dumps(scenario))
    text = explain(path)
    assert "the mark of BTCUSDT at 60000" in text
    (row,) = risk_tables(text)["thresholds"]
    price = row["price down to (move)"].split()[0]
    assert row["price up to (move)"] == "none"

    def liquidatable(mark: str) -> bool:
        s = {**scenario, "marks": {"BTCUSDT": mark}}
        return bool(multimargin.evaluate(s)["liquidatable"])

    assert liquidatable(price)
    assert not liquidatable(str(Decimal(price) + EIGHT))


def check_shape(value: Any, td: Any, where: str) -> None:
    """`value` has every required key of TypedDict `td` and no key it does not name;
    nested TypedDicts (also in lists and unions with None) are checked too."""
    from typing import get_args, get_origin, get_type_hints, is_typeddict

    assert isinstance(value, dict), where
    keys = set(value)
    assert td.__required_keys__ <= keys, f"{where}: missing {td.__required_keys__ - keys}"
    assert keys <= td.__required_keys__ | td.__optional_keys__, (
        f"{where}: extra {keys - td.__annotations__.keys()}"
    )
    hints = get_type_hints(td)
    for k, v in value.items():
        hint = hints[k]
        options = [hint]
        while options and get_origin(options[0]) is not None and not is_typeddict(options[0]):
            origin = get_origin(options[0])
            if origin is list:
                options = list(get_args(options[0]))
                for item in v:
                    for o in options:
                        if is_typeddict(o):
                            check_shape(item, o, f"{where}.{k}[]")
                break
            options = [a for a in get_args(options[0]) if a is not type(None)]
        if len(options) == 1 and is_typeddict(options[0]) and v is not None and not isinstance(v, list):
            check_shape(v, options[0], f"{where}.{k}")


def vector_scenarios() -> Iterator[dict[str, Any]]:
    for path in sorted((REPO / "tests" / "vectors").glob("*.json")):
        doc = json.loads(path.read_text())
        for case in doc["cases"]:
            if "expected" in case:
                s = {"rulebook": case.get("rulebook", doc["rulebook"]), "account": case["account"]}
                s |= {k: case[k] for k in ("prices", "marks") if k in case}
                yield s


def test_typed_dicts_describe_what_the_core_returns() -> None:
    from multimargin import scenario_types as st

    scenarios = [json.loads(p.read_text()) for p in EXAMPLES] + list(vector_scenarios())
    kinds = set()
    for s in scenarios:
        result = multimargin.evaluate(s)
        x = multimargin.explain(s)
        if "pools" in result:
            check_shape(result, st.FuturesResult, "result")
            check_shape(x, st.FuturesExplanation, "explain")
            kinds.add("FUTURES")
        else:
            pro = "net_collateral" in result
            check_shape(result, st.ProResult if pro else st.ClassicResult, "result")
            check_shape(x, st.MarginExplanation, "explain")
            kinds.add("PRO" if pro else "CLASSIC")
        account = s["account"]
        check_shape(
            account, st.MarginAccountDoc if account["kind"] == "MARGIN" else st.FuturesAccountDoc, "in"
        )
    assert kinds == {"FUTURES", "PRO", "CLASSIC"}

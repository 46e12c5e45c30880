"""The text of ``multimargin evaluate --explain``: the core's breakdown laid out as tables.

Every figure printed here comes from the core (``multimargin.explain`` and
``multimargin.evaluate``); this module only arranges strings. Parts of a reported total
are printed exact, so each "in USDT" table adds up to its ``total (exact)`` row; the
``reported`` row is that total rounded as SPEC §1 says (the figure ``evaluate`` returns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import multimargin
from multimargin.scenario_types import (
    FuturesExplanation,
    MarginExplanation,
    PoolExplanation,
    PriceMove,
    Reconciliation,
    Risk,
    Slice,
)

FIGURE_NAMES = {
    "effective_margin": "effective margin",
    "maintenance_margin": "maintenance margin",
    "initial_margin": "initial margin",
    "total_asset_value": "total asset value",
    "collateral_value": "collateral value",
    "total_liability_value": "total liability value",
}


def table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "  ", drop_empty: bool = True
) -> str:
    """Aligned columns: text left, numbers right; a column empty in every row is left out
    (unless ``drop_empty`` is false)."""
    body = [["" if c is None else str(c) for c in r] for r in rows]
    keep = list(range(len(headers)))
    if body and drop_empty:
        keep = [i for i in keep if any(r[i] for r in body)]
    cells = [[str(headers[i]) for i in keep]] + [[r[i] for i in keep] for r in body]
    widths = [max(len(r[i]) for r in cells) for i in range(len(keep))]

    def numeric(col: int) -> bool:
        values = [r[col] for r in cells[1:] if r[col]]
        return bool(values) and all(is_number(v) for v in values)

    right = [numeric(i) for i in range(len(keep))]
    lines = []
    for n, r in enumerate(cells):
        pairs = enumerate(zip(r, widths, strict=True))
        parts = [c.rjust(w) if right[i] else c.ljust(w) for i, (c, w) in pairs]
        lines.append(indent + "  ".join(parts).rstrip())
        if n == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def is_number(text: str) -> bool:
    """A decimal string (what the core prints)."""
    t = text[1:] if text.startswith("-") else text
    return t.replace(".", "", 1).isdigit()


def _slices(title: str, slices: Sequence[Slice]) -> list[str]:
    if not slices:
        return []
    rows = [[s["from"], s["to"], s["quantity"], s["rate"], s["value"]] for s in slices]
    return ["", f"  {title}", table(["from", "to", "quantity", "rate", "value (exact)"], rows, "    ")]


def _reconciliation(title: str, figures: Sequence[Reconciliation]) -> list[str]:
    """One table: each figure's rows in USDT, its exact total and the reported figure."""
    rows: list[list[object]] = []
    for f in figures:
        name = FIGURE_NAMES.get(f["figure"], f["figure"])
        for r in f["rows"]:
            rows.append([name, r["item"], r.get("amount"), r.get("asset"), r.get("price"), r["usdt"]])
        rows.append([name, "total (exact)", None, None, None, f["total"]])
        rows.append([name, f"reported (rounded {f['rounding']})", None, None, None, f["reported"]])
    heads = ["figure", "item", "amount", "in", "× price", "= USDT"]
    note = "    rows are exact and add up to the total; reported = the total rounded as SPEC §1 says"
    return ["", f"  {title}", table(heads, rows, "    "), "", note]


def _pool(pool: PoolExplanation, result: Mapping[str, Any]) -> list[str]:
    out = [f"Pool {pool['id']}"]
    heads = ["effective margin", "initial margin", "maintenance margin", "available", "margin level"]
    level = result["margin_level"] if result["margin_level"] is not None else "none (MM = 0)"
    row = [pool[k] for k in ("effective_margin", "initial_margin", "maintenance_margin", "available")]
    row.append(level)
    out.append(table(heads, [row]))
    rows: Sequence[Sequence[object]]
    if pool["assets"]:
        rows = [
            [a["asset"], a["equity"], a["collateral"], a["price"], a["value"], a.get("liability_margin")]
            for a in pool["assets"]
        ]
        heads = ["asset", "equity", "collateral qty", "price", "value (exact)", "liability margin"]
        out += ["", table(heads, rows)]
        for a in pool["assets"]:
            out += _slices(f"{a['asset']} collateral tiers (value = quantity × rate × price)", a["slices"])
    positions = [r for r in pool["requirements"] if r["kind"] == "position"]
    orders = [r for r in pool["requirements"] if r["kind"] == "order"]
    if positions:
        rows = [
            [p[k] for k in ("symbol", "size", "notional", "upnl", "leverage", "maintenance_margin")]
            + [p["initial_margin"], p["settlement"]]
            for p in positions
        ]
        heads = ["position", "size", "notional", "upnl", "leverage", "MM (exact)", "IM", "in"]
        out += ["", table(heads, rows)]
        for p in positions:
            out += _slices(f"{p['symbol']} maintenance tiers (by notional)", p["mm_slices"])
    if orders:
        rows = [
            [o[k] for k in ("symbol", "side", "price", "quantity", "opening_qty", "leverage")]
            + [o["initial_margin"], o["settlement"]]
            for o in orders
        ]
        out += ["", table(["order", "side", "price", "quantity", "opening", "leverage", "IM", "in"], rows)]
    out += _reconciliation(f"Pool {pool['id']} in USDT (each row = amount × price)", pool["reconciliation"])
    out.append("")
    return out


def _futures(x: FuturesExplanation, result: Mapping[str, Any]) -> list[str]:
    out = [f"Futures account, {x['mode']} mode", ""]
    by_id = {p["id"]: p for p in result["pools"]}
    for pool in x["pools"]:
        out += _pool(pool, by_id[pool["id"]])
    return out


def _margin(x: MarginExplanation) -> list[str]:
    pro = x["mode"] == "PRO"
    out = [f"Margin account, {x['mode']} mode" + (" (restricted region)" if x["restricted_region"] else "")]
    figures = ["total_asset_value", "total_liability_value", "collateral_value"]
    if pro:
        figures += ["net_collateral", "open_order_loss", "initial_margin", "maintenance_margin", "available"]
    top: Mapping[str, Any] = x
    out.append(table([f.replace("_", " ") for f in figures], [[top[f] for f in figures]]))
    if x["assets"]:
        heads = ["asset", "holdings", "free", "price", "value", "collateral", "borrowed", "interest"]
        heads.append("liability")
        keys = ["asset", "holdings", "free", "price", "holdings_value", "collateral_value", "borrowed"]
        keys += ["interest", "liability_value"]
        if pro:
            heads += ["IM", "MM"]
            keys += ["initial_margin", "maintenance_margin"]
        rows = [[a.get(k) for k in keys] for a in x["assets"]]
        out += ["", "  per asset (values in USDT, exact)", table(heads, rows, "    ")]
        for a in x["assets"]:
            out += _slices(f"{a['asset']} haircut tiers (by USDT value)", a["haircut_slices"])
            out += _slices(f"{a['asset']} Pro IMR tiers (by liability value)", a.get("imr_slices", []))
            out += _slices(f"{a['asset']} Pro MMR tiers (by liability value)", a.get("mmr_slices", []))
    if x["orders"]:
        rows = [
            [o["base"], o["quote"], o["side"], o["price"], o["quantity"], o["locks"], o["locked"]]
            for o in x["orders"]
        ]
        out += ["", table(["base", "quote", "side", "price", "quantity", "locks", "locked"], rows)]
    out += _reconciliation("Totals in USDT (each row = amount × price)", x["reconciliation"])
    out.append("")
    return out


def _move(m: PriceMove | None) -> str:
    return "none" if m is None else f"{m['price']} ({m['move']})"


def _risk(risk: Risk) -> list[str]:
    out = ["Risk"]
    e = risk["largest_exposure"]
    if e is None:
        out.append("  largest exposure: none (no movable price carries any)")
    else:
        what = "index price of" if e["kind"] == "index" else "mark of"
        out.append(f"  largest exposure: the {what} {e['name']} at {e['price']}")
        out.append(f"  (exposure {e['exposure']} USDT; only that price moves below)")
    rows = []
    for t in risk["thresholds"]:
        down, up = _move(t["move_down"]), _move(t["move_up"])
        level = t["margin_level"] if t["margin_level"] is not None else "none"
        distance = t["distance"] if t["distance"] is not None else "none"
        reached = "REACHED" if t["reached"] else "no"
        rows.append([t["name"], t["rule"], t["threshold"], level, distance, reached, down, up])
    heads = ["threshold", "condition", "at", "level", "distance (points)", "reached"]
    heads += ["price down to (move)", "price up to (move)"]
    out += ["", table(heads, rows)]
    out.append("")
    out.append("  distance = level − threshold, in points of margin level;")
    out.append("  price = where the condition is reached, one 10^-8 step nearer it is not (bisection);")
    out.append("  move = (price − current) / current")
    for key in ("max_borrow", "max_transfer_out"):
        if key in risk:
            rows = [[b["asset"], b["amount"], ", ".join(b["binding"])] for b in risk[key]]
            rows = rows or [["(none)", "", ""]]
            out += ["", table([key.replace("_", " "), "amount", "binding constraint"], rows)]
    out.append("")
    return out


def _summary(result: Mapping[str, Any]) -> list[str]:
    flags = {k: result[k] for k in ("liquidatable", "margin_call") if k in result}
    lines = ["Result"]
    scalar = [k for k, v in result.items() if isinstance(v, str | type(None)) and k != "pools"]
    if scalar:
        rows = [[k.replace("_", " "), result[k] if result[k] is not None else "none"] for k in scalar]
        lines.append(table(["figure", "value"], rows))
    lines.append("  " + "  ".join(f"{k.replace('_', ' ')}: {'yes' if v else 'no'}" for k, v in flags.items()))
    return lines


def explain_text(scenario: Any) -> str:
    """The ``--explain`` report of a scenario."""
    result: Mapping[str, Any] = multimargin.evaluate(scenario)
    x = multimargin.explain(scenario)
    body = _futures(x, result) if x["kind"] == "FUTURES" else _margin(x)
    return "\n".join(body + _risk(x["risk"]) + _summary(result)) + "\n"

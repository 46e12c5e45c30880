"""The ``multimargin`` command line.

    multimargin evaluate FILE|-  [--explain]   evaluate a SPEC §10 scenario
    multimargin serve [--listen ADDR] [--data-dir DIR] [--rulebook FILE] [--demo]
                      [--max-in-flight N] [--init-store]
    multimargin backup DATA_DIR DEST              copy a store consistently (also live)
    multimargin stress SCENARIO|ACCOUNT --asset A [--from -50%] [--to 50%] [--steps N]
                       [--out PREFIX] [--server HOST:PORT] [--rulebook FILE]
    multimargin tiers ASSET [--rulebook FILE] [--out PREFIX]
    multimargin loadtest [--target HOST:PORT] [--mix RPC=W,...] [--vus N | --rate R]
                         [--duration 30s] [--accounts ID,...] [--json FILE]

Refused input prints one line naming the field and the SPEC §11 reason and exits 2;
other failures (unreadable file, bad JSON) exit 1. No tracebacks.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import multimargin
from multimargin.errors import MarginError

EXIT_INPUT = 2
EXIT_FAILURE = 1


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "  ") -> str:
    """Aligned columns: text left, numbers right."""
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def numeric(col: int) -> bool:
        values = [r[col] for r in cells[1:] if r[col]]
        return bool(values) and all(_is_number(v) for v in values)

    right = [numeric(i) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        parts = [
            c.rjust(w) if right[i] else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append(indent + "  ".join(parts).rstrip())
        if n == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _is_number(text: str) -> bool:
    t = text[1:] if text.startswith("-") else text
    return t.replace(".", "", 1).isdigit()


def _slices(title: str, slices: list[dict[str, str]]) -> list[str]:
    if not slices:
        return []
    rows = [[s["from"], s["to"], s["quantity"], s["rate"], s["value"]] for s in slices]
    return ["", f"  {title}", _table(["from", "to", "quantity", "rate", "value"], rows, "    ")]


def _explain_futures(x: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for pool in x["pools"]:
        out.append(f"Pool {pool['id']}")
        out.append(
            _table(
                ["effective margin", "initial margin", "maintenance margin", "available"],
                [
                    [
                        pool["effective_margin"],
                        pool["initial_margin"],
                        pool["maintenance_margin"],
                        pool["available"],
                    ]
                ],
            )
        )
        if pool["assets"]:
            out.append("")
            rows = [
                [a["asset"], a["equity"], a["price"], a["value"], a.get("liability_margin", "")]
                for a in pool["assets"]
            ]
            out.append(_table(["asset", "equity", "price", "value", "liability margin"], rows))
            for a in pool["assets"]:
                title = f"{a['asset']} collateral tiers (value = quantity × rate × price)"
                out.extend(_slices(title, a["slices"]))
        positions = [r for r in pool["requirements"] if r["kind"] == "position"]
        orders = [r for r in pool["requirements"] if r["kind"] == "order"]
        if positions:
            out.append("")
            rows = [
                [
                    p["symbol"],
                    p["size"],
                    p["notional"],
                    p["upnl"],
                    p["leverage"],
                    p["maintenance_margin"],
                    p["initial_margin"],
                    p["settlement"],
                ]
                for p in positions
            ]
            out.append(_table(["position", "size", "notional", "upnl", "leverage", "MM", "IM", "in"], rows))
            for p in positions:
                out.extend(_slices(f"{p['symbol']} maintenance tiers (by notional)", p["mm_slices"]))
        if orders:
            out.append("")
            rows = [
                [
                    o["symbol"],
                    o["side"],
                    o["price"],
                    o["quantity"],
                    o["opening_qty"],
                    o["initial_margin"],
                    o["settlement"],
                ]
                for o in orders
            ]
            out.append(_table(["order", "side", "price", "quantity", "opening", "IM", "in"], rows))
        out.append("")
    return out


def _explain_margin(x: dict[str, Any]) -> list[str]:
    out = [f"Margin account, {x['mode']} mode" + (" (restricted region)" if x["restricted_region"] else "")]
    figures = ["total_asset_value", "total_liability_value", "collateral_value"]
    if x["mode"] == "PRO":
        figures += ["open_order_loss", "initial_margin", "maintenance_margin", "available"]
    out.append(_table([f.replace("_", " ") for f in figures], [[x[f] for f in figures]]))
    if x["assets"]:
        out.append("")
        rows = [
            [
                a["asset"],
                a["holdings"],
                a["free"],
                a["price"],
                a["holdings_value"],
                a["collateral_value"],
                a["borrowed"],
                a["interest"],
                a["liability_value"],
                a.get("initial_margin", ""),
                a.get("maintenance_margin", ""),
            ]
            for a in x["assets"]
        ]
        heads = ["asset", "holdings", "free", "price", "value", "collateral", "borrowed", "interest"]
        out.append(_table([*heads, "liability", "IM", "MM"], rows))
        for a in x["assets"]:
            out.extend(_slices(f"{a['asset']} haircut tiers (by USDT value)", a["haircut_slices"]))
            out.extend(_slices(f"{a['asset']} Pro IMR tiers (by liability value)", a.get("imr_slices", [])))
            out.extend(_slices(f"{a['asset']} Pro MMR tiers (by liability value)", a.get("mmr_slices", [])))
    if x["orders"]:
        out.append("")
        rows = [
            [o["base"], o["quote"], o["side"], o["price"], o["quantity"], o["locks"], o["locked"]]
            for o in x["orders"]
        ]
        out.append(_table(["base", "quote", "side", "price", "quantity", "locks", "locked"], rows))
    out.append("")
    return out


def _summary(result: dict[str, Any]) -> list[str]:
    flags = {k: result[k] for k in ("liquidatable", "margin_call") if k in result}
    lines = ["Result"]
    scalar = [k for k, v in result.items() if isinstance(v, str | type(None)) and k not in ("pools",)]
    if scalar:
        lines.append(_table(["figure", "value"], [[k.replace("_", " "), result[k]] for k in scalar]))
    lines.append("  " + "  ".join(f"{k}: {'yes' if v else 'no'}" for k, v in flags.items()))
    for key in ("max_borrow", "max_transfer_out"):
        if key in result:
            rows = [[a, v] for a, v in result[key].items()] or [["(none)", ""]]
            lines.append("")
            lines.append(_table([key.replace("_", " "), "amount"], rows))
    return lines


def explain_text(scenario: Any) -> str:
    """The ``--explain`` report of a scenario."""
    result = multimargin.evaluate(scenario)
    breakdown = multimargin.explain(scenario)
    body = _explain_futures(breakdown) if breakdown["kind"] == "FUTURES" else _explain_margin(breakdown)
    return "\n".join(body + _summary(result)) + "\n"


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    return Path(path).read_text("utf-8")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    try:
        text = _read(args.file)
    except OSError as e:
        print(f"error: cannot read {args.file}: {e.strerror}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        scenario = json.loads(text)
    except json.JSONDecodeError as e:
        print(f"error: {args.file} is not JSON: {e.msg} at line {e.lineno}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        if args.explain:
            sys.stdout.write(explain_text(scenario))
        else:
            print(json.dumps(multimargin.evaluate(scenario), indent=2))
    except MarginError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INPUT
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from multimargin.service.server import serve_main

    return serve_main(args)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def _cmd_backup(args: argparse.Namespace) -> int:
    from multimargin.store import StoreError
    from multimargin.store.backup import backup

    try:
        store_id, seq = backup(args.data_dir, args.dest)
    except (StoreError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"backed up store {store_id} up to journal seq {seq} to {args.dest}")
    return 0


def _cmd_pictures(args: argparse.Namespace) -> int:
    from multimargin.pictures.commands import run

    return run(args.command, args)


def _add_picture_commands(sub: Any) -> None:
    st = sub.add_parser(
        "stress",
        help="an account's margin level as one asset's price moves: table, PNG and SVG",
        description="Evaluates the account at each move of ASSET's index price (and the marks of "
        "the LINEAR contracts ASSET+settlement, e.g. BTCUSDT and BTCUSDC for BTC) and marks the "
        "liquidation price, refined to 10^-8 (see multimargin.pictures.stress).",
    )
    # "--from -50%" is a value, not an option.
    st._negative_number_matcher = re.compile(r"^-\d+(\.\d+)?%?$|^-\.\d+%?$")
    st.add_argument("target", help="scenario JSON file, or the id of an account on --server")
    st.add_argument("--asset", required=True, help="asset whose price moves, e.g. BTC")
    st.add_argument("--from", dest="move_from", default="-50%", help="first move (default -50%%)")
    st.add_argument("--to", dest="move_to", default="50%", help="last move (default 50%%)")
    st.add_argument("--steps", type=int, default=20, help="intervals between the moves (default 20)")
    st.add_argument("--out", type=Path, help="output prefix (default stress-NAME-ASSET)")
    st.add_argument("--server", default="127.0.0.1:50051", help="server of an account id (host:port)")
    st.add_argument(
        "--rulebook",
        type=Path,
        help="rulebook JSON: the server's (its contracts and thresholds), or the one a scenario "
        "without its own is evaluated with (default: the shipped one)",
    )
    st.set_defaults(func=_cmd_pictures)

    ti = sub.add_parser("tiers", help="an asset's collateral and haircut tiers: table, PNG and SVG")
    ti.add_argument("asset", help="asset code, e.g. BTC")
    ti.add_argument("--rulebook", type=Path, help="rulebook JSON (default: the shipped one)")
    ti.add_argument("--out", type=Path, help="output prefix (default tiers-ASSET)")
    ti.set_defaults(func=_cmd_pictures)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``multimargin`` command."""
    parser = argparse.ArgumentParser(prog="multimargin", description="Multi-asset margin engine")
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="evaluate a SPEC §10 scenario file and print the result")
    ev.add_argument("file", help="scenario JSON file, or - for standard input")
    ev.add_argument("--explain", action="store_true", help="print a readable breakdown instead of JSON")
    ev.set_defaults(func=_cmd_evaluate)

    sv = sub.add_parser("serve", help="run the gRPC server")
    sv.add_argument("--listen", default="127.0.0.1:50051", help="address to listen on (host:port)")
    sv.add_argument("--data-dir", default="./data", type=Path, help="directory of the embedded store")
    sv.add_argument("--rulebook", type=Path, help="rulebook JSON (default: the shipped one)")
    sv.add_argument("--demo", action="store_true", help="seed demo accounts and prices on first start")
    sv.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    sv.add_argument(
        "--clock",
        choices=("system", "explicit"),
        default="explicit",
        help="system: settle interest each UTC hour by itself; explicit: only RunSettlement (default)",
    )
    sv.add_argument(
        "--grace",
        default=5.0,
        type=float,
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, time calls in flight get to finish (default 5)",
    )
    sv.add_argument(
        "--max-in-flight",
        default=1024,
        type=_positive_int,
        metavar="N",
        help="calls served at once; more are refused RESOURCE_EXHAUSTED at once (default 1024)",
    )
    sv.add_argument(
        "--init-store",
        action="store_true",
        help="create a new, empty store in a data directory that held one whose database is "
        "missing or empty (refused without it; never replaces a database holding data)",
    )
    sv.set_defaults(func=_cmd_serve)

    bk = sub.add_parser("backup", help="copy a store consistently, also while the server runs")
    bk.add_argument("data_dir", type=Path, help="the server's --data-dir")
    bk.add_argument("dest", type=Path, help="the backup file to create (must not exist)")
    bk.set_defaults(func=_cmd_backup)

    _add_picture_commands(sub)
    _add_loadtest(sub)
    return parser


def _add_loadtest(sub: Any) -> None:
    from multimargin.loadtest import add_parser

    add_parser(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``multimargin`` command."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); not an error of ours.
        sys.stderr.close()
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())

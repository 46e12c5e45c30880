"""The ``multimargin`` command line.

    multimargin evaluate FILE|-  [--explain]   evaluate a SPEC §10 scenario
    multimargin serve [--listen ADDR] [--data-dir DIR] [--rulebook FILE] [--demo]
                      [--max-in-flight N] [--init-store]
    multimargin backup DATA_DIR DEST              copy a store consistently (also live)
    multimargin stress SCENARIO|ACCOUNT --asset A [--from -50%] [--to 50%] [--steps N]
                       [--out PREFIX] [--server HOST:PORT] [--rulebook FILE]
    multimargin tiers ASSET [--rulebook FILE] [--out PREFIX]

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
    """Aligned columns: text left, numbers right (the picture commands' tables)."""
    from multimargin.explain_view import table

    return table(headers, rows, indent, drop_empty=False)


def explain_text(scenario: Any) -> str:
    """The ``--explain`` report of a scenario (see :mod:`multimargin.explain_view`)."""
    from multimargin.explain_view import explain_text as text

    return text(scenario)


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
    return parser


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

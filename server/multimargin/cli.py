"""The ``multimargin`` command line.

    multimargin evaluate FILE|-  [--explain]   evaluate a SPEC §10 scenario
    multimargin serve (--auth PRINCIPALS | --insecure-no-auth) [--listen ADDR] [--data-dir DIR]
                      [--rulebook FILE] [--demo] [--max-in-flight N] [--init-store]
                      [--max-queue-delay-ms MS] [--max-loop-busy-ms MS]
                      [--shed-grace-ms MS]
                      [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
                      [--rate-limit PER_S [--rate-burst N]] [--max-streams N] [--max-message-bytes N]
    multimargin principal add FILE NAME --role ROLE... [--account ID... | --all-accounts]
    multimargin backup DATA_DIR DEST              copy a store consistently (also live)
    multimargin stress SCENARIO|ACCOUNT --asset A [--from -50%] [--to 50%] [--steps N]
                       [--out PREFIX] [--server HOST:PORT] [--rulebook FILE]
    multimargin tiers ASSET [--rulebook FILE] [--out PREFIX]
    multimargin rulebook diff A.json B.json [--server HOST:PORT]
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


def _cmd_dev_postgres(args: argparse.Namespace) -> int:
    import signal

    from multimargin.cluster import devpg

    pg = devpg.start(args.directory, args.port)
    print(f"PostgreSQL ready: {pg.url}", flush=True)
    stop = signal.sigwait if hasattr(signal, "sigwait") else None
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        if stop is not None:
            stop({signal.SIGINT, signal.SIGTERM})
    finally:
        pg.stop()
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from multimargin.service.server import serve_main

    return serve_main(args)


def _cmd_principal(args: argparse.Namespace) -> int:
    from multimargin.service.principals import PrincipalsError, add_principal

    accounts: list[str] | str = "*" if args.all_accounts else list(args.account)
    try:
        token = add_principal(args.file, args.name, sorted(set(args.role)), accounts)
    except (PrincipalsError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INPUT if isinstance(e, PrincipalsError) else EXIT_FAILURE
    print(
        f"added principal {args.name} to {args.file}; its token (shown once, stored nowhere):",
        file=sys.stderr,
    )
    print(token)
    return 0


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, not {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def _cmd_config_check(args: argparse.Namespace) -> int:
    from multimargin import config

    try:
        values = config.resolve(args.file)
    except config.ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INPUT
    print(config.render(values), end="")
    return 0


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


def _add_access_options(sv: Any) -> None:
    ac = sv.add_argument_group("access", "authentication, TLS and limits (see README: Security)")
    ac.add_argument(
        "--auth", type=Path, metavar="FILE", help="principals file: check a bearer token on every call"
    )
    ac.add_argument(
        "--insecure-no-auth",
        action="store_true",
        default=None,
        help="serve without authentication, every caller an operator (refused unless --listen is loopback)",
    )
    ac.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve TLS with this certificate chain")
    ac.add_argument("--tls-key", type=Path, metavar="PEM", help="the private key of --tls-cert")
    ac.add_argument(
        "--tls-client-ca", type=Path, metavar="PEM", help="mutual TLS: require client certificates of this CA"
    )
    ac.add_argument(
        "--rate-limit",
        type=_non_negative_float,
        metavar="PER_S",
        help="calls per second per principal; more are refused RESOURCE_EXHAUSTED (default 0: no limit)",
    )
    ac.add_argument(
        "--rate-burst",
        type=_non_negative_float,
        metavar="N",
        help="calls a principal may make at once above its rate (default: the rate)",
    )
    ac.add_argument(
        "--max-streams",
        type=_positive_int,
        metavar="N",
        help="event streams (WatchEvents) a principal may hold open at once (default 64)",
    )
    ac.add_argument(
        "--max-message-bytes",
        type=_positive_int,
        metavar="N",
        help="largest request; larger ones are refused RESOURCE_EXHAUSTED (default 1 MiB)",
    )


def _add_rulebook_command(sub: Any) -> None:
    from multimargin.rulebook_diff import add_command

    add_command(sub)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``multimargin`` command."""
    parser = argparse.ArgumentParser(prog="multimargin", description="Multi-asset margin engine")
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="evaluate a SPEC §10 scenario file and print the result")
    ev.add_argument("file", help="scenario JSON file, or - for standard input")
    ev.add_argument("--explain", action="store_true", help="print a readable breakdown instead of JSON")
    ev.set_defaults(func=_cmd_evaluate)

    # Flags default to None: unset ones take the config file's value, else the default
    # (multimargin.config).
    sv = sub.add_parser("serve", help="run the gRPC server")
    sv.add_argument("--config", type=Path, help="TOML configuration file (see multimargin.config)")
    sv.add_argument("--listen", help="address to listen on (host:port; default 127.0.0.1:50051)")
    sv.add_argument("--data-dir", type=Path, help="directory of the embedded store (default ./data)")
    sv.add_argument("--rulebook", type=Path, help="rulebook JSON (default: the shipped one)")
    sv.add_argument(
        "--demo", action="store_true", default=None, help="seed demo accounts and prices on first start"
    )
    sv.add_argument("--log-level", help="logging level (default INFO)")
    sv.add_argument(
        "--clock",
        choices=("system", "explicit"),
        help="system: settle interest each UTC hour by itself; explicit: only RunSettlement (default)",
    )
    sv.add_argument(
        "--grace",
        type=float,
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, time calls in flight get to finish (default 5)",
    )
    sv.add_argument(
        "--max-in-flight",
        type=_positive_int,
        metavar="N",
        help="calls served at once; more are refused RESOURCE_EXHAUSTED at once (default 1024)",
    )
    sv.add_argument(
        "--max-queue-delay-ms",
        type=_non_negative_float,
        metavar="MS",
        help="a call that waited longer than this before its handler ran is refused "
        "RESOURCE_EXHAUSTED (OVERLOADED); 0: off (default 5)",
    )
    sv.add_argument(
        "--max-loop-busy-ms",
        type=_non_negative_float,
        metavar="MS",
        help="once the server has had no CPU to spare this long (its event loop's thread or "
        "its process at least 90 %% busy), new calls are refused RESOURCE_EXHAUSTED "
        "(OVERLOADED); 0: off (default 1)",
    )
    sv.add_argument(
        "--shed-grace-ms",
        type=_non_negative_float,
        metavar="MS",
        help="the two rules above shed only lateness that has lasted this long (a burst "
        "shorter than this is served); 0: at once (default 100)",
    )
    sv.add_argument(
        "--init-store",
        action="store_true",
        default=None,
        help="create a new, empty store in a data directory that held one whose database is "
        "missing or empty (refused without it; never replaces a database holding data)",
    )
    sv.add_argument(
        "--metrics-listen",
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (default: off)",
    )
    sv.add_argument(
        "--store",
        metavar="URL",
        help="postgresql://... : run as one instance of a cluster over this PostgreSQL (default: "
        "SQLite under --data-dir)",
    )
    sv.add_argument(
        "--advertise", metavar="HOST:PORT", help="address other instances forward to (default: --listen)"
    )
    sv.add_argument("--shards", type=_positive_int, metavar="N", help="shards of a new cluster (default 16)")
    sv.add_argument("--lease-seconds", type=float, metavar="S", help="shard lease time (default 5)")
    _add_access_options(sv)
    sv.set_defaults(func=_cmd_serve)

    dp = sub.add_parser("dev-postgres", help="run a throw-away PostgreSQL (development, `make run-cluster`)")
    dp.add_argument("directory", type=Path, help="its data directory (made when missing)")
    dp.add_argument("--port", type=int, default=5432, help="loopback port (default 5432)")
    dp.set_defaults(func=_cmd_dev_postgres)

    cf = sub.add_parser("config", help="check a configuration file")
    cf_sub = cf.add_subparsers(dest="config_command", required=True)
    ck = cf_sub.add_parser("check", help="validate FILE (and the environment over it); print the result")
    ck.add_argument("file", type=Path)
    ck.set_defaults(func=_cmd_config_check)
    pr = sub.add_parser("principal", help="manage the principals file of `serve --auth`")
    prs = pr.add_subparsers(dest="action", required=True)
    add = prs.add_parser(
        "add",
        help="append a principal with a new random token (printed once) to FILE",
        description="Appends a [[principal]] entry holding only a salted scrypt hash of a new "
        "random token, and prints the token on standard output once. Clients send it as "
        "`authorization: Bearer <token>` metadata.",
    )
    add.add_argument("file", type=Path, help="the principals file (TOML; created mode 0600 if missing)")
    add.add_argument("name", help="the principal's name (shown in the access log)")
    add.add_argument(
        "--role",
        action="append",
        required=True,
        choices=("trader", "operator", "market_data"),
        help="a role; repeat for several",
    )
    scope = add.add_mutually_exclusive_group()
    scope.add_argument("--account", action="append", default=[], help="an account it may act on; repeat")
    scope.add_argument("--all-accounts", action="store_true", help='every account (accounts = "*")')
    add.set_defaults(func=_cmd_principal)

    bk = sub.add_parser("backup", help="copy a store consistently, also while the server runs")
    bk.add_argument("data_dir", type=Path, help="the server's --data-dir")
    bk.add_argument("dest", type=Path, help="the backup file to create (must not exist)")
    bk.set_defaults(func=_cmd_backup)

    _add_picture_commands(sub)
    _add_rulebook_command(sub)
    _add_loadtest(sub)
    return parser


def _add_loadtest(sub: Any) -> None:
    from multimargin.healthcheck import add_parser as add_health
    from multimargin.loadtest import add_parser

    add_parser(sub)
    add_health(sub)


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

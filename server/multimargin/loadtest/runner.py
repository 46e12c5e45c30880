"""The load test itself: prepare the accounts, run k6, print or return the results."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import grpc

from multimargin.loadtest import DEFAULT_VUS
from multimargin.loadtest import accounts as acc
from multimargin.loadtest.k6 import K6Error, Plan, find_k6, run
from multimargin.loadtest.mix import RPCS, MixError, parse_duration, parse_mix
from multimargin.loadtest.report import results, table

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

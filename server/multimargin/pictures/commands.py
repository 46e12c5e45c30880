"""The ``multimargin stress`` and ``multimargin tiers`` commands: a table on stdout,
the same numbers drawn to ``PREFIX.png`` and ``PREFIX.svg``.

Exit codes as ``multimargin evaluate``: 2 for refused input (a SPEC §11 reason, a bad
move), 1 for other failures (unreadable file, server unreachable).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import multimargin
from multimargin.errors import MarginError, UnavailableError
from multimargin.pictures.stress import Point, Stress, parse_move
from multimargin.pictures.tiers import TierCurve, collateral_curve, haircut_curve

EXIT_INPUT = 2
EXIT_FAILURE = 1


def text(x: Decimal | None) -> str:
    """A decimal as the tables print it (plain, no trailing zeros); None as empty."""
    if x is None:
        return ""
    out = format(x, "f")
    return out.rstrip("0").rstrip(".") if "." in out else out


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def stress_table(stress: Stress, points: Sequence[Point]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: move %, price, margin level(s), [effective margin per pool],
    liquidatable, [margin call] (margin accounts only; futures have none, SPEC §8)."""
    levels = stress.levels(points)
    headers = ["move %", f"{stress.reference} price"]
    headers += [f"margin level {name}".rstrip() for name in levels]
    pools = points[0].risk.pools if stress.kind == "FUTURES" and points else ()
    headers += [f"effective margin {p.id}" if len(pools) > 1 else "effective margin" for p in pools]
    headers += ["liquidatable"] + (["margin call"] if stress.kind == "MARGIN" else [])
    rows = []
    for i, p in enumerate(points):
        row = [text(p.move * 100), text(p.price)]
        row += [text(series[i]) for series in levels.values()]
        row += [text(pool.effective_margin) for pool in p.risk.pools] if pools else []
        row += [_yes(p.liquidatable)] + ([_yes(p.risk.margin_call)] if stress.kind == "MARGIN" else [])
        rows.append(row)
    return headers, rows


def _load_rulebook(path: Path | None) -> dict[str, Any]:
    if path is None:
        return multimargin.default_rulebook().to_dict()
    return multimargin.Rulebook(path.read_text("utf-8")).to_dict()


def _stress_of(args: argparse.Namespace, resources: ExitStack) -> tuple[Stress, str]:
    target = str(args.target)
    path = Path(target)
    if path.is_file() or target.endswith(".json"):
        scenario = json.loads(path.read_text("utf-8"))
        if args.rulebook is not None and "rulebook" not in scenario:
            scenario["rulebook"] = json.loads(args.rulebook.read_text("utf-8"))
        return Stress.of_scenario(scenario, args.asset), path.stem
    from multimargin.client import Client

    client = resources.enter_context(Client(args.server))
    return Stress.of_server(client, target, args.asset, _load_rulebook(args.rulebook)), target


def _stress(args: argparse.Namespace) -> int:
    start, stop = parse_move(args.move_from), parse_move(args.move_to)
    if args.steps < 1:
        raise ValueError("--steps must be at least 1")
    with ExitStack() as resources:  # the client of a live account, open until the end
        stress, name = _stress_of(args, resources)
        points = stress.run(start, stop, args.steps)
        liquidations = stress.liquidation_prices(points)
        already = stress.at(stress.base_price, Decimal(0)).liquidatable
    _print_stress(args, stress, name, points, liquidations, already)
    from multimargin.pictures.draw import stress_figure

    prefix = args.out or Path(f"stress-{name}-{args.asset}")
    paths = stress_figure(stress, points, liquidations, prefix)
    print("  wrote " + ", ".join(str(p) for p in paths))
    return 0


def _print_stress(
    args: argparse.Namespace,
    stress: Stress,
    name: str,
    points: Sequence[Point],
    liquidations: Sequence[Point],
    already: bool,
) -> None:
    from multimargin.cli import _table

    headers, rows = stress_table(stress, points)
    print(f"Stress of {name}: {stress.kind} {stress.mode}, moving {', '.join(stress.moved)}")
    print(_table(headers, rows))
    print()
    print("  thresholds: " + ", ".join(f"{k} {text(v)}" for k, v in stress.thresholds.items()))
    if already:
        print("  liquidatable already at the current price")
    elif not liquidations:
        print(f"  not liquidatable anywhere from {args.move_from} to {args.move_to}")
    for liq in liquidations:
        side = "down" if liq.price < stress.base_price else "up"
        print(f"  liquidation price ({side}): {text(liq.price)}  (move {text(round(liq.move * 100, 4))} %)")


def tiers_table(curve: TierCurve) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: each slice (from, to, rate) and the core's tiered sum at its end."""
    at = {p.base: p.value for p in curve.points}
    label = "collateral at to" if curve.table == "collateral_tiers" else "collateral value at to"
    rows = [[text(s.start), text(s.end), text(s.rate), text(at.get(s.end))] for s in curve.slices]
    return ["from", "to", "rate", label], rows


def _tiers(args: argparse.Namespace) -> int:
    from multimargin.cli import _table

    rulebook = _load_rulebook(args.rulebook)
    collateral = collateral_curve(rulebook, args.asset)
    haircut = haircut_curve(rulebook, args.asset)
    for curve, title in (
        (collateral, f"by wallet quantity; collateral in {args.asset}, futures multi-asset"),
        (haircut, "by holdings value in USDT; margin accounts"),
    ):
        print(f"{args.asset} {curve.table} ({title})")
        print(_table(*tiers_table(curve)))
        if curve.cap is not None:
            print(f"  cap: {text(curve.cap)} {curve.unit if curve.table == 'haircut_tiers' else args.asset}")
        print()
    from multimargin.pictures.draw import tiers_figure

    paths = tiers_figure(collateral, haircut, args.out or Path(f"tiers-{args.asset}"))
    print("  wrote " + ", ".join(str(p) for p in paths))
    return 0


def run(command: str, args: argparse.Namespace) -> int:
    """Runs ``stress`` or ``tiers``; prints one line and returns an exit code on failure."""
    try:
        return _stress(args) if command == "stress" else _tiers(args)
    except UnavailableError as e:
        print(f"error: server {args.server}: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except MarginError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except json.JSONDecodeError as e:
        print(f"error: {args.target} is not JSON: {e.msg} at line {e.lineno}", file=sys.stderr)
        return EXIT_FAILURE
    except ValueError as e:  # a bad move or step count
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        raise  # the reader went away (`| head`): main() handles it
    except OSError as e:
        print(f"error: {e.filename}: {e.strerror}", file=sys.stderr)
        return EXIT_FAILURE
    except ImportError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILURE


__all__ = ["run", "stress_table", "text", "tiers_table"]

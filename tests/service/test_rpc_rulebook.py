"""Rulebook operations over gRPC: PreviewRulebook shows which accounts a new rulebook
would put across liquidation or margin call; ReloadRulebook swaps it atomically,
journaled with its version, and applies SPEC §8 under it; risk summaries name the
version they were computed with; a bad rulebook changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import multimargin
import pytest
import rpckit
from rpckit import INVALID_ARGUMENT, Rpc, op, refused, rid, t, unchanged


@pytest.fixture(scope="module")
def rpc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rpc]:
    with rpckit.serving(tmp_path_factory.mktemp("rulebook") / "data") as (_, client):
        yield client


def rules_with(**haircuts: str) -> dict:
    rules = json.loads(multimargin.default_rulebook_json())
    for asset, rate in haircuts.items():
        rules["assets"][asset]["haircut_tiers"] = [[None, rate]]
    rules["settings"]["liquidation"] = {"FUTURES": "1", "CLASSIC": "1.1", "PRO": "1"}
    return rules


def test_preview_then_reload_crosses_exactly_the_previewed_accounts(rpc: Rpc) -> None:
    safe = rpc.create("MARGIN").account_id
    rpc.transfer_in(safe, "USDT", "100000")
    risky = rpc.create("MARGIN").account_id
    rpc.transfer_in(risky, "BTC", "1")  # 60,000 of BTC
    rpc.accept_terms(risky)
    rpc.switch(risky, t.ACCOUNT_MODE_PRO)
    rpc.borrow(risky, "USDT", "40000")
    version = rpc.status().rulebook_version
    assert rpc.risk_of(risky).rulebook_version == version

    # BTC haircut down to 0.01: NC ≈ 600 + 40,000 − 40,000 < MM, so the Pro account crosses.
    candidate = json.dumps(rules_with(BTC="0.01"))
    preview = rpc.operator.PreviewRulebook(op.PreviewRulebookRequest(rulebook_json=candidate))
    assert preview.rulebook_version == version
    crossed = {c.account_id: c for c in preview.crossings}
    assert safe not in crossed and risky in crossed
    assert not crossed[risky].liquidatable_before and crossed[risky].liquidatable_after
    assert rpc.status().rulebook_version == version  # a preview changes nothing

    reloaded = rpc.operator.ReloadRulebook(
        op.ReloadRulebookRequest(request_id=rid(), rulebook_json=candidate)
    )
    assert reloaded.rulebook_version == version + 1
    assert [c.account_id for c in reloaded.changed] == [c.account_id for c in preview.crossings]
    assert rpc.account(risky).status == t.ACCOUNT_STATUS_LIQUIDATING
    assert rpc.status().rulebook_version == version + 1
    assert rpc.risk_of(safe).rulebook_version == version + 1


def test_a_bad_rulebook_is_refused_and_changes_nothing(rpc: Rpc) -> None:
    rules = rules_with()
    rules["assets"]["USDT"]["discont"] = "1"  # a misspelt key (SPEC v1.2)
    with unchanged(rpc):
        before = rpc.status()
        for text, reason in (
            (json.dumps(rules), "INVALID_ARGUMENT"),
            ("{", "INVALID_ARGUMENT"),
            ("", "INVALID_ARGUMENT"),
        ):
            refused(
                rpc.operator.ReloadRulebook,
                op.ReloadRulebookRequest(request_id=rid(), rulebook_json=text),
                INVALID_ARGUMENT,
                reason,
            )
        assert rpc.status().rulebook_version == before.rulebook_version


def test_the_reloaded_rulebook_survives_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    candidate = json.dumps(rules_with(BTC="0.9"))
    with rpckit.serving(data) as (_, rpc):
        rpc.operator.ReloadRulebook(op.ReloadRulebookRequest(request_id=rid(), rulebook_json=candidate))
        before = rpc.status()
    with rpckit.serving(data, prices=False) as (_, rpc):
        after = rpc.status()
        assert (after.rulebook_version, after.state_hash) == (before.rulebook_version, before.state_hash)

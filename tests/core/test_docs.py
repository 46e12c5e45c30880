"""docs/: the API reference is what scripts/gen_api_docs.py makes of the proto comments
(no drift), the SPEC map names files and functions that exist, the rulebook example is a
valid rulebook, and the README links every page."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import multimargin
from support import REPO

DOCS = REPO / "docs"
PAGES = ("architecture.md", "api.md", "rulebook.md", "spec-map.md")


def test_api_reference_matches_the_proto_comments() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_api_docs.py"), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_api_reference_lists_every_rpc_and_message() -> None:
    api = (DOCS / "api.md").read_text("utf-8")
    protos = "\n".join(p.read_text("utf-8") for p in sorted((REPO / "proto").rglob("*.proto")))
    rpcs = re.findall(r"^\s*rpc (\w+)\(", protos, re.M)
    messages = re.findall(r"^message (\w+) \{", protos, re.M)
    assert len(rpcs) > 20 and len(messages) > 40
    for rpc in rpcs:
        assert f"| `{rpc}` |" in api, rpc
    for m in messages:
        assert f"### {m}\n" in api, m
    # The comments are there, not just the names.
    assert "Returns the risk evaluation of an account at current prices" in api


def test_spec_map_names_what_exists() -> None:
    text = (DOCS / "spec-map.md").read_text("utf-8")
    refs = re.findall(r"`([\w./-]+\.(?:rs|py|json))(?:::(\w+))?`", text)
    assert len(refs) > 60
    for path, name in refs:
        file = REPO / path
        assert file.is_file(), path
        if name:
            pattern = rf"\b(fn|def|class|struct|enum|mod|const)\s+{name}\b"
            assert re.search(pattern, file.read_text("utf-8")), f"{path} defines no {name}"
    sections = set(re.findall(r"^\| (§\d+)", text, re.M))
    assert sections == {f"§{i}" for i in range(1, 12)}


def test_rulebook_example_is_valid_and_computes_the_spec_example() -> None:
    text = (DOCS / "rulebook.md").read_text("utf-8")
    (example,) = re.findall(r"```json\n(.*?)```", text, re.S)
    rulebook = json.loads(example)
    multimargin.Rulebook(rulebook)
    result = multimargin.evaluate(
        {
            "rulebook": rulebook,
            "prices": {"ETH": "4000"},
            "account": {"kind": "FUTURES", "mode": "MULTI_ASSET", "wallet": {"ETH": "350"}},
        }
    )
    assert "pools" in result
    assert result["pools"][0]["effective_margin"] == "1080000"


def test_every_rulebook_key_is_documented() -> None:
    text = (DOCS / "rulebook.md").read_text("utf-8")
    keys = {"assets", "contracts", "settings", "collateral_tiers", "haircut_tiers", "discount", "liability"}
    keys |= {"borrow", "hourly_rate", "interest_free", "mmr", "auto_repay_threshold", "auto_repay_ratio"}
    keys |= {"enabled", "classic_limit", "pro_tiers", "vip_limits", "settlement", "kind", "category"}
    keys |= {"risk_tiers", "liquidation", "mcr_default", "mcr_range", "classic_transfer_bar"}
    keys |= {"pro_switch_in_bar", "restricted_regions", "restricted_imr_floor", "payer_order"}
    for key in keys:
        assert f"| `{key}` |" in text, key


def test_readme_links_the_docs_and_architecture_has_one_diagram() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    for page in PAGES:
        assert (DOCS / page).is_file(), page
        assert f"(docs/{page})" in readme, page
    assert (DOCS / "architecture.md").read_text("utf-8").count("```mermaid") == 1

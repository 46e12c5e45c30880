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
PAGES = ("architecture.md", "api.md", "rulebook.md", "spec-map.md", "errors.md")


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


def _reasons_in_code() -> dict[str, str]:
    """Every ErrorInfo reason the Python code raises: ``*_REASON = "X"`` constants and the
    literal reason argument of an ``…Error(message, "X", …)`` call; plus the core's."""
    import ast

    found: dict[str, str] = {}
    for path in sorted((REPO / "server" / "multimargin").rglob("*.py")):
        if path.name.endswith("_pb2.py") or path.name.endswith("_pb2_grpc.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            value: object = None
            if isinstance(node, ast.Call) and len(node.args) >= 2:
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name.endswith("Error") and isinstance(node.args[1], ast.Constant):
                    value = node.args[1].value
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id.endswith("_REASON"):
                    value = node.value.value if isinstance(node.value, ast.Constant) else None
            if isinstance(value, str) and re.fullmatch(r"[A-Z][A-Z_]+", value):
                found.setdefault(value, str(path.relative_to(REPO)))
    core = (REPO / "core_rs" / "src" / "error.rs").read_text("utf-8")
    for reason in re.findall(r'=> "([A-Z_]+)"', core):
        found.setdefault(reason, "core_rs/src/error.rs")
    return found


def test_every_error_reason_is_documented() -> None:
    page = (DOCS / "errors.md").read_text("utf-8")
    documented = set(re.findall(r"`([A-Z][A-Z_]+)`", page))
    found = _reasons_in_code()
    assert len(found) > 25  # the scan sees the code's reasons at all
    missing = {reason: where for reason, where in found.items() if reason not in documented}
    assert not missing, f"reasons raised but not in docs/errors.md: {missing}"

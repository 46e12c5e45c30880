"""Contract tests for the gRPC wire contract (proto/) and its generated code.

* The committed server/multimargin/v1/ is exactly what scripts/gen_proto.py
  produces (no drift, no missing or extra file).
* proto/ is clean under `buf lint` (STANDARD + COMMENTS) and `buf format`.
* Every RPC of the contract exists on the generated service descriptors with
  `<Rpc>Request` / `<Rpc>Response` types, and the AIP-155 / optimistic
  concurrency conventions hold.

The generated modules are inspected in a subprocess that maps the package
name `multimargin` straight onto server/multimargin/, so these tests never run
server/multimargin/__init__.py (which may import the compiled extension) and
never load the generated descriptors into this interpreter's pool.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = REPO_ROOT / "proto"
GEN_SCRIPT = REPO_ROOT / "scripts" / "gen_proto.py"
PACKAGE_ROOT = REPO_ROOT / "server" / "multimargin"
COMMITTED = PACKAGE_ROOT / "v1"
PROTO_PACKAGE = "multimargin.v1"

# Every RPC of the contract, by service.
EXPECTED_RPCS: dict[str, tuple[str, ...]] = {
    "AccountService": (
        "CreateAccount",
        "GetAccount",
        "ListAccounts",
        "SetAccountFlags",
        "AcceptProTerms",
        "CheckModeSwitch",
        "SwitchMode",
        "SetMarginCallRatio",
        "SetClassicLeverage",
    ),
    "FundsService": (
        "TransferIn",
        "TransferOut",
        "PostLedgerEntries",
        "Borrow",
        "Repay",
        "RepayLiability",
        "ListHistory",
    ),
    "TradingService": ("SetPosition", "CheckOrder", "PlaceOrder", "CancelOrder"),
    "RiskService": ("GetRiskSummary", "Simulate"),
    "MarketDataService": ("UpdatePrices", "GetPrices"),
    "OperatorService": (
        "GetEngineStatus",
        "RunSettlement",
        "EndLiquidation",
        "SetVipLevel",
        "ReloadRulebook",
        "PreviewRulebook",
    ),
    "EventService": ("WatchEvents",),
}
STREAMING_RPCS = frozenset({"WatchEvents"})

# Mutating RPCs take `string request_id = 1` (AIP-155); read-only RPCs do not.
MUTATING_RPCS = frozenset(
    {
        "CreateAccount",
        "SetAccountFlags",
        "AcceptProTerms",
        "SwitchMode",
        "SetMarginCallRatio",
        "SetClassicLeverage",
        "TransferIn",
        "TransferOut",
        "PostLedgerEntries",
        "Borrow",
        "Repay",
        "RepayLiability",
        "RunSettlement",
        "EndLiquidation",
        "SetVipLevel",
        "ReloadRulebook",
        "SetPosition",
        "PlaceOrder",
        "CancelOrder",
        "UpdatePrices",
    }
)
# Mutating RPCs on an existing account also take `optional int64 expected_version`.
VERSION_CHECKED_RPCS = MUTATING_RPCS - {"CreateAccount", "UpdatePrices", "RunSettlement", "ReloadRulebook"}

# Generated files that are not part of the output (created by importing it).
IGNORED_PARTS = frozenset({"__pycache__"})

# Runs in a fresh interpreter: argv[1] is the folder to use as the
# `multimargin` package (without executing its __init__.py). Prints, as JSON,
# every service of every generated *_pb2 module with its methods, their types
# and the request fields, and which generated gRPC helpers exist.
_INTROSPECT = r"""
import importlib, json, pathlib, sys, types

package = types.ModuleType("multimargin")
package.__path__ = [sys.argv[1]]
sys.modules["multimargin"] = package
v1 = importlib.import_module("multimargin.v1")
folder = pathlib.Path(v1.__file__).parent
result = {"folder": str(folder), "services": {}}
for path in sorted(folder.glob("*_pb2.py")):
    pb2 = importlib.import_module("multimargin.v1." + path.stem)
    grpc_module = importlib.import_module("multimargin.v1." + path.stem + "_grpc")
    for service in pb2.DESCRIPTOR.services_by_name.values():
        methods = {}
        for method in service.methods:
            methods[method.name] = {
                "input": method.input_type.full_name,
                "output": method.output_type.full_name,
                "client_streaming": method.client_streaming,
                "server_streaming": method.server_streaming,
                "input_fields": {
                    field.name: {
                        "number": field.number,
                        "type": field.type,
                        "presence": field.has_presence,
                        "message": field.message_type.full_name if field.message_type else None,
                    }
                    for field in method.input_type.fields
                },
                "output_fields": {
                    field.name: {
                        "number": field.number,
                        "type": field.type,
                        "presence": field.has_presence,
                        "message": field.message_type.full_name if field.message_type else None,
                    }
                    for field in method.output_type.fields
                },
            }
        result["services"][service.full_name] = {
            "file": path.name,
            "helpers": {
                helper: hasattr(grpc_module, helper)
                for helper in (
                    service.name + "Stub",
                    service.name + "Servicer",
                    "add_" + service.name + "Servicer_to_server",
                )
            },
            "methods": methods,
        }
print(json.dumps(result))
"""

# google.protobuf.FieldDescriptor type numbers used below.
TYPE_INT64 = 3
TYPE_STRING = 9


def _files(folder: Path) -> dict[str, bytes]:
    """Map each generated file's path relative to `folder` to its bytes."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not IGNORED_PARTS.intersection(path.relative_to(folder).parts)
    }


def _buf() -> str:
    """Locate the buf binary: on PATH, else next to this interpreter (the venv)."""
    found = shutil.which("buf")
    if found:
        return found
    beside = Path(sys.executable).parent / "buf"
    if beside.is_file():
        return str(beside)
    pytest.fail("buf not found on PATH or in the venv; install buf-bin (requirements-dev.txt)")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run scripts/gen_proto.py into a scratch root and return its multimargin/v1/."""
    out = tmp_path_factory.mktemp("gen_proto")
    completed = subprocess.run(
        [sys.executable, str(GEN_SCRIPT), "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return out / "multimargin" / "v1"


@pytest.fixture(scope="module")
def introspected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Describe the committed generated modules, imported in a subprocess."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    completed = subprocess.run(
        [sys.executable, "-c", _INTROSPECT, str(PACKAGE_ROOT)],
        cwd=tmp_path_factory.mktemp("introspect"),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    assert Path(result["folder"]) == COMMITTED
    return result


def test_generated_code_matches_committed(regenerated: Path) -> None:
    fresh = _files(regenerated)
    committed = _files(COMMITTED)
    hint = "server/multimargin/v1 is stale: run `.venv/bin/python scripts/gen_proto.py`"
    assert sorted(committed) == sorted(fresh), hint
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert changed == [], hint


def test_shipped_proto_files_match_the_contract(regenerated: Path) -> None:
    """The package ships the contract's .proto files (for k6 and other schema-file clients)."""
    fresh = _files(regenerated.parent / "proto" / "multimargin" / "v1")
    committed = _files(PACKAGE_ROOT / "proto" / "multimargin" / "v1")
    hint = "server/multimargin/proto is stale: run `.venv/bin/python scripts/gen_proto.py`"
    assert sorted(fresh) == sorted(p.name for p in (PROTO_DIR / "multimargin" / "v1").glob("*.proto"))
    assert committed == fresh, hint


def test_generated_package_is_documented(regenerated: Path) -> None:
    init = (regenerated / "__init__.py").read_text(encoding="utf-8")
    assert "never edit" in init
    assert "scripts/gen_proto.py" in init


def test_generated_modules_import_without_rewriting(regenerated: Path) -> None:
    grpc_module = (regenerated / "account_service_pb2_grpc.py").read_text(encoding="utf-8")
    pb2 = (regenerated / "account_service_pb2.py").read_text(encoding="utf-8")
    assert "from multimargin.v1 import account_service_pb2 as" in grpc_module
    assert "from multimargin.v1 import types_pb2 as" in pb2


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["lint", "proto"], id="lint"),
        pytest.param(["format", "--diff", "--exit-code", "proto"], id="format"),
    ],
)
def test_buf_is_clean(command: list[str]) -> None:
    completed = subprocess.run(
        [_buf(), *command],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_services_are_exactly_the_contract(introspected: dict[str, Any]) -> None:
    expected = {f"{PROTO_PACKAGE}.{name}" for name in EXPECTED_RPCS}
    assert set(introspected["services"]) == expected


@pytest.mark.parametrize("service", sorted(EXPECTED_RPCS))
def test_service_rpcs_and_helpers(introspected: dict[str, Any], service: str) -> None:
    described = introspected["services"][f"{PROTO_PACKAGE}.{service}"]
    assert all(described["helpers"].values()), described["helpers"]
    assert sorted(described["methods"]) == sorted(EXPECTED_RPCS[service])
    for rpc, method in described["methods"].items():
        assert method["input"] == f"{PROTO_PACKAGE}.{rpc}Request"
        assert method["output"] == f"{PROTO_PACKAGE}.{rpc}Response"
        assert not method["client_streaming"], rpc
        assert method["server_streaming"] == (rpc in STREAMING_RPCS), rpc


def _methods(introspected: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        rpc: method
        for service in introspected["services"].values()
        for rpc, method in service["methods"].items()
    }


def test_request_id_on_mutating_rpcs_only(introspected: dict[str, Any]) -> None:
    for rpc, method in _methods(introspected).items():
        field = method["input_fields"].get("request_id")
        if rpc in MUTATING_RPCS:
            assert field is not None, f"{rpc}Request lacks request_id"
            assert (field["number"], field["type"]) == (1, TYPE_STRING), rpc
        else:
            assert field is None, f"read-only {rpc} must not take a request_id"


def test_expected_version_is_optional_int64(introspected: dict[str, Any]) -> None:
    for rpc, method in _methods(introspected).items():
        field = method["input_fields"].get("expected_version")
        if rpc in VERSION_CHECKED_RPCS:
            assert field is not None, f"{rpc}Request lacks expected_version"
            assert field["type"] == TYPE_INT64 and field["presence"], rpc
            assert method["input_fields"]["account_id"]["type"] == TYPE_STRING, rpc
        else:
            assert field is None, rpc


def test_account_responses_carry_a_version(introspected: dict[str, Any]) -> None:
    for rpc, method in _methods(introspected).items():
        if "account_id" not in method["input_fields"]:
            continue
        outputs = method["output_fields"]
        account = outputs.get("account")
        version = outputs.get("version")
        carries_account = account is not None and account["message"] == f"{PROTO_PACKAGE}.Account"
        carries_version = version is not None and version["type"] == TYPE_INT64
        assert carries_account or carries_version, f"{rpc}Response has no account version"

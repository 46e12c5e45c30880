#!/usr/bin/env python3
"""Regenerate the Python gRPC code for the wire contract in proto/.

This is the one command that produces ``server/multimargin/v1/`` and the copy of the
contract's .proto files the package ships in ``server/multimargin/proto/multimargin/v1/``
(for clients that load schemas from files, e.g. k6 in ``multimargin loadtest``)::

    .venv/bin/python scripts/gen_proto.py            # into server/
    .venv/bin/python scripts/gen_proto.py --out DIR  # into DIR/multimargin/v1/

It runs the protoc bundled with grpcio-tools (``-I proto``) with
``--python_out``, ``--pyi_out`` and ``--grpc_python_out`` so that the modules
import as ``multimargin.v1.<file>_pb2`` without rewriting, then writes the
package's ``__init__.py``, then copies the .proto files. Both target folders are
replaced as a whole (stale modules of deleted .proto files disappear), and the
output is byte-identical on every run with the same grpcio-tools;
tests/service/test_proto_contract.py checks the committed copies for drift.
(``server/multimargin/proto/grpc/health/v1/health.proto``, the standard health
protocol, is kept by hand.)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc  # type: ignore[import-untyped]

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "proto"
PACKAGE_DIR = Path("multimargin") / "v1"
DEFAULT_OUT = REPO_ROOT / "server"
SHIPPED_PROTO_DIR = Path("multimargin") / "proto" / "multimargin" / "v1"

INIT_PY = '''"""Generated gRPC / protobuf code for the multimargin.v1 wire contract.

Everything in this folder is generated from proto/multimargin/v1/*.proto by
``scripts/gen_proto.py``; never edit it by hand. Change the .proto files and
rerun the script instead (tests/service/test_proto_contract.py checks for drift).
"""
'''


def proto_files() -> list[Path]:
    """Return the contract's .proto files, sorted so that runs are reproducible."""
    files = sorted((PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))
    if not files:
        raise SystemExit(f"no .proto files under {PROTO_ROOT / PACKAGE_DIR}")
    return files


def generate(out: Path) -> Path:
    """Generate ``out/multimargin/v1/`` from proto/ and return that folder.

    Generation happens in a scratch folder first, so a protoc failure leaves
    the previous output untouched.
    """
    well_known = resources.files("grpc_tools") / "_proto"
    target = out / PACKAGE_DIR
    with tempfile.TemporaryDirectory(prefix="gen_proto_") as scratch:
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            f"--python_out={scratch}",
            f"--pyi_out={scratch}",
            f"--grpc_python_out={scratch}",
            *(str(path) for path in proto_files()),
        ]
        status = protoc.main(args)
        if status != 0:
            raise SystemExit(f"protoc failed with status {status}")
        generated = Path(scratch) / PACKAGE_DIR
        (generated / "__init__.py").write_text(INIT_PY, encoding="utf-8", newline="\n")
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(generated, target)
    return target


def ship_protos(out: Path) -> Path:
    """Copy the contract's .proto files to ``out/multimargin/proto/multimargin/v1/``."""
    target = out / SHIPPED_PROTO_DIR
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path in proto_files():
        shutil.copyfile(path, target / path.name)
    return target


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and generate the code."""
    parser = argparse.ArgumentParser(
        description="Regenerate the Python gRPC code for the wire contract in proto/."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="root to generate into; modules land in OUT/multimargin/v1/ (default: server/)",
    )
    options = parser.parse_args(argv)
    target = generate(options.out.resolve())
    print(f"generated {len(list(target.iterdir()))} files in {target}")
    shipped = ship_protos(options.out.resolve())
    print(f"copied {len(list(shipped.iterdir()))} .proto files to {shipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Generate docs/api.md, the API reference, from the comments of proto/multimargin/v1/.

    .venv/bin/python scripts/gen_api_docs.py           # write docs/api.md
    .venv/bin/python scripts/gen_api_docs.py --check   # exit 1 when docs/api.md is stale

The protoc bundled with grpcio-tools parses the .proto files into a descriptor set with
source info (``--include_source_info``); every service, RPC, message, field, enum and
enum value is listed with its leading comment, in file order. The output is the same on
every run; tests/core/test_docs.py checks the committed copy for drift.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from importlib import resources
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc  # type: ignore[import-untyped]

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "proto"
PROTO_DIR = PROTO_ROOT / "multimargin" / "v1"
OUT = REPO_ROOT / "docs" / "api.md"

# Field numbers of descriptor.proto, for SourceCodeInfo paths.
FILE_MESSAGE, FILE_ENUM, FILE_SERVICE = 4, 5, 6
MESSAGE_FIELD, MESSAGE_NESTED, MESSAGE_ENUM = 2, 3, 4
ENUM_VALUE, SERVICE_METHOD = 2, 2

FDP = descriptor_pb2.FieldDescriptorProto
SCALARS = {
    FDP.TYPE_DOUBLE: "double",
    FDP.TYPE_FLOAT: "float",
    FDP.TYPE_INT64: "int64",
    FDP.TYPE_UINT64: "uint64",
    FDP.TYPE_INT32: "int32",
    FDP.TYPE_FIXED64: "fixed64",
    FDP.TYPE_FIXED32: "fixed32",
    FDP.TYPE_BOOL: "bool",
    FDP.TYPE_STRING: "string",
    FDP.TYPE_BYTES: "bytes",
    FDP.TYPE_UINT32: "uint32",
    FDP.TYPE_SFIXED32: "sfixed32",
    FDP.TYPE_SFIXED64: "sfixed64",
    FDP.TYPE_SINT32: "sint32",
    FDP.TYPE_SINT64: "sint64",
}


def descriptors() -> descriptor_pb2.FileDescriptorSet:
    """The contract's files, parsed by protoc with their comments."""
    files = sorted(PROTO_DIR.glob("*.proto"))
    well_known = resources.files("grpc_tools") / "_proto"
    with tempfile.TemporaryDirectory(prefix="gen_api_docs_") as scratch:
        out = Path(scratch) / "set.pb"
        args = ["grpc_tools.protoc", f"-I{PROTO_ROOT}", f"-I{well_known}"]
        args += [f"--descriptor_set_out={out}", "--include_source_info", *(str(f) for f in files)]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(out.read_bytes())
    return fds


def comments(f: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    """Leading (else trailing) comment of each element, by its SourceCodeInfo path."""
    out = {}
    for loc in f.source_code_info.location:
        text = loc.leading_comments or loc.trailing_comments
        if text.strip():
            lines = [line.strip() for line in text.strip().splitlines()]
            out[tuple(loc.path)] = " ".join(line for line in lines if line)
    return out


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def type_name(field: descriptor_pb2.FieldDescriptorProto) -> str:
    name = SCALARS.get(field.type) or field.type_name.removeprefix(".multimargin.v1.").lstrip(".")
    if field.label == FDP.LABEL_REPEATED:
        return f"repeated {name}"
    if field.proto3_optional:
        return f"optional {name}"
    return name


def message(
    m: descriptor_pb2.DescriptorProto, path: tuple[int, ...], docs: dict[tuple[int, ...], str], prefix: str
) -> list[str]:
    name = prefix + m.name
    if m.options.map_entry:
        return []
    out = [f"### {name}", ""]
    if docs.get(path):
        out += [docs[path], ""]
    if m.field:
        out += ["| field | type | description |", "|---|---|---|"]
        for i, f in enumerate(m.field):
            oneof = ""
            if f.HasField("oneof_index") and not f.proto3_optional:
                oneof = f" (oneof `{m.oneof_decl[f.oneof_index].name}`)"
            text = cell(docs.get((*path, MESSAGE_FIELD, i), ""))
            out.append(f"| `{f.name}` = {f.number} | `{type_name(f)}` | {text}{oneof} |")
        out.append("")
    for i, e in enumerate(m.enum_type):
        out += enum(e, (*path, MESSAGE_ENUM, i), docs, f"{name}.")
    for i, n in enumerate(m.nested_type):
        out += message(n, (*path, MESSAGE_NESTED, i), docs, f"{name}.")
    return out


Docs = dict[tuple[int, ...], str]


def enum(e: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...], docs: Docs, prefix: str) -> list[str]:
    out = [f"### {prefix}{e.name} (enum)", ""]
    if docs.get(path):
        out += [docs[path], ""]
    out += ["| value | number | description |", "|---|---|---|"]
    for i, v in enumerate(e.value):
        out.append(f"| `{v.name}` | {v.number} | {cell(docs.get((*path, ENUM_VALUE, i), ''))} |")
    return [*out, ""]


def render(fds: descriptor_pb2.FileDescriptorSet) -> str:
    files = [f for f in fds.file if f.name.startswith("multimargin/v1/")]
    out = [
        "# API reference (`multimargin.v1`)",
        "",
        "Generated from the comments of `proto/multimargin/v1/*.proto` by",
        "`scripts/gen_api_docs.py`; do not edit by hand (tests/core/test_docs.py checks",
        "for drift). Decimals travel as strings (SPEC §1); errors carry a SPEC §11 reason",
        "in `google.rpc.ErrorInfo`.",
        "",
        "## Services",
        "",
    ]
    for f in files:
        docs = comments(f)
        for si, s in enumerate(f.service):
            out += [f"### {s.name}", "", f"`{f.name}`", ""]
            if docs.get((FILE_SERVICE, si)):
                out += [docs[(FILE_SERVICE, si)], ""]
            out += ["| rpc | request → response | description |", "|---|---|---|"]
            for mi, rpc in enumerate(s.method):
                req = rpc.input_type.removeprefix(".multimargin.v1.")
                res = rpc.output_type.removeprefix(".multimargin.v1.")
                if rpc.server_streaming:
                    res = f"stream {res}"
                text = cell(docs.get((FILE_SERVICE, si, SERVICE_METHOD, mi), ""))
                out.append(f"| `{rpc.name}` | `{req}` → `{res}` | {text} |")
            out.append("")
    for f in files:
        docs = comments(f)
        if not f.message_type and not f.enum_type:
            continue
        out += [f"## Types of `{f.name}`", ""]
        for i, e in enumerate(f.enum_type):
            out += enum(e, (FILE_ENUM, i), docs, "")
        for i, m in enumerate(f.message_type):
            out += message(m, (FILE_MESSAGE, i), docs, "")
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/api.md from the proto comments.")
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/api.md is not up to date")
    options = parser.parse_args(argv)
    text = render(descriptors())
    if options.check:
        if not OUT.exists() or OUT.read_text("utf-8") != text:
            print(f"{OUT.relative_to(REPO_ROOT)} is stale: run scripts/gen_api_docs.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {OUT.relative_to(REPO_ROOT)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

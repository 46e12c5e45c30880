"""Shared helpers of the test suite (importable as `support`).

This folder is put on ``sys.path`` by pytest (rootdir conftest), so tests import the
reference model as ``reference.model`` and the matcher as ``reference.compare``.
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
VECTORS = TESTS / "vectors"
SHARED_VECTORS = REPO.parent / "shared" / "vectors"
# The installed `multimargin` command of the interpreter running the tests (the venv's),
# whatever PATH holds.
MULTIMARGIN = str(Path(sys.executable).parent / "multimargin")


@dataclass(frozen=True)
class VectorCase:
    """One case of a golden-vector file, with the file's rulebook as its default."""

    file: str
    name: str
    file_rulebook: dict[str, Any]
    case: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.file}:{self.name}"

    def scenario(self) -> dict[str, Any]:
        """The case as a self-contained SPEC §10 scenario (rulebook included)."""
        s = {k: v for k, v in self.case.items() if k not in ("name", "expected", "expected_error")}
        s.setdefault("rulebook", self.file_rulebook)
        return s


def vector_cases() -> list[VectorCase]:
    """Every case of every file in tests/vectors, in file and case order."""
    out = []
    for path in sorted(VECTORS.glob("*.json")):
        doc = json.loads(path.read_text("utf-8"))
        for case in doc["cases"]:
            out.append(VectorCase(path.name, case["name"], doc["rulebook"], case))
    return out


def reference_outcome(scenario: dict[str, Any]) -> dict[str, Any] | str:
    """The reference model's result for ``scenario``, or the SPEC §11 reason it refuses it."""
    from reference import model

    try:
        return model.evaluate(copy.deepcopy(scenario))
    except model.SpecError as e:
        return e.reason


def engine_outcome(scenario: dict[str, Any]) -> Any:
    """``multimargin.evaluate``'s result for ``scenario``, or the reason it refuses it."""
    import multimargin

    try:
        return multimargin.evaluate(scenario)
    except multimargin.MarginError as e:
        return e.reason

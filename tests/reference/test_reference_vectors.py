"""The reference model against every golden vector (SPEC §10 matching rule)."""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from typing import Any

import pytest

from . import compare, model
from .compare import diff, format_problems
from .model import SpecError, evaluate

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def load_cases() -> list[Any]:
    params = []
    for path in sorted(VECTORS.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        for case in document["cases"]:
            params.append(pytest.param(document["rulebook"], case, id=f"{path.name}:{case['name']}"))
    return params


CASES = load_cases()


def scenario_of(case: dict[str, Any]) -> dict[str, Any]:
    """A case as a §10 scenario; without its own rulebook the file's is the default."""
    scenario = {key: case[key] for key in ("prices", "marks", "account") if key in case}
    if "rulebook" in case:
        scenario["rulebook"] = case["rulebook"]
    return scenario


def test_every_vector_file_is_loaded() -> None:
    assert len(CASES) == 437


@pytest.mark.parametrize(("file_rulebook", "case"), CASES)
def test_vector(file_rulebook: dict[str, Any], case: dict[str, Any]) -> None:
    scenario = scenario_of(case)
    if "expected_error" in case:
        with pytest.raises(SpecError) as refused:
            evaluate(scenario, file_rulebook)
        assert refused.value.reason == case["expected_error"], str(refused.value)
        return
    result = evaluate(scenario, file_rulebook)
    assert diff(case["expected"], result) == []
    assert format_problems(result) == []


@pytest.mark.parametrize("module", [model, compare], ids=lambda mod: mod.__name__)
def test_docstring_examples(module: object) -> None:
    failed, attempted = doctest.testmod(module)  # type: ignore[arg-type]
    assert attempted > 0 and failed == 0

"""Every golden vector through the Python API, and a sample through the CLI."""

from __future__ import annotations

import json
import subprocess

import multimargin
import pytest
from reference.compare import diff, format_problems
from support import MULTIMARGIN, SHARED_VECTORS, VECTORS, VectorCase, vector_cases

CASES = vector_cases()


def test_vector_files_are_identical_copies_of_shared() -> None:
    if not SHARED_VECTORS.is_dir():
        pytest.skip(f"{SHARED_VECTORS} is not beside the repository")
    shared = sorted(p.name for p in SHARED_VECTORS.glob("*.json"))
    ours = sorted(p.name for p in VECTORS.glob("*.json"))
    assert ours == shared
    for name in shared:
        assert (VECTORS / name).read_bytes() == (SHARED_VECTORS / name).read_bytes(), name


def test_all_vector_cases_are_collected() -> None:
    assert len(CASES) >= 437
    assert {c.file for c in CASES} >= {"anchors.json", "errors.json", "random-1.json", "vip.json"}
    # SPEC v1.2: the nine unknown-key cases and the VIP vectors are all here.
    assert sum(c.name.startswith("unknown-key-") for c in CASES if c.file == "errors.json") == 9
    assert sum(c.file == "vip.json" for c in CASES) == 68


@pytest.mark.parametrize("vc", CASES, ids=lambda c: c.id)
def test_vector_case(vc: VectorCase) -> None:
    default = multimargin.Rulebook(vc.file_rulebook)
    scenario = {k: v for k, v in vc.case.items() if k not in ("name", "expected", "expected_error")}
    if "expected_error" in vc.case:
        with pytest.raises(multimargin.MarginError) as err:
            multimargin._core.evaluate_scenario(scenario, default)
        assert err.value.reason == vc.case["expected_error"], str(err.value)
        return
    result = multimargin._core.evaluate_scenario(scenario, default)
    assert diff(vc.case["expected"], result) == []
    assert format_problems(result) == []


# A sample through the command line: every anchor, every 5th error and every unknown-key
# error, every 25th random, every 6th VIP case and every VIP error.
CLI_SAMPLE = [
    c
    for i, c in enumerate(CASES)
    if c.file == "anchors.json"
    or (c.file == "errors.json" and (i % 5 == 0 or c.name.startswith("unknown-key-")))
    or (c.file.startswith("random") and i % 25 == 0)
    or (c.file == "vip.json" and (i % 6 == 0 or "expected_error" in c.case))
]


@pytest.mark.parametrize("vc", CLI_SAMPLE, ids=lambda c: c.id)
def test_vector_case_through_cli(vc: VectorCase) -> None:
    proc = subprocess.run(
        [MULTIMARGIN, "evaluate", "-"],
        input=json.dumps(vc.scenario()),
        capture_output=True,
        text=True,
        check=False,
    )
    if "expected_error" in vc.case:
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr
        assert f"({vc.case['expected_error']})" in lines[0]
    else:
        assert proc.returncode == 0, proc.stderr
        assert diff(vc.case["expected"], json.loads(proc.stdout)) == []

"""A short crash campaign (``bench/crash.py``): mixed load from several client threads,
``kill -9`` of the real server at random points, restarts, and verification that no
acknowledged request was lost (``make crash`` runs a long one)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import crash  # noqa: E402


def test_a_short_crash_campaign_loses_no_acknowledged_request(tmp_path: Path) -> None:
    report = crash.campaign(tmp_path / "data", cycles=5, threads=3, seed=7, max_load_s=0.8)
    assert report.cycles == 5 and report.idle_kills == 1
    assert report.acknowledged > 50  # the load did run
    assert report.lost == 0
    assert len(report.restarts_s) == 6
    print(report.summary())

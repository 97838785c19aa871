"""The check-change benchmark at 2,000 nodes on the embedded store (enough to keep it working; its
figures are measured at 10k and 100k in docs/benchmarks.md): every contender timed, their answers
equal (the run refuses a different one). No timing is asserted (see tests/benchmarks/smoke.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.smoke import bench

NODES = 2_000

pytestmark = [pytest.mark.timeout(900)]


def test_check_change_benchmark(tmp_path: Path) -> None:
    r = bench("check_change", tmp_path, "--nodes", str(NODES), "--rounds", "1")
    (size,) = r["sizes"].values()
    assert 0.8 * NODES <= size["nodes"] <= 1.2 * NODES
    assert size["changed_columns"] == 50
    run = size["embedded"]
    assert 0 < run["exact"] <= run["impacted"] and run["decision_points_at_risk"] > 0
    for contender in ("one_impact_per_column", "check_changes", "gate"):
        assert len(run[contender]["runs_s"]) == 1, contender

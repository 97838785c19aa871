"""The governance benchmark at 2,000 nodes on the embedded store (enough to keep it working; its
figures are measured at 10k and 100k in docs/benchmarks.md): the policy at once and rule by rule,
the same violations (the run refuses a different answer). No timing is asserted (see
tests/benchmarks/smoke.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage_kg.queries.governance import DEFAULT_POLICY
from tests.benchmarks.smoke import bench

NODES = 2_000

pytestmark = [pytest.mark.timeout(900)]


def test_governance_benchmark(tmp_path: Path) -> None:
    args = ("--nodes", str(NODES), "--rounds", "1", "--stores", "embedded")
    r = bench("governance_eval", tmp_path, *args)
    (size,) = r["sizes"].values()
    assert 0.8 * NODES <= size["nodes"] <= 1.2 * NODES
    run = size["embedded"]
    assert run["serving_versions_checked"] > 0 and sum(run["violations"].values()) > 0
    assert set(run["per_rule_mean_s"]) == {c.rule for c in DEFAULT_POLICY.enabled}
    for contender in ("all_at_once", "rule_by_rule"):
        assert len(run[contender]["runs_s"]) == 1, contender

"""Marquez's lineage query benchmark at 1,000 nodes (enough to keep it working; its figures are
measured at 10k and 100k in docs/bench-notes/target5-peers.md): a throwaway PostgreSQL holding
Marquez's tables, its `getLineage` CTE against lineage-kg's lineage and impact on the same dataset
starts. The run itself refuses a Marquez graph that differs from lineage-kg's lineage from the
same job; here the sets it compared. No timing is asserted (see tests/benchmarks/smoke.py).

PostgreSQL's server binaries and psycopg are required: missing, the test fails and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.smoke import bench

NODES = 1_000

pytestmark = [pytest.mark.timeout(300)]


def test_postgres_and_driver_are_there() -> None:
    from benchmarks.marquez_lineage import postgres_bin, require_psycopg

    postgres_bin()  # raises, naming the package to install
    require_psycopg()


def test_marquez_lineage_benchmark(tmp_path: Path) -> None:
    r = bench("marquez_lineage", tmp_path, "--nodes", str(NODES), "--starts", "6", "--rounds", "1")
    (size,) = r["sizes"].values()
    tables = size["marquez_tables"]
    assert tables["jobs"] > 10 and tables["datasets"] > 10 and tables["io_rows"] > tables["jobs"]
    starts = size["starts"]
    assert starts >= 3 and size["answers"] == starts
    # every start: Marquez's graph equals lineage-kg's from the job Marquez started from
    assert size["marquez_equal_to_lkg_lineage_from_its_job"] == starts
    per_start = size["per_start"]
    assert len(per_start) == starts
    for s in per_start:
        assert 1 < s["marquez_nodes"] <= tables["jobs"] + tables["datasets"]
        # at depth 20 the small estate's component is covered: equal from the dataset too
        assert s["lkg_lineage_nodes"] == s["marquez_nodes"]
        # impact (downstream only) reaches jobs and datasets, all within Marquez's graph here
        assert 0 < s["impact_in_marquez"] == s["impact_nodes"] < s["marquez_nodes"]
    assert size["marquez_equal_to_lkg_lineage_from_dataset"] == starts
    for contender in ("marquez_sql", "lkg_lineage", "lkg_impact"):
        assert size[contender]["n"] == starts, contender

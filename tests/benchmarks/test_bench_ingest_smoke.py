"""The ingest benchmark at 10k nodes: lineage-kg against the naive baseline and the limit.
No timing is asserted (see tests/benchmarks/smoke.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.smoke import Server, bench, on_session_neo4j

pytestmark = [pytest.mark.neo4j, pytest.mark.timeout(900)]
# half the query smoke's 10k: the ingest paths are the same at any size (CI time, session 34:
# ~100 s at 10k, the run at its 30-minute limit); the query benchmark keeps the 10k estate
NODES = 5_000


def test_ingest_benchmark(tmp_path: Path, neo4j_server: Server) -> None:
    # the naive baseline's few events show it works (9 s for 10 of them: 1 statement per record)
    args = ("--nodes", str(NODES), "--naive-events", "3", "--share-neo4j")
    with on_session_neo4j(neo4j_server) as env:
        r = bench("ingest_throughput", tmp_path, *args, env=env)
    kg = r["lineage_kg"]
    assert kg["events"] == r["events"] > 100
    assert kg["parked"] == 0 and r["projector_only"]["parked"] == 0
    assert 0.8 * NODES <= kg["nodes"] <= 1.2 * NODES
    assert r["naive"]["events"] == 3 and r["naive"]["statements"] > 3 * 100
    assert r["limit"]["records"] > kg["nodes"]
    assert r["ratio_vs_naive"] > 0 and r["ratio_vs_limit"] > 0

"""The query benchmark at 10k nodes: both stores, the same answers, and the naive Cypher.
No timing is asserted (see tests/benchmarks/smoke.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.smoke import NODES, Server, bench, on_session_neo4j

pytestmark = [pytest.mark.neo4j, pytest.mark.timeout(900)]


def test_query_benchmark(tmp_path: Path, neo4j_server: Server) -> None:
    # the lattice's starts always time out: 2 s each rather than 10 (no timing is asserted)
    args = ("--nodes", str(NODES), "--starts", "20", "--team-runs", "1", "--naive-timeout", "2")
    with on_session_neo4j(neo4j_server) as env:
        r = bench("query_latency", tmp_path, *args, env=env)
    (size,) = r["sizes"].values()
    assert 0.8 * NODES <= size["nodes"] <= 1.2 * NODES
    assert size["embedded_rebuild_s"] > 0 and size["embedded_bytes_per_node"] > 0
    # the run itself asserts both stores gave the same answers before timing them
    for question in ("impact_raw_column", "impact_lattice_column", "decision_trace"):
        assert size[question]["neo4j"]["n"] >= 5, question
        assert size[question]["answer_nodes_median"] > 0, question
    assert size["team_accountability"]["answer_nodes_max"] > 0
    naive = size["naive_cypher"]
    assert naive["runs"] > 0 and naive["timeouts"] + naive["latency"]["n"] == naive["runs"]

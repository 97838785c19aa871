"""A real producer end to end: `dbt-ol build` (openlineage-dbt on dbt-duckdb) posting over HTTP to
`lkg serve`, on the embedded store and on Neo4j."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from dbt_producer import DATASET_NAMESPACE, run_dbt_ol


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def service(request: pytest.FixtureRequest, service_factory: Callable):
    if request.param == "embedded":
        return service_factory().start()
    server = request.getfixturevalue("neo4j_server")
    request.getfixturevalue("neo4j_store")
    return service_factory(
        NEO4J_URI=server.uri, NEO4J_USER=server.user, NEO4J_PASSWORD=server.password
    ).start()


def test_dbt_ol_build_lands_in_the_graph(service, tmp_path: Path) -> None:
    result = run_dbt_ol(tmp_path / "dbt", url=service.url, api_key="dbt-key")
    assert result.returncode == 0, result.stdout + result.stderr
    status = service.wait_projected()
    # dbt-ol exits 0 even when delivery fails: what counts is what the service holds
    assert (status["logSeq"], status["lag"], status["parked"]) == (14, 0, 0)

    stats = service.graphql("{ stats { nodes { kind count } edges { kind count } } }")["stats"]
    nodes = {c["kind"]: c["count"] for c in stats["nodes"]}
    assert nodes["Run"] == 7 and nodes["Job"] == 7
    # three models, and two seeds that appear only in the models' column lineage
    assert nodes["Dataset"] == 5
    edges = {c["kind"]: c["count"] for c in stats["edges"]}
    assert edges["PARENT_OF"] >= 6  # every node run hangs under the dbt invocation
    assert edges["FEEDS"] > 0

    found = service.graphql(
        '{ search(text: "customer_revenue", kinds: ["Dataset"]) { display sources } }'
    )["search"]
    assert found == [
        {"display": f"{DATASET_NAMESPACE}/shop.main.customer_revenue", "sources": ["openlineage"]}
    ]

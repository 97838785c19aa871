"""The HTTP service on each store: probes, GraphQL, and errors with a path and a code."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.store import GraphStats, GraphStore
from lineage_kg.ingest.demo import demo_batch, demo_decisions
from lineage_kg.settings import Settings

# bounded, generous: on a loaded machine Neo4j's first writes (schema, plans) take long
PROJECTED_WITHIN = 300.0


@pytest.fixture
def client(store: GraphStore, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(demo=True, data_dir=tmp_path), store=store)) as c:
        # the demo is in the log: on Neo4j the projector writes it after the start
        deadline = time.monotonic() + PROJECTED_WITHIN
        while lag := gql(c, "{ ingestStatus { lag } }")["data"]["ingestStatus"]["lag"]:
            assert time.monotonic() < deadline, f"the demo was not projected: lag {lag}"
            time.sleep(0.1)
        yield c


@pytest.fixture(scope="module")
def demo_stats() -> GraphStats:
    """The oracle: the demo's events mapped without a log or a service, into a store of their
    own, plus the edges the decisions' side projection adds: one DECIDED per model version and
    decision point (every demo decision names its version), not in the mapped batch."""
    alone = EmbeddedStore()
    alone.apply(demo_batch())
    stats = alone.stats()
    decided = {(d.registry, d.model, d.version, d.decision_point) for d in demo_decisions()}
    assert all(version is not None for _, _, version, _ in decided)
    stats.edges["DECIDED"] = stats.edges.get("DECIDED", 0) + len(decided)
    return stats


def gql(client: TestClient, query: str) -> dict:
    response = client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()


def test_probes(client: TestClient, store: GraphStore) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "store": store.name}


def test_stats_and_search_over_graphql(client: TestClient, demo_stats: GraphStats) -> None:
    body = gql(client, "{ stats { nodeCount edgeCount nodes { kind count } } }")
    stats = body["data"]["stats"]
    assert (stats["nodeCount"], stats["edgeCount"]) == (
        demo_stats.node_count,
        demo_stats.edge_count,
    )
    assert {n["kind"]: n["count"] for n in stats["nodes"]} == demo_stats.nodes
    assert {"kind": "KPI", "count": 2} in stats["nodes"]
    body = gql(client, '{ search(text: "REVENUE", kinds: ["KPI", "Dataset"]) { kind display } }')
    assert body["data"]["search"] == [
        {"kind": "KPI", "display": "daily-revenue"},
        {"kind": "Dataset", "display": "postgres://warehouse:5432/analytics.marts.daily_revenue"},
    ]


def test_store_line_names_the_store(client: TestClient, store: GraphStore) -> None:
    line = gql(client, "{ store }")["data"]["store"]
    assert line.startswith(store.name)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('{ search(text: "x", limit: 0) { kind } }', "limit must be between 1 and 200"),
        ('{ search(text: "x", kinds: ["Table"]) { kind } }', "kinds must be among"),
    ],
)
def test_bad_arguments_get_a_path_and_a_code(client: TestClient, query: str, message: str) -> None:
    body = gql(client, query)
    (error,) = body["errors"]
    assert error["path"] == ["search"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]


def test_invalid_graphql_is_a_client_error(client: TestClient) -> None:
    response = client.post("/graphql", json={"query": "{ nosuchfield }"})
    assert response.status_code == 200
    assert "nosuchfield" in response.json()["errors"][0]["message"]
    assert (
        client.post(
            "/graphql", content=b"{not json", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )


def test_readme_example_runs(client: TestClient, demo_stats: GraphStats) -> None:
    """The README's GraphQL example is executed, so the docs cannot rot."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = readme.split("<!-- example: demo-stats -->", 1)[1]
    query = block.split("```graphql", 1)[1].split("```", 1)[0]
    body = gql(client, query)
    assert "errors" not in body
    assert body["data"]["stats"]["nodeCount"] == demo_stats.node_count
    assert {"kind": "KPI", "display": "daily-revenue"} in body["data"]["search"]

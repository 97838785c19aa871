"""The engineer's question over HTTP GraphQL, on both stores: "what breaks if orders.amount
changes?" — answered on the demo graph, compared with the answer worked out by hand."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.api.graphql.schema import SDL_PATH, export_sdl
from lineage_kg.graph.store import GraphStore
from lineage_kg.settings import Settings

PG = "postgres://warehouse:5432"
AMOUNT = f'{{kind: Column, namespace: "{PG}", name: "shop.public.orders", field: "amount"}}'

AMOUNT_REF = {"kind": "Column", "namespace": PG, "name": "shop.public.orders", "field": "amount"}
IMPACT = """
query ($ref: NodeRef!, $first: Int!, $after: String, $exactOnly: Boolean! = false) {
  impact(ref: $ref, first: $first, after: $after, exactOnly: $exactOnly) {
    start { display }
    summary { total truncated kpis unowned
              byKind { kind count } byCertainty { kind count } byOwner { kind count } }
    edges { cursor node { distance certainty owners node { kind display } path { kind } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

# Worked out by hand from ingest/demo.py's events: (distance, certainty, kind, display, path,
# owners); the mart's nightly run (OpenLineage) read the table, its run id the uuid5 of the demo
RUN = "56c0e53d-9456-583a-a7df-9288d39d8fce"
EXPECTED = [
    (1, "exact", "Column", f"{PG}/analytics.marts.daily_revenue#revenue", ["FEEDS"], []),
    (1, "exact", "Dataset", f"{PG}/shop.public.orders", ["HAS_COLUMN"], ["team:data-platform"]),
    (1, "exact", "Feature", "risk/customer_spend:total_spend", ["FEEDS"], []),
    (2, "exact", "Dataset", f"{PG}/analytics.marts.daily_revenue", ["FEEDS", "HAS_COLUMN"],
     ["team:data-platform"]),
    # the training data (issue 16): amount is a column of the table the model trained on
    (2, "exact", "DatasetVersion", f"{PG}/shop.public.orders@2026-01-04",
     ["HAS_COLUMN", "HAS_VERSION"], []),
    (2, "exact", "FeatureService", "risk/credit_risk", ["FEEDS", "SERVES_FEATURES"],
     ["team:ml-risk"]),
    (2, "possible", "FeatureView", "risk/customer_spend", ["HAS_COLUMN", "SOURCES"],
     ["team:ml-risk"]),
    (2, "possible", "Job", "airflow/marts.daily_revenue", ["HAS_COLUMN", "INPUT_TO"],
     ["team:data-platform"]),
    (2, "exact", "KPI", "daily-revenue", ["FEEDS", "FEEDS"], []),
    (2, "possible", "Run", RUN, ["HAS_COLUMN", "READ_BY"], []),
    (3, "exact", "ModelVersion", "mlflow/credit-risk@3", ["FEEDS", "SERVES_FEATURES", "FEEDS"], []),
    (3, "exact", "Run", "train-credit-risk-3", ["HAS_COLUMN", "HAS_VERSION", "READ_BY"], []),
    # the decisions' aggregated edge (the logged loan-42): version -DECIDED-> decision point
    (4, "exact", "DecisionPoint", "loan-approval",
     ["FEEDS", "SERVES_FEATURES", "FEEDS", "DECIDED"], []),
    (5, "exact", "KPI", "approval-rate",
     ["FEEDS", "SERVES_FEATURES", "FEEDS", "DECIDED", "DRIVES"], ["team:ml-risk"]),
]  # fmt: skip


@pytest.fixture
def client(store: GraphStore, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(demo=True, data_dir=tmp_path), store=store)) as c:
        # the demo is in the log: on Neo4j the projector writes it after the start; bounded,
        # generous: on a loaded machine Neo4j's first writes (schema, plans) take long, as
        # test_api.py found
        deadline = time.monotonic() + 300
        while gql(c, "{ ingestStatus { lag } }")["data"]["ingestStatus"]["lag"]:
            assert time.monotonic() < deadline, "the demo was not projected"
            time.sleep(0.1)
        yield c


def gql(client: TestClient, query: str, **variables: object) -> dict:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def rows(edges: list[dict]) -> list[tuple]:
    return [
        (
            e["node"]["distance"],
            e["node"]["certainty"],
            e["node"]["node"]["kind"],
            e["node"]["node"]["display"],
            [step["kind"] for step in e["node"]["path"]],
            e["node"]["owners"],
        )
        for e in edges
    ]


def test_column_impact_is_what_a_person_would_write_down(client: TestClient) -> None:
    answer = gql(client, IMPACT, ref=AMOUNT_REF, first=100)["data"]["impact"]
    assert answer["start"]["display"] == f"{PG}/shop.public.orders#amount"
    assert rows(answer["edges"]) == EXPECTED
    summary = answer["summary"]
    assert (summary["total"], summary["truncated"], summary["unowned"]) == (14, False, 8)
    assert summary["kpis"] == ["approval-rate", "daily-revenue"]
    assert summary["byCertainty"] == [
        {"kind": "exact", "count": 11},
        {"kind": "possible", "count": 3},
    ]
    assert summary["byOwner"] == [
        {"kind": "team:data-platform", "count": 3},
        {"kind": "team:ml-risk", "count": 3},
    ]


def test_paging_walks_the_whole_answer_once(client: TestClient) -> None:
    seen, after = [], None
    while True:
        page = gql(client, IMPACT, ref=AMOUNT_REF, first=3, after=after)["data"]["impact"]
        seen += rows(page["edges"])
        assert page["summary"]["total"] == 14  # the summary always covers everything
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == EXPECTED


def test_exact_only_drops_the_possible(client: TestClient) -> None:
    answer = gql(client, IMPACT, ref=AMOUNT_REF, first=100, exactOnly=True)["data"]["impact"]
    assert rows(answer["edges"]) == [r for r in EXPECTED if r[1] == "exact"]


def test_node_lookup_by_ref_and_by_id(client: TestClient) -> None:
    query = "query ($ref: NodeRef!) { node(ref: $ref) { id kind display key sources } }"
    ref = {"kind": "Dataset", "namespace": PG, "name": "shop.public.orders"}
    node = gql(client, query, ref=ref)["data"]["node"]
    assert node["kind"] == "Dataset" and node["key"] == {
        "namespace": PG,
        "name": "shop.public.orders",
    }
    again = gql(client, query, ref={"id": node["id"]})["data"]["node"]
    assert again == node
    missing = {"kind": "Dataset", "namespace": PG, "name": "nope"}
    assert gql(client, query, ref=missing)["data"]["node"] is None


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ('{ impact(ref: {kind: Dataset, namespace: "x", name: "y"}) { summary { total } } }',
         "NOT_FOUND", "no Dataset named 'x/y'"),
        (f"{{ impact(ref: {AMOUNT}, depth: 0) {{ summary {{ total }} }} }}",
         "BAD_USER_INPUT", "depth must be between 1 and 25"),
        (f'{{ impact(ref: {AMOUNT}, asOf: "noon") {{ summary {{ total }} }} }}',
         "BAD_USER_INPUT", "asOf: not an ISO-8601 timestamp"),
        (f'{{ impact(ref: {AMOUNT}, after: "bogus") {{ summary {{ total }} }} }}',
         "BAD_USER_INPUT", "after: not a cursor"),
        ('{ impact(ref: {kind: Column, namespace: "x", name: "y"}) { summary { total } } }',
         "BAD_USER_INPUT", "a Column ref needs field"),
        ("{ impact(ref: {}) { summary { total } } }", "BAD_USER_INPUT", "ref needs either id"),
    ],
)  # fmt: skip
def test_bad_requests_get_a_code_and_a_path(
    client: TestClient, query: str, code: str, message: str
) -> None:
    (error,) = gql(client, query)["errors"]
    assert error["path"] == ["impact"]
    assert error["extensions"]["code"] == code
    assert message in error["message"]


def test_request_limits(client: TestClient) -> None:
    aliases = " ".join(f"a{i}: version" for i in range(20))
    # twice: the second answer comes from the validation cache and must refuse the same
    for _ in range(2):
        assert "aliases" in gql(client, f"{{ {aliases} }}")["errors"][0]["message"]
    # the depth cap (12) is above what this schema can nest today; size is capped by tokens
    padded = "{ " + " ".join("version" for _ in range(2100)) + " }"
    assert "token" in gql(client, padded)["errors"][0]["message"].lower()
    assert "errors" not in gql(client, '{ search(text: "x") { id } }')


def test_sdl_is_exported_and_current() -> None:
    assert SDL_PATH.read_text() == export_sdl(), "run: python -m lineage_kg.api.graphql.schema"


def test_readme_engineer_example_runs(client: TestClient) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = readme.split("<!-- example: engineer-impact -->", 1)[1]
    query = block.split("```graphql", 1)[1].split("```", 1)[0]
    body = gql(client, query)
    assert "errors" not in body, body
    assert body["data"]["impact"]["summary"]["kpis"] == ["approval-rate", "daily-revenue"]


def _readme_example(name: str) -> str:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    return readme.split(f"<!-- example: {name} -->", 1)[1].split("```graphql", 1)[1].split("```")[0]


def test_readme_auditor_example_runs(client: TestClient) -> None:
    body = gql(client, _readme_example("auditor-trace"))
    assert "errors" not in body, body
    trace = body["data"]["decisionLineage"]
    assert [m["node"]["display"] for m in trace["modelVersions"]] == ["mlflow/credit-risk@3"]
    assert [(d["kind"], d["node"]["display"]) for d in trace["data"]] == [
        ("training_run", "train-credit-risk-3"),
        ("dataset_version", f"{PG}/shop.public.orders@2026-01-04"),
    ]


def test_readme_owner_example_runs(client: TestClient) -> None:
    body = gql(client, _readme_example("owner-map"))
    assert "errors" not in body, body
    owner = body["data"]["accountability"]
    assert owner["teams"] == ["team:data-platform"]
    assert sorted(o["node"]["display"] for o in owner["owned"]) == [
        "airflow/marts.daily_revenue",
        f"{PG}/analytics.marts.daily_revenue",
        f"{PG}/shop.public.orders",
    ]
    assert all(o["via"] == "team:data-platform" for o in owner["owned"])
    assert {k["node"]["display"] for k in owner["kpis"]} == {"daily-revenue", "approval-rate"}


DEPTH = """
query ($ref: NodeRef!, $depth: Int!) {
  impact(ref: $ref, depth: $depth, first: 1000) {
    summary { total depthReached }
    edges { node { distance } }
  }
}
"""


def test_an_answer_says_when_the_depth_bound_was_reached(client: TestClient) -> None:
    """Whole at the default depth (the demo's deepest item is nearer): nothing at the bound;
    asked two hops deep, its items end at two and the summary says the walk stopped there."""
    whole = gql(client, DEPTH, ref=AMOUNT_REF, depth=10)["data"]["impact"]
    deepest = max(e["node"]["distance"] for e in whole["edges"])
    assert deepest < 10
    assert whole["summary"]["depthReached"] is False
    for depth in range(1, deepest + 1):
        cut = gql(client, DEPTH, ref=AMOUNT_REF, depth=depth)["data"]["impact"]
        assert max(e["node"]["distance"] for e in cut["edges"]) == depth
        assert cut["summary"]["depthReached"] is True
    at = gql(client, DEPTH, ref=AMOUNT_REF, depth=deepest + 1)["data"]["impact"]
    assert at["summary"] == whole["summary"]

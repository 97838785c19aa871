"""The auditor's and the owner's questions over HTTP GraphQL, on both stores, on the value-chain
graph whose answers test_root_cause.py and test_accountability.py pin down by hand: the API must
return exactly those answers, reshaped, with errors carrying a path and a code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.decision_trace import decision_lineage
from lineage_kg.queries.suspects import suspects
from lineage_kg.settings import Settings


@pytest.fixture
def client(store: GraphStore, value_chain: Any, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path), store=store)) as c:
        yield c


def gql(client: TestClient, query: str, **variables: object) -> dict:
    return client.post("/graphql", json={"query": query, "variables": variables}).json()


LINEAGE = """query ($ref: NodeRef!) { decisionLineage(ref: $ref) {
  start { id } truncated sources
  decision { kind node { id } resolution evidence }
  modelVersions { kind node { id } edge evidence owners }
  data { kind node { id } distance resolution evidence }
  features { kind node { id } distance } } }"""


def test_decision_lineage(client: TestClient, store: GraphStore, value_chain: Any) -> None:
    v = value_chain
    answer = gql(client, LINEAGE, ref={"id": v.decision.id})["data"]["decisionLineage"]
    want = decision_lineage(store, v.decision.id)
    assert answer["start"]["id"] == v.decision.id and answer["truncated"] is False
    assert answer["decision"]["evidence"] == ["ev-decision-1001"]
    assert [m["node"]["id"] for m in answer["modelVersions"]] == [v.mv4.id]
    assert answer["modelVersions"][0]["edge"] == "DECIDED"
    assert [(d["node"]["id"], d["distance"], d["resolution"]) for d in answer["data"]] == [
        (s.node.id, s.distance, s.resolution.value) for s in want.data
    ]
    assert [f["node"]["id"] for f in answer["features"]] == [s.node.id for s in want.features]
    assert answer["sources"] == [v.fx.id, v.ingest_0a.id]


SUSPECTS = """query ($ref: NodeRef!, $since: String!, $until: String!) {
  rootCause(ref: $ref, since: $since, until: $until) {
    node { id } asset { id } reason distance score time evidence } }"""


def test_root_cause_ranking(client: TestClient, store: GraphStore, value_chain: Any) -> None:
    v = value_chain
    window = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-03T00:00:00Z"}
    found = gql(client, SUSPECTS, ref={"id": v.volume.id}, **window)["data"]["rootCause"]
    want = suspects(store, v.volume.id, **window)
    assert [(s["node"]["id"], s["reason"], s["score"], s["evidence"]) for s in found] == [
        (s.node.id, s.reason.value, s.score, list(s.evidence)) for s in want
    ]
    assert (found[0]["reason"], found[1]["reason"]) == ("failed_quality", "failed_run")


OWNER = """query ($owner: String!) { accountability(ownerId: $owner) {
  owner { id } teams owned { node { id } ownershipType via }
  kpis { node { id } certainty } upstreamOwners { owner left }
  downstreamOwners { owner } gaps { kind asset { id } detail evidence } } }"""


def test_accountability_map(client: TestClient, store: GraphStore, value_chain: Any) -> None:
    owner_id = "alice@example.com"
    answer = gql(client, OWNER, owner=owner_id)
    assert "errors" not in answer, answer
    got = answer["data"]["accountability"]
    want = accountability(store, owner_id)
    assert got["teams"] == want.teams
    assert [(o["node"]["id"], o["via"]) for o in got["owned"]] == [
        (o.node.id, o.via) for o in want.owned
    ]
    assert sorted(g["kind"] for g in got["gaps"]) == sorted(g.kind.value for g in want.gaps)
    assert {g["kind"] for g in got["gaps"]} == {
        "unowned",
        "owner_left",
        "failing_run",
        "failing_quality",
    }


def test_errors_have_a_path_and_a_code(client: TestClient) -> None:
    body = gql(client, LINEAGE, ref={"kind": "Decision", "decisionId": "d-9999"})
    assert body["errors"][0]["path"] == ["decisionLineage"]
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    body = gql(client, OWNER.replace("ownerId: $owner", "ownerId: $owner, depth: 99"), owner="x")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

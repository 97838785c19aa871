"""The audit trail over GraphQL, on both stores: post events, read a node's dated history, follow
each entry to the raw event behind it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_intake_http import NS, _as_dict, pipeline_events

from lineage_kg.api.app import create_app
from lineage_kg.graph.store import GraphStore
from lineage_kg.settings import Settings

AUDIT = """
query ($ref: NodeRef!, $first: Int!, $after: String, $types: [String!]) {
  auditTrail(ref: $ref, first: $first, after: $after, types: $types) {
    node { display }
    entries { time type summary eventId source cursor }
    pageInfo { hasNextPage endCursor }
  }
}
"""
REVENUE = {"kind": "Dataset", "namespace": NS, "name": "analytics.marts.daily_revenue"}


@pytest.fixture
def client(store: GraphStore, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path), store=store)) as c:
        yield c


def gql(client: TestClient, query: str, **variables: object) -> dict:
    body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    return body


def post_runs(client: TestClient) -> None:
    for day in ("2026-01-05T06", "2026-01-06T06"):
        for event in pipeline_events(str(uuid.uuid4()), when=f"{day}:00"):
            assert client.post("/api/v1/lineage", json=_as_dict(event)).status_code == 201
    deadline = time.monotonic() + 120  # a bound on a hang (Neo4j's first writes, loaded)
    while gql(client, "{ ingestStatus { lag } }")["data"]["ingestStatus"]["lag"]:
        assert time.monotonic() < deadline, "projector did not catch up"
        time.sleep(0.05)


def test_history_of_a_dataset_with_evidence(client: TestClient) -> None:
    post_runs(client)
    trail = gql(client, AUDIT, ref=REVENUE, first=50)["data"]["auditTrail"]
    assert trail["node"]["display"] == f"{NS}/analytics.marts.daily_revenue"
    entries = trail["entries"]
    # two COMPLETE runs wrote it: each left schema, lineage and a written version, in time order
    assert [e["time"] for e in entries] == sorted(e["time"] for e in entries)
    written = [e for e in entries if e["type"] == "WROTE"]
    assert [e["time"][:10] for e in written] == ["2026-01-05", "2026-01-06"]
    assert {e["type"] for e in entries} >= {"SCHEMA", "LINEAGE", "WROTE", "VERSION"}
    raw = client.get(f"/api/v1/events/{written[1]['eventId']}").json()
    assert raw["event"]["eventType"] == "COMPLETE"
    assert raw["event"]["outputs"][0]["name"] == "analytics.marts.daily_revenue"


def test_paging_and_type_filter(client: TestClient) -> None:
    post_runs(client)
    everything = gql(client, AUDIT, ref=REVENUE, first=50)["data"]["auditTrail"]["entries"]
    seen, after = [], None
    while True:
        page = gql(client, AUDIT, ref=REVENUE, first=2, after=after)["data"]["auditTrail"]
        seen += page["entries"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == everything
    only = gql(client, AUDIT, ref=REVENUE, first=50, types=["WROTE"])["data"]["auditTrail"]
    assert [e["type"] for e in only["entries"]] == ["WROTE", "WROTE"]


def test_bad_arguments_are_named(client: TestClient) -> None:
    post_runs(client)
    body = gql(client, AUDIT, ref=REVENUE, first=0)
    (error,) = body["errors"]
    assert error["path"] == ["auditTrail"] and "first must be between" in error["message"]
    body = gql(client, AUDIT, ref={**REVENUE, "name": "nope"}, first=5)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"

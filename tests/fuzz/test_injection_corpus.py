"""Cypher-injection strings as job and dataset namespaces, names and field names in real
OpenLineage events, ingested into both stores: each is stored and returned verbatim by GraphQL
`node` and `search` (dataset namespaces as the identity rule normalises them, see
graph/naming.py), and nothing else in the graph changes (nothing deleted)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.graph.naming import dataset_key, job_key
from lineage_kg.graph.store import GraphStore
from lineage_kg.settings import Settings
from tests.faults.load import run_event

CORPUS = [
    line.replace("\\n", "\n")
    for line in (Path(__file__).with_name("injection_corpus.txt").read_text().split("\n"))
    if line
]
NODE = "query($ref: NodeRef!) { node(ref: $ref) { id kind key display } }"
SEARCH = "query($text: String!) { search(text: $text, limit: 200) { kind key } }"
STATUS = "{ ingestStatus { lag parked } }"
STATS = "{ stats { nodes { kind count } } }"


def event(i: int, text: str) -> dict[str, Any]:
    """A COMPLETE run: job (text, text) reads dataset (text, text) with a field named text."""
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2026-04-01T00:00:{i % 60:02d}.000Z",
        "run": {"runId": f"00000000-0000-4000-9000-{i:012d}"},
        "job": {"namespace": text, "name": text},
        "inputs": [
            {
                "namespace": text,
                "name": text,
                "facets": {"schema": {"fields": [{"name": text, "type": "varchar"}]}},
            }
        ],
        "outputs": [],
        "producer": "https://example.com/injection",
    }


@pytest.fixture
def client(store: GraphStore, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path, neo4j_uri=None), store=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def gql(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body
    return body["data"]


def projected(client: TestClient) -> dict[str, int]:
    import time

    deadline = time.monotonic() + 120  # a bound on a hang, not a speed requirement
    while (status := gql(client, STATUS))["ingestStatus"]["lag"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status["ingestStatus"] == {"lag": 0, "parked": 0}
    # asked after the lag is 0: in one request, the two fields may be resolved in either order
    return {c["kind"]: c["count"] for c in gql(client, STATS)["stats"]["nodes"]}


def test_injection_strings_are_stored_verbatim_and_change_nothing(client: TestClient) -> None:
    baseline = [run_event(i) for i in range(5)]  # load/job-0..4, load/ds-0..4, 5 runs
    assert client.post("/api/v1/lineage/bulk", json=baseline).json()["accepted"] == 5
    before = projected(client)

    for i, text in enumerate(CORPUS):
        response = client.post("/api/v1/lineage", json=event(i, text))
        assert response.status_code == 201, (text, response.text)
    after = projected(client)

    datasets = {text: dict(dataset_key(text, text).fields) for text in CORPUS}
    # a job namespace loses surrounding blanks and one trailing "/" (graph/naming.py), nothing else
    jobs = {text: dict(job_key({"namespace": text, "name": text}).fields) for text in CORPUS}
    n = len({tuple(j.values()) for j in jobs.values()})
    assert after == {
        "Column": before.get("Column", 0) + len({tuple(d.values()) for d in datasets.values()}),
        "Dataset": before["Dataset"] + len({tuple(d.values()) for d in datasets.values()}),
        "Job": before["Job"] + n,
        "Run": before["Run"] + len(CORPUS),
    }
    for text in CORPUS:
        dataset = datasets[text]
        for kind, key in [
            ("Job", jobs[text]),
            ("Dataset", dataset),
            ("Column", {**dataset, "field": text}),
        ]:
            found = gql(client, NODE, ref={"kind": kind, **key})["node"]
            assert found is not None and found["key"] == key, (kind, text, found)
        hits = gql(client, SEARCH, text=text)["search"]
        assert {"kind": "Job", "key": jobs[text]} in hits, text
    for i in range(5):  # the baseline is untouched
        ref = {"kind": "Job", "namespace": "load", "name": f"job-{i}"}
        assert gql(client, NODE, ref=ref)["node"]["key"] == {
            "namespace": "load",
            "name": f"job-{i}",
        }

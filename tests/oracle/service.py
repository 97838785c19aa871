"""The service as the oracle tests use it: a fresh app on a cleared store, events posted one at a
time in arrival order through the real intake (each projected before the next is posted), and
`impact` asked over GraphQL."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from graph.store import GraphStore

Node = tuple[str, str, str, str]
IMPACT = """
query ($ref: NodeRef!) {
  impact(ref: $ref, depth: 25, first: 1000) {
    start { kind key }
    edges { node { certainty node { kind key } } }
    pageInfo { hasNextPage }
  }
}
"""
COMPARED = ("Dataset", "Column")  # jobs, runs and versions are not in the oracle's answer


def node_of(kind: str, key: dict[str, str]) -> Node:
    return (kind, key["namespace"], key["name"], key.get("field") or "")


class Service:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def post(self, event: dict[str, Any]) -> None:
        response = self.client.post("/api/v1/lineage", json=event)
        assert response.status_code == 201, response.text
        deadline = time.monotonic() + 60
        while True:
            status = self.graphql("{ ingestStatus { lag parked } }")["data"]["ingestStatus"]
            assert status["parked"] == 0, f"event parked: {event}"
            if status["lag"] == 0:
                return
            assert time.monotonic() < deadline, "projector did not catch up"
            time.sleep(0.005)

    def impact(self, namespace: str, name: str, field: str | None) -> tuple[Node, dict[Node, str]]:
        """(the node the name resolved to, {reached dataset or column: certainty})."""
        ref = {"kind": "Column" if field else "Dataset", "namespace": namespace, "name": name}
        if field:
            ref["field"] = field
        body = self.graphql(IMPACT, ref=ref)
        assert "errors" not in body, (ref, body["errors"])
        answer = body["data"]["impact"]
        assert not answer["pageInfo"]["hasNextPage"]
        start = node_of(answer["start"]["kind"], answer["start"]["key"])
        reached = {
            node_of(e["node"]["node"]["kind"], e["node"]["node"]["key"]): e["node"]["certainty"]
            for e in answer["edges"]
            if e["node"]["node"]["kind"] in COMPARED
        }
        return start, reached


@contextmanager
def service(store: GraphStore, events: list[dict[str, Any]]) -> Iterator[Service]:
    """A fresh service on `store` (cleared) with `events` ingested in the given order."""
    store.clear()
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Settings(data_dir=Path(data_dir)), store=store)
        with TestClient(app) as client:
            running = Service(client)
            for event in events:
                running.post(event)
            yield running

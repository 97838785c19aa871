"""The service as the oracle tests use it: a fresh app on a cleared store, events posted through
the real intake in arrival order — one at a time, each projected before the next is posted (late
events arrive late), or all in one bulk request — and `impact` asked over GraphQL."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.graph.store import GraphStore
from lineage_kg.settings import Settings

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
        self.wait_projected(event)

    def post_bulk(self, events: list[dict[str, Any]]) -> None:
        response = self.client.post("/api/v1/lineage/bulk", json=events)
        assert response.status_code == 200 and not response.json()["rejected"], response.text
        self.wait_projected(events)

    def wait_projected(self, what: object) -> None:
        deadline = time.monotonic() + 240  # a bound, not a speed check: fail on a hang only
        while True:
            status = self.graphql("{ ingestStatus { lag parked } }")["data"]["ingestStatus"]
            assert status["parked"] == 0, f"event parked: {what}"
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
def service(
    store: GraphStore, events: list[dict[str, Any]], *, one_by_one: bool = True
) -> Iterator[Service]:
    """A fresh service on `store` (cleared) with `events` ingested in the given order."""
    store.clear()
    with tempfile.TemporaryDirectory() as data_dir:
        # the oracle checks answers, not speed: the request deadline (30 s by default) is
        # raised so that a saturated machine (ci12: two CI runs and CPU burners on 2 cores)
        # cannot turn a right answer into DEADLINE_EXCEEDED; its own tests are in tests/fuzz
        settings = Settings(data_dir=Path(data_dir), graphql_deadline_seconds=600)
        app = create_app(settings, store=store)
        with TestClient(app) as client:
            running = Service(client)
            if one_by_one:
                for event in events:
                    running.post(event)
            elif events:
                running.post_bulk(events)
            yield running

"""A service in-process (ASGI, embedded store) with auth required, a key confined to `ns-a`, an
unrestricted key, and namespace `ns-b` seeded through the API: for the tests that a confined key
changes nothing outside its namespace (tests/faults, tests/fuzz)."""

from __future__ import annotations

import copy
import json
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.api.auth import KeyStore, Scope, keys_path
from lineage_kg.graph.model import NodeKind
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.settings import Settings

NS_A, NS_B = "ns-a", "ns-b"
RUN_B = "0b0b0b0b-0000-4000-8000-00000000000b"  # the ns-b run an attacker names
PRODUCER = "https://example.com/confinement"
NAMESPACED = {
    NodeKind.DATASET,
    NodeKind.COLUMN,
    NodeKind.DATASET_VERSION,
    NodeKind.JOB,
    NodeKind.EXPOSURE,
}


def _schema(*names: str) -> dict[str, Any]:
    return {"fields": [{"name": n, "type": "string", "description": f"{n} of b"} for n in names]}


# ns-b as its own producer wrote it: a job, its run (START then COMPLETE), a source and a victim
SEED_B = [
    {
        "eventType": event_type,
        "eventTime": at,
        "run": {"runId": RUN_B},
        "job": {"namespace": NS_B, "name": "etl"},
        "inputs": [{"namespace": NS_B, "name": "source", "facets": {"schema": _schema("id")}}],
        "outputs": [
            {
                "namespace": NS_B,
                "name": "victim",
                "facets": {
                    "schema": _schema("id", "amount"),
                    "documentation": {"description": "the real victim"},
                    "ownership": {"owners": [{"name": "user:bob@b.example", "type": "MAINTAINER"}]},
                },
            }
        ],
        "producer": PRODUCER,
    }
    for event_type, at in (("START", "2026-03-01T09:00:00Z"), ("COMPLETE", "2026-03-01T09:05:00Z"))
]


def event_a(name: str = "load", at: str = "2026-03-02T10:00:00Z", **extra: Any) -> dict[str, Any]:
    """A RunEvent entirely in ns-a (a fresh run id per name)."""
    return {
        "eventType": "COMPLETE",
        "eventTime": at,
        "run": {"runId": f"0a0a0a0a-0000-4000-8000-{zlib.crc32(name.encode()):012d}"},
        "job": {"namespace": NS_A, "name": name},
        "inputs": [{"namespace": NS_A, "name": f"{name}.in"}],
        "outputs": [{"namespace": NS_A, "name": f"{name}.out"}],
        "producer": PRODUCER,
        **extra,
    }


def namespace_of(node: StoredNode) -> str | None:
    return node.key.parts[0] if node.key.kind in NAMESPACED else None


@dataclass
class Graph:
    """What the store holds, by id: node and edge records as comparable JSON text."""

    nodes: dict[str, StoredNode]
    edges: dict[tuple[str, str, str, str], StoredEdge]


@dataclass
class Confined:
    client: TestClient
    confined: str  # ingest key for ns-a only
    anywhere: str  # ingest + read key, no namespaces

    def post(
        self, token: str, body: Any, path: str = "/api/v1/lineage", **kw: Any
    ) -> httpx.Response:
        return self.client.post(
            path,
            content=body if isinstance(body, (bytes, str)) else json.dumps(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            **kw,
        )

    def projected(self) -> None:
        """Until the projector has applied everything in the log (a condition, not a sleep)."""
        projector = self.client.app.state.projector  # type: ignore[attr-defined]
        give_up = time.monotonic() + 120  # a hung projector fails the test instead of hanging it
        while projector.status().lag != 0:
            assert time.monotonic() < give_up, f"projector stuck: {projector.status()}"
            projector.wake()
            time.sleep(0.01)

    def graph(self) -> Graph:
        self.projected()
        store = self.client.app.state.store  # type: ignore[attr-defined]
        return Graph(
            {n.id: n for n in store.iter_nodes()}, {e.key.id: e for e in store.iter_edges()}
        )


def changes_outside(before: Graph, after: Graph, inside: str = NS_A) -> list[str]:
    """What changed outside namespace `inside`, as readable lines (empty: nothing).

    Every node that was there before (the ns-b seed) is as it was, except an Owner's bookkeeping
    (an owner is shared: owning an ns-a dataset touches it); every new namespaced node is in
    `inside`; every new or changed edge leaves the old nodes alone, except an Owner's OWNS edge.
    """
    found = []
    for nid, node in before.nodes.items():
        if node.key.kind is NodeKind.OWNER:
            continue
        if after.nodes.get(nid) != node:
            found.append(f"node {node.key.display} changed: {after.nodes.get(nid)}")
    for nid, node in after.nodes.items():
        if nid not in before.nodes and namespace_of(node) not in (None, inside):
            found.append(f"new node outside {inside}: {node.key.kind} {node.key.display}")
    old = {nid for nid, n in before.nodes.items() if n.key.kind is not NodeKind.OWNER}
    for eid, edge in after.edges.items():
        if before.edges.get(eid) != edge and (eid[0] in old or eid[2] in old):
            found.append(f"edge {eid} touches the seed: {edge}")
    for eid in before.edges.keys() - after.edges.keys():
        found.append(f"edge {eid} gone")
    return found


@contextmanager
def confined_service(data_dir: Path) -> Iterator[Confined]:
    keys = KeyStore(keys_path(data_dir))
    try:
        confined = keys.create("a-producer", [Scope.INGEST], [NS_A])[1]
        anywhere = keys.create("admin", [Scope.INGEST, Scope.READ])[1]
    finally:
        keys.close()
    app = create_app(Settings(data_dir=data_dir, neo4j_uri=None, auth="required"))
    with TestClient(app, raise_server_exceptions=False) as client:
        service = Confined(client, confined, anywhere)
        for event in SEED_B:
            answer = service.post(anywhere, event)
            assert answer.status_code == 201, answer.text
        service.projected()
        yield service


def with_changes(event: dict[str, Any], changes: dict[tuple[Any, ...], Any]) -> dict[str, Any]:
    """A copy of `event` with the value at each path replaced."""
    event = copy.deepcopy(event)
    for path, value in changes.items():
        parent = event
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = value
    return event

"""The app in-process (ASGI, no sockets) on the embedded store with the demo graph, for fuzzing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.settings import Settings


def app_client(data_dir: Path, **settings: object) -> TestClient:
    app = create_app(Settings(data_dir=data_dir, neo4j_uri=None, **settings))
    return TestClient(app, raise_server_exceptions=False)  # a bug must show as a 500, not raise


def projected(client: TestClient, bound: float = 120) -> dict[str, int]:
    """`ingestStatus` once the graph holds the whole log (`bound` seconds bound a hang: the
    caller's assertions on the status say what was reached)."""
    query = "{ ingestStatus { logSeq projectedSeq parked } }"
    deadline = time.monotonic() + bound
    while True:
        status = client.post("/graphql", json={"query": query}).json()["data"]["ingestStatus"]
        if status["projectedSeq"] >= status["logSeq"] or time.monotonic() > deadline:
            return dict(status)
        time.sleep(0.05)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with app_client(tmp_path_factory.mktemp("fuzz"), demo=True) as client:
        yield client

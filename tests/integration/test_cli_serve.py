"""`lkg serve` as a user runs it: a real process, real HTTP, on each store."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from typer.testing import CliRunner

from lineage_kg.cli.app import app


def _check(base: str, store: str) -> None:
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{base}/readyz").json() == {"status": "ready", "store": store}
    body = httpx.post(f"{base}/graphql", json={"query": "{ store stats { nodeCount } }"}).json()
    assert body["data"]["store"].startswith(store)
    # the demo's nodes (ingest/demo.py), projected from the log
    assert body["data"]["stats"]["nodeCount"] == 25


def test_serve_on_embedded_store(service_factory: Callable) -> None:
    service = service_factory(LKG_DEMO="true").start()
    service.wait_projected()
    _check(service.url, "embedded")


@pytest.mark.neo4j
def test_serve_on_neo4j(service_factory: Callable, neo4j_server, neo4j_store) -> None:
    service = service_factory(
        LKG_DEMO="true",
        NEO4J_URI=neo4j_server.uri,
        NEO4J_USER=neo4j_server.user,
        NEO4J_PASSWORD=neo4j_server.password,
    ).start()
    service.wait_projected()  # the demo is in the log: the projector writes it to Neo4j
    _check(service.url, "neo4j")


def test_cli_version_and_help() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0 and result.stdout.strip() == "0.1.0"
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "serve" in result.stdout

"""Fixtures shared by every test: the stores, and a real Neo4j server to put one of them on.

Where the Neo4j comes from, in order: `NEO4J_URI` (+ `NEO4J_USER`/`NEO4J_PASSWORD`) if set; else
the project's own launcher (Neo4j Community from Maven Central, see `neo4j-launcher/`); else a
testcontainers Neo4j if a Docker engine answers. With `LKG_REQUIRE_NEO4J=1` (as in CI) not
getting one is a test failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore


@dataclass
class Neo4jInfo:
    uri: str
    user: str
    password: str
    version: str
    origin: str
    startup_seconds: float | None = None


_STARTED: list[Neo4jInfo] = []


def _required() -> bool:
    return os.environ.get("LKG_REQUIRE_NEO4J", "") == "1"


def _server_version(uri: str, user: str, password: str) -> str:
    store = Neo4jStore(uri, user=user, password=password)
    try:
        return store.server_version()
    finally:
        store.close()


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[Neo4jInfo]:
    if uri := os.environ.get("NEO4J_URI"):
        user, password = os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", "")
        info = Neo4jInfo(uri, user, password, _server_version(uri, user, password), "NEO4J_URI")
        _STARTED.append(info)
        yield info
        return

    problems: list[str] = []
    if shutil.which("java") and shutil.which("mvn"):
        from graph.neo4j_server import LocalNeo4j

        server = LocalNeo4j()
        try:
            server.start()
        except Exception as exc:  # report why, then try the next way
            problems.append(f"local launcher: {exc}")
        else:
            info = Neo4jInfo(
                server.uri,
                server.user,
                server.password,
                server.version,
                "local launcher (Maven Central artifacts)",
                server.startup_seconds,
            )
            _STARTED.append(info)
            try:
                yield info
            finally:
                server.stop()
            return
    else:
        problems.append("local launcher: java or mvn not on PATH")

    try:
        from testcontainers.neo4j import Neo4jContainer

        with Neo4jContainer("neo4j:5.26") as container:
            uri, password = container.get_connection_url(), container.password
            version = _server_version(uri, "neo4j", password)
            info = Neo4jInfo(uri, "neo4j", password, version, "testcontainers")
            _STARTED.append(info)
            yield info
            return
    except Exception as exc:
        problems.append(f"testcontainers: {exc}")

    message = "no Neo4j available: " + "; ".join(problems)
    if _required():
        pytest.fail(message + " (LKG_REQUIRE_NEO4J=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def neo4j_store_session(neo4j_server: Neo4jInfo) -> Iterator[Neo4jStore]:
    store = Neo4jStore(neo4j_server.uri, user=neo4j_server.user, password=neo4j_server.password)
    yield store
    store.close()


@pytest.fixture
def neo4j_store(neo4j_store_session: Neo4jStore) -> Neo4jStore:
    neo4j_store_session.clear()
    return neo4j_store_session


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request: pytest.FixtureRequest) -> GraphStore:
    """Each test that takes `store` runs once per store."""
    if request.param == "embedded":
        return EmbeddedStore()
    return request.getfixturevalue("neo4j_store")


@pytest.fixture
def both_stores(neo4j_store: Neo4jStore) -> tuple[GraphStore, GraphStore]:
    """The two stores side by side, for tests that compare their answers directly."""
    return EmbeddedStore(), neo4j_store


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for info in _STARTED:
        started = f", started in {info.startup_seconds:.1f}s" if info.startup_seconds else ""
        terminalreporter.write_line(
            f"Neo4j used by the tests: {info.version} from {info.origin} at {info.uri}{started}"
        )

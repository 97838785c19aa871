"""LocalNeo4j starts a real Neo4j 5 with auth on, and keeps its data across a restart."""

from __future__ import annotations

from collections.abc import Iterator

import neo4j
import pytest

from tools.neo4j_server import LocalNeo4j

# No skip when java/mvn are missing: a real server is the point, so that must fail loudly.
pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def server() -> Iterator[LocalNeo4j]:
    # one of Neo4j's own settings, passed through by the launcher (the tests' shared server uses
    # this way to keep its plans: tests/conftest.py)
    with LocalNeo4j(
        password="test-password-1", settings={"dbms.cypher.min_replan_interval": "7m"}
    ) as srv:
        yield srv


def test_starts_and_answers_with_auth(server: LocalNeo4j) -> None:
    assert server.uri.startswith("bolt://127.0.0.1:")
    assert server.version.startswith("5.26.")
    assert 0 < server.ready_seconds <= server.startup_seconds
    with server.driver() as driver:
        records, _, _ = driver.execute_query("RETURN 1 AS one")
        assert records[0]["one"] == 1
        records, _, _ = driver.execute_query("CALL dbms.components() YIELD versions")
        assert records[0]["versions"][0] == server.version


def test_neo4j_settings_pass_through(server: LocalNeo4j) -> None:
    with server.driver() as driver:
        records, _, _ = driver.execute_query(
            "CALL dbms.listConfig('dbms.cypher.min_replan_interval') YIELD value"
        )
    assert [r["value"] for r in records] == ["7m"]  # Neo4j's default is 10s


@pytest.mark.parametrize("password", ["wrong-password", "neo4j"])
def test_wrong_password_is_rejected(server: LocalNeo4j, password: str) -> None:
    # "neo4j" is the factory default: it must no longer work once the launcher set ours.
    with (
        neo4j.GraphDatabase.driver(server.uri, auth=(server.user, password)) as driver,
        pytest.raises(neo4j.exceptions.AuthError),
    ):
        driver.verify_connectivity()


def test_restart_keeps_data_port_and_dir(server: LocalNeo4j) -> None:
    with server.driver() as driver:
        driver.execute_query("CREATE (:RestartProbe {value: 42})")
    uri, data_dir = server.uri, server.data_dir

    server.restart()

    assert server.exit_code == 0  # the old process shut down cleanly on SIGTERM
    assert (server.uri, server.data_dir) == (uri, data_dir)
    with server.driver() as driver:
        records, _, _ = driver.execute_query("MATCH (p:RestartProbe) RETURN p.value AS value")
        assert [r["value"] for r in records] == [42]


def test_stop_removes_its_temp_dir(server: LocalNeo4j) -> None:
    # last in this file: it stops the module's server (a JVM start of its own cost 20-35 s in
    # CI); the fixture's own stop after it finds nothing left to do
    data_dir = server.data_dir
    assert data_dir is not None and data_dir.is_dir()
    server.stop()
    assert server.exit_code == 0
    assert not server.running
    assert not data_dir.exists()
    server.stop()  # a second stop is harmless
    assert server.data_dir is None

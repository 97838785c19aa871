"""Which driver errors mean "Neo4j cannot answer now" (STORE_UNAVAILABLE, retry later) and which
are a fault of the statement (a bug: it must surface, not hide behind "unavailable").

Each state is provoked on the real server, deterministically: no restart and no timing."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import neo4j
import pytest

from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import StoreUnavailable

pytestmark = pytest.mark.neo4j


@pytest.fixture
def throwaway_user(neo4j_server) -> Iterator[tuple[str, str]]:
    """A user of its own, so that locking it out leaves the tests' `neo4j` user alone."""
    user, password = f"lkg_probe_{secrets.token_hex(4)}", secrets.token_hex(12)
    with neo4j.GraphDatabase.driver(
        neo4j_server.uri, auth=(neo4j_server.user, neo4j_server.password)
    ) as driver:
        driver.execute_query(
            "CREATE USER $user SET PASSWORD $pw CHANGE NOT REQUIRED",
            user=user,
            pw=password,
            database_="system",
        )
        try:
            yield user, password
        finally:
            driver.execute_query("DROP USER $user IF EXISTS", user=user, database_="system")


def test_authentication_rate_limit_is_unavailable(neo4j_server, throwaway_user) -> None:
    """A restarted server answers Bolt before it accepts the password; clients that keep asking
    then hit AuthenticationRateLimit, a plain ClientError: it once reached GraphQL as "internal
    error" (tests/faults/test_neo4j_restart_under_queries.py, on a loaded machine)."""
    user, password = throwaway_user
    codes = []
    for _ in range(4):  # Neo4j locks a user out after 3 failed attempts (auth_max_failed_attempts)
        with pytest.raises(StoreUnavailable) as refused:
            Neo4jStore(neo4j_server.uri, user=user, password="not-" + password)
        codes.append(refused.value.__cause__.code)
    # the right password, while the lock-out lasts: still refused, and still "unavailable"
    with pytest.raises(StoreUnavailable, match="AuthenticationRateLimit") as limited:
        Neo4jStore(neo4j_server.uri, user=user, password=password)
    assert type(limited.value.__cause__) is neo4j.exceptions.ClientError  # not an AuthError
    assert codes[0] == "Neo.ClientError.Security.Unauthorized"
    assert codes[-1] == "Neo.ClientError.Security.AuthenticationRateLimit"


def test_missing_database_is_unavailable(neo4j_server) -> None:
    with pytest.raises(StoreUnavailable, match="DatabaseNotFound"):
        Neo4jStore(
            neo4j_server.uri,
            user=neo4j_server.user,
            password=neo4j_server.password,
            database="nosuchdatabase",
        )


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("RETURN 1 +", neo4j.exceptions.CypherSyntaxError),
        ("RETURN 1 / $zero", neo4j.exceptions.ClientError),  # ArithmeticError
    ],
)
def test_statement_faults_are_not_unavailable(neo4j_store, statement, error) -> None:
    with pytest.raises(error):
        neo4j_store._read(statement, zero=0)
    # and the store reads on afterwards (the failed read's session was dropped, not reused)
    assert neo4j_store.checkpoint() == 0

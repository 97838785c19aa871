"""Neo4j beyond one server (issue 21 §3): which driver errors mean "the cluster moved, try again"
and which mean "unavailable, retry later", classified on the driver's real exception classes —
the server's errors built from their codes the way the driver builds them off the wire."""

from __future__ import annotations

import socket

import neo4j
import pytest
from neo4j.exceptions import (
    ConfigurationError,
    ForbiddenOnReadOnlyDatabase,
    IncompleteCommit,
    Neo4jError,
    NotALeader,
    ReadServiceUnavailable,
    RoutingServiceUnavailable,
    ServiceUnavailable,
    SessionError,
    SessionExpired,
    WriteServiceUnavailable,
)

from lineage_kg.graph.factory import open_store
from lineage_kg.graph.neo4j_errors import is_rerouted, is_unavailable
from lineage_kg.graph.neo4j_store import Neo4jStore


def server_error(code: str) -> Neo4jError:
    """The error the driver raises when the server answers FAILURE with this code."""
    return Neo4jError._hydrate_neo4j(code=code, message=f"server said {code}")


# (error, another try on a fresh session may reach a server that answers, unavailable)
# The oracle, written out: what a cluster says while its leader changes is both; a timeout,
# refused credentials or a database not there yet is unavailable only; a statement's fault is
# neither (a batch that would fail the same way every time).
CASES: list[tuple[str, BaseException, bool, bool]] = [
    ("NotALeader", server_error("Neo.ClientError.Cluster.NotALeader"), True, True),
    (
        "ForbiddenOnReadOnlyDatabase",
        server_error("Neo.ClientError.General.ForbiddenOnReadOnlyDatabase"),
        True,
        True,
    ),
    ("SessionExpired", SessionExpired("server left the cluster"), True, True),
    ("ServiceUnavailable", ServiceUnavailable("connection refused"), True, True),
    ("RoutingServiceUnavailable", RoutingServiceUnavailable("no router"), True, True),
    ("ReadServiceUnavailable", ReadServiceUnavailable("no reader"), True, True),
    ("WriteServiceUnavailable", WriteServiceUnavailable("no leader"), True, True),
    # the commit's answer was lost: the write may have landed, so no blind second try here
    ("IncompleteCommit", IncompleteCommit("lost during commit"), False, True),
    # a server with no copy to serve now (stopping, catching up): the driver drops it too
    (
        "DatabaseUnavailable",
        server_error("Neo.TransientError.General.DatabaseUnavailable"),
        True,
        True,
    ),
    (
        "TransactionTimedOut",
        server_error("Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration"),
        False,
        True,
    ),
    ("Unauthorized", server_error("Neo.ClientError.Security.Unauthorized"), False, True),
    ("DatabaseNotFound", server_error("Neo.ClientError.Database.DatabaseNotFound"), False, True),
    ("Deadlock", server_error("Neo.TransientError.Transaction.DeadlockDetected"), False, True),
    ("SessionError", SessionError("session closed"), False, True),
    # stopped from outside (an operator, a killed connection): not the statement's fault
    ("Terminated", server_error("Neo.ClientError.Transaction.Terminated"), False, True),
    # a write sent down the read path: our bug, whatever server answers
    ("AccessMode", server_error("Neo.ClientError.Statement.AccessMode"), False, False),
    ("SyntaxError", server_error("Neo.ClientError.Statement.SyntaxError"), False, False),
    (
        "ConstraintValidationFailed",
        server_error("Neo.ClientError.Schema.ConstraintValidationFailed"),
        False,
        False,
    ),
    ("DatabaseError", server_error("Neo.DatabaseError.General.UnknownError"), False, False),
    ("ConfigurationError", ConfigurationError("bad URI scheme"), False, False),
    ("ValueError", ValueError("not a driver error"), False, False),
]


@pytest.mark.parametrize(
    ("error", "rerouted", "unavailable"),
    [pytest.param(e, r, u, id=name) for name, e, r, u in CASES],
)
def test_classification(error: BaseException, rerouted: bool, unavailable: bool) -> None:
    assert is_rerouted(error) is rerouted
    assert is_unavailable(error) is unavailable


def test_leader_switch_codes_come_back_as_the_driver_classes_named_for_them() -> None:
    # If a driver release moved these codes to other classes, the classification above would
    # still hold through the codes: this says which of the two paths carries it today.
    assert isinstance(server_error("Neo.ClientError.Cluster.NotALeader"), NotALeader)
    assert isinstance(
        server_error("Neo.ClientError.General.ForbiddenOnReadOnlyDatabase"),
        ForbiddenOnReadOnlyDatabase,
    )


def test_a_rerouted_error_is_one_the_driver_calls_retryable_too() -> None:
    # an independent opinion on the same errors: the driver's own retry rule
    for name, error, rerouted, _ in CASES:
        if rerouted:
            assert isinstance(error, neo4j.exceptions.DriverError | Neo4jError), name
            assert error.is_retryable(), name


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when this returns: nothing listens


@pytest.mark.parametrize(
    ("scheme", "driver_class"),
    [
        ("bolt", neo4j.BoltDriver),
        ("neo4j", neo4j.Neo4jDriver),
        ("neo4j+s", neo4j.Neo4jDriver),
        ("neo4j+ssc", neo4j.Neo4jDriver),
    ],
)
def test_the_factory_opens_every_scheme(scheme: str, driver_class: type) -> None:
    """The URI goes through as given: neo4j:// gets the driver that routes. Opened without
    reaching a server (nothing listens), as the service opens when Neo4j is not up yet."""
    store = open_store(
        f"{scheme}://127.0.0.1:{_closed_port()}",
        first_contact_timeout=1.0,
        defer_first_contact=True,
    )
    try:
        assert isinstance(store, Neo4jStore)
        assert type(store._driver) is driver_class
    finally:
        store.close()

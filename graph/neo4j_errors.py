"""How the Neo4j store reads a driver error: unavailable for now (retry later), rerouted (a
fresh session may reach a server that answers), or the statement's own fault.
"""

from __future__ import annotations

from neo4j.exceptions import (
    AuthError,
    BrokenRecordError,
    DatabaseUnavailable,
    ForbiddenOnReadOnlyDatabase,
    IncompleteCommit,
    Neo4jError,
    NotALeader,
    ServiceUnavailable,
    SessionError,
    SessionExpired,
    TransientError,
)


def _timed_out(exc: Neo4jError) -> bool:
    """Neo.ClientError.Transaction.TransactionTimedOut(ClientConfiguration) and kin; and
    Neo.ClientError.Transaction.LockClientStopped, which is what the same timeout raises when it
    stops the transaction while it waits for a lock (seen in CI, once): terminated, not refused."""
    code = exc.code or ""
    return "TransactionTimedOut" in code or code.endswith(".LockClientStopped")


# Server states that say nothing about the statement: the database is not there (yet), the
# server refuses these credentials for now (a restarted server answers Bolt before its password
# is set: Unauthorized, then AuthenticationRateLimit once a few tries failed), or the transaction
# was stopped from outside (an operator's TERMINATE TRANSACTION or killed connection: measured,
# a read whose connection was killed mid-statement gets Terminated, on bolt:// and neo4j://).
_UNAVAILABLE_CODES = (
    "Neo.ClientError.Security.",
    "Neo.ClientError.Database.DatabaseNotFound",
    "Neo.ClientError.Transaction.Terminated",
)

# What a cluster answers while its leader changes: a write that reached a former leader
# (NotALeader; ForbiddenOnReadOnlyDatabase from a server that became a follower), or a server the
# routing table named that is gone or has no copy of the database to serve now (SessionExpired
# on a routed driver, ServiceUnavailable on a direct one, the Routing/Read/WriteServiceUnavailable
# kinds when no router answers, DatabaseUnavailable). The driver then drops that server from its
# routing table (`_bolt5.py`: FAILURE handling), so a new session asks the cluster again.
# Named by class and by code: the driver files the first two under TransientError though their
# codes say ClientError, and the rule should not hang on how a driver version classes them.
_REROUTED_CODES = (
    "Neo.ClientError.Cluster.NotALeader",
    "Neo.ClientError.General.ForbiddenOnReadOnlyDatabase",
    "Neo.TransientError.General.DatabaseUnavailable",
)


def is_rerouted(exc: BaseException) -> bool:
    """Whether another try, on a fresh session, may reach a server that answers: the connection
    broke or the cluster moved (see `_REROUTED_CODES`). Not a timeout (it would take as long
    again), refused credentials or a statement's fault; not IncompleteCommit either (a write that
    may have landed: the caller's fence decides what to do)."""
    if isinstance(exc, IncompleteCommit):
        return False
    if isinstance(
        exc,
        SessionExpired
        | ServiceUnavailable
        | NotALeader
        | ForbiddenOnReadOnlyDatabase
        | DatabaseUnavailable,
    ):
        return True
    return isinstance(exc, Neo4jError) and (exc.code or "") in _REROUTED_CODES


def is_unavailable(exc: BaseException) -> bool:
    """Whether a driver error means "Neo4j cannot answer now" (retry later) rather than a fault
    of the statement or its data (a bug, or a batch to refuse). One rule for reads and writes.

    Unavailable: no connection or a broken one, a cluster switching leaders (`is_rerouted`),
    transient server states, a database still starting or missing, credentials refused, a
    transaction stopped by its timeout.
    Not: syntax, type, constraint and other client errors of the statement; DatabaseError (an
    error executing this statement, which a retry would repeat)."""
    if is_rerouted(exc) or isinstance(
        exc, ServiceUnavailable | SessionExpired | SessionError | BrokenRecordError | TransientError
    ):
        return True
    if isinstance(exc, Neo4jError):
        code = exc.code or ""
        return isinstance(exc, AuthError) or code.startswith(_UNAVAILABLE_CODES) or _timed_out(exc)
    return False

"""A walk's caller saying what it reads next: impact reads the nodes its walk reached, their
owners and those's aliases (`GraphStore.nodes_and_owners`) right after the walk. A store whose
walk is a statement (Neo4j) may read them in the walk's own round trip and hand them over with
the walk's path edges (`Walked.edges`, given back as `nodes_and_owners(path_edges=...)`); any
other store ignores the request (the embedded store: its reads are in-process).

A request, not a channel: what was read travels only through that explicit hand-over, checked
(graph/neo4j_walk_ahead.py `OwnersAhead.answer`: the same `as_of`, every id met by the walk),
and a read not answered from it is made as before. The request is scoped to the calls made
inside `owners_next()` on this thread (a context variable: a request's views of the store, such
as its budget, pass it through untouched, and charge their reads as before)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_OWNERS_NEXT: ContextVar[bool] = ContextVar("lkg_owners_next", default=False)
# Off: no walk reads ahead, whatever is asked (the benchmarks' "before", the tests' reference).
READ_AHEAD = True


@contextmanager
def owners_next() -> Iterator[None]:
    """The walks made inside are followed by `nodes_and_owners` of what they reach."""
    token = _OWNERS_NEXT.set(True)
    try:
        yield
    finally:
        _OWNERS_NEXT.reset(token)


def owners_wanted() -> bool:
    """Whether the walk now being made is followed by `nodes_and_owners` (`owners_next`)."""
    return READ_AHEAD and _OWNERS_NEXT.get()

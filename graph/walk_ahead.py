"""A walk's caller saying what it reads next: impact reads the nodes its walk reached, their
owners and those's aliases (`GraphStore.nodes_and_owners`) right after the walk, and says so
with the walk's `owners_next` parameter (`GraphStore.walk`, queries/traversal.py `walk_visits`;
a request's budget view forwards it: api/graphql/traversal_budget.py). A store whose walk is a
statement (Neo4j) may read them in the walk's own round trip and hand them over with the walk's
path edges (`Walked.edges`, given back as `nodes_and_owners(path_edges=...)`); any other store
ignores the request (the embedded store: its reads are in-process).

A request, not a channel: what was read travels only through that explicit hand-over, checked
(graph/neo4j_walk_ahead.py `OwnersAhead.answer`: the same `as_of`, every id met by the walk),
and a read not answered from it is made as before."""

from __future__ import annotations

# Off: no walk reads ahead, whatever is asked (the benchmarks' "before", the tests' reference).
READ_AHEAD = True


def reads_owners(owners_next: bool) -> bool:
    """Whether a walk asked with `owners_next` reads the owners ahead (`READ_AHEAD`)."""
    return READ_AHEAD and owners_next

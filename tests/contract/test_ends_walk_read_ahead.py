"""graph/ends_walk.py `walk_ends` (Neo4j's walk on ids, here fed without a server) is the
embedded store's walk: given every edge of the graph read ahead as ids and tested values, on
generated graphs, from many starts (repeats too), under generated policies of several states
and the questions' ones, it makes the same visits in the same order (node, state, level, for
both passes), the same truncation and the same count of edges read. Its level 1 is walked
straight from the starts (no frontier pairs, no states per node): this is the fast loop's check
of that level, where the Neo4j tests need a server."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import ends_walk
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.ends_walk import EndsAhead, walk_ends, walkable
from lineage_kg.graph.mutations import Direction
from lineage_kg.queries.traversal import _walk_steps
from tests.contract.test_closeness_property import (
    NODES,
    POLICIES,
    WALKED,
    Edge,
    graphs,
    load,
    policies,
)


def _read_ahead(store: EmbeddedStore, tested: tuple[str, ...]) -> EndsAhead:
    """Every node's edges of every walked kind, each way, as the walk statement sends them."""
    ids = [n.id for n in NODES]
    rows: list[Any] = []
    for way, out in ((Direction.OUT, True), (Direction.IN, False)):
        for edge in store.neighbors(ids, way, WALKED):
            rows.append((*edge.key.id, out, [edge.props.get(t) for t in tested]))
    return EndsAhead(ids, rows)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)  # fmt: skip
@given(
    graphs(),
    st.lists(st.sampled_from(NODES), min_size=0, max_size=8),
    st.one_of(policies(), st.sampled_from(sorted(POLICIES)).map(POLICIES.__getitem__)),
    st.integers(0, 6),
    st.sampled_from([1, 2, 5, 10_000]),
)
def test_walk_ends_makes_the_embedded_walks_visits(
    edges: list[Edge], starts: list[Any], policy: Any, depth: int, cap: int
) -> None:
    steps, state, covers = policy
    walk_steps = _walk_steps(steps)
    if not walkable(walk_steps):
        return  # a test in code needs the edge: Neo4j leaves it to the level loop
    store = EmbeddedStore()
    load(store, edges, starts)  # every start in the store (the embedded walk drops a missing one)
    tested = ends_walk.tested_props(walk_steps)  # (imported, pytest would take it for a test)
    ids = list(dict.fromkeys(s.id for s in starts))
    args: dict[str, Any] = {
        "start_state": state, "covers": covers or {}, "max_depth": depth, "max_nodes": cap,
    }  # fmt: skip
    expected = store.walk(ids, walk_steps, as_of=None, edges=False, **args)
    got = walk_ends(_read_ahead(store, tested), ids, walk_steps, tested=tested, **args)
    for mine, theirs in ((got.exact, expected.exact), (got.every, expected.every)):
        assert (mine.node, mine.state, mine.level) == (theirs.node, theirs.state, theirs.level)
    assert got.truncated == expected.truncated
    assert got.visited_edges == expected.visited_edges

"""The store's own walk (`GraphStore.walk`: the embedded store walks its integer adjacency) is
`traverse`'s level loop over the store's reads: on generated graphs of every lineage kind, from
many starts, under the questions' step policies and any generated one (states, covers, tests in
code and as `EdgeTest`s), now and at an earlier time, the same nodes, distances, certainty,
explaining paths, `led_on`, truncation and edge count, in the same order. The level loop runs
through a view of the store whose `walk` answers None."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.mutations import Direction, EdgeRetire, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.closeness import closeness
from lineage_kg.queries.traversal import Traversal, traverse
from tests.contract.test_closeness_property import NODES, POLICIES, Edge, graphs, load, policies

LATER = Provenance("test", "e2", "2026-02-01T00:00:00Z")


class LevelByLevel:
    """The store without its own walk: `traverse` reads it level by level (its `walk` answers
    None, as a store that cannot walk by itself does, also under the request budget's view)."""

    def __init__(self, inner: GraphStore) -> None:
        self._inner = inner

    def walk(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def everything(walk: Traversal) -> tuple[Any, ...]:
    reached = [
        (r.node_id, r.distance, r.certainty, [(h.edge, h.direction) for h in r.path])
        for r in walk.reached.values()
    ]
    return walk.start, reached, walk.truncated, walk.visited_edges, sorted(walk.led_on)


def retire_some(store: GraphStore, edges: list[Edge], picks: list[int]) -> None:
    """Retire the edges leaving some of the nodes, a month later: `as_of` before sees them."""
    retires = [
        EdgeRetire(edges[i][0], edges[i][1], Direction.OUT, frozenset(), LATER)
        for i in picks
        if i < len(edges)
    ]
    if retires:
        store.apply(retires)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    graphs(),
    st.lists(st.sampled_from(NODES), min_size=1, max_size=8),
    st.one_of(st.sampled_from(sorted(POLICIES)), policies()),
    st.tuples(st.integers(1, 6), st.sampled_from([1, 2, 5, 10_000])),  # depth, max_nodes
    st.tuples(  # edges retired later, and the time asked
        st.lists(st.integers(0, 39), max_size=4), st.sampled_from([None, "2026-01-15T00:00:00Z"])
    ),
)
def test_the_store_walk_is_the_level_loop(
    edges: list[Edge],
    starts: list[NodeKey],
    policy: Any,
    bounds: tuple[int, int],
    history: tuple[list[int], str | None],
) -> None:
    retired, as_of = history
    store = EmbeddedStore()
    load(store, edges)
    retire_some(store, edges, retired)
    steps, state, covers = POLICIES[policy] if isinstance(policy, str) else policy
    ids = [s.id for s in starts]
    depth, cap = bounds
    args: dict[str, Any] = {
        "max_depth": depth, "max_nodes": cap, "start_state": state, "covers": covers,
        "as_of": as_of,
    }  # fmt: skip
    view: Any = LevelByLevel(store)
    assert store.walk is not None
    assert everything(traverse(store, ids, steps, **args)) == everything(
        traverse(view, ids, steps, **args)
    )
    close, loop = closeness(store, ids, steps, **args), closeness(view, ids, steps, **args)
    assert everything(close)[:4] == everything(loop)[:4]

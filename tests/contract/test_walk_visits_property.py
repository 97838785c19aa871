"""`walk_visits` (a walk's answer with its paths made only when asked: impact's) is `traverse`'s
answer, whichever way it was walked: on generated graphs, under the questions' step policies
and any generated one, each row's node, distance, certainty and explaining path are those of
`traverse`'s `reached`, in its order (`paths` makes the same, many at once, in any order);
`passes` tells whether that path walks a kind of edge; `inside` gives the nodes reached by a
hop of the paths asked that is not their last; and `training_rows` keeps the rows
`training_data` keeps. Checked for the store's own walk (read from its parent pointers) and
for the level loop (a view of the store without `walk`)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey
from lineage_kg.queries.impact import training_data, training_rows
from lineage_kg.queries.traversal import Traversal, Visits, traverse, walk_visits
from tests.contract.test_closeness_property import NODES, POLICIES, Edge, graphs, load, policies
from tests.contract.test_store_walk_property import LevelByLevel


def rows_of(visits: Visits) -> list[tuple[Any, ...]]:
    return [
        (node, distance, certainty, [(h.edge, h.direction) for h in visits.path(ref)])
        for node, distance, certainty, ref in zip(
            visits.node, visits.distance, visits.certainty, visits.ref, strict=True
        )
    ]


def reached_of(walk: Traversal) -> list[tuple[Any, ...]]:
    return [
        (r.node_id, r.distance, r.certainty, [(h.edge, h.direction) for h in r.path])
        for r in walk.reached.values()
    ]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    graphs(),
    st.lists(st.sampled_from(NODES), min_size=1, max_size=6),
    st.one_of(st.sampled_from(sorted(POLICIES)), policies()),
    st.tuples(st.integers(1, 6), st.sampled_from([1, 3, 10_000])),  # depth, max_nodes
    st.data(),
)
def test_visits_are_traverses_answer(
    edges: list[Edge],
    starts: list[NodeKey],
    policy: Any,
    bounds: tuple[int, int],
    data: st.DataObject,
) -> None:
    store = EmbeddedStore()
    load(store, edges)
    steps, state, covers = POLICIES[policy] if isinstance(policy, str) else policy
    depth, max_nodes = bounds
    ids = [s.id for s in starts]
    ask = {
        "max_depth": depth,
        "max_nodes": max_nodes,
        "start_state": state,
        "covers": covers,
    }
    walk = traverse(LevelByLevel(store), ids, steps, **ask)  # type: ignore[arg-type]
    expected = reached_of(walk)
    for where in (store, LevelByLevel(store)):
        # many at once, in any order and more than once (made from each other's paths)
        visits = walk_visits(where, ids, steps, **ask)  # type: ignore[arg-type]
        order = data.draw(st.permutations(range(len(expected))), label="order")
        refs = [visits.ref[i] for i in [*order, *order]]
        assert [[(h.edge, h.direction) for h in p] for p in visits.paths(refs)] == [
            expected[i][3] for i in [*order, *order]
        ]
        visits = walk_visits(where, ids, steps, **ask)  # type: ignore[arg-type]
        assert rows_of(visits) == expected
        assert (visits.truncated, visits.visited_edges) == (walk.truncated, walk.visited_edges)
        assert visits.led_on == walk.led_on
        paths = [r.path for r in walk.reached.values()]
        for kind in (EdgeKind.HAS_VERSION, EdgeKind.FEEDS, EdgeKind.HAS_COLUMN):
            assert [visits.passes(ref, kind) for ref in visits.ref] == [
                any(h.edge.key.kind is kind for h in p) for p in paths
            ]
        picked = data.draw(st.sets(st.integers(0, max(0, len(paths) - 1))), label="rows")
        picked = {i for i in picked if i < len(paths)}
        assert visits.inside(visits.ref[i] for i in sorted(picked)) == {
            h.to for i in picked for h in paths[i][:-1]
        }
        kept = training_data(walk, depth)
        assert [visits.node[i] for i in training_rows(visits, depth)] == [r.node_id for r in kept]

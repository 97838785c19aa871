"""The store's own walk without paths (`GraphStore.walk(edges=False)`: on Neo4j the read-ahead
statement answering edges as ids and tested values, walked by graph/ends_walk.py) is `closeness`
over the store's reads level by level: on generated graphs of every lineage kind, from many
starts, under the questions' policies whose tests are `EdgeTest`s, now and at an earlier time,
the same nodes, distances, certainty and truncation (and `traverse`'s edge count on the same
store). And the store does walk them itself (a policy with a test in code Neo4j leaves to the
level loop)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.store import EdgeTest, GraphStore
from lineage_kg.queries.closeness import closeness
from lineage_kg.queries.impact import DIRECT_STEPS
from lineage_kg.queries.impact_steps import WHOLE
from lineage_kg.queries.traversal import _walk_steps, traverse
from tests.contract.test_closeness_property import (
    NODES,
    POLICIES,
    Edge,
    graphs,
    load,
    shape,
)
from tests.contract.test_store_walk_property import retire_some


class LevelByLevel:
    """The store without its own walk or read-ahead: one read per level."""

    def __init__(self, inner: GraphStore) -> None:
        self._inner = inner

    def walk(self, *args: Any, **kwargs: Any) -> None:
        return None

    def reach(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _tests_are_edge_tests(policy: Any) -> bool:
    steps = POLICIES[policy][0] if isinstance(policy, str) else policy[0]
    return all(s.accepts is None or isinstance(s.accepts, EdgeTest) for s in steps)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    graphs(),
    st.lists(st.sampled_from(NODES), min_size=1, max_size=8),
    # the questions' policies: a generated one is a new plan on Neo4j for each example (seconds
    # on a loaded machine); test_closeness_property.py walks generated ones on both stores
    st.sampled_from(sorted(POLICIES)).filter(_tests_are_edge_tests),
    st.tuples(  # depth, max_nodes, edges retired later, the time asked
        st.integers(1, 6),
        st.sampled_from([1, 2, 5, 10_000]),
        st.lists(st.integers(0, 39), max_size=4),
        st.sampled_from([None, "2026-01-15T00:00:00Z"]),
    ),
)
def test_the_walk_by_ids_is_the_level_loop(
    store: GraphStore,
    edges: list[Edge],
    starts: list[NodeKey],
    policy: Any,
    asked: tuple[int, int, list[int], str | None],
) -> None:
    depth, cap, retired, as_of = asked
    load(store, edges)
    retire_some(store, edges, retired)
    steps, state, covers = POLICIES[policy] if isinstance(policy, str) else policy
    ids = [s.id for s in starts]
    args: dict[str, Any] = {
        "max_depth": depth, "max_nodes": cap, "start_state": state, "covers": covers,
        "as_of": as_of,
    }  # fmt: skip
    walked = store.walk(
        list(dict.fromkeys(ids)), _walk_steps(steps), start_state=state, covers=covers or {},
        max_depth=depth, as_of=as_of, max_nodes=cap, edges=False,
    )  # fmt: skip
    # a read-ahead past max_nodes (a small cap here) is given up: the level loop walks then
    assert walked is not None or cap < 10_000, "the store left a walk to the level loop"
    level_loop = closeness(LevelByLevel(store), ids, steps, **args)  # type: ignore[arg-type]
    by_store = closeness(store, ids, steps, **args)
    # the edges counted differ by design: the level loop reads every edge of the kinds asked,
    # Neo4j's read-ahead only those some move follows; `traverse` over the same store counts
    # as its own walk does
    assert shape(by_store)[:3] == shape(level_loop)[:3]
    assert shape(by_store) == shape(traverse(store, ids, steps, **args))


def test_a_test_in_code_is_left_to_the_level_loop_on_neo4j(store: GraphStore) -> None:
    """Indirect FEEDS are told by code (`DIRECT_STEPS`): Neo4j's walk by ids cannot run it and
    answers None; the embedded store runs any test."""
    walked = store.walk(
        ["x"], _walk_steps(DIRECT_STEPS), start_state=WHOLE, covers={}, max_depth=2,
        as_of=None, max_nodes=10, edges=False,
    )  # fmt: skip
    assert (walked is None) is (store.name == "neo4j")

"""The store's own walk without paths (`GraphStore.walk(edges=False)`: on Neo4j the read-ahead
statement answering edges as ids and tested values, walked by graph/ends_walk.py) is `closeness`
over the store's reads level by level: on generated graphs of every lineage kind, from many
starts, under the questions' policies whose tests are `EdgeTest`s, now and at an earlier time,
the same nodes, distances, certainty and truncation (and `traverse`'s edge count on the same
store). And the store does walk them itself (a policy with a test in code Neo4j leaves to the
level loop)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.model import KEY_FIELDS, Certainty, NodeKey
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.neo4j_walk_statements import _key_prefix, sets_chunk, sets_statement
from lineage_kg.graph.store import EdgeTest, GraphStore, WalkStep
from lineage_kg.queries.assets import UPSTREAM_STEPS
from lineage_kg.queries.closeness import closeness
from lineage_kg.queries.impact import DIRECT_STEPS
from lineage_kg.queries.impact_steps import WHOLE
from lineage_kg.queries.traversal import Step, _walk_steps, traverse
from tests.contract.test_closeness_property import (
    NODES,
    POLICIES,
    POOL,
    Edge,
    graphs,
    load,
    shape,
)
from tests.contract.test_store_walk_property import retire_some
from tests.neo4j_plans import assert_seeks_without_scans


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


def test_a_one_state_walk_is_walked_as_sets(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upstream's policy keeps one state: Neo4j walks it as sets of nodes per level (the walk on
    edge ids is not asked), and answers as `traverse` does. From column c1: its dataset and
    the column feeding it at 1; then the job producing the dataset and the other column's
    dataset at 2, which the job's input also is, at 3 (the nearer one counts)."""
    d1, d2 = POOL[K.DATASET][:2]
    c1, c2 = POOL[K.COLUMN][:2]
    job = POOL[K.JOB][0]
    load(
        store,
        [
            (d1, E.HAS_COLUMN, c1, {}),
            (d2, E.HAS_COLUMN, c2, {}),
            (c2, E.FEEDS, c1, {}),
            (job, E.PRODUCES, d1, {}),
            (d2, E.INPUT_TO, job, {}),
        ],
    )
    if store.name == "neo4j":
        monkeypatch.setattr(store, "_walk_ids", _refused)
    args: dict[str, Any] = {"max_depth": 4, "max_nodes": 100}
    close = closeness(store, [c1.id], UPSTREAM_STEPS, **args)
    assert shape(close) == shape(traverse(store, [c1.id], UPSTREAM_STEPS, **args))
    assert {r.node_id: r.distance for r in close.reached.values()} == {
        d1.id: 1,
        c2.id: 1,
        job.id: 2,
        d2.id: 2,
    }
    assert close.reached[c2.id].certainty is Certainty.EXACT


def _refused(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("a one-state walk went to the walk on edge ids")


def test_past_the_cap_the_sets_give_way_to_the_walk_on_edges(
    store: GraphStore,
) -> None:
    """Where `traverse` stops part way (which nodes it keeps depends on its order), the walk
    as sets gives up and the walk on edges answers: the same nodes as `traverse`."""
    d = POOL[K.DATASET][0]
    columns = POOL[K.COLUMN][:4]
    load(store, [(d, E.HAS_COLUMN, c, {}) for c in columns])
    steps = [Step(E.HAS_COLUMN, Direction.OUT, Certainty.EXACT)]
    args: dict[str, Any] = {"max_depth": 2, "max_nodes": 2}
    close = closeness(store, [d.id], steps, **args)
    walked = traverse(store, [d.id], steps, **args)
    assert close.truncated and shape(close) == shape(walked)
    assert list(close.reached) == list(walked.reached)


@pytest.mark.neo4j
def test_the_sets_statement_seeks_its_starts_and_scans_nothing(neo4j_store: Neo4jStore) -> None:
    """The one-state walk's statement starts from the index and expands: no scan of a label or
    a relationship type, whatever the estate's size."""
    load(neo4j_store, [(POOL[K.DATASET][0], E.HAS_COLUMN, POOL[K.COLUMN][0], {})])
    start = POOL[K.COLUMN][0].id
    steps = list(_walk_steps(UPSTREAM_STEPS))
    query, params = sets_statement(steps, as_of=None, cap=100)
    chunk = sets_chunk([], [], 1, [start])  # the start as a key, its marks made on the server
    assert_seeks_without_scans(neo4j_store, query, {**params, "chunk": chunk, "levels": 5})


def test_a_self_loop_is_read_both_ways(store: GraphStore) -> None:
    """Neo4j's walk reads a node's edges both ways in one undirected expansion, which matches a
    self-loop once: it must still be read out and in. From c1 in state a, FEEDS out leads to b
    and FEEDS in to c: the loop reaches c1 itself in b and in c, and c2 in b; three edges read."""
    c1, c2 = POOL[K.COLUMN][:2]
    load(store, [(c1, E.FEEDS, c1, {}), (c1, E.FEEDS, c2, {})])
    only_a = frozenset({"a"})
    steps = [
        WalkStep(E.FEEDS, Direction.OUT, True, then="b", only_from=only_a),
        WalkStep(E.FEEDS, Direction.IN, True, then="c", only_from=only_a),
    ]
    walked = store.walk(
        [c1.id], steps, start_state="a", covers={}, max_depth=3, as_of=None, max_nodes=100,
        edges=False,
    )  # fmt: skip
    assert walked is not None
    visits = sorted(zip(walked.every.node, walked.every.state, walked.every.level, strict=True))
    assert visits == sorted([(c1.id, "a", 0), (c1.id, "b", 1), (c1.id, "c", 1), (c2.id, "b", 1)])
    assert walked.visited_edges == 3


def test_a_kind_is_told_by_the_start_of_its_nodes_ids() -> None:
    """Neo4j's walk statement tests an end's kind on its key (`_key_prefix`), not its labels:
    each id of a kind starts with that kind's prefix and with no other's (Dataset against
    DatasetVersion, Model against ModelVersion)."""
    for kind in K:
        key = NodeKey(kind, tuple("x" for _ in KEY_FIELDS[kind]))
        assert {k for k in K if key.id.startswith(_key_prefix(k))} == {kind}

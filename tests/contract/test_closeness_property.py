"""`closeness` (queries/closeness.py) is `traverse` without the paths: on generated graphs of
every lineage kind, from many starts at once (as the accountability map walks), under the three
step policies the questions use, both stores give the nodes, distances, certainty, truncation
and edge count `traverse` gives (not its order of the nodes: Neo4j walks a one-state policy as
sets of nodes per level, graph/ends_walk.py `one_state`). And a multi-start walk is the union
of single-start ones, each node at its closest: checked against a networkx BFS that knows
nothing of either."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.model import COLUMN_LINEAGE, KEY_FIELDS, Certainty, EdgeKind, NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import Direction, MutationBatch, Provenance
from lineage_kg.graph.records import StoredEdge
from lineage_kg.graph.store import EdgeTest, GraphStore
from lineage_kg.queries.assets import UPSTREAM_STEPS
from lineage_kg.queries.closeness import closeness
from lineage_kg.queries.impact import DIRECT_STEPS, IMPACT_STEPS
from lineage_kg.queries.impact_steps import COVERS, WHOLE
from lineage_kg.queries.traversal import PLAIN, Step, Traversal, traverse
from tests.contract.test_traversal import dags, reference
from tests.examples import store_examples

P = Provenance("test", "e1", "2026-01-01T00:00:00Z")
E = EdgeKind


# a few nodes of every kind a walk crosses: few enough that edges meet, cycle and fan in
def named(kind: K, i: int) -> NodeKey:
    return NodeKey(kind, tuple(f"{kind.value[:2].lower()}{i}" for _ in KEY_FIELDS[kind]))


POOL: dict[K, list[NodeKey]] = {
    kind: [named(kind, i) for i in range(n)]
    for kind, n in {
        K.DATASET: 3, K.COLUMN: 4, K.DATASET_VERSION: 3, K.JOB: 2, K.RUN: 3, K.FEATURE_VIEW: 1,
        K.FEATURE: 2, K.FEATURE_SERVICE: 1, K.MODEL: 1, K.MODEL_VERSION: 2, K.DECISION_POINT: 1,
        K.DECISION: 1, K.KPI: 2, K.EXPOSURE: 1,
    }.items()
}  # fmt: skip
NODES = [key for keys in POOL.values() for key in keys]
# every kind some policy walks: the flow kinds and the parts' links
WALKED = [k for k in EdgeKind if k.is_flow or k in (E.HAS_COLUMN, E.HAS_VERSION, E.RUN_OF)]
TYPES = [[], ["DIRECT"], ["INDIRECT"], ["DIRECT", "INDIRECT"]]

Edge = tuple[NodeKey, EdgeKind, NodeKey, dict[str, Any]]
POLICIES = {
    "impact": (IMPACT_STEPS, WHOLE, COVERS),
    "impact-direct": (DIRECT_STEPS, WHOLE, COVERS),  # steps with code tests (indirect FEEDS)
    "upstream": (UPSTREAM_STEPS, PLAIN, None),
}


@st.composite
def graphs(draw: st.DrawFn) -> list[Edge]:
    edges: list[Edge] = []
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(WALKED))
        src = draw(st.sampled_from([n for s in kind.spec.sources for n in POOL.get(s, [])]))
        dst = draw(st.sampled_from([n for t in kind.spec.targets for n in POOL.get(t, [])]))
        props: dict[str, Any] = {}
        if kind is E.PRODUCES and draw(st.booleans()):
            props[COLUMN_LINEAGE] = True  # authoritative column lineage
        if kind is E.FEEDS and (types := draw(st.sampled_from(TYPES))):
            props["transformation_types"] = types
        edges.append((src, kind, dst, props))
    return edges


STATES = ("s0", "s1", "s2")


def _odd_column(edge: StoredEdge) -> bool:
    """A test in code (not an `EdgeTest`): Neo4j's read-ahead cannot run it, the walk does."""
    return edge.key.src.kind is not K.COLUMN or edge.key.src.parts[-1].endswith(("1", "3"))


@st.composite
def policies(draw: st.DrawFn) -> tuple[list[Step], str, dict[str, frozenset[str]]]:
    """Any step table over three states: steps that keep their state or name one, only from
    some states, at any certainty, with tests of either kind; any covers between the states."""
    steps = []
    for _ in range(draw(st.integers(1, 10))):
        test = draw(
            st.sampled_from(
                [None, _odd_column, EdgeTest(src=frozenset({K.COLUMN, K.DATASET})),
                 EdgeTest(unset=COLUMN_LINEAGE)]
            )
        )  # fmt: skip
        only = draw(st.one_of(st.none(), st.frozensets(st.sampled_from(STATES), min_size=1)))
        steps.append(
            Step(
                draw(st.sampled_from(WALKED)),
                draw(st.sampled_from(list(Direction))),
                draw(st.sampled_from([Certainty.EXACT, Certainty.POSSIBLE, None])),
                then=draw(st.sampled_from([None, *STATES])),
                only_from=only,
                accepts=test,
            )
        )
    covers = {
        state: draw(st.frozensets(st.sampled_from([s for s in STATES if s != state])))
        for state in STATES
    }
    return steps, draw(st.sampled_from(STATES)), covers


def load(store: GraphStore, edges: Sequence[Edge], nodes: Sequence[NodeKey] = ()) -> None:
    store.clear()
    batch = MutationBatch()
    for src, kind, dst, props in edges:
        batch.edge(src, kind, dst, P, **props)
    for node in nodes:
        batch.node(node, P)
    store.apply(batch)


def shape(walk: Traversal) -> tuple[Any, ...]:
    """What `closeness` answers as `traverse` does: the nodes (in no particular order), their
    distances and certainty, truncation, the edges read."""
    reached = sorted((r.node_id, r.distance, r.certainty) for r in walk.reached.values())
    return walk.start, reached, walk.truncated, walk.visited_edges


def test_closeness_is_traverse_without_paths(store: GraphStore) -> None:
    @store_examples(store, 60)
    @given(
        graphs(),
        st.lists(st.sampled_from(NODES), min_size=1, max_size=8),  # repeats too
        st.sampled_from(sorted(POLICIES)),
        st.fixed_dictionaries(
            {
                "max_depth": st.integers(1, 6),
                "max_nodes": st.sampled_from([1, 2, 3, 5, 10_000]),  # small: stopped part way
            }
        ),
    )
    def check(edges: list[Edge], starts: list[NodeKey], policy: str, bounds: Any) -> None:
        load(store, edges)
        steps, state, covers = POLICIES[policy]
        ids = [s.id for s in starts]
        args: dict[str, Any] = {**bounds, "start_state": state, "covers": covers}
        walked = traverse(store, ids, steps, **args)
        close = closeness(store, ids, steps, **args)
        assert shape(close) == shape(walked)
        assert all(r.path == () for r in close.reached.values())

    check()


def test_closeness_is_traverse_for_any_policy(store: GraphStore) -> None:
    @store_examples(store, 60)
    @given(
        graphs(),
        st.lists(st.sampled_from(NODES), min_size=1, max_size=8),
        policies(),
        st.tuples(st.integers(1, 6), st.sampled_from([2, 5, 10_000])),  # depth, max_nodes
    )
    def check(edges: list[Edge], starts: list[NodeKey], policy: Any, bounds: Any) -> None:
        load(store, edges)
        steps, state, covers = policy
        ids = [s.id for s in starts]
        depth, cap = bounds
        args: dict[str, Any] = {
            "max_depth": depth, "max_nodes": cap, "start_state": state, "covers": covers
        }  # fmt: skip
        walked = traverse(store, ids, steps, **args)
        assert shape(closeness(store, ids, steps, **args)) == shape(walked)

    check()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(dags(), st.lists(st.integers(0, 11), min_size=1, max_size=5), st.integers(1, 6))
def test_many_starts_reach_what_each_reaches_at_its_closest(
    store: GraphStore, dag: Any, picks: list[int], depth: int
) -> None:
    """The reference BFS (tests/contract/test_traversal.py, networkx over impact's states) from
    each start alone; the walk from all of them: every node at its least distance over the
    starts, exact if some start reaches it by exact steps (then at its least exact distance)."""
    edges, _ = dag
    columns = sorted({e[2] for e in edges if e[1] is E.HAS_COLUMN}, key=lambda k: k.id)
    starts = [columns[i] for i in picks]
    load(store, edges, starts)
    walk = closeness(
        store, [s.id for s in starts], IMPACT_STEPS, max_depth=depth, max_nodes=10_000,
        start_state=WHOLE, covers=COVERS,
    )  # fmt: skip
    every: dict[str, int] = {}
    exact: dict[str, int] = {}
    for start in starts:
        one_every, one_exact = reference(edges, start, depth)
        for found, into in ((one_every, every), (one_exact, exact)):
            for node, d in found.items():
                into[node] = min(d, into.get(node, d))
    ids = {s.id for s in starts}
    expected = {
        node: (exact[node], Certainty.EXACT) if node in exact else (d, Certainty.POSSIBLE)
        for node, d in every.items()
        if node not in ids
    }
    got = {r.node_id: (r.distance, r.certainty) for r in walk.reached.values()}
    assert got == expected
    assert walk.truncated is False


def test_bad_bounds_refused(store: GraphStore) -> None:
    with pytest.raises(ValueError, match="depth must be between 1 and 25"):
        closeness(store, ["x"], IMPACT_STEPS, max_depth=0)
    with pytest.raises(ValueError, match="max_nodes"):
        closeness(store, ["x"], IMPACT_STEPS, max_nodes=0)


def test_a_state_covered_first_is_skipped_as_traverse_skips_it(store: GraphStore) -> None:
    """A version reached whole (from one start dataset) is not walked again entered from a
    column (of another dataset holding it): its readers stay possible, as `traverse` has them.
    Walking the covered state too would make the run exact at 3 instead of possible at 2."""
    d1, d2 = POOL[K.DATASET][:2]
    c2 = POOL[K.COLUMN][0]
    v, r = POOL[K.DATASET_VERSION][0], POOL[K.RUN][0]
    edges: list[Edge] = [
        (d1, E.HAS_VERSION, v, {}),
        (d2, E.HAS_VERSION, v, {}),
        (d2, E.HAS_COLUMN, c2, {}),
        (v, E.READ_BY, r, {}),
    ]
    load(store, edges)
    args: dict[str, Any] = {"max_depth": 5, "start_state": WHOLE, "covers": COVERS}
    close = closeness(store, [d1.id, c2.id], IMPACT_STEPS, **args)
    assert shape(close) == shape(traverse(store, [d1.id, c2.id], IMPACT_STEPS, **args))
    assert (close.reached[r.id].distance, close.reached[r.id].certainty) == (
        2,
        Certainty.POSSIBLE,
    )


def test_a_state_kept_along_an_edge_reaches_a_known_node_anew(store: GraphStore) -> None:
    """Worked out by hand: column a (the start, in s0) feeds b into s1; both reach their
    dataset D keeping their state — a in s0 at 1, then b in s1 at 2, which s0 does not cover —
    and only from s1 does D lead on, to job J at 3 (possible: INPUT_TO)."""
    d, job = POOL[K.DATASET][0], POOL[K.JOB][0]
    a, b = POOL[K.COLUMN][:2]
    load(
        store,
        [
            (d, E.HAS_COLUMN, a, {}),
            (d, E.HAS_COLUMN, b, {}),
            (a, E.FEEDS, b, {}),
            (d, E.INPUT_TO, job, {}),
        ],
    )
    s1 = frozenset({"s1"})
    steps = [
        Step(E.FEEDS, Direction.OUT, Certainty.EXACT, then="s1", only_from=frozenset({"s0"})),
        Step(E.FEEDS, Direction.OUT, Certainty.EXACT, only_from=s1),
        Step(E.HAS_COLUMN, Direction.IN, None),
        Step(E.INPUT_TO, Direction.OUT, Certainty.POSSIBLE, only_from=s1),
    ]
    args: dict[str, Any] = {"max_depth": 5, "start_state": "s0"}
    close = closeness(store, [a.id], steps, **args)
    assert shape(close) == shape(traverse(store, [a.id], steps, **args))
    assert {r.node_id: (r.distance, r.certainty) for r in close.reached.values()} == {
        b.id: (1, Certainty.EXACT),
        d.id: (1, Certainty.EXACT),
        job.id: (3, Certainty.POSSIBLE),
    }

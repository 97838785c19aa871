"""The embedded store's walk with paths at the present time (`SlotWalk._walk_paths`: impact's and
the decision trace's hot loop) is `traverse`'s level loop, also where its fast path hands over:
an origin holding several visits of one pass at one level (states that do not cover each other,
reached at the same level) is followed by the general loop, the others by one lookup per edge.
On dense graphs over a few columns and datasets, under generated policies whose steps name
states without covers (so that a node is reached in several at once), from several starts, with
small caps (a stop inside either loop): the same nodes, distances, certainty, paths, `led_on`,
truncation and edge count, in the same order. One hand-made graph shows the hand-over happens.
And the hops it keeps between walks (`SlotGraph.hops`) follow every commit: edges added, retired,
a node re-homed."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import Certainty, EdgeKind
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import (
    DatasetLink,
    Direction,
    EdgeRetire,
    MutationBatch,
    Provenance,
)
from lineage_kg.graph.store import EdgeTest
from lineage_kg.queries.traversal import Step, _walk_steps, traverse
from tests.contract.test_closeness_property import (
    NODES,
    POLICIES,
    POOL,
    WALKED,
    Edge,
    P,
    graphs,
    load,
)
from tests.contract.test_store_walk_property import LevelByLevel, everything

E = EdgeKind
STATES = ["a", "b", "c"]
FEW = [*POOL[K.COLUMN], *POOL[K.DATASET]]
WAYS = [
    (POOL[K.COLUMN], E.FEEDS, POOL[K.COLUMN]),
    (POOL[K.COLUMN], E.FEEDS, POOL[K.DATASET]),
    (POOL[K.DATASET], E.HAS_COLUMN, POOL[K.COLUMN]),
]


@st.composite
def dense(draw: st.DrawFn) -> list[Edge]:
    """Up to 30 edges among 7 nodes: fan-ins, cycles and loops everywhere."""
    edges: list[Edge] = []
    for _ in range(draw(st.integers(1, 30))):
        srcs, kind, dsts = draw(st.sampled_from(WAYS))
        edges.append((draw(st.sampled_from(srcs)), kind, draw(st.sampled_from(dsts)), {}))
    return edges


def _odd(edge: Any) -> bool:  # a test in code (the walk builds the edge for it)
    return edge.key.dst.parts[0][-1] in "13"


@st.composite
def split_policies(draw: st.DrawFn) -> tuple[list[Step], str, dict[str, frozenset[str]]]:
    """Steps that send a node into different states along the same edges, covers rarely."""
    steps = []
    for _ in range(draw(st.integers(2, 8))):
        steps.append(
            Step(
                draw(st.sampled_from([E.FEEDS, E.HAS_COLUMN])),
                draw(st.sampled_from(list(Direction))),
                draw(st.sampled_from([Certainty.EXACT, Certainty.POSSIBLE, None])),
                then=draw(st.sampled_from([None, *STATES])),
                only_from=draw(
                    st.one_of(st.none(), st.frozensets(st.sampled_from(STATES), min_size=1))
                ),
                accepts=draw(
                    st.sampled_from([None, None, _odd, EdgeTest(dst=frozenset({K.COLUMN}))])
                ),
            )
        )
    covers: dict[str, frozenset[str]] = {}
    if draw(st.booleans()):
        covers = {draw(st.sampled_from(STATES)): frozenset({draw(st.sampled_from(STATES))})}
    return steps, draw(st.sampled_from(STATES)), covers


def both(store: EmbeddedStore, ids: list[str], policy: Any, depth: int, cap: int) -> None:
    steps, state, covers = policy
    args: dict[str, Any] = {
        "max_depth": depth, "max_nodes": cap, "start_state": state, "covers": covers,
    }  # fmt: skip
    assert everything(traverse(store, ids, steps, **args)) == everything(
        traverse(LevelByLevel(store), ids, steps, **args)
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dense(),
    st.lists(st.sampled_from(FEW), min_size=1, max_size=4),
    split_policies(),
    st.integers(1, 6),
    st.sampled_from([1, 2, 3, 5, 10_000]),
)
def test_the_fast_walk_is_the_level_loop(
    edges: list[Edge], starts: list[Any], policy: Any, depth: int, cap: int
) -> None:
    store = EmbeddedStore()
    load(store, edges)
    both(store, [s.id for s in starts], policy, depth, cap)


def test_an_origin_in_two_states_is_handed_over() -> None:
    """c0 feeds c1 in two states at once (a and b, neither covering the other): at level 1 c1
    holds two visits of each pass, so the general loop follows it, on to c2 and d0 — and a cap
    that stops the walk there, inside that loop."""
    c0, c1, c2, c3 = POOL[K.COLUMN]
    d0 = POOL[K.DATASET][0]
    store = EmbeddedStore()
    load(store, [(c0, E.FEEDS, c1, {}), (c1, E.FEEDS, c2, {}), (c1, E.FEEDS, d0, {}),
                 (c2, E.FEEDS, c3, {})])  # fmt: skip
    steps = [
        Step(E.FEEDS, Direction.OUT, Certainty.EXACT, then="a", only_from=frozenset({"s"})),
        Step(E.FEEDS, Direction.OUT, Certainty.EXACT, then="b", only_from=frozenset({"s"})),
        Step(E.FEEDS, Direction.OUT, Certainty.POSSIBLE, only_from=frozenset({"a", "b"})),
    ]
    walked = store.walk(
        [c0.id],
        _walk_steps(steps),
        start_state="s",
        covers={},
        max_depth=4,
        as_of=None,
        max_nodes=100,
        edges=True,
    )
    assert walked is not None
    level_one = [
        (n, s) for n, s, lv in zip(walked.exact.node, walked.exact.state, walked.exact.level,
                                   strict=True) if lv == 1
    ]  # fmt: skip
    assert level_one == [(c1.id, "a"), (c1.id, "b")]
    for cap in (1, 2, 3, 100):
        both(store, [c0.id], (steps, "s", {}), 4, cap)


LATER = Provenance("test", "e2", "2026-02-01T00:00:00Z")


@st.composite
def changes(draw: st.DrawFn) -> list[Any]:
    """Edges added, edges retired (no longer live), or a dataset re-homed (its node removed)."""
    what = draw(st.sampled_from(["add", "retire", "link"]))
    if what == "add":
        batch = MutationBatch()
        for src, kind, dst, props in draw(graphs()):
            batch.edge(src, kind, dst, P, **props)
        return [batch]
    if what == "retire":
        anchor = draw(st.sampled_from(NODES))
        kinds = draw(st.lists(st.sampled_from(WALKED), min_size=1, max_size=3))
        return [EdgeRetire(anchor, kind, Direction.OUT, frozenset(), LATER) for kind in kinds]
    alias, canonical = draw(st.lists(st.sampled_from(POOL[K.DATASET]), min_size=2, max_size=2,
                                     unique=True))  # fmt: skip
    return [DatasetLink(alias, canonical, LATER)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    graphs(),
    st.lists(changes(), min_size=1, max_size=4),
    st.lists(st.sampled_from(NODES), min_size=1, max_size=4),
    st.one_of(st.sampled_from(sorted(POLICIES)), split_policies()),
)
def test_the_kept_hops_follow_each_commit(
    edges: list[Edge], later: list[list[Any]], starts: list[Any], policy: Any
) -> None:
    """The hops kept between walks (`SlotGraph.hops`) are never those of an older graph: after
    each change, walked again, the store's walk is the level loop's (which reads the store's
    edges afresh)."""
    store = EmbeddedStore()
    load(store, edges)
    policy = POLICIES[policy] if isinstance(policy, str) else policy
    ids = [s.id for s in starts]
    for change in later:
        both(store, ids, policy, 6, 10_000)  # keeps the hops of the nodes it crossed
        for mutation in change:
            store.apply(mutation if isinstance(mutation, MutationBatch) else [mutation])
    both(store, ids, policy, 6, 10_000)

"""`reach_pair` (queries/closeness.py): the accountability map's two walks as (distance, certainty)
per node, read from the store's visits directly (`walked_reach`, no `Reached` made per node).

Held to an independent reading of `closeness` of each policy alone (its starts at (0, exact),
every node it reached at its distance and certainty, its truncation) on both stores, generated
estates and policies, and through a request's budget (the API's view) at every budget: the same
answer or refusal, the same charge. `walked_reach` alone is held to `_answer`'s `Reached` on
generated visit lists, in BFS order or not (both of its ways)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lineage_kg.api.graphql.traversal_budget import RequestBudgetSpent, TraversalBudget, budgeted
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import Certainty, NodeKey
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.store import GraphStore, Walked, WalkPass
from lineage_kg.queries.closeness import Nearness, Policy, closeness, reach_pair
from lineage_kg.queries.traversal import START_REACH, Step, Traversal, _answer, walked_reach
from tests.contract.test_closeness_property import (
    NODES,
    POLICIES,
    POOL,
    Edge,
    graphs,
    load,
    policies,
)
from tests.contract.test_store_walk_property import LevelByLevel
from tests.examples import store_examples

PolicyArgs = tuple[Sequence[Step], str, Any]
ANY_POLICY = st.one_of(st.sampled_from([POLICIES[p] for p in sorted(POLICIES)]), policies())


def _expected(walk: Traversal) -> tuple[dict[str, tuple[int, Certainty]], bool]:
    """What a walk's `Nearness` must say, read from `closeness`'s own answer."""
    want = {s: (0, Certainty.EXACT) for s in walk.start}
    for node_id, reached in walk.reached.items():
        assert node_id not in want
        want[node_id] = (reached.distance, reached.certainty)
    return want, walk.truncated


def _got(near: Nearness) -> tuple[dict[str, tuple[int, Certainty]], bool]:
    # the map knows a start by identity (queries/accountability.py `_closest`)
    starts = {n for n, got in near.reach.items() if got is START_REACH}
    assert all(near.reach[n] == (0, Certainty.EXACT) for n in starts)
    return near.reach, near.truncated


def test_reach_pair_is_closeness_of_each_policy(store: GraphStore) -> None:
    @store_examples(store, 40)
    @given(
        graphs(),
        st.lists(st.sampled_from(NODES), min_size=1, max_size=8),  # repeats too
        ANY_POLICY,
        ANY_POLICY,
        st.tuples(st.integers(1, 6), st.sampled_from([1, 3, 10_000])),  # depth, max_nodes
    )
    def check(
        edges: list[Edge],
        starts: list[NodeKey],
        first: PolicyArgs,
        second: PolicyArgs,
        bounds: tuple[int, int],
    ) -> None:
        load(store, edges)
        ids = [s.id for s in starts]
        depth, cap = bounds
        policy = [Policy(steps, state, covers) for steps, state, covers in (first, second)]
        got = reach_pair(store, ids, *policy, max_depth=depth, max_nodes=cap)
        want = [
            closeness(store, ids, p.steps, max_depth=depth, max_nodes=cap,
                      start_state=p.start_state, covers=p.covers)
            for p in policy
        ]  # fmt: skip
        assert [_got(n) for n in got] == [_expected(w) for w in want]
        for near in got:  # every start, by identity
            assert all(near.reach[s] is START_REACH for s in ids)

    check()


def _outcome(run: Any, budget: TraversalBudget) -> tuple[Any, int]:
    try:
        answer: Any = run()
    except RequestBudgetSpent:
        answer = "refused"
    return answer, budget.spent


def test_through_a_requests_budget_the_charges_are_the_two_walks(store: GraphStore) -> None:
    @store_examples(store, 20)
    @given(
        graphs(),
        st.lists(st.sampled_from(NODES), min_size=1, max_size=6),
        ANY_POLICY,
        ANY_POLICY,
        # depth, max_nodes, and whether the store is seen without a walk of its own
        st.tuples(st.integers(1, 5), st.sampled_from([2, 10_000]), st.booleans()),
    )
    def check(
        edges: list[Edge],
        starts: list[NodeKey],
        first: PolicyArgs,
        second: PolicyArgs,
        bounds: tuple[int, int, bool],
    ) -> None:
        load(store, edges)
        ids = [s.id for s in starts]
        depth, cap, levels = bounds
        inner: Any = LevelByLevel(store) if levels else store
        policy = [Policy(steps, state, covers) for steps, state, covers in (first, second)]

        def pair(budget: TraversalBudget) -> Any:
            near = reach_pair(budgeted(inner, budget), ids, *policy, max_depth=depth,
                              max_nodes=cap)  # fmt: skip
            return [_got(n) for n in near]

        def alone(budget: TraversalBudget) -> Any:
            view = budgeted(inner, budget)
            return [
                _expected(closeness(view, ids, p.steps, max_depth=depth, max_nodes=cap,
                                    start_state=p.start_state, covers=p.covers))
                for p in policy
            ]  # fmt: skip

        plenty = TraversalBudget(2**62)
        _outcome(lambda: alone(plenty), plenty)
        for limit in [*range(min(plenty.spent, 40) + 1), plenty.spent, 2**62]:
            by_pair, by_two = TraversalBudget(limit), TraversalBudget(limit)
            got = _outcome(lambda: pair(by_pair), by_pair)  # noqa: B023
            assert got == _outcome(lambda: alone(by_two), by_two), limit  # noqa: B023

    check()


def test_a_first_walk_refused_by_the_store_walk_is_charged_before_the_second() -> None:
    """Worked example: the downstream walk costs 6 - 1 = 5 nodes, the upstream one 1 (its start).
    At a budget of 2 the first's store walk is refused; walked level by level it is charged 1,
    then refused at 1 + 2. The second must not have been charged before it (that would spend 2
    there, the generated estates rarely show it)."""
    d0, d1, d2 = POOL[K.DATASET]
    j0, j1 = POOL[K.JOB]
    store = EmbeddedStore()
    chains = [
        (d0, E.INPUT_TO, j0),
        (d0, E.INPUT_TO, j1),
        (j0, E.PRODUCES, d1),
        (j1, E.PRODUCES, d2),
    ]
    load(store, [(*edge, {}) for edge in chains])
    policy = [Policy(*POLICIES["impact"]), Policy(*POLICIES["upstream"])]
    spent = []
    for limit in range(8):
        by_pair, by_two = TraversalBudget(limit), TraversalBudget(limit)
        got = _outcome(
            lambda: [_got(n) for n in reach_pair(budgeted(store, by_pair), [d0.id], *policy)],  # noqa: B023
            by_pair,
        )
        want = _outcome(
            lambda: [
                _expected(closeness(budgeted(store, by_two), [d0.id], p.steps,  # noqa: B023
                                    start_state=p.start_state, covers=p.covers))
                for p in policy
            ],
            by_two,
        )  # fmt: skip
        assert got == want, limit
        spent.append(got[1])
    assert spent == [0, 1, 1, 3, 3, 5, 6, 6]


# ---- walked_reach on visit lists ----------------------------------------------------------

_IDS = [f"n{i}" for i in range(8)]


@st.composite
def _walked(draw: st.DrawFn) -> tuple[list[str], Walked]:
    """Starts, and two passes' visits: the starts at level 0 (a start may be visited again
    later, a non-start never at 0), then visits at levels 1-6, in level order or shuffled."""
    starts = draw(st.lists(st.sampled_from(_IDS), min_size=1, max_size=4, unique=True))

    def one_pass() -> WalkPass:
        later = draw(st.lists(st.tuples(st.sampled_from(_IDS), st.integers(1, 6)), max_size=14))
        visits = [(s, 0) for s in starts if draw(st.booleans())] + later
        if draw(st.booleans()):
            visits.sort(key=lambda v: v[1])  # a BFS's order (stable: first visits kept first)
        return WalkPass(
            node=[n for n, _ in visits],
            state=["" for _ in visits],
            level=[at for _, at in visits],
        )

    every, exact = one_pass(), one_pass()
    return starts, Walked(exact, every, {}, set(), draw(st.booleans()), 0)


@given(_walked())
def test_walked_reach_is_the_answers_distance_and_certainty(case: tuple[list[str], Walked]) -> None:
    starts, walked = case
    want = _expected(_answer(tuple(starts), walked, False))[0]
    got = walked_reach(starts, walked)
    assert got == want
    assert all(got[s] is START_REACH for s in starts)

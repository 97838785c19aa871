"""`GraphStore.walk_pair` (two walks from the same starts in one call; Neo4j walks them at once,
graph/neo4j_walk_pair.py) and `closeness_pair` over it (the accountability map's two walks).

On both stores, on generated estates under the questions' policies and any others: each walk of
the pair is the store's `walk` of it alone (its visits, truncation, edges read, `led_on`), and
`closeness_pair` is two `closeness` calls. Through a request's budget (the API's view) the pair
is charged exactly what the two walks alone are charged, and refused or answered where they are,
at any budget (also over a store that cannot walk by itself). The worker threads: the two walks
overlap, errors come back, the bound holds, a closed runner walks in the caller."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage_kg.api.graphql.traversal_budget import RequestBudgetSpent, TraversalBudget, budgeted
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import Certainty, NodeKey
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.neo4j_walk_pair import WalkPairs
from lineage_kg.graph.store import GraphStore, PairedWalk, Walked, WalkStep
from lineage_kg.queries.closeness import Policy, closeness, closeness_pair
from lineage_kg.queries.traversal import Step
from tests.contract.test_closeness_property import (
    NODES,
    POLICIES,
    POOL,
    Edge,
    graphs,
    load,
    policies,
    shape,
)
from tests.contract.test_store_walk_property import LevelByLevel
from tests.examples import store_examples

PolicyArgs = tuple[Sequence[Step], str, Any]
ANY_POLICY = st.one_of(st.sampled_from([POLICIES[p] for p in sorted(POLICIES)]), policies())


def _paired(policy: PolicyArgs) -> PairedWalk:
    steps, state, covers = policy
    made = tuple(
        WalkStep(s.kind, s.direction, s.certainty is not Certainty.POSSIBLE, s.then, s.only_from,
                 s.accepts)
        for s in steps
    )  # fmt: skip
    return PairedWalk(made, state, covers or {})


def _visits(walked: Walked | None) -> Any:
    """A walk's answer, each pass's visits as a sorted list: Neo4j answers a one-state walk's
    levels as sets (graph/ends_walk.py `one_state`), in no fixed order within a level."""
    if walked is None:
        return None
    passes = [
        sorted(zip(p.node, p.state, p.level, strict=True)) for p in (walked.exact, walked.every)
    ]
    return passes, walked.truncated, walked.visited_edges, sorted(walked.led_on)


def test_each_walk_of_a_pair_is_the_walk_alone(store: GraphStore) -> None:
    @store_examples(store, 40)
    @given(
        graphs(),
        st.lists(st.sampled_from(NODES), min_size=1, max_size=8),
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
        ids = list(dict.fromkeys(s.id for s in starts))
        depth, cap = bounds
        args: dict[str, Any] = {"max_depth": depth, "as_of": None, "max_nodes": cap}
        one, two = _paired(first), _paired(second)
        pair = store.walk_pair(ids, one, two, edges=False, **args)
        alone = [
            store.walk(ids, w.steps, start_state=w.start_state, covers=w.covers, edges=False,
                       **args)
            for w in (one, two)
        ]  # fmt: skip
        assert [_visits(w) for w in pair] == [_visits(w) for w in alone]

        policy = [Policy(steps, state, covers) for steps, state, covers in (first, second)]
        got = closeness_pair(store, ids, *policy, max_depth=depth, max_nodes=cap)
        want = [
            closeness(store, ids, p.steps, max_depth=depth, max_nodes=cap,
                      start_state=p.start_state, covers=p.covers)
            for p in policy
        ]  # fmt: skip
        assert [shape(t) for t in got] == [shape(t) for t in want]

    check()


def _outcome(run: Any, budget: TraversalBudget) -> tuple[Any, int]:
    try:
        answer: Any = [shape(t) for t in run()]
    except RequestBudgetSpent:
        answer = "refused"
    return answer, budget.spent


def test_a_requests_budget_charges_the_pair_as_the_two_walks(store: GraphStore) -> None:
    """Charge equality at every budget from nothing to plenty: the answer, or the refusal, and
    the nodes charged are those of the two walks alone, one after the other."""

    @store_examples(store, 30)
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
            view = budgeted(inner, budget)
            return closeness_pair(view, ids, *policy, max_depth=depth, max_nodes=cap)

        def alone(budget: TraversalBudget, walks: list[Policy] = policy) -> Any:
            view = budgeted(inner, budget)
            return [
                closeness(view, ids, p.steps, max_depth=depth, max_nodes=cap,
                          start_state=p.start_state, covers=p.covers)
                for p in walks
            ]  # fmt: skip

        plenty, first_only = TraversalBudget(2**62), TraversalBudget(2**62)
        answers = _outcome(lambda: alone(plenty), plenty)[0]
        _outcome(lambda: alone(first_only, policy[:1]), first_only)
        both, one = plenty.spent, first_only.spent
        assert 0 < one <= both
        # every budget up to the two walks' charge (a few dozen nodes here): the second's walk
        # answered before the first's (refused, walked level by level) would show as a charge
        # made too early at some budget in between
        for limit in [*range(min(both, 40) + 1), one, both, 2**62]:
            by_pair, by_two = TraversalBudget(limit), TraversalBudget(limit)
            got = _outcome(lambda: pair(by_pair), by_pair)  # noqa: B023
            want = _outcome(lambda: alone(by_two), by_two)  # noqa: B023
            assert got == want, limit
            if limit >= both:
                assert got == (answers, both)

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
        got = _outcome(lambda: closeness_pair(budgeted(store, by_pair), [d0.id], *policy), by_pair)  # noqa: B023
        want = _outcome(
            lambda: [
                closeness(budgeted(store, by_two), [d0.id], p.steps, start_state=p.start_state,  # noqa: B023
                          covers=p.covers)
                for p in policy
            ],
            by_two,
        )  # fmt: skip
        assert got == want, limit
        spent.append(got[1])
    assert spent == [0, 1, 1, 3, 3, 5, 6, 6]


# ---- the worker threads (no server) -------------------------------------------------------


def _walk_of(log: list[tuple[str, str]], meet: threading.Barrier | None = None) -> Any:
    """A stand-in for a store's `walk`: notes which thread walked which policy, and (with
    `meet`) waits until the other walk of the pair is under way at the same time."""

    def walk(start_ids: Sequence[str], steps: Any, **kwargs: Any) -> Any:
        log.append((kwargs["start_state"], threading.current_thread().name))
        if meet is not None:
            meet.wait()  # broken (an error) unless both walks run at once
        if kwargs["start_state"].startswith("fail"):
            raise ValueError(kwargs["start_state"])
        return kwargs["start_state"]

    return walk


def _ask(state: str) -> PairedWalk:
    return PairedWalk((), state, {})


def test_the_two_walks_run_at_once_the_second_on_a_worker() -> None:
    log: list[tuple[str, str]] = []
    pairs = WalkPairs()
    try:
        meet = threading.Barrier(2, timeout=30)
        got = pairs.run(_walk_of(log, meet), ["a"], _ask("down"), _ask("up"), max_depth=3)
        assert got == ("down", "up")
        threads = dict(log)
        assert threads["down"] == threading.current_thread().name
        assert threads["up"] != threads["down"]
    finally:
        pairs.close()


@pytest.mark.parametrize(
    ("first", "second", "raised"),
    [("fail-first", "up", "fail-first"), ("down", "fail-second", "fail-second"),
     ("fail-first", "fail-second", "fail-first")],
)  # fmt: skip
def test_an_error_of_either_walk_is_raised_after_both_ended(
    first: str, second: str, raised: str
) -> None:
    log: list[tuple[str, str]] = []
    pairs = WalkPairs()
    try:
        with pytest.raises(ValueError, match=raised):
            pairs.run(_walk_of(log), ["a"], _ask(first), _ask(second), max_depth=3)
        assert sorted(state for state, _ in log) == sorted([first, second])
    finally:
        pairs.close()


def test_no_worker_free_or_closed_walks_both_in_the_caller() -> None:
    pairs = WalkPairs(workers=1)
    held, release = threading.Event(), threading.Event()

    def slow(start_ids: Sequence[str], steps: Any, **kwargs: Any) -> Any:
        if kwargs["start_state"] == "hold":
            held.set()
            release.wait(30)
        return kwargs["start_state"]

    busy = threading.Thread(target=pairs.run, args=(slow, ["a"], _ask("x"), _ask("hold")))
    busy.start()
    try:
        assert held.wait(30)
        log: list[tuple[str, str]] = []
        assert pairs.run(_walk_of(log), ["a"], _ask("down"), _ask("up")) == ("down", "up")
        here = threading.current_thread().name
        assert log == [("down", here), ("up", here)]  # in order, in this thread
    finally:
        release.set()
        busy.join(30)
    pairs.close()
    log = []
    assert pairs.run(_walk_of(log), ["a"], _ask("down"), _ask("up")) == ("down", "up")
    assert {thread for _, thread in log} == {threading.current_thread().name}


@pytest.mark.neo4j
def test_neo4j_walks_the_pair_on_two_threads(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    log: list[tuple[str, str]] = []
    walk = neo4j_store.walk

    def noted(*args: Any, **kwargs: Any) -> Any:
        log.append((kwargs["start_state"], threading.current_thread().name))
        return walk(*args, **kwargs)

    monkeypatch.setattr(neo4j_store, "walk", noted)
    load(neo4j_store, [])
    up = POLICIES["upstream"]
    impact = POLICIES["impact"]
    closeness_pair(neo4j_store, [NODES[0].id], Policy(*impact), Policy(*up))
    assert len(log) == 2
    assert log[0][1] == threading.current_thread().name != log[1][1]

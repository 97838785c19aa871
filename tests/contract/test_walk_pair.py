"""`GraphStore.walk_pair` (two walks from the same starts in one call; Neo4j walks them at once,
graph/neo4j_walk_pair.py), the accountability map's two walks.

On both stores, on generated estates under the questions' policies and any others: each walk of
the pair is the store's `walk` of it alone (its visits, truncation, edges read, `led_on`). What
the map makes of the pair (`reach_pair`), and its charges through a request's budget, are held
to two `closeness` calls in tests/contract/test_reach_pair.py. The worker threads: the two walks
overlap, errors come back, the bound holds, a closed runner walks in the caller."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage_kg.graph.model import Certainty, NodeKey
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.neo4j_walk_pair import WalkPairs
from lineage_kg.graph.store import GraphStore, PairedWalk, Walked, WalkStep
from lineage_kg.queries.closeness import Policy, reach_pair
from lineage_kg.queries.traversal import Step
from tests.contract.test_closeness_property import (
    NODES,
    POLICIES,
    Edge,
    graphs,
    load,
    policies,
)
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

    check()


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
    reach_pair(neo4j_store, [NODES[0].id], Policy(*impact), Policy(*up))
    assert len(log) == 2
    # by the walk, not by the order of the notes: the worker's walk may start first (ci80 saw it
    # at load 12)
    threads = dict(log)
    assert threads[impact[1]] == threading.current_thread().name != threads[up[1]]

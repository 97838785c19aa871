"""`reach_pair_then` (queries/closeness.py) and the accountability map's assets read after each
walk (queries/accountability.py `_AssetsAfter`).

- On both stores, generated estates and policies: each `Nearness` is `closeness` of its policy
  alone (the same independent reading as tests/contract/test_reach_pair.py), and `then` was
  called with it exactly when the store walks pairs with a call after each walk (Neo4j: on the
  thread that walked it), else None.
- A store that walks the pair itself in either order, giving up either walk or both (`_Then`,
  over the embedded store): the same answers, `then` only of the walks it answered.
- The map with its assets read after each walk is the map computed as before issue 19's rework
  (benchmarks/accountability_before.py), over `_Then` in every order and give-up, and each node
  is looked up in exactly one `_assets_of` call."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.accountability_before import accountability_before
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.neo4j_walk_pair import WalkPairs
from lineage_kg.graph.store import GraphStore, PairedWalk, Walked
from lineage_kg.queries import accountability as acc
from lineage_kg.queries.closeness import Nearness, Policy, closeness, reach_pair_then
from tests.contract.conftest import ValueChain, value_chain_batches
from tests.contract.test_accountability_property import estates
from tests.contract.test_accountability_property import load as load_estate
from tests.contract.test_closeness_property import NODES, Edge, graphs, load
from tests.contract.test_reach_pair import ANY_POLICY, PolicyArgs, _expected, _got
from tests.examples import store_examples


class _Then(EmbeddedStore):
    """The embedded store walking pairs with a call after each walk, as Neo4j's `walk_pair_then`
    answers: the second walk first when `second_first`, the walks in `give_up` answered None;
    with `at_once`, each on a thread of its own, the second's call after the first's has begun
    (`first_then_began`: the map's test sets it once the first's reads are under way)."""

    def __init__(self) -> None:
        super().__init__()
        self.second_first = False
        self.give_up: frozenset[int] = frozenset()
        self.at_once = False
        self.first_then_began = threading.Event()

    def walk_pair_then(
        self,
        start_ids: Any,
        first: PairedWalk,
        second: PairedWalk,
        *,
        then: Any,
        max_depth: int,
        as_of: str | None,
        max_nodes: int,
    ) -> tuple[Any, Any]:
        got: dict[int, Any] = {}

        def one(i: int) -> None:
            asked = (first, second)[i]
            walked: Walked | None = None
            if i not in self.give_up:
                walked = self.walk(
                    start_ids, asked.steps, start_state=asked.start_state, covers=asked.covers,
                    max_depth=max_depth, as_of=as_of, max_nodes=max_nodes, edges=False,
                )  # fmt: skip
            if i == 1 and self.at_once and 0 not in self.give_up:
                self.first_then_began.wait(10)
            got[i] = None if walked is None else then(asked, walked)

        if self.at_once:
            threads = [threading.Thread(target=one, args=(i,)) for i in (0, 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            return got.get(0), got.get(1)
        for i in (1, 0) if self.second_first else (0, 1):
            one(i)
        return got[0], got[1]


def _thens(store: GraphStore) -> bool:
    return isinstance(store, Neo4jStore)


def test_each_nearness_is_closeness_and_then_is_of_it(store: GraphStore) -> None:
    @store_examples(store, 30)
    @given(
        graphs(),
        st.lists(st.sampled_from(NODES), min_size=1, max_size=8),
        ANY_POLICY,
        ANY_POLICY,
        st.tuples(st.integers(1, 6), st.sampled_from([1, 3, 10_000])),
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
        called: list[tuple[Nearness, int]] = []

        def then(walk: int, near: Nearness) -> int:
            called.append((near, walk))
            return len(called)

        got = reach_pair_then(store, ids, *policy, then=then, max_depth=depth, max_nodes=cap)
        want = [
            closeness(store, ids, p.steps, max_depth=depth, max_nodes=cap,
                      start_state=p.start_state, covers=p.covers)
            for p in policy
        ]  # fmt: skip
        assert [_got(near) for near, _ in got] == [_expected(w) for w in want]
        if not _thens(store):
            assert [t for _, t in got] == [None, None]
            assert not called
            return
        # Neo4j: a walk past its cap is given up (None) and walked again by the fallback
        for i, (near, t) in enumerate(got):
            if t is not None:
                assert called[t - 1] == (near, i)
                assert called[t - 1][0] is near
        assert len(called) == sum(t is not None for _, t in got)

    check()


@pytest.mark.parametrize("second_first", [False, True])
@pytest.mark.parametrize("give_up", [(), (0,), (1,), (0, 1)])
def test_a_store_walking_pairs_with_a_call_after_each(
    second_first: bool, give_up: tuple[int, ...]
) -> None:
    store = _Then()
    store.second_first, store.give_up = second_first, frozenset(give_up)

    @store_examples(store, 25)
    @given(
        graphs(),
        st.lists(st.sampled_from(NODES), min_size=1, max_size=8),
        ANY_POLICY,
        ANY_POLICY,
        st.integers(1, 6),
    )
    def check(
        edges: list[Edge],
        starts: list[NodeKey],
        first: PolicyArgs,
        second: PolicyArgs,
        depth: int,
    ) -> None:
        load(store, edges)
        ids = [s.id for s in starts]
        policy = [Policy(steps, state, covers) for steps, state, covers in (first, second)]
        called: list[Nearness] = []

        def then(walk: int, near: Nearness) -> tuple[int, Nearness]:
            called.append(near)
            return walk, near

        got = reach_pair_then(store, ids, *policy, then=then, max_depth=depth)
        want = [
            closeness(store, ids, p.steps, max_depth=depth, start_state=p.start_state,
                      covers=p.covers)
            for p in policy
        ]  # fmt: skip
        assert [_got(near) for near, _ in got] == [_expected(w) for w in want]
        for i, (near, t) in enumerate(got):
            assert (t is None) if i in give_up else (t[0] == i and t[1] is near)
        assert len(called) == 2 - len(give_up)

    check()


@pytest.mark.parametrize("upstream_after", [True, False])
@pytest.mark.parametrize(
    ("order", "give_up"),
    [("first", ()), ("second", ()), ("at-once", ()), ("first", (0,)), ("second", (1,)),
     ("at-once", (0,)), ("at-once", (1,)), ("first", (0, 1))],
)  # fmt: skip
def test_the_map_with_assets_read_after_each_walk(
    order: str, give_up: tuple[int, ...], upstream_after: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`at-once`: the downstream walk's assets read is under way (and slow) when the upstream
    walk's call begins: the upstream half waits for the nodes that read claimed first."""
    store = _Then()
    store.second_first, store.give_up = order == "second", frozenset(give_up)
    store.at_once = order == "at-once"
    looked_up: list[list[str]] = []
    real = acc._assets_of

    def assets_of(s: Any, ids: Any, as_of: Any, known: Any) -> dict[str, str]:
        ids = list(ids)
        looked_up.append(ids)
        if store.at_once and not store.first_then_began.is_set():
            store.first_then_began.set()
            time.sleep(0.02)  # the second's call runs meanwhile
        return real(s, ids, as_of, known)

    monkeypatch.setattr(acc, "_assets_of", assets_of)
    monkeypatch.setattr(acc, "ASSETS_AFTER_EACH_WALK", True)
    monkeypatch.setattr(acc, "UPSTREAM_AFTER_ITS_WALK", upstream_after)

    @store_examples(store, 40)
    @given(
        estates(),
        st.sampled_from(["team:t0", "team:t1", "p0", "p1", "alias0"]),
        st.integers(1, 6),
        st.sampled_from([None, "2026-02-15T00:00:00Z"]),
    )
    def check(estate: Any, owner: str, depth: int, as_of: str | None) -> None:
        load_estate(store, estate)
        looked_up.clear()
        store.first_then_began.clear()
        got = acc.accountability(store, owner, depth=depth, as_of=as_of)
        calls = list(looked_up)
        expected = accountability_before(store, owner, depth=depth, as_of=as_of)
        assert dataclasses.astuple(got) == dataclasses.astuple(expected)
        # one call per walk answered after it, one more in the caller for the rest (if any)
        every = [node_id for ids in calls for node_id in ids]
        assert len(every) == len(set(every)), "a node looked up twice"
        assert len(calls) in (2 - len(give_up), 3 - len(give_up))
        if not give_up:
            assert len(calls) == 2

    check()


def test_the_map_the_same_with_and_without(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On both stores (Neo4j reads the assets after each walk on the thread that walked it)."""
    threads: list[str] = []
    real = acc._assets_of

    def assets_of(s: Any, ids: Any, as_of: Any, known: Any) -> dict[str, str]:
        threads.append(threading.current_thread().name)
        return real(s, ids, as_of, known)

    monkeypatch.setattr(acc, "_assets_of", assets_of)

    @store_examples(store, 30)
    @given(
        estates(),
        st.sampled_from(["team:t0", "team:t1", "p0", "p1", "alias0"]),
        st.integers(1, 6),
    )
    def check(estate: Any, owner: str, depth: int) -> None:
        load_estate(store, estate)
        answers = []
        for after_each in (True, False):
            monkeypatch.setattr(acc, "ASSETS_AFTER_EACH_WALK", after_each)
            threads.clear()
            answers.append(dataclasses.astuple(acc.accountability(store, owner, depth=depth)))
            if after_each and _thens(store):
                # the first walk's in the caller, the second's on a worker (when one was free),
                # in the order they ended
                assert len(threads) == 2
                assert threading.current_thread().name in threads
                assert len(set(threads)) == 2
        assert answers[0] == answers[1]

    check()


def _state_walk(start_ids: Any, steps: Any, **kwargs: Any) -> Any:
    if kwargs["start_state"] == "fail":
        raise ValueError("the walk failed")
    return kwargs["start_state"]


def test_walk_pairs_then_runs_on_the_thread_that_walked() -> None:
    pairs = WalkPairs()
    ran: list[tuple[str, str]] = []

    def then(asked: PairedWalk, walked: Any) -> str:
        assert asked.start_state == walked
        ran.append((walked, threading.current_thread().name))
        if walked == "then-fails":
            raise KeyError("then failed")
        return f"after {walked}"

    try:
        got = pairs.run(_state_walk, ["a"], _asked("down"), _asked("up"), then=then)
        assert got == ("after down", "after up")
        threads = dict(ran)
        assert threads["down"] == threading.current_thread().name
        assert threads["up"] != threads["down"]
        # an error of `then` is the walk's: raised after both ended
        ran.clear()
        with pytest.raises(KeyError, match="then failed"):
            pairs.run(_state_walk, ["a"], _asked("down"), _asked("then-fails"), then=then)
        assert sorted(w for w, _ in ran) == ["down", "then-fails"]
        ran.clear()
        with pytest.raises(ValueError, match="the walk failed"):
            pairs.run(_state_walk, ["a"], _asked("fail"), _asked("up"), then=then)
        assert [w for w, _ in ran] == ["up"]
    finally:
        pairs.close()
    # closed: both in the caller, each `then` after its walk
    ran.clear()
    assert pairs.run(_state_walk, ["a"], _asked("x"), _asked("y"), then=then) == (
        "after x",
        "after y",
    )
    assert [w for w, _ in ran] == ["x", "y"]


def _asked(state: str) -> PairedWalk:
    return PairedWalk((), state, {})


@pytest.mark.parametrize("upstream_after", [True, False])
@pytest.mark.parametrize("order", ["first", "second", "at-once"])
def test_the_value_chain_map_read_after_each_walk(
    order: str, upstream_after: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worked value chain (tests/contract/conftest.py; its answers checked by hand in
    test_accountability.py), whose maps have owners downstream and upstream, gaps of every kind:
    over `_Then` the same maps as over the embedded store, which reads everything after both
    walks (the generated estates above seldom own a downstream-only asset: ~3 maps in 100)."""
    monkeypatch.setattr(acc, "ASSETS_AFTER_EACH_WALK", True)
    monkeypatch.setattr(acc, "UPSTREAM_AFTER_ITS_WALK", upstream_after)
    then, plain = _Then(), EmbeddedStore()
    then.second_first, then.at_once = order == "second", order == "at-once"
    then.first_then_began.set()
    for batch in value_chain_batches(ValueChain()):
        then.apply(batch)
        plain.apply(batch)
    owners = ["alice@example.com", "bob@example.com", "team:data-platform", "team:ml-risk"]
    for owner in [*owners, "team:finance"]:
        for depth in (1, 2, 10):
            got = acc.accountability(then, owner, depth=depth)
            want = acc.accountability(plain, owner, depth=depth)
            assert dataclasses.astuple(got) == dataclasses.astuple(want), (owner, depth)
            if owner == "team:data-platform" and depth == 10:
                assert got.downstream_owners and got.upstream_owners

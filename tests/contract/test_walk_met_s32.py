"""Reads on the nodes a walk met while it goes on (session 32, issue 19 target 1): Neo4j's walk on
ids tells the nodes each chunk but its last met (`Neo4jStore.walk(met=…)`, graph/neo4j_walk_pair.py
`Told`), and the accountability map reads their assets meanwhile (`_AssetsAfter.met`).

- `WalkPairs.run(met=…)`: each call on a free worker while the walk goes on, in the walking thread
  when none is free; the walk's `then` only after its calls ended; an error of a call aside
  raised after the walk, the walk's own error first.
- A store telling any nodes (reached or not, starts, repeats) at any time before a walk ends
  (`_Telling`, over the embedded store and the real `WalkPairs`): the map is the map computed as
  before issue 19's rework (benchmarks/accountability_before.py), and each node is looked up in
  exactly one `_assets_of` call, told or read after.
- On Neo4j, walks in chunks of 2 levels (so that generated graphs walk several chunks): each walk
  answers as `closeness` of its policy alone (the answer is not changed by telling), a told node
  is never a start nor told twice, a walk is told at most once a chunk but its last, and every
  node it reached within the chunks told of (distance <= 2 x calls) was told; in chunks of one
  level, the map equals `accountability_before` with each node looked up once.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.accountability_before import accountability_before
from lineage_kg.graph import neo4j_store as store_module
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.neo4j_walk_pair import WalkPairs
from lineage_kg.graph.store import PairedWalk, Walked
from lineage_kg.queries import accountability as acc
from lineage_kg.queries.closeness import Policy, closeness, reach_pair_then
from tests.contract.test_accountability_property import estates
from tests.contract.test_accountability_property import load as load_estate
from tests.contract.test_closeness_property import NODES, Edge, graphs, load
from tests.contract.test_reach_pair import ANY_POLICY, PolicyArgs, _expected, _got
from tests.examples import store_examples

OWNER_IDS = ["team:t0", "team:t1", "p0", "p1", "alias0"]
EVERY_ID = [n.id for n in NODES]

# ---- WalkPairs' `met` ----------------------------------------------------------------------


def _asked(state: str) -> PairedWalk:
    return PairedWalk((), state, {})


class _Log:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str, str]] = []  # (what, walk, thread)

    def add(self, what: str, walk: str) -> None:
        with self.lock:
            self.events.append((what, walk, threading.current_thread().name))


def _telling_walk(log: _Log, slow: float = 0.0) -> Any:
    def walk(start_ids: Any, steps: Any, *, start_state: str, met: Any = None, **_: Any) -> str:
        if met is not None:
            met([f"{start_state}-1"])
            met([f"{start_state}-2"])
        if start_state.endswith("fail"):
            raise ValueError("the walk failed")
        log.add("walked", start_state)
        return start_state

    return walk


def test_met_runs_aside_and_then_waits_for_it() -> None:
    pairs = WalkPairs(workers=2)
    log = _Log()

    def met(asked: PairedWalk, ids: list[str]) -> None:
        time.sleep(0.05)  # slower than the walk: `then` must wait
        log.add(f"met {ids[0]}", asked.start_state)

    def then(asked: PairedWalk, walked: Any) -> str:
        log.add("then", walked)
        return f"after {walked}"

    try:
        got = pairs.run(_telling_walk(log), ["a"], _asked("down"), _asked("up"), then=then, met=met)
        assert got == ("after down", "after up")
        for walk in ("down", "up"):
            mine = [(what, thread) for what, w, thread in log.events if w == walk]
            whats = [what for what, _ in mine]
            assert sorted(whats[:-1]) == sorted([f"met {walk}-1", f"met {walk}-2", "walked"])
            assert whats[-1] == "then"
            walked_on = next(t for what, t in mine if what == "walked")
            assert next(t for what, t in mine if what == "then") == walked_on
        # a worker is free for a call (two workers, one walking the second walk): some call ran
        # aside, on a thread that is not its walk's
        walked_on = {w: t for what, w, t in log.events if what == "walked"}
        aside = [w for what, w, t in log.events if what.startswith("met") and t != walked_on[w]]
        assert aside
    finally:
        pairs.close()


def test_met_in_the_walking_thread_when_no_worker_is_free() -> None:
    pairs = WalkPairs(workers=1)  # the second walk takes the only worker
    log = _Log()

    def met(asked: PairedWalk, ids: list[str]) -> None:
        log.add(f"met {ids[0]}", asked.start_state)

    try:
        pairs.run(_telling_walk(log), ["a"], _asked("down"), _asked("up"), met=met)
        for walk in ("down", "up"):
            threads = {t for _, w, t in log.events if w == walk}
            assert len(threads) == 1, (walk, log.events)  # its calls in its own thread
        me = threading.current_thread().name
        assert [w for w, _, t in log.events if t == me] == ["met down-1", "met down-2", "walked"]
    finally:
        pairs.close()


def test_met_errors() -> None:
    pairs = WalkPairs(workers=2)
    log = _Log()

    def met(asked: PairedWalk, ids: list[str]) -> None:
        if ids[0].startswith("bad") and ids[0].endswith("-1"):  # the first call: aside
            time.sleep(0.02)
            raise KeyError("met failed")

    def then(asked: PairedWalk, walked: Any) -> str:
        log.add("then", walked)
        return walked

    try:
        with pytest.raises(KeyError, match="met failed"):
            pairs.run(_telling_walk(log), ["a"], _asked("bad"), _asked("up"), then=then, met=met)
        assert [w for what, w, _ in log.events if what == "then"] == ["up"]
        # the walk's own error wins over its calls' (one aside failing meanwhile)
        with pytest.raises(ValueError, match="the walk failed"):
            pairs.run(_telling_walk(log), ["a"], _asked("bad-fail"), _asked("up"), met=met)
    finally:
        pairs.close()
    # every worker free again once the calls ended
    assert pairs._free.acquire(blocking=False) and pairs._free.acquire(blocking=False)
    pairs._free.release()
    pairs._free.release()


# ---- the map over a store telling anything ---------------------------------------------------


class _Telling(EmbeddedStore):
    """The embedded store walking pairs through the real `WalkPairs` with a call after each walk,
    and telling `self.told[walk]` (any node ids, in batches) while each walk goes on."""

    pair_walks_tell_met = True

    def __init__(self) -> None:
        super().__init__()
        self._pairs = WalkPairs()
        self.told: tuple[list[list[str]], list[list[str]]] = ([], [])
        self.calls: list[int] = []

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
        met: Any = None,
    ) -> tuple[Any, Any]:
        def walk(ids: Any, steps: Any, *, met: Any = None, **kwargs: Any) -> Walked | None:
            place = 0 if steps is first.steps else 1
            for batch in self.told[place]:
                if met is not None:
                    self.calls.append(place)
                    met(list(batch))
            if met is not None and self.told[place]:
                time.sleep(0.005)  # the walk's next chunk: the calls told are under way
            return self.walk(ids, steps, **kwargs)

        def after(asked: PairedWalk, walked: Walked | None) -> Any:
            return None if walked is None else then(asked, walked)

        return self._pairs.run(
            walk, start_ids, first, second, then=after, met=met, max_depth=max_depth,
            as_of=as_of, max_nodes=max_nodes, edges=False,
        )  # fmt: skip


# any nodes in batches, and in half the walks first every node at once (all a walk reaches is
# then read aside)
_TOLD = st.tuples(
    st.booleans(), st.lists(st.lists(st.sampled_from(EVERY_ID), max_size=8), max_size=3)
).map(lambda drawn: [EVERY_ID, *drawn[1]] if drawn[0] else drawn[1])


@pytest.mark.parametrize("upstream_after", [True, False])
def test_the_map_with_any_nodes_told(upstream_after: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _Telling()
    looked_up: list[list[str]] = []
    real, real_met = acc._assets_of, acc._AssetsAfter.met
    in_met = threading.local()

    def assets_of(s: Any, ids: Any, as_of: Any, known: Any) -> dict[str, str]:
        ids = list(ids)
        looked_up.append(ids)
        if getattr(in_met, "on", False):
            time.sleep(0.02)  # a read of what was met is slow: the walk's `then` must wait
        return real(s, ids, as_of, known)

    running = [0, 0]  # each walk's calls under way
    lock = threading.Lock()

    def met(self: Any, walk: int, ids: list[str]) -> None:
        with lock:
            running[walk] += 1
        in_met.on = True
        try:
            real_met(self, walk, ids)
        finally:
            in_met.on = False
            with lock:
                running[walk] -= 1

    real_read = acc._AssetsAfter.read

    def read(self: Any, walk: int, near: Any) -> Any:
        assert running[walk] == 0, "a walk's `then` before its calls ended"
        return real_read(self, walk, near)

    monkeypatch.setattr(acc, "_assets_of", assets_of)
    monkeypatch.setattr(acc._AssetsAfter, "met", met)
    monkeypatch.setattr(acc._AssetsAfter, "read", read)
    monkeypatch.setattr(acc, "ASSETS_AFTER_EACH_WALK", True)
    monkeypatch.setattr(acc, "READ_MET_EARLY", True)
    monkeypatch.setattr(acc, "UPSTREAM_AFTER_ITS_WALK", upstream_after)
    told_any = []

    @store_examples(store, 60)
    @given(
        estates(),
        st.sampled_from(OWNER_IDS),
        st.integers(1, 6),
        st.sampled_from([None, "2026-02-15T00:00:00Z"]),
        _TOLD,
        _TOLD,
    )
    def check(  # noqa: PLR0917 - hypothesis hands the drawn values by position
        estate: Any,
        owner: str,
        depth: int,
        as_of: str | None,
        down: list[list[str]],
        up: list[list[str]],
    ) -> None:
        load_estate(store, estate)
        store.told, store.calls = (down, up), []
        looked_up.clear()
        got = acc.accountability(store, owner, depth=depth, as_of=as_of)
        expected = accountability_before(store, owner, depth=depth, as_of=as_of)
        assert dataclasses.astuple(got) == dataclasses.astuple(expected)
        every = [node_id for ids in looked_up for node_id in ids]
        assert len(every) == len(set(every)), "a node looked up twice"
        told_any.append(bool(store.calls))

    try:
        check()
    finally:
        store._pairs.close()
    assert any(told_any)


# ---- Neo4j: the walk on ids tells what each chunk met ----------------------------------------

_CHUNK = 2  # levels a statement: generated graphs then walk several chunks


def test_neo4j_walks_tell_what_each_chunk_met(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = neo4j_store
    monkeypatch.setattr(store_module, "REACH_CHUNK", _CHUNK)
    told_any = []

    @store_examples(store, 40)
    @given(
        graphs(),
        st.lists(st.sampled_from(NODES), min_size=1, max_size=8),
        ANY_POLICY,
        ANY_POLICY,
        st.tuples(st.integers(1, 7), st.sampled_from([3, 10_000])),
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
        lock = threading.Lock()
        told: dict[int, list[list[str]]] = {0: [], 1: []}

        def met(walk: int, got: list[str]) -> None:
            with lock:
                told[walk].append(list(got))

        got = reach_pair_then(
            store, ids, *policy, then=lambda w, near: w, met=met, max_depth=depth, max_nodes=cap
        )
        want = [
            closeness(store, ids, p.steps, max_depth=depth, max_nodes=cap,
                      start_state=p.start_state, covers=p.covers)
            for p in policy
        ]  # fmt: skip
        assert [_got(near) for near, _ in got] == [_expected(w) for w in want]
        chunks = -(-depth // _CHUNK)
        for walk, (near, _) in enumerate(got):
            calls = told[walk]
            assert len(calls) <= chunks - 1
            every = [node_id for call in calls for node_id in call]
            assert len(every) == len(set(every)), "a node told twice"
            assert not set(every) & set(ids), "a start told"
            if calls and not near.truncated:
                within = {n for n, (d, _) in near.reach.items() if 0 < d <= _CHUNK * len(calls)}
                assert within <= set(every), "a node reached in a chunk told of, not told"
            told_any.append(bool(calls))

    check()
    assert any(told_any)


def test_neo4j_map_reads_what_was_met_once(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = neo4j_store
    # chunks of one level: the generated estates seldom reach past distance 3
    monkeypatch.setattr(store_module, "REACH_CHUNK", 1)
    monkeypatch.setattr(acc, "ASSETS_AFTER_EACH_WALK", True)
    monkeypatch.setattr(acc, "READ_MET_EARLY", True)
    looked_up: list[tuple[str, list[str]]] = []
    lock = threading.Lock()
    real = acc._assets_of
    real_met = acc._AssetsAfter.met

    def assets_of(s: Any, ids: Any, as_of: Any, known: Any) -> dict[str, str]:
        ids = list(ids)
        with lock:
            looked_up.append((threading.current_thread().name, ids))
        return real(s, ids, as_of, known)

    met_calls: list[int] = []

    def met(self: Any, walk: int, ids: list[str]) -> None:
        met_calls.append(walk)
        real_met(self, walk, ids)

    monkeypatch.setattr(acc, "_assets_of", assets_of)
    monkeypatch.setattr(acc._AssetsAfter, "met", met)

    @store_examples(store, 40)
    @given(
        estates(),
        st.sampled_from(OWNER_IDS),
        st.integers(1, 6),
        st.sampled_from([None, "2026-02-15T00:00:00Z"]),
    )
    def check(estate: Any, owner: str, depth: int, as_of: str | None) -> None:
        load_estate(store, estate)
        looked_up.clear()
        got = acc.accountability(store, owner, depth=depth, as_of=as_of)
        expected = accountability_before(store, owner, depth=depth, as_of=as_of)
        assert dataclasses.astuple(got) == dataclasses.astuple(expected)
        every = [node_id for _, ids in looked_up for node_id in ids]
        assert len(every) == len(set(every)), "a node looked up twice"

    check()
    assert met_calls, "no walk was told what it met"

"""Neo4j's pair of walks with their level 1 read together (session 33: `Neo4jStore.
walk_pair_then` / `walk_pair`, graph/neo4j_walk_statements.py `first_levels`, `_SHARED_LEVEL`;
in one statement, or in two at once, every other start each, their answers merged): a walk on
ids (several states, leaving rows out of its first level: `DropRule`) and a one-state walk as
sets from the same starts, each then going on from level 2 in its own chunks.

The oracle is each walk alone (`Neo4jStore.walk`, which reads its own level 1: the code before
session 33, unchanged and reached only so by a pair) and the embedded store's walk (each pass's
nodes at their levels). Generated graphs of every lineage kind with some edges retired a month
later, now and as of before; starts with repeats and nodes the store lacks; the first walk under
the impact policy or a generated one of three states (tests of both kinds, covers), the second
under the upstream policy or generated one-state steps (kinds, ways, exact or not, `EdgeTest`s);
depths 1-11 (a level 1 alone, a later chunk of 5 and one of fewer); caps 2 / 6 / 10,000 (the
walks given up: None, and the sets walk then on ids from scratch)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lineage_kg.graph import neo4j_store as store_module
from lineage_kg.graph import neo4j_walk_statements as ws
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import PairedWalk, Walked, WalkStep
from lineage_kg.queries.traversal import PLAIN, walk_spec
from lineage_kg.queries.traversal import _walk_steps as walk_steps
from tests.contract.test_closeness_property import (
    NODES,
    POLICIES,
    POOL,
    Edge,
    graphs,
    load,
    policies,
)
from tests.contract.test_store_walk_property import retire_some
from tests.contract.test_walk_sets_s32 import _STEPS
from tests.examples import store_examples

_FIRST = st.one_of(st.sampled_from([POLICIES["impact"], POLICIES["impact-direct"]]), policies())


def _levels(walked: Walked | None) -> Any:
    """Each pass's nodes reached, with their levels (the order within a level is no answer's)."""
    if walked is None:
        return None
    return tuple(
        sorted((n, level) for n, level in zip(p.node, p.level, strict=True) if level > 0)
        for p in (walked.exact, walked.every)
    )


def test_pair_with_one_first_level_answers_as_each_walk_alone(
    neo4j_store: Neo4jStore, monkeypatch: Any
) -> None:
    store, embedded = neo4j_store, EmbeddedStore()
    shared: list[bool] = []
    real = store_module.first_levels

    def counted(*args: Any, **kwargs: Any) -> Any:
        shared.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(store_module, "first_levels", counted)
    monkeypatch.setattr(ws, "SHARED_FIRST_LEVEL", True)

    @store_examples(store, 160)
    @given(
        graphs(),
        st.lists(st.integers(0, 39), max_size=6),
        st.lists(st.sampled_from(NODES), min_size=1, max_size=8),  # repeats too
        _FIRST,
        _STEPS,
        st.tuples(st.integers(1, 11), st.sampled_from([2, 6, 10_000])),
        st.sampled_from([None, "2026-01-15T00:00:00Z"]),
        st.booleans(),
    )
    def check(  # noqa: PLR0917 - hypothesis hands the drawn values by position
        edges: list[Edge],
        retired: list[int],
        starts: list[NodeKey],
        first: Any,
        second: list[WalkStep],
        bounds: tuple[int, int],
        as_of: str | None,
        halves: bool,
    ) -> None:
        # the shared level in two statements at once (every other start each) from 2 starts on
        monkeypatch.setattr(ws, "SPLIT_AT", 2 if halves else None)
        for s in (store, embedded):
            load(s, edges)
            retire_some(s, edges, retired)
        ids = [s.id for s in starts]
        if len(ids) > 1:
            ids.append(NodeKey.from_id(ids[0]).id)  # a start twice
        depth, cap = bounds
        steps, state, covers = first
        spec = walk_spec(ids, steps, max_depth=depth, max_nodes=cap, start_state=state,
                         covers=covers)  # fmt: skip
        pair = (
            PairedWalk(walk_steps(spec.steps), spec.start_state, spec.covers),
            PairedWalk(tuple(second), PLAIN, {}),
        )
        bounds_ = {"max_depth": depth, "as_of": as_of, "max_nodes": cap}
        alone = [
            store.walk(
                ids, p.steps, start_state=p.start_state, covers=p.covers, edges=False, **bounds_
            )
            for p in pair
        ]
        got = store.walk_pair_then(ids, *pair, then=lambda asked, walked: walked, **bounds_)
        assert list(got) == alone
        assert list(store.walk_pair(ids, *pair, edges=False, **bounds_)) == alone
        for p, walked in zip(pair, alone, strict=True):
            if walked is None:
                continue
            want = embedded.walk(
                ids, p.steps, start_state=p.start_state, covers=p.covers, edges=False, **bounds_
            )
            assert want is not None
            assert _levels(walked) == _levels(want)

    check()
    assert len(shared) > 20  # the shared level was read, not only the walks alone


def test_pair_without_a_shared_level_walks_as_before(
    neo4j_store: Neo4jStore, monkeypatch: Any
) -> None:
    """No shared statement where the pair is not (ids, sets), where the switch is off (its
    default since 64c8615), and for a start list that is empty."""
    monkeypatch.setattr(ws, "SHARED_FIRST_LEVEL", True)
    load(neo4j_store, [])
    impact, upstream = POLICIES["impact"], POLICIES["upstream"]
    down = walk_spec([NODES[0].id], impact[0], start_state=impact[1], covers=impact[2])
    ids_walk = PairedWalk(walk_steps(down.steps), down.start_state, down.covers)
    sets_walk = PairedWalk(walk_steps(upstream[0]), PLAIN, {})
    bounds = {"max_depth": 3, "as_of": None}
    assert neo4j_store._first_levels([NODES[0].id], sets_walk, ids_walk, **bounds) is None
    assert neo4j_store._first_levels([], ids_walk, sets_walk, **bounds) is None
    assert neo4j_store._first_levels([NODES[0].id], ids_walk, ids_walk, **bounds) is None
    assert neo4j_store._first_levels([NODES[0].id], ids_walk, sets_walk, **bounds) is not None
    was = ws.SHARED_FIRST_LEVEL
    ws.SHARED_FIRST_LEVEL = False
    try:
        assert neo4j_store._first_levels([NODES[0].id], ids_walk, sets_walk, **bounds) is None
    finally:
        ws.SHARED_FIRST_LEVEL = was


def test_pair_first_level_each_way_and_a_self_loop(
    neo4j_store: Neo4jStore, monkeypatch: Any
) -> None:
    """Level 1's rows along both ways of the walk on ids (a start's HAS_COLUMN in, FEEDS out),
    the sets walk's in-rows, a self-loop (read both ways), rows into another start (left out),
    a start the store lacks, a node met from starts in both halves: the pair as each walk alone,
    and as the embedded store's, in one statement and in halves."""
    dataset, column, other, run = (
        POOL[K.DATASET][0],
        POOL[K.COLUMN][0],
        POOL[K.COLUMN][1],
        POOL[K.RUN][0],
    )
    edges: list[Edge] = [
        (dataset, E.HAS_COLUMN, column, {}),
        (column, E.FEEDS, other, {}),
        (other, E.FEEDS, other, {}),
        (run, E.WROTE, POOL[K.DATASET_VERSION][0], {}),
        (dataset, E.HAS_VERSION, POOL[K.DATASET_VERSION][0], {}),
        (POOL[K.COLUMN][2], E.FEEDS, dataset, {}),
        # a node met from starts of both halves, by an exact step from one alone: the exact pass
        # goes on from it (the feature at level 2, exact)
        (POOL[K.DATASET][1], E.RENAMED_TO, dataset, {}),
        (POOL[K.DATASET][1], E.HAS_COLUMN, POOL[K.COLUMN][3], {}),
        (POOL[K.FEATURE][0], E.FEEDS, POOL[K.DATASET][1], {}),
    ]
    embedded = EmbeddedStore()
    for s in (neo4j_store, embedded):
        load(s, edges)
    monkeypatch.setattr(ws, "SPLIT_AT", ws.SPLIT_AT)  # set below, restored after
    impact = POLICIES["impact"]
    version = POOL[K.DATASET_VERSION][0].id
    for ids in (
        [column.id],
        [column.id, other.id],
        [dataset.id, column.id, POOL[K.KPI][0].id],
        [version, dataset.id],
        [dataset.id, POOL[K.COLUMN][3].id],
    ):
        down = walk_spec(ids, impact[0], start_state=impact[1], covers=impact[2])
        pair = (
            PairedWalk(walk_steps(down.steps), down.start_state, down.covers),
            PairedWalk(walk_steps(POLICIES["upstream"][0]), PLAIN, {}),
        )
        for depth, split in ((1, 2), (2, None), (2, 2), (6, 2), (6, None)):
            ws.SPLIT_AT = split
            bounds = {"max_depth": depth, "as_of": None, "max_nodes": 100}
            alone = [
                neo4j_store.walk(
                    ids,
                    p.steps,
                    start_state=p.start_state,
                    covers=p.covers,
                    edges=False,
                    **bounds,
                )
                for p in pair
            ]
            got = neo4j_store.walk_pair_then(ids, *pair, then=lambda asked, w: w, **bounds)
            assert list(got) == alone
            for p, walked in zip(pair, alone, strict=True):
                want = embedded.walk(
                    ids, p.steps, start_state=p.start_state, covers=p.covers, edges=False,
                    **bounds,
                )  # fmt: skip
                assert _levels(walked) == _levels(want)

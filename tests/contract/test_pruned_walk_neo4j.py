"""Neo4j's walk without paths, the edges into a start that no step can still follow left out of
its read and counted instead (graph/neo4j_closeness.py), is the store's walk on edge ids
(`Neo4jStore.walk`): the same visits in the same order, truncation and edges counted — on
generated graphs from many starts, now and at an earlier time — or it gives way (None) where
it cannot tell. `closeness` on Neo4j walks by it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.ends_walk import walk_moves
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_closeness import droppable, pruned_query, pruned_walk
from lineage_kg.graph.neo4j_store import _SLOW_TO_PLAN, Neo4jStore
from lineage_kg.graph.store import Walked
from lineage_kg.queries.closeness import closeness
from lineage_kg.queries.impact import IMPACT_STEPS
from lineage_kg.queries.impact_steps import COVERS, EVERY_COLUMN, FIELD, WHOLE
from lineage_kg.queries.traversal import _walk_steps, traverse
from tests.contract.test_closeness_property import NODES, POOL, Edge, graphs, load, shape
from tests.contract.test_store_walk_property import retire_some
from tests.neo4j_plans import assert_seeks_without_scans

STEPS = _walk_steps(IMPACT_STEPS)


def _visits(walked: Walked) -> tuple[Any, ...]:
    passes = (walked.exact, walked.every)
    return (
        [(p.node, p.state, p.level) for p in passes],
        walked.truncated,
        walked.visited_edges,
    )


def _both(store: Neo4jStore, starts: list[str], **args: Any) -> tuple[Walked | None, Walked | None]:
    """The pruned walk, and the store's walk on edge ids (all the edges read; None past the
    read-ahead's limit)."""
    args = {"start_state": WHOLE, "covers": COVERS, **args}
    pruned = pruned_walk(store, starts, STEPS, **args)
    full = store._walk_ids(list(dict.fromkeys(starts)), STEPS, **args)
    return pruned, full


def test_what_a_start_cannot_be_reached_by_again_is_dropped() -> None:
    """Impact's policy from whole starts (blocked in WHOLE and FIELD): a column's HAS_COLUMN to
    its dataset leads only to FIELD, whatever the state; FEEDS can lead to EVERY_COLUMN (into a
    dataset), so only that move is left to test; PRODUCES is read differently by a job in FIELD
    (authoritative column lineage), so it is never dropped."""
    drop = droppable(walk_moves(STEPS, WHOLE), frozenset({WHOLE, FIELD}))
    assert drop["in|HAS_COLUMN"] == []
    assert [m["then"] for m in drop["out|FEEDS"]] == [EVERY_COLUMN]
    assert drop["out|FEEDS"][0]["dst"] == [K.DATASET.value]
    assert "out|PRODUCES" not in drop and "out|READ_BY" not in drop
    # a start in EVERY_COLUMN is blocked in it and FIELD: what leads to WHOLE escapes
    every = droppable(walk_moves(STEPS, EVERY_COLUMN), frozenset({EVERY_COLUMN, FIELD}))
    assert WHOLE in {m["then"] for m in every["out|FEEDS"]}


@pytest.mark.neo4j
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    graphs(),
    st.lists(st.sampled_from(NODES), min_size=1, max_size=10),
    st.tuples(  # depth, max_nodes, edges retired later, the time asked
        st.integers(1, 7),
        st.sampled_from([1, 2, 5, 10_000]),
        st.lists(st.integers(0, 39), max_size=4),
        st.sampled_from([None, "2026-01-15T00:00:00Z"]),
    ),
)
def test_the_pruned_walk_is_the_walk_on_edge_ids(
    neo4j_store: Neo4jStore,
    edges: list[Edge],
    starts: list[Any],
    asked: tuple[int, int, list[int], str | None],
) -> None:
    depth, cap, retired, as_of = asked
    load(neo4j_store, edges)
    retire_some(neo4j_store, edges, retired)
    ids = [s.id for s in starts]
    args: dict[str, Any] = {"max_depth": depth, "max_nodes": cap, "as_of": as_of}
    pruned, full = _both(neo4j_store, ids, **args)
    if full is None:  # the read-ahead past its limit: both give way
        assert pruned is None
    elif pruned is None:  # given way: only where the cap may be seen
        assert full.truncated or len(set(full.every.node)) >= cap + len(set(ids))
    else:
        assert _visits(pruned) == _visits(full)
    close = closeness(neo4j_store, ids, IMPACT_STEPS, start_state=WHOLE, covers=COVERS, **args)
    assert shape(close) == shape(
        traverse(neo4j_store, ids, IMPACT_STEPS, start_state=WHOLE, covers=COVERS, **args)
    )


def _estate() -> tuple[list[Edge], list[str]]:
    """Two datasets of a team with their columns, one column feeding the other dataset's, a
    job reading the first: the columns' HAS_COLUMN and the FEEDS between the team's columns
    lead back into starts."""
    d1, d2 = POOL[K.DATASET][:2]
    c1, c2, c3 = POOL[K.COLUMN][:3]
    job = POOL[K.JOB][0]
    edges: list[Edge] = [
        (d1, E.HAS_COLUMN, c1, {}),
        (d2, E.HAS_COLUMN, c2, {}),
        (d2, E.HAS_COLUMN, c3, {}),
        (c1, E.FEEDS, c2, {}),
        (c1, E.FEEDS, d2, {}),  # into a whole dataset: EVERY_COLUMN, not blocked at d2
        (d1, E.INPUT_TO, job, {}),
        (job, E.PRODUCES, POOL[K.DATASET][2], {}),
    ]
    return edges, [d1.id, d2.id, c1.id, c2.id, c3.id]


@pytest.mark.neo4j
def test_edges_back_into_starts_are_counted_not_read(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    edges, starts = _estate()
    load(neo4j_store, edges)
    read: list[Any] = []
    inner = neo4j_store._read

    def spy(query: Any, **params: Any) -> list[Any]:
        rows = inner(query, **params)
        read.append(rows[0].data())
        return rows

    monkeypatch.setattr(neo4j_store, "_read", spy)
    pruned, full = _both(neo4j_store, starts, max_depth=4, max_nodes=100, as_of=None)
    assert pruned is not None and full is not None
    assert _visits(pruned) == _visits(full)
    gone = {(o, way, kind): n for row in read if "gone" in row for o, way, kind, n in row["gone"]}
    c1, c2, c3 = (k.id for k in POOL[K.COLUMN][:3])
    # the columns' own HAS_COLUMN, and c1 -> c2; not c1 -> d2 (EVERY_COLUMN escapes); then d2,
    # reached in EVERY_COLUMN at 1, reads its columns (HAS_COLUMN out, to FIELD): both starts
    assert gone == {
        (POOL[K.DATASET][1].id, True, "HAS_COLUMN"): 2,
        (c1, False, "HAS_COLUMN"): 1,
        (c2, False, "HAS_COLUMN"): 1,
        (c3, False, "HAS_COLUMN"): 1,
        (c1, True, "FEEDS"): 1,
    }
    kept = [r for row in read if "gone" in row for r in row["found"]]
    d2 = POOL[K.DATASET][1].id
    assert (c1, "FEEDS", d2) in {(src, kind, dst) for src, kind, dst, *_ in kept}


@pytest.mark.neo4j
def test_closeness_on_neo4j_walks_by_the_pruned_walk(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    edges, starts = _estate()
    load(neo4j_store, edges)
    args: dict[str, Any] = {"max_depth": 4, "max_nodes": 100, "start_state": WHOLE}
    expected = shape(traverse(neo4j_store, starts, IMPACT_STEPS, covers=COVERS, **args))

    def refused(*a: Any, **k: Any) -> None:
        raise AssertionError("the store's own walk was asked")

    monkeypatch.setattr(neo4j_store, "walk", refused)
    assert shape(closeness(neo4j_store, starts, IMPACT_STEPS, covers=COVERS, **args)) == expected


@pytest.mark.neo4j
def test_at_the_cap_the_store_walks(neo4j_store: Neo4jStore) -> None:
    """Where `traverse` stops part way, the pruned walk gives way and the answer is still
    `traverse`'s."""
    edges, starts = _estate()
    load(neo4j_store, edges)
    args: dict[str, Any] = {"max_depth": 4, "max_nodes": 1, "start_state": WHOLE}
    assert pruned_walk(neo4j_store, starts, STEPS, covers=COVERS, as_of=None, **args) is None
    close = closeness(neo4j_store, starts, IMPACT_STEPS, covers=COVERS, **args)
    walked = traverse(neo4j_store, starts, IMPACT_STEPS, covers=COVERS, **args)
    assert close.truncated and shape(close) == shape(walked)


@pytest.mark.neo4j
def test_the_pruned_statement_seeks_its_starts_and_scans_nothing(
    neo4j_store: Neo4jStore,
) -> None:
    edges, starts = _estate()
    load(neo4j_store, edges)
    moves = walk_moves(STEPS, WHOLE)
    out = frozenset(E(kind) for (_, way, kind) in moves if way is Direction.OUT)
    in_ = frozenset(E(kind) for (_, way, kind) in moves if way is Direction.IN)
    keyed = {
        f"{s}|{w.value}|{E(k).value}": [{"then": t, "src": None, "dst": None, "unset": None}]
        for (s, w, k), thens in moves.items()
        for t, _ in sorted(thens, key=repr)[:1]
    }
    chunk = {
        "frontier": [[s, WHOLE] for s in starts],
        "seen": [f"{s}|{WHOLE}" for s in starts],
        "tested": [],
        "starts": starts,
    }
    params = {"moves": keyed, "drop": droppable(moves, frozenset({WHOLE, FIELD})), "as_of": None}
    assert_seeks_without_scans(
        neo4j_store, pruned_query(out, in_), {**params, "cap": 1000, "chunk": chunk, "levels": 5}
    )


def test_the_pruned_statement_gets_the_planning_timeout_on_its_first_run() -> None:
    """Slow to plan as the store's walks (seconds; a cold server under load took 25 s for its
    first run at 100k): it is one of the statements whose first run gets `PLAN_TIMEOUT`."""
    moves = walk_moves(STEPS, WHOLE)
    out = frozenset(E(kind) for (_, way, kind) in moves if way is Direction.OUT)
    in_ = frozenset(E(kind) for (_, way, kind) in moves if way is Direction.IN)
    assert pruned_query(out, in_) in _SLOW_TO_PLAN

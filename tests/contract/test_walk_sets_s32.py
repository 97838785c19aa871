"""Neo4j's one-state walk as sets (`Neo4jStore._walk_sets`, graph/neo4j_walk_statements.py
`_SETS_LEVEL`): each level's far nodes grouped once, their keys read once (session 32), against
the statement before (its level kept verbatim here, `_SETS_LEVEL_BEFORE`: each pass's far nodes
made DISTINCT and keyed apart, then merged), and against the embedded store's walk (each pass's
nodes at their levels).

Generated graphs of every lineage kind with some edges retired a month later, now and as of
before, from any starts, under generated one-state step tables (any kinds and ways, exact or not,
`EdgeTest`s on the ends' kinds and a property) and the upstream policy, at any depth and cap: the
same `Walked` (each pass's nodes by level, edges read; None at the cap) from both statements, and
the embedded store's nodes and levels whenever the walk is answered."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage_kg.graph import neo4j_walk_statements as ws
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import COLUMN_LINEAGE, NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import EdgeTest, Walked, WalkStep
from lineage_kg.queries.assets import UPSTREAM_STEPS
from lineage_kg.queries.traversal import PLAIN
from lineage_kg.queries.traversal import _walk_steps as walk_steps
from tests.contract.test_closeness_property import NODES, WALKED, Edge, graphs, load
from tests.contract.test_store_walk_property import retire_some
from tests.examples import store_examples

# `_SETS_LEVEL` before session 32, verbatim
_SETS_LEVEL_BEFORE = (
    "CALL (frontier, seen) {{ "
    "UNWIND frontier AS f WITH f[0] AS a, f[1] AS fe, f[2] AS fx CALL (a) {{ {ways} }} "
    "WITH fe, fx, b, x.exact + [m IN x.tests WHERE {passes} | m.exact] AS ok "
    "WHERE size(ok) > 0 "
    "WITH count(*) AS level_read, collect(CASE WHEN fe THEN b END) AS be, "
    "collect(CASE WHEN fx AND true IN ok THEN b END) AS bx "
    "CALL (be, seen) {{ UNWIND be AS b WITH DISTINCT b WITH b, b.key AS k "
    "WHERE NOT 'e|' + k IN seen RETURN collect(b) AS ne, collect(k) AS ke }} "
    "CALL (bx, seen) {{ UNWIND bx AS b WITH DISTINCT b WITH b, b.key AS k "
    "WHERE NOT 'x|' + k IN seen RETURN collect(b) AS nx, collect(k) AS kx }} "
    "CALL (ne, nx) {{ UNWIND [n IN ne | [n, true, false]] + [n IN nx | [n, false, true]] AS p "
    "WITH p[0] AS b, collect(p[1]) AS es, collect(p[2]) AS xs "
    "RETURN collect([b, true IN es, true IN xs]) AS next }} "
    "RETURN level_read, ke, kx, next }} "
    # the last level asked, or $cap nodes reached by every step (the walk is given up)
    "WITH CASE WHEN $levels <= {level} OR reached + size(ke) >= $cap THEN [] ELSE next END "
    "AS frontier, CASE WHEN $levels = {level} THEN next ELSE pending END AS pending, "
    "seen + [k IN ke | 'e|' + k] + [k IN kx | 'x|' + k] AS seen, reached + size(ke) AS reached, "
    "every + [ke] AS every, exact + [kx] AS exact, read + level_read AS read "
)

_TESTS = [
    None,
    EdgeTest(src=frozenset({K.COLUMN, K.DATASET})),
    EdgeTest(dst=frozenset({K.COLUMN})),
    EdgeTest(unset=COLUMN_LINEAGE),
]


@st.composite
def one_state_steps(draw: st.DrawFn) -> list[WalkStep]:
    """Steps that keep the walk's one state: any kind and way, exact or not, a test or none."""
    return [
        WalkStep(
            draw(st.sampled_from(WALKED)),
            draw(st.sampled_from(list(Direction))),
            draw(st.booleans()),
            accepts=draw(st.sampled_from(_TESTS)),
        )
        for _ in range(draw(st.integers(1, 8)))
    ]


_STEPS = st.one_of(st.just(walk_steps(UPSTREAM_STEPS)), one_state_steps())


def _levels(walked: Walked) -> tuple[Any, ...]:
    """Each pass's nodes reached, with their levels (the order within a level is no answer's;
    the starts are the caller's: the embedded walk leaves out a start the store lacks)."""
    return tuple(
        sorted((n, level) for n, level in zip(p.node, p.level, strict=True) if level > 0)
        for p in (walked.exact, walked.every)
    )


def _walk_before(store: Neo4jStore, **kwargs: Any) -> Walked | None:
    ws._sets_query.cache_clear()
    now = ws._SETS_LEVEL
    ws._SETS_LEVEL = _SETS_LEVEL_BEFORE  # type: ignore[assignment]
    try:
        return store._walk_sets(**kwargs)
    finally:
        ws._SETS_LEVEL = now
        ws._sets_query.cache_clear()


def test_walk_sets_answers_as_before_and_as_the_embedded_walk(neo4j_store: Neo4jStore) -> None:
    store, embedded = neo4j_store, EmbeddedStore()
    answered = []

    @store_examples(store, 80)  # Neo4j's 20: `answered` below needs them
    @given(
        graphs(),
        st.lists(st.integers(0, 39), max_size=6),
        st.lists(st.sampled_from(NODES), min_size=1, max_size=8),
        _STEPS,
        st.tuples(st.integers(1, 7), st.sampled_from([2, 6, 10_000])),
        st.sampled_from([None, "2026-01-15T00:00:00Z"]),
    )
    def check(  # noqa: PLR0917 - hypothesis hands the drawn values by position
        edges: list[Edge],
        retired: list[int],
        starts: list[NodeKey],
        steps: list[WalkStep],
        bounds: tuple[int, int],
        as_of: str | None,
    ) -> None:
        for s in (store, embedded):
            load(s, edges)
            retire_some(s, edges, retired)
        ids = list(dict.fromkeys(s.id for s in starts))
        depth, cap = bounds
        asked = {
            "starts": ids, "steps": steps, "state": PLAIN, "max_depth": depth, "as_of": as_of,
            "max_nodes": cap,
        }  # fmt: skip
        got = store._walk_sets(**asked)
        assert got == _walk_before(store, **asked)
        if got is None:
            return
        answered.append(True)
        want = embedded.walk(
            ids, steps, start_state=PLAIN, covers={}, max_depth=depth, as_of=as_of,
            max_nodes=cap, edges=False,
        )  # fmt: skip
        assert want is not None
        assert _levels(got) == _levels(want)

    check()
    assert len(answered) > 10


@pytest.mark.parametrize("depth", [1, 5, 6, 11])
def test_walk_sets_with_nothing_to_walk(neo4j_store: Neo4jStore, depth: int) -> None:
    """Levels with an empty frontier (a start with no edges, a start the store lacks)."""
    load(neo4j_store, [])
    ids = [NODES[0].id, NODES[1].id]
    asked = {
        "starts": ids, "steps": walk_steps(UPSTREAM_STEPS), "state": PLAIN, "max_depth": depth,
        "as_of": None, "max_nodes": 100,
    }  # fmt: skip
    got = neo4j_store._walk_sets(**asked)
    assert got == _walk_before(neo4j_store, **asked)
    assert got is not None and got.every.node == ids and got.visited_edges == 0

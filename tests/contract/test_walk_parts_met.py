"""The part edges a walk reads of the nodes it met (`Walked.parts`, graph/store.py; Neo4j's walk on
ids: `_PARTS_AHEAD`), and the accountability map taking its downstream nodes' assets from them
(queries/accountability.py `_assets_met`) instead of reading them after the walk.

- Neo4j, generated graphs, starts and depths, now and as of a past time: the walk asked for them
  answers as the walk not asked (every other field equal); it looked up no start, only nodes of
  the kinds asked, and every part node it reached; each way's ends are `neighbor_ends` of the
  nodes it looked up (the independent read). The walk as sets (one state) answers None.
- Both stores: `_assets_met` of any set of looked-up parts (their ends from `neighbor_ends`),
  with the rest read by `_assets_of`, answers as `_assets_of` of them all.
- Both stores: the map asking its walks for them is the map not asking, and the map computed as
  before issue 19's rework (benchmarks/accountability_before.py); on Neo4j the downstream walk's
  nodes are then not read again (no `_assets_of` id the walk looked up).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.accountability_before import accountability_before
from lineage_kg.graph.model import EdgeKind, NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.store import GraphStore, PartsMet
from lineage_kg.queries import accountability as acc
from lineage_kg.queries.assets import PART_KINDS, PART_OF, UPSTREAM_STEPS
from lineage_kg.queries.impact import IMPACT_STEPS
from lineage_kg.queries.impact_steps import COVERS, WHOLE
from lineage_kg.queries.traversal import PLAIN
from lineage_kg.queries.traversal import _walk_steps as walk_steps
from tests.contract.test_accountability_property import OWNERS as OWNERS_KEYS
from tests.contract.test_accountability_property import estates
from tests.contract.test_accountability_property import load as load_estate
from tests.contract.test_closeness_property import NODES, POOL, Edge, graphs, load
from tests.examples import store_examples

AS_OF = [None, "2026-02-15T00:00:00Z"]
OWNERS = ["team:t0", "team:t1", "p0", "p1", "alias0"]
E = EdgeKind
WAY_OF = {kind: way for kind, (_, way) in PART_OF.items()}


def _neo4j_only(store: GraphStore) -> None:
    if not isinstance(store, Neo4jStore):
        pytest.skip("the walk reads its nodes' part edges on Neo4j only")


def _read_parts(store: GraphStore, looked: set[str], as_of: str | None) -> PartsMet:
    """What a walk that looked up `looked` answers, read with `neighbor_ends` (the oracle)."""
    ends = {}
    for way in Direction:
        ids = sorted(n for n in looked if WAY_OF[NodeKey.from_id(n).kind] is way)
        ends[way] = store.neighbor_ends(ids, way, PART_KINDS[way], as_of) if ids else []
    return PartsMet(frozenset(looked), ends)


def test_the_walk_reads_the_part_edges_of_the_nodes_it_met(store: GraphStore) -> None:
    _neo4j_only(store)

    @store_examples(store, 60)
    @given(
        graphs(),
        st.lists(st.sampled_from(NODES), min_size=1, max_size=8),
        st.integers(1, 12),
        st.sampled_from([3, 100_000]),
    )
    def check(edges: list[Edge], starts: list[NodeKey], depth: int, cap: int) -> None:
        load(store, edges)
        ids = [s.id for s in starts]
        bounds = {"max_depth": depth, "as_of": None, "max_nodes": cap, "edges": False}
        args = (ids, walk_steps(IMPACT_STEPS))
        asked = store.walk(*args, start_state=WHOLE, covers=COVERS, parts=acc._PART_WAYS, **bounds)
        plain = store.walk(*args, start_state=WHOLE, covers=COVERS, **bounds)
        if asked is None or plain is None:
            assert asked is None and plain is None
            return
        assert plain.parts is None
        met = asked.parts
        assert met is not None
        assert dataclasses.replace(asked, parts=None) == plain
        assert not met.looked & set(ids)
        assert all(NodeKey.from_id(n).kind in WAY_OF for n in met.looked)
        visited = {*asked.every.node, *asked.exact.node}
        parts = {n for n in visited if NodeKey.from_id(n).kind in WAY_OF} - set(ids)
        assert parts <= met.looked, "a reached part not looked up"
        assert met == _read_parts(store, set(met.looked), None)

    check()


def test_as_of_a_past_time_and_the_walk_as_sets(store: GraphStore) -> None:
    """As of a past time (the estates' edges early or late), and the one-state walk (upstream,
    walked as sets on Neo4j) leaving it unread."""
    _neo4j_only(store)

    @store_examples(store, 30)
    @given(
        estates(), st.lists(st.sampled_from(NODES), min_size=1, max_size=8), st.sampled_from(AS_OF)
    )
    def check(estate: Any, starts: list[NodeKey], as_of: str | None) -> None:
        load_estate(store, estate)
        ids = [s.id for s in starts]
        bounds = {"max_depth": 10, "as_of": as_of, "max_nodes": 100_000, "edges": False}
        asked = store.walk(
            ids, walk_steps(IMPACT_STEPS), start_state=WHOLE, covers=COVERS,
            parts=acc._PART_WAYS, **bounds,
        )  # fmt: skip
        assert asked is not None and asked.parts is not None
        assert asked.parts == _read_parts(store, set(asked.parts.looked), as_of)
        up = store.walk(
            ids, walk_steps(UPSTREAM_STEPS), start_state=PLAIN, covers={}, parts=acc._PART_WAYS,
            **bounds,
        )  # fmt: skip
        assert up is not None and up.parts is None

    check()


def test_assets_met_answer_as_read(store: GraphStore) -> None:
    @store_examples(store, 60)
    @given(
        estates(),
        st.lists(st.sampled_from(NODES), max_size=20),
        st.sets(st.sampled_from([n.id for n in NODES if n.kind in WAY_OF])),
        st.sets(st.sampled_from([n.id for n in NODES])),
        st.sampled_from(AS_OF),
    )
    def check(
        estate: Any, asked: list[NodeKey], looked: set[str], known_ids: set[str], as_of: str | None
    ) -> None:
        load_estate(store, estate)
        ids = [n.id for n in asked]
        expected = acc._assets_of(store, ids, as_of, {})
        # known: the answer of some ids (as `_parts_of` gives the starts' parts')
        known = {n: a for n, a in expected.items() if n in known_ids}
        rest, found = acc._assets_met(ids, _read_parts(store, looked, as_of))
        assert not set(rest) & looked
        assert found | acc._assets_of(store, rest, as_of, known) == expected

    check()


class _Spies:
    """The map's `_assets_of` (the ids it reads) and `_assets_met` (the ids a walk's part edges
    answered), recorded."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.read: list[str] = []
        self.taken: list[str] = []
        real_of, real_met = acc._assets_of, acc._assets_met

        def assets_of(s: Any, ids: Any, as_of: Any, known: Any) -> dict[str, str]:
            ids = list(ids)
            self.read.extend(ids)
            return real_of(s, ids, as_of, known)

        def assets_met(ids: Any, met: Any) -> Any:
            rest, found = real_met(ids, met)
            self.taken.extend(i for i in ids if i not in set(rest))
            return rest, found

        monkeypatch.setattr(acc, "_assets_of", assets_of)
        monkeypatch.setattr(acc, "_assets_met", assets_met)

    def clear(self) -> None:
        self.read.clear()
        self.taken.clear()


def _without_parts(store: GraphStore, monkeypatch: pytest.MonkeyPatch, **asked: Any) -> Any:
    monkeypatch.setattr(acc, "_PART_WAYS", None)  # the walks not asked
    try:
        return acc.accountability(store, **asked)
    finally:
        monkeypatch.setattr(acc, "_PART_WAYS", _WAYS)


def test_the_map_the_same_asking_its_walks_for_the_parts(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    spies = _Spies(monkeypatch)

    @store_examples(store, 40)
    @given(estates(), st.sampled_from(OWNERS), st.integers(1, 10), st.sampled_from(AS_OF))
    def check(estate: Any, owner: str, depth: int, as_of: str | None) -> None:
        load_estate(store, estate)
        spies.clear()
        got = acc.accountability(store, owner, depth=depth, as_of=as_of)
        assert not set(spies.taken) & set(spies.read), "a node looked up by the walk read again"
        without = _without_parts(store, monkeypatch, owner_id=owner, depth=depth, as_of=as_of)
        assert dataclasses.astuple(got) == dataclasses.astuple(without)
        expected = accountability_before(store, owner, depth=depth, as_of=as_of)
        assert dataclasses.astuple(got) == dataclasses.astuple(expected)

    check()


def test_a_downstream_part_taken_from_the_walk(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worked estate: `out_col`, reached downstream only (through `col`), held by two datasets
    (its asset: the first by edge id), a run of the owned job; on Neo4j its asset comes from the
    downstream walk's part edges, and it is not read again."""
    t0, _, p0, p1, _ = OWNERS_KEYS
    ds, out, x = POOL[K.DATASET]
    col, out_col = POOL[K.COLUMN][:2]
    job, run = POOL[K.JOB][0], POOL[K.RUN][0]
    edges: list[Edge] = [
        (ds, E.HAS_COLUMN, col, {}),
        (ds, E.INPUT_TO, job, {}),
        (job, E.PRODUCES, out, {}),
        (col, E.FEEDS, out_col, {}),
        (x, E.HAS_COLUMN, out_col, {}),
        (out, E.HAS_COLUMN, out_col, {}),
        (run, E.RUN_OF, job, {}),
        (t0, E.OWNS, ds, {"disc": "a"}),
        (t0, E.OWNS, job, {"disc": "a"}),
        (p1, E.OWNS, out, {"disc": "b"}),
        (p0, E.MEMBER_OF, t0, {}),
    ]
    load_estate(store, (edges, [False] * len(edges), {}))
    spies = _Spies(monkeypatch)
    got = acc.accountability(store, "team:t0")
    assert spies.taken == ([out_col.id] if isinstance(store, Neo4jStore) else [])
    assert out_col.id not in spies.read or not isinstance(store, Neo4jStore)
    without = _without_parts(store, monkeypatch, owner_id="team:t0")
    assert dataclasses.astuple(got) == dataclasses.astuple(without)
    assert dataclasses.astuple(got) == dataclasses.astuple(accountability_before(store, "team:t0"))
    assert [(r.node.id, r.distance) for r in got.downstream] == [(out.id, 1), (x.id, 2)]


_WAYS = acc._PART_WAYS


def test_the_statement_needs_no_paths() -> None:
    from lineage_kg.graph.ends_walk import walk_moves
    from lineage_kg.graph.neo4j_walk_statements import reach_statement

    moves = walk_moves(walk_steps(IMPACT_STEPS), WHOLE)
    for other in ({"ahead": True}, {"element_ids": True}):
        with pytest.raises(ValueError, match="without paths"):
            reach_statement(
                ["x"], moves, start_state=WHOLE, as_of=None, limit=10, parts=_WAYS, **other
            )
    assert EdgeKind.HAS_COLUMN in {k for _, kinds in _WAYS.values() for k in kinds}

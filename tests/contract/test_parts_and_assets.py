"""`GraphStore.parts_and_assets` (the accountability map's parts and their assets in one call; on
Neo4j one statement, graph/neo4j_parts_assets.py): on both stores, on generated estates of every
lineage kind (columns of several datasets, versions, features), now and as of a time before some
edges were retired, it answers what an independent reading of the whole graph (`iter_edges`)
says: the edges of the kinds out of the ids asked, and every edge of those kinds into the parts
they reach, each by edge id, once; and the two `neighbor_ends` reads it stands for."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lineage_kg.graph.model import EdgeKind, NodeKey
from lineage_kg.graph.mutations import Direction, EdgeRetire, Provenance
from lineage_kg.graph.records import StoredEdge
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.assets import WALK_PARTS
from tests.contract.test_closeness_property import NODES, Edge, graphs, load
from tests.examples import store_examples

E = EdgeKind
LATER = Provenance("test", "e2", "2026-02-01T00:00:00Z")
KIND_SETS = [list(WALK_PARTS), [E.HAS_COLUMN], [E.HAS_VERSION, E.RUN_OF]]


def _valid(e: StoredEdge, when: str | None) -> bool:
    return e.current if when is None else e.valid_at(when)


def _oracle(
    edges: list[StoredEdge], ids: list[str], kinds: list[EdgeKind], when: str | None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    live = sorted(
        (e for e in edges if _valid(e, when) and e.key.kind in kinds), key=lambda e: e.key.id
    )
    parts = [(e.key.src.id, e.key.dst.id) for e in live if e.key.src.id in ids]
    reached = {dst for _, dst in parts}
    into = [(e.key.src.id, e.key.dst.id) for e in live if e.key.dst.id in reached]
    return parts, into


def test_the_parts_and_their_assets_are_the_graphs(store: GraphStore) -> None:
    @store_examples(store, 60)
    @given(
        graphs(),
        st.lists(st.sampled_from(NODES), max_size=8),
        st.sampled_from(range(len(KIND_SETS))),
        st.tuples(
            st.lists(st.integers(0, 39), max_size=4),  # edges retired later
            st.sampled_from([None, "2026-01-15T00:00:00Z"]),
        ),
    )
    def check(edges: list[Edge], starts: list[NodeKey], which: int, time: Any) -> None:
        load(store, edges)
        retired, when = time
        retires = [
            EdgeRetire(edges[i][0], edges[i][1], Direction.OUT, frozenset(), LATER)
            for i in retired
            if i < len(edges)
        ]
        if retires:
            store.apply(retires)
        kinds = KIND_SETS[which]
        ids = [s.id for s in starts]
        got = store.parts_and_assets(ids, kinds, when)
        assert got == _oracle(list(store.iter_edges()), ids, kinds, when)
        assert got == GraphStore.parts_and_assets(store, ids, kinds, when)

    check()

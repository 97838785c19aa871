"""The accountability map's `_assets_of` (queries/accountability.py) given what `_parts_of` read
with the starts' parts (`known`: those parts' assets, their ids then not parsed nor read again)
answers what queries/assets.py `assets_of` says of the same nodes, read on its own (the nodes
themselves, one edge read per direction), on both stores and generated estates (parts of several
assets among them), now and as of a time before some edges were retired."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.mutations import Direction, EdgeRetire
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.accountability import _assets_of, _parts_of
from lineage_kg.queries.assets import assets_of
from tests.contract.test_closeness_property import NODES, Edge, graphs, load
from tests.contract.test_parts_and_assets import LATER
from tests.examples import store_examples


def test_assets_of_with_the_parts_known_is_assets_of(store: GraphStore) -> None:
    @store_examples(store, 50)
    @given(
        graphs(),
        st.lists(st.sampled_from(NODES), max_size=8),
        st.tuples(
            st.lists(st.integers(0, 39), max_size=4),  # edges retired later
            st.sampled_from([None, "2026-01-15T00:00:00Z"]),
        ),
    )
    def check(edges: list[Edge], starts: list[NodeKey], time: Any) -> None:
        load(store, edges)
        retired, when = time
        retires = [
            EdgeRetire(edges[i][0], edges[i][1], Direction.OUT, frozenset(), LATER)
            for i in retired
            if i < len(edges)
        ]
        if retires:
            store.apply(retires)
        mine = sorted({s.id for s in starts})
        parts, known = _parts_of(store, mine, when)
        ids = sorted({end for e in store.iter_edges() for end in (e.key.src.id, e.key.dst.id)})
        want = assets_of(store, store.get_nodes(ids), when)
        assert _assets_of(store, [*ids, *parts], when, known) == want
        assert _assets_of(store, ids, when, {}) == want

    check()

"""The PNG export's arrows (issue 18 §6): an impact picture points away from the start along the
walk, also where the walk went against an edge's stored direction (a column's HAS_COLUMN back to
its table); the other exports keep every edge as stored."""

from __future__ import annotations

import pytest

from lineage_kg.cli.export import accountability_graph, drawn_edges, impact_graph
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.ingest.demo import ORDERS, PG, demo_batch
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.impact import impact

AMOUNT = NodeKey.of(NodeKind.COLUMN, namespace=PG, name=ORDERS, field="amount")
TABLE = NodeKey.of(NodeKind.DATASET, namespace=PG, name=ORDERS)


@pytest.fixture(scope="module")
def store() -> EmbeddedStore:
    s = EmbeddedStore()
    s.apply(demo_batch())
    return s


@pytest.mark.parametrize("start", [AMOUNT, TABLE])
def test_impact_arrows_point_away_from_the_start(store: EmbeddedStore, start: NodeKey) -> None:
    graph = impact_graph(impact(store, start.id))
    distance = {n: d["distance"] for n, d in graph.nodes(data=True)}
    drawn = drawn_edges(graph)
    assert len(drawn) == graph.number_of_edges()
    for src, dst, _ in drawn:
        assert distance[src] <= distance[dst], (src, dst)
    # the same edges, each either as stored or turned round
    stored = {(s, t) for s, t in graph.edges()}
    assert all((s, t) in stored or (t, s) in stored for s, t, _ in drawn)
    if start == AMOUNT:  # stored table -> column; walked column -> table: drawn as walked
        assert (AMOUNT.id, TABLE.id) in {(s, t) for s, t, _ in drawn}
        assert (TABLE.id, AMOUNT.id) in stored


def test_other_pictures_keep_the_stored_direction(store: EmbeddedStore) -> None:
    owner = NodeKey.of(NodeKind.OWNER, owner_id="team:data-platform")
    graph = accountability_graph(accountability(store, owner.id))
    assert [(s, t) for s, t, _ in drawn_edges(graph)] == [(s, t) for s, t in graph.edges()]

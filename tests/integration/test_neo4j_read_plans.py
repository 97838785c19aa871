"""The one-row reads of issue 19 (nodes, and nodes with their neighbours in one statement) seek
their ids by the unique index, as every neighbour read does (tests/integration/
test_neo4j_plans.py), and answer one row whatever they find."""

from __future__ import annotations

import pytest

from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_store import (
    _GET_NODES,
    Neo4jStore,
    _nodes_and_each_way_query,
)
from lineage_kg.ingest.demo import demo_batch
from tests.neo4j_plans import explain, seeks_without_scans

pytestmark = pytest.mark.neo4j


def test_one_row_reads_seek_by_index(neo4j_store: Neo4jStore) -> None:
    neo4j_store.apply(demo_batch())
    both = _nodes_and_each_way_query(frozenset([EdgeKind.RUN_OF]), frozenset([EdgeKind.OWNS]))
    checked = [
        ("nodes", _GET_NODES, {"ids": ["x"]}, 1),
        ("nodes and neighbours", both, {"node_ids": ["x"], "ids": ["y"], "as_of": None}, 2),
    ]
    bad = {}
    for name, query, params, seeks in checked:
        ops = explain(neo4j_store, query, **params)
        if not seeks_without_scans(ops, seeks):
            bad[name] = ops
    assert bad == {}
    # nothing found: one row of empty lists, read as nothing
    assert neo4j_store.get_nodes(["absent"]) == []
    assert neo4j_store.nodes_and_neighbors(["absent"], ["absent"], {}) == ([], [])
    both_ways = {d: [EdgeKind.OWNS] for d in Direction}
    assert neo4j_store.nodes_and_neighbors(["absent"], ["absent"], both_ways) == ([], [])

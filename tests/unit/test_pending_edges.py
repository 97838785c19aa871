"""Neo4j's path edges held by their keys until a field is read (graph/neo4j_store.py
`_PathEdges`): the first field read fills every pending edge in one read, each then a plain
`StoredEdge`; an edge gone since the walk read it (a merge re-homing a node) is a "try again"
(StoreUnavailable), not an internal error."""

from __future__ import annotations

from typing import Any

import pytest

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.neo4j_store import _PathEdges
from lineage_kg.graph.records import EdgeId, StoredEdge
from lineage_kg.graph.store import StoreUnavailable

A = NodeKey.of(NodeKind.COLUMN, namespace="n", name="t", field="a").id
B = NodeKey.of(NodeKind.COLUMN, namespace="n", name="t", field="b").id
FIRST: EdgeId = (A, EdgeKind.FEEDS.value, B, "")
SECOND: EdgeId = (B, EdgeKind.FEEDS.value, A, "")


def record() -> dict[str, Any]:
    at = "2026-01-01T00:00:00Z"
    return {
        "disc": "",
        "sources": ["openlineage"],
        "first_seen": at,
        "first_event": "e1",
        "last_seen": at,
        "last_event": "e1",
    }


def test_the_first_field_read_fills_every_pending_edge_in_one_read() -> None:
    reads: list[list[EdgeId]] = []

    def read(ids: list[EdgeId]) -> dict[EdgeId, Any]:
        reads.append(ids)
        return {i: record() for i in ids}

    edges = _PathEdges({FIRST: 0, SECOND: 1}, read)
    assert edges[0].key.src.id == A and reads == []  # the key needs no read
    assert edges[1].first_seen == "2026-01-01T00:00:00Z"
    assert reads == [[FIRST, SECOND]]
    assert type(edges[0]) is StoredEdge and edges[0] == StoredEdge.from_record(FIRST, record())
    assert reads == [[FIRST, SECOND]]


def test_an_edge_gone_since_the_walk_is_a_try_again() -> None:
    edges = _PathEdges({FIRST: 0, SECOND: 1}, lambda ids: {FIRST: record()})
    with pytest.raises(StoreUnavailable, match="ask again"):
        _ = edges[1].props

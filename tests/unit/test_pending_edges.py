"""Neo4j's path edges held by their keys until a field is read (graph/neo4j_path_edges.py
`PathEdges`): the first field read fills every pending edge in one read, each then a plain
`StoredEdge`; an edge gone since the walk read it (a merge re-homing a node) is a "try again"
(StoreUnavailable), not an internal error."""

from __future__ import annotations

from typing import Any

import pytest

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.neo4j_path_edges import PathEdges
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

    edges = PathEdges({FIRST: 0, SECOND: 1}, read)
    assert edges[0].key.src.id == A and reads == []  # the key needs no read
    assert edges[1].first_seen == "2026-01-01T00:00:00Z"
    assert reads == [[FIRST, SECOND]]
    assert type(edges[0]) is StoredEdge and edges[0] == StoredEdge.from_record(FIRST, record())
    assert reads == [[FIRST, SECOND]]


def test_an_edge_gone_since_the_walk_is_a_try_again() -> None:
    edges = PathEdges({FIRST: 0, SECOND: 1}, lambda ids: {FIRST: record()})
    with pytest.raises(StoreUnavailable, match="ask again"):
        _ = edges[1].props


def test_path_edges_are_looked_up_by_element_id_where_the_walk_read_one() -> None:
    edges = PathEdges({FIRST: 0, SECOND: 1}, lambda ids: {}, {SECOND: "5:db:42"})
    rows, eids = edges.lookups()
    assert rows == [{"src": A, "kind": EdgeKind.FEEDS.value, "dst": B, "disc": ""}]
    assert eids == ["5:db:42"]
    edges.fill({SECOND: record()})
    assert edges.lookups() == ([{"src": A, "kind": EdgeKind.FEEDS.value, "dst": B, "disc": ""}], [])


def test_an_element_id_reused_by_another_edge_leaves_the_edge_pending() -> None:
    """Element ids hold within a transaction: one read later may name another edge. The record
    says which edge it is; the edge the walk read stays pending and is read by key."""
    reads: list[list[EdgeId]] = []

    def read(ids: list[EdgeId]) -> dict[EdgeId, Any]:
        reads.append(ids)
        return {i: record() for i in ids}

    edges = PathEdges({FIRST: 0}, read, {FIRST: "5:db:7"})
    other: EdgeId = (B, EdgeKind.FEEDS.value, B, "")
    edges.fill({other: record()})  # what the reused id names now
    assert FIRST in edges.pending and reads == []
    assert edges[0].first_seen == "2026-01-01T00:00:00Z" and reads == [[FIRST]]

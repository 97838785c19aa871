"""`GraphStore.nodes_and_neighbors` (one round trip on Neo4j) answers what `get_nodes` and
`neighbors_each_way` answer, on both stores, against an oracle built from the whole graph
(`iter_nodes`, `iter_edges`, filtered here) over random id sets, kinds and times."""

from __future__ import annotations

import random
from typing import Any

from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge
from lineage_kg.graph.store import GraphStore

ABSENT = '["Dataset","nowhere","nothing"]'


def oracle_edges(
    edges: list[StoredEdge],
    ids: set[str],
    kinds: dict[Direction, list[EdgeKind]],
    as_of: str | None,
) -> list[tuple[Any, Direction]]:
    found = []
    for edge in edges:
        if not (edge.current if as_of is None else edge.valid_at(as_of)):
            continue
        for way in Direction:
            at = edge.key.src.id if way is Direction.OUT else edge.key.dst.id
            if at in ids and edge.key.kind in kinds.get(way, ()):
                found.append((edge, way))
    return found


def by_id(found: list[tuple[StoredEdge, Direction]]) -> list[tuple[Any, ...]]:
    return sorted(((e.key.id, w.value, e) for e, w in found), key=lambda x: (x[0], x[1]))


def test_nodes_and_neighbors_is_both_reads_in_one(store: GraphStore, value_chain: Any) -> None:
    nodes = list(store.iter_nodes())
    edges = list(store.iter_edges())
    times = sorted({e.first_seen for e in edges})
    all_ids = [n.id for n in nodes]
    rng = random.Random(19)
    checked = 0
    for _ in range(40):
        node_ids = [*rng.sample(all_ids, rng.randint(0, 8)), ABSENT]
        rng.shuffle(node_ids)
        ids = rng.sample(all_ids, rng.randint(0, 8))
        kinds = {
            way: rng.sample(list(EdgeKind), rng.randint(0, 4))
            for way in Direction
            if rng.random() < 0.8
        }
        as_of = rng.choice([None, times[len(times) // 2], times[-1]])
        got_nodes, got_edges = store.nodes_and_neighbors(node_ids, ids, kinds, as_of)
        assert got_nodes == [n for i in node_ids for n in nodes if n.id == i]
        expected = oracle_edges(edges, set(ids), kinds, as_of)
        assert by_id(got_edges) == by_id(expected)
        checked += bool(expected) and bool(got_nodes)
    assert checked > 5  # most draws found both nodes and edges

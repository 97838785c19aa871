"""`GraphStore.neighbor_ends` is `neighbors` without the edges: on both stores, for every node of
the value chain and sets of them, each way, with and without a kind filter, now and at earlier
times, the (source id, target id) of each edge `neighbors` answers, in its order — checked
against `iter_edges`, which reads the whole graph another way."""

from __future__ import annotations

from typing import Any

from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge
from lineage_kg.graph.store import GraphStore

KINDS: list[list[E] | None] = [None, [E.HAS_COLUMN], [E.OWNS, E.FEEDS, E.INPUT_TO, E.PRODUCES]]


def oracle(
    edges: list[StoredEdge], ids: list[str], way: Direction, kinds: list[E] | None, when: str | None
) -> list[tuple[str, str]]:
    at = set(ids)
    found = [
        e
        for e in edges
        if (kinds is None or e.key.kind in kinds)
        and (e.key.src.id if way is Direction.OUT else e.key.dst.id) in at
        and (e.current if when is None else e.valid_at(when))
    ]
    return [(e.key.src.id, e.key.dst.id) for e in sorted(found, key=lambda e: e.key.id)]


def test_neighbor_ends_are_the_ends_of_neighbors(store: GraphStore, value_chain: Any) -> None:
    edges = list(store.iter_edges())
    nodes = sorted(n.id for n in store.iter_nodes())
    times = sorted({e.first_seen for e in edges} | {e.valid_to for e in edges if e.valid_to})
    asked = [[n] for n in nodes] + [nodes[::2], nodes, []]
    checked = 0
    for ids in asked:
        for way in Direction:
            for kinds in KINDS:
                for when in [None, *times[::3]]:
                    expected = oracle(edges, ids, way, kinds, when)
                    assert store.neighbor_ends(ids, way, kinds, when) == expected
                    checked += bool(expected)
    assert checked > 50  # the chain's edges were there to be found

"""Neo4j's pending path edges get their keys made from the ids the walk read, without
`EdgeKey`'s check (graph/neo4j_path_edges.py `_walked_key`): each must be the key `EdgeKey(...)`
makes, equal, hashed, ordered and identified alike, for an edge of every kind."""

from __future__ import annotations

from typing import Any

from lineage_kg.graph.ends_walk import EndsAhead
from lineage_kg.graph.model import KEY_FIELDS, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import EdgeKey
from lineage_kg.graph.neo4j_path_edges import PathEdges, element_ids
from lineage_kg.graph.records import EdgeId, StoredEdge


def node(kind: NodeKind, tag: str) -> NodeKey:
    return NodeKey.of(kind, **{f: f"{tag}-{f}" for f in KEY_FIELDS[kind]})


def edge_ids() -> list[EdgeId]:
    """An edge of every kind between the first kinds its spec allows, plain and with a disc."""
    ids: list[EdgeId] = []
    for kind in EdgeKind:
        src = node(sorted(kind.spec.sources)[0], "s")
        dst = node(sorted(kind.spec.targets)[0], "d")
        ids += [(src.id, kind.value, dst.id, ""), (src.id, kind.value, dst.id, "two")]
    return ids


def checked(eid: EdgeId) -> EdgeKey:
    src, kind, dst, disc = eid
    return EdgeKey(NodeKey.from_id(src), EdgeKind(kind), NodeKey.from_id(dst), disc)


def test_each_pending_key_is_the_key_edgekey_makes() -> None:
    ids = edge_ids()
    edges = PathEdges({eid: no for no, eid in enumerate(ids)}, lambda wanted: {})
    keys = [edges[no].key for no in range(len(ids))]
    for eid, key in zip(ids, keys, strict=True):
        made = checked(eid)
        assert key == made and hash(key) == hash(made)
        assert key.id == made.id == eid
        assert (key.src, key.kind, key.dst, key.disc) == (made.src, made.kind, made.dst, made.disc)
        assert type(key.kind) is EdgeKind and type(key.src) is NodeKey
    assert sorted(keys) == sorted(map(checked, ids))
    assert len(edges.pending) == len(ids)  # no record read for a key


def test_a_filled_edge_is_the_edge_read_whole() -> None:
    at = "2026-01-01T00:00:00Z"
    record: dict[str, Any] = {
        "sources": ["openlineage"],
        "first_seen": at,
        "first_event": "e1",
        "last_seen": at,
        "last_event": "e2",
    }
    ids = edge_ids()
    edges = PathEdges(
        {eid: no for no, eid in enumerate(ids)},
        lambda wanted: {eid: {**record, "disc": eid[3]} for eid in wanted},
    )
    for no, eid in enumerate(ids):
        assert edges[no] == StoredEdge.from_record(eid, {**record, "disc": eid[3]})
        assert type(edges[no]) is StoredEdge


def test_element_ids_are_the_last_value_the_walk_read_at_either_end() -> None:
    """Each edge's element id (the last of its values) from whichever end the read-ahead holds it
    at, out first; an edge held at neither end has none. Read against the rows themselves."""
    ids = edge_ids()
    rows: list[tuple[str, str, str, str, bool, list[Any]]] = []
    for n, (src, kind, dst, disc) in enumerate(ids):
        if n % 4 != 3:  # every fourth edge is not read ahead
            rows.append((src, kind, dst, disc, n % 2 == 0, [n % 3 == 0, f"5:db:{n}"]))
    ahead = EndsAhead({r[0] for r in rows} | {r[2] for r in rows}, rows)
    expected = {(s, k, d, c): values[-1] for s, k, d, c, _, values in rows}
    assert dict(element_ids(ahead, ids)) == expected
    assert len(expected) < len(ids) and any(r[4] for r in rows) and not all(r[4] for r in rows)

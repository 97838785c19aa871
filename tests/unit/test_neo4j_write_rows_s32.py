"""graph/neo4j_unit_of_work.py's write since session 32, the rows it sends: the node rows as the
write before sent them (tests/unit/test_neo4j_write_rows.py's oracle, the statements' texts aside:
each node statement now also answers with its nodes' element ids), and every edge exactly once —
by the element ids of its ends when this unit of work wrote both, by key otherwise — over
generated batches. A recording transaction answers each node statement with made-up ids (`id:`
and the key), so an edge row's ids say which keys they stand for. The graph a real Neo4j ends
with is checked by tests/integration/test_neo4j_writes_s31.py and test_neo4j_writes_s32.py."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import neo4j_cypher
from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.neo4j_params import QuietList
from lineage_kg.graph.neo4j_unit_of_work import (
    _CREATE_EDGES,
    _CREATE_EDGES_AT,
    _WRITE_EDGES,
    _WRITE_EDGES_AT,
    Neo4jUnitOfWork,
)
from lineage_kg.graph.records import EdgeId, Record

# the recording transaction answers a node statement with an element id per row: `id:` and key
from tests.unit.test_neo4j_write_rows import _NODE_STATEMENTS, _batches, _Recording, old_write

_IDS = " RETURN collect(row.key) AS k, collect(elementId(n)) AS e"


def _edge_sent(query: str, row: dict[str, Any]) -> tuple[str, str, str, bool, bool]:
    """(src, kind, dst, new, by element id) of an edge row as sent."""
    for by_id, table in ((True, _CREATE_EDGES_AT), (True, _WRITE_EDGES_AT)):
        for kind, q in table.items():
            if q == query:
                src, dst = row["a"].removeprefix("id:"), row["b"].removeprefix("id:")
                return src, kind.value, dst, table is _CREATE_EDGES_AT, by_id
    for table in (_CREATE_EDGES, _WRITE_EDGES):
        for kind, q in table.items():
            if q == query:
                return row["src"], kind.value, row["dst"], table is _CREATE_EDGES, False
    raise AssertionError(f"not an edge statement: {query}")


def _write(
    nodes: dict[str, Record], edges: dict[EdgeId, Record], new_nodes: Any, new_edges: Any
) -> tuple[_Recording, _Recording]:
    old, new = _Recording(), _Recording()
    old_write(old, nodes, edges, new_nodes, new_edges)
    Neo4jUnitOfWork(new).write(nodes, edges, new_nodes, new_edges)  # type: ignore[arg-type]
    return old, new


@given(batch=_batches(), chunk=st.integers(1, 7))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_nodes_as_before_and_each_edge_once_by_ids_where_both_ends_were_written(
    batch: tuple[Any, ...], chunk: int
) -> None:
    nodes, edges, new_nodes, new_edges = batch
    with pytest.MonkeyPatch.context() as mp:  # small chunks, so that batches span several
        mp.setattr(neo4j_cypher, "CHUNK", chunk)
        old, new = _write(nodes, edges, new_nodes, new_edges)
    # (that oracle takes the statements from the module: the texts with their RETURN)
    old_nodes = [(q, list(p["rows"])) for q, p in old.sent if q in _NODE_STATEMENTS]
    assert all(q.endswith(_IDS) for q, _ in old_nodes)
    assert [(q, list(p["rows"])) for q, p in new.sent if q in _NODE_STATEMENTS] == old_nodes
    # every edge exactly once, with its record, new or not as told, by ids iff both ends written
    sent: Counter[tuple[Any, ...]] = Counter()
    for query, params in new.sent:
        assert type(params["rows"]) is QuietList
        assert repr(params["rows"]) == f"<list of {len(params['rows'])}>"
        if query in _NODE_STATEMENTS:
            continue
        for row in params["rows"]:
            src, kind, dst, is_new, by_id = _edge_sent(query, row)
            eid = (src, kind, dst, row["rec"]["disc"])
            assert row["rec"] is edges[eid]
            assert is_new == (eid in new_edges)
            assert by_id == (src in nodes and dst in nodes)
            sent[eid] += 1
    assert sent == Counter(edges.keys())
    # node statements all come first, as before (an edge's ends written before it)
    kinds = [q in _NODE_STATEMENTS for q, _ in new.sent]
    assert kinds == sorted(kinds, reverse=True)


def test_ids_never_outlive_their_unit_nor_a_delete() -> None:
    """A unit of work of another transaction knows no id: its edges go by key. A delete in the
    same unit forgets the ids it had (a deleted node's id is another node's to take)."""
    a, b = "a", "b"
    nodes = {k: {"key": k, "kind": NodeKind.DATASET.value} for k in (a, b)}
    edge = {(a, EdgeKind.FEEDS.value, b, ""): {"disc": ""}}
    first = _Recording()
    Neo4jUnitOfWork(first).write(nodes, edge, set(nodes), set(edge))  # type: ignore[arg-type]
    assert first.sent[-1][0] == _CREATE_EDGES_AT[EdgeKind.FEEDS]
    other = _Recording()
    Neo4jUnitOfWork(other).write({}, edge, set(), set(edge))  # type: ignore[arg-type]
    assert [q for q, _ in other.sent] == [_CREATE_EDGES[EdgeKind.FEEDS]]
    same = _Recording()
    uow = Neo4jUnitOfWork(same)  # type: ignore[arg-type]
    uow.write(nodes, {}, set(nodes), set())
    uow.delete_nodes(["c"])
    uow.write({}, edge, set(), set(edge))
    assert same.sent[-1][0] == _CREATE_EDGES[EdgeKind.FEEDS]

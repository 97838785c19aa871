"""graph/neo4j_unit_of_work.py's write: the node statements it sends, held to the code as it
stood before (kept here verbatim as the oracle) over generated records: the same statements in the
same order with the same rows, chunk by chunk; each chunk a `QuietList` (graph/neo4j_params.py),
which the driver packs to the same bytes as the plain list and whose `repr` (built by the driver's
debug log on every RUN, whatever the log level) is short whatever the rows hold. Since session 32
an edge whose ends the same unit wrote goes by their element ids: its rows are
tests/unit/test_neo4j_write_rows_s32.py's (which uses this oracle and generator)."""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from neo4j._codec.packstream import Structure
from neo4j._codec.packstream.v1 import Packer

from lineage_kg.graph import neo4j_cypher
from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.neo4j_params import QuietList
from lineage_kg.graph.neo4j_unit_of_work import (
    _CREATE_EDGES,
    _CREATE_NODES,
    _WRITE_EDGES,
    _WRITE_NODES,
    Neo4jUnitOfWork,
)
from lineage_kg.graph.records import EdgeId, Record

_NODE_STATEMENTS = {q for d in (_CREATE_NODES, _WRITE_NODES) for q in d.values()}


class _Done:
    """A statement's answer: a node statement's one row names its nodes' element ids."""

    def __init__(self, row: dict[str, Any] | None = None) -> None:
        self.row = row

    def consume(self) -> None:
        return None

    def single(self, strict: bool = False) -> dict[str, Any] | None:
        assert strict and self.row is not None
        return self.row

    def __iter__(self) -> Any:
        return iter(())


class _Recording:
    """A transaction that keeps what each `run` was given (the rows as the list they are)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def run(self, query: str, **params: Any) -> _Done:
        self.sent.append((query, params))
        if query in _NODE_STATEMENTS:
            keys = [r["key"] for r in params["rows"]]
            return _Done({"k": keys, "e": [f"id:{k}" for k in keys]})
        return _Done()


# ---- the oracle: Neo4jUnitOfWork.write before this change (verbatim) ------------------------
def old_write(
    tx: Any,
    nodes: dict[str, Record],
    edges: dict[EdgeId, Record],
    new_nodes: Any = frozenset(),
    new_edges: Any = frozenset(),
) -> None:
    chunks = neo4j_cypher.chunks
    by_kind: dict[tuple[NodeKind, bool], list[Record]] = defaultdict(list)
    for key, record in nodes.items():
        by_kind[NodeKind(record["kind"]), key in new_nodes].append(record)
    for (kind, new), records in by_kind.items():
        query = (_CREATE_NODES if new else _WRITE_NODES)[kind]
        for chunk in chunks(records):
            tx.run(query, rows=chunk).consume()
    edges_by_kind: dict[tuple[EdgeKind, bool], list[dict[str, Any]]] = defaultdict(list)
    for eid, record in edges.items():
        src, kind, dst, _disc = eid
        row = {"src": src, "dst": dst, "rec": record}
        edges_by_kind[EdgeKind(kind), eid in new_edges].append(row)
    for (ekind, new), rows in edges_by_kind.items():
        query = (_CREATE_EDGES if new else _WRITE_EDGES)[ekind]
        for chunk in chunks(rows):
            tx.run(query, rows=chunk).consume()


def _packed(value: Any) -> bytes:
    out = io.BytesIO()
    Packer(out).pack(Structure(b"\x10", "RETURN 1", {"rows": value}, {}))
    return out.getvalue()


_names = st.text("abcxyz/:._", min_size=1, max_size=6)
_values = st.one_of(
    _names,
    st.integers(-(2**40), 2**40),
    st.booleans(),
    st.lists(_names, max_size=3),
    st.floats(allow_nan=False),
)


@st.composite
def _batches(draw: st.DrawFn) -> tuple[Any, ...]:
    ids = draw(st.lists(_names, min_size=1, max_size=12, unique=True))
    nodes: dict[str, Record] = {}
    for node_id in ids:
        kind = draw(st.sampled_from(list(NodeKind)))
        props = draw(st.dictionaries(st.sampled_from(["a", "b", "_stamps"]), _values, max_size=3))
        nodes[node_id] = {"key": node_id, "kind": kind.value, **props}
    edges: dict[EdgeId, Record] = {}
    for _ in range(draw(st.integers(0, 30))):
        eid = (
            draw(st.sampled_from(ids)),
            draw(st.sampled_from(list(EdgeKind))).value,
            draw(st.sampled_from(ids)),
            draw(st.sampled_from(["", "sql", "x"])),
        )
        edges[eid] = {"disc": eid[3], **draw(st.dictionaries(_names, _values, max_size=3))}
    new_nodes = {k for k in nodes if draw(st.booleans())}
    new_edges = {k for k in edges if draw(st.booleans())}
    # some written, some only named (a store may be told of more new keys than it writes)
    written = dict(list(nodes.items())[: draw(st.integers(0, len(nodes)))])
    return written, edges, new_nodes, new_edges


@given(batch=_batches(), chunk=st.integers(1, 7))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_write_sends_the_node_rows_the_old_write_sent(batch: tuple[Any, ...], chunk: int) -> None:
    nodes, edges, new_nodes, new_edges = batch
    with pytest.MonkeyPatch.context() as mp:  # small chunks, so that batches span several
        mp.setattr(neo4j_cypher, "CHUNK", chunk)
        old, new = _Recording(), _Recording()
        old_write(old, nodes, edges, new_nodes, new_edges)
        Neo4jUnitOfWork(new).write(nodes, edges, new_nodes, new_edges)  # type: ignore[arg-type]
    sent = [(q, p) for q, p in new.sent if q in _NODE_STATEMENTS]
    oracle = [(q, p) for q, p in old.sent if q in _NODE_STATEMENTS]
    assert [(q, list(p["rows"])) for q, p in sent] == [(q, list(p["rows"])) for q, p in oracle]
    for (_, params), (_, before) in zip(sent, oracle, strict=True):
        assert type(params["rows"]) is QuietList
        assert _packed(params["rows"]) == _packed(before["rows"])
        assert repr(params["rows"]) == f"<list of {len(before['rows'])}>"


def test_a_large_batch_is_sent_in_chunks_of_the_store() -> None:
    nodes = {f"n{i}": {"key": f"n{i}", "kind": NodeKind.DATASET.value} for i in range(12_001)}
    old, new = _Recording(), _Recording()
    old_write(old, nodes, {}, set(nodes))
    Neo4jUnitOfWork(new).write(nodes, {}, set(nodes))  # type: ignore[arg-type]
    assert [len(p["rows"]) for _, p in new.sent] == [5_000, 5_000, 2_001]
    assert [(q, list(p["rows"])) for q, p in new.sent] == [
        (q, list(p["rows"])) for q, p in old.sent
    ]


def test_loads_send_rows_too() -> None:
    tx = _Recording()
    uow = Neo4jUnitOfWork(tx)  # type: ignore[arg-type]
    uow.load_nodes(["a", "b"])
    uow.load_edges([("a", EdgeKind.FEEDS.value, "b", "")])
    uow.delete_nodes(["a"])
    assert [type(next(iter(p.values()))) for _, p in tx.sent] == [QuietList] * 3

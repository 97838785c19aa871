"""graph/neo4j_unit_of_work.py's write, on a real Neo4j, held to the write as it stood before
session 31 (its statements and its code kept here verbatim as the oracle): generated batches of
new, existing and updated records (props added, changed and dropped), edges with and without a
disc, and a dense node, written batch by batch into an emptied database by each; the graph after
(every node's labels and properties, every relationship's ends, type and properties) must be the
same."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any, LiteralString, cast

import neo4j
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph import neo4j_cypher
from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.neo4j_unit_of_work import Neo4jUnitOfWork
from lineage_kg.graph.records import EdgeId, Record

pytestmark = pytest.mark.neo4j

# ---- the oracle: the statements and Neo4jUnitOfWork.write before session 31 (verbatim) -------
_WRITE_NODES: dict[NodeKind, LiteralString] = {
    kind: cast(
        LiteralString,
        f"UNWIND $rows AS row MERGE (n:Node {{key: row.key}}) SET n = row, n:{kind.value}",
    )
    for kind in NodeKind
}
_CREATE_NODES: dict[NodeKind, LiteralString] = {
    kind: cast(LiteralString, f"UNWIND $rows AS row CREATE (n:Node:{kind.value}) SET n = row")
    for kind in NodeKind
}
_WRITE_EDGES: dict[EdgeKind, LiteralString] = {
    kind: cast(
        LiteralString,
        "UNWIND $rows AS row "
        "MATCH (a:Node {key: row.src}) MATCH (b:Node {key: row.dst}) "
        f"MERGE (a)-[r:{kind.value} {{disc: row.rec.disc}}]->(b) SET r = row.rec",
    )
    for kind in EdgeKind
}
_CREATE_EDGES: dict[EdgeKind, LiteralString] = {
    kind: cast(
        LiteralString,
        "UNWIND $rows AS row "
        "MATCH (a:Node {key: row.src}) MATCH (b:Node {key: row.dst}) "
        f"CREATE (a)-[r:{kind.value}]->(b) SET r = row.rec",
    )
    for kind in EdgeKind
}
_CREATE_NODES_BY: dict[str, LiteralString] = {k.value: q for k, q in _CREATE_NODES.items()}
_WRITE_NODES_BY: dict[str, LiteralString] = {k.value: q for k, q in _WRITE_NODES.items()}
_CREATE_EDGES_BY: dict[str, LiteralString] = {k.value: q for k, q in _CREATE_EDGES.items()}
_WRITE_EDGES_BY: dict[str, LiteralString] = {k.value: q for k, q in _WRITE_EDGES.items()}


def old_write(
    tx: Any,
    nodes: dict[str, Record],
    edges: dict[EdgeId, Record],
    new_nodes: Any = frozenset(),
    new_edges: Any = frozenset(),
) -> None:
    chunks = neo4j_cypher.chunks
    by_kind: dict[tuple[str, bool], list[Record]] = defaultdict(list)
    for key, record in nodes.items():
        by_kind[record["kind"], key in new_nodes].append(record)
    for (kind, new), records in by_kind.items():
        query = (_CREATE_NODES_BY if new else _WRITE_NODES_BY)[kind]
        for chunk in chunks(records):
            tx.run(query, rows=chunk).consume()
    edges_by_kind: dict[tuple[str, bool], list[dict[str, Any]]] = defaultdict(list)
    for eid, record in edges.items():
        src, kind, dst, _disc = eid
        edges_by_kind[kind, eid in new_edges].append({"src": src, "dst": dst, "rec": record})
    for (ekind, new), rows in edges_by_kind.items():
        query = (_CREATE_EDGES_BY if new else _WRITE_EDGES_BY)[ekind]
        for chunk in chunks(rows):
            tx.run(query, rows=chunk).consume()


# ---- generated batches ------------------------------------------------------------------------
Batch = tuple[dict[str, Record], dict[EdgeId, Record], set[str], set[EdgeId]]

_texts = st.text("abcxyz/:._ é", max_size=8)
_values = st.one_of(
    _texts,
    st.integers(-(2**40), 2**40),
    st.booleans(),
    st.lists(st.text("abc/:", min_size=1, max_size=5), max_size=3),
    st.floats(allow_nan=False, allow_infinity=False),
)
# the names the records carry; `aliases` is what the fulltext index on :Dataset reads
_NODE_PROPS = st.sampled_from(["display", "aliases", "_stamps", "_retired", "owner", "first_seen"])
_EDGE_PROPS = st.sampled_from(["first_seen", "valid_to", "_stamps", "sql", "weight"])
_KINDS = [NodeKind.DATASET, NodeKind.JOB, NodeKind.COLUMN, NodeKind.OWNER]
_EDGE_KINDS = [EdgeKind.INPUT_TO, EdgeKind.PRODUCES, EdgeKind.OWNS, EdgeKind.HAS_COLUMN]
HUB = "hub"


@st.composite
def _stream(draw: st.DrawFn) -> list[Batch]:
    """Batches as a projector sends them: a node's kind never changes, a record is new exactly
    when the database does not hold it yet, a batch's edges join nodes held or written in it."""
    kinds: dict[str, str] = {}  # node key -> kind, once written
    held_edges: set[EdgeId] = set()
    batches: list[Batch] = []
    for _ in range(draw(st.integers(1, 4))):
        fresh = draw(st.lists(st.text("pqrs", min_size=1, max_size=4), max_size=8, unique=True))
        fresh = [f"n:{k}" for k in fresh if f"n:{k}" not in kinds]
        if HUB not in kinds and draw(st.booleans()):
            fresh.append(HUB)
        again = draw(st.lists(st.sampled_from(sorted(kinds)), unique=True)) if kinds else []
        nodes: dict[str, Record] = {}
        new_nodes: set[str] = set()
        for key in [*fresh, *again]:
            kind = kinds.get(key) or draw(st.sampled_from(_KINDS)).value
            props = draw(st.dictionaries(_NODE_PROPS, _values, max_size=4))
            nodes[key] = {"key": key, "kind": kind, **props}
            if key not in kinds:
                new_nodes.add(key)
        kinds.update((k, r["kind"]) for k, r in nodes.items())
        ends = sorted(kinds)
        edges: dict[EdgeId, Record] = {}
        new_edges: set[EdgeId] = set()
        end = st.sampled_from(ends) if ends else st.nothing()
        pairs = draw(st.lists(st.tuples(end, end), max_size=14 if ends else 0))
        if HUB in kinds:  # a dense node: many edges of one kind at one end
            pairs += [(HUB, e) for e in ends if e != HUB and draw(st.booleans())]
        ids = [(src, draw(st.sampled_from(_EDGE_KINDS)).value, dst) for src, dst in pairs]
        if held_edges:  # edges held rewritten, and their ends joined again under another disc
            ids += [e[:3] for e in draw(st.lists(st.sampled_from(sorted(held_edges)), max_size=6))]
        for src, kind, dst in ids:
            eid = (src, kind, dst, draw(st.sampled_from(["", "sql", "x"])))
            edges[eid] = {"disc": eid[3], **draw(st.dictionaries(_EDGE_PROPS, _values, max_size=3))}
            if eid not in held_edges:
                new_edges.add(eid)
        held_edges |= edges.keys()
        # the merge names more keys new than it writes at times; unwritten ones are harmless
        new_nodes |= {k for k in fresh if k not in nodes}
        batches.append((nodes, edges, new_nodes, new_edges))
    return batches


def _graph(driver: neo4j.Driver) -> tuple[list[str], list[str]]:
    nodes = driver.execute_query(
        "MATCH (n:Node) RETURN n.key AS k, labels(n) AS l, properties(n) AS p"
    ).records
    rels = driver.execute_query(
        "MATCH (a)-[r]->(b) RETURN a.key AS a, type(r) AS t, b.key AS b, properties(r) AS p"
    ).records
    return (
        sorted(json.dumps([r["k"], sorted(r["l"]), r["p"]], sort_keys=True) for r in nodes),
        sorted(json.dumps([r["a"], r["t"], r["b"], r["p"]], sort_keys=True) for r in rels),
    )


def _load(
    store: Neo4jStore, driver: neo4j.Driver, write: Callable[..., None], stream: list[Batch]
) -> tuple[list[str], list[str]]:
    store.clear()
    with driver.session() as session:
        for nodes, edges, new_nodes, new_edges in stream:
            with session.begin_transaction() as tx:
                write(tx, nodes, edges, new_nodes, new_edges)
                tx.commit()
    return _graph(driver)


def _new_write(tx: Any, *args: Any) -> None:
    Neo4jUnitOfWork(tx).write(*args)


@given(stream=_stream(), chunk=st.sampled_from([1, 3, 5_000]))
@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    deadline=None,
)
def test_write_leaves_the_graph_the_old_write_left(
    neo4j_store: Neo4jStore, neo4j_driver: neo4j.Driver, stream: list[Batch], chunk: int
) -> None:
    with pytest.MonkeyPatch.context() as mp:  # small chunks: a kind's rows over statements
        mp.setattr(neo4j_cypher, "CHUNK", chunk)
        before = _load(neo4j_store, neo4j_driver, old_write, stream)
        after = _load(neo4j_store, neo4j_driver, _new_write, stream)
    assert after == before

"""The projector's side of the Neo4j store: a batch's loads and writes in one transaction
(`Neo4jUnitOfWork`), the alias table and the checkpoint with its fence. Records are written
whole with `UNWIND $rows … MERGE … SET x = row` (or CREATE for new ones) in chunks; an edge
whose ends the same transaction wrote finds them by the element ids those writes returned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, LiteralString, cast

from neo4j import Transaction

from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_cypher import chunks
from lineage_kg.graph.records import EdgeId, Record
from lineage_kg.graph.store import IncidentSpec, UnitOfWork

# Records the loads found are updated in place; new ones are created outright, labels in the
# pattern. Measured on 20,000 nodes: MERGE then `SET n:Kind` took 6.8 s, CREATE 2.2 s (most of it
# sending the rows). The unique constraint on :Node(key) still refuses a duplicate.
# Each node statement answers with the element id of every node it wrote (one row: the keys and
# the ids collected from the same rows, so in the same order), kept by the unit of work for its
# edge statements (below).
_IDS: LiteralString = " RETURN collect(row.key) AS k, collect(elementId(n)) AS e"
_WRITE_NODES: dict[NodeKind, LiteralString] = {
    kind: cast(
        LiteralString,
        f"UNWIND $rows AS row MERGE (n:Node {{key: row.key}}) SET n = row, n:{kind.value}" + _IDS,
    )
    for kind in NodeKind
}
_CREATE_NODES: dict[NodeKind, LiteralString] = {
    kind: cast(
        LiteralString, f"UNWIND $rows AS row CREATE (n:Node:{kind.value}) SET n = row" + _IDS
    )
    for kind in NodeKind
}
# Edges whose ends this transaction wrote (nearly all of a projector's: 274,512 of 274,575 new
# edges and all 45,485 updated ones in the 100k estate's batches) find them by the element ids
# those node statements returned: a seek by id, where the ends' keys took two locking seeks of
# the :Node(key) unique index per edge (14 % of the Bolt worker's samples in a warm 100k load,
# session 31). Ids are only ever used in the transaction that got them: an element id is the
# node's record id, which a deleted node (or one whose creation rolled back) frees for another.
_AT_IDS: LiteralString = (
    "UNWIND $rows AS row MATCH (a) WHERE elementId(a) = row.a MATCH (b) WHERE elementId(b) = row.b "
)
_WRITE_EDGES_AT: dict[EdgeKind, LiteralString] = {
    kind: cast(
        LiteralString,
        _AT_IDS + f"MERGE (a)-[r:{kind.value} {{disc: row.rec.disc}}]->(b) SET r = row.rec",
    )
    for kind in EdgeKind
}
_CREATE_EDGES_AT: dict[EdgeKind, LiteralString] = {
    kind: cast(LiteralString, _AT_IDS + f"CREATE (a)-[r:{kind.value}]->(b) SET r = row.rec")
    for kind in EdgeKind
}
# The other edges (an end this transaction did not write) find their ends by key.
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


_LOAD_NODES: LiteralString = (
    "UNWIND $ids AS id MATCH (n:Node {key: id}) RETURN n.key AS key, properties(n) AS p"
)
# Per kind, both ends found by key first, the pair checked in a subquery that imports both: so
# it is an Expand(Into), which reads from the sparser end. Written as one MATCH, the planner
# folded b's seek into a filter and expanded all of a's relationships of the kind, whichever
# end it planned from: with a dataset read by 3,000 jobs, 500 rows cost 1.5M db hits instead of
# 9,000 (PROFILE, Neo4j 5.26), and projecting a stream where one table is everyone's input or
# output grew with the square of its readers (tests/integration/test_neo4j_dense_nodes.py).
_LOAD_EDGES: dict[EdgeKind, LiteralString] = {
    kind: cast(
        LiteralString,
        "UNWIND $rows AS row MATCH (a:Node {key: row.src}) MATCH (b:Node {key: row.dst}) "
        f"CALL (a, b, row) {{ MATCH (a)-[r:{kind.value}]->(b) WHERE r.disc = row.disc RETURN r }} "
        "RETURN a.key AS src, type(r) AS kind, b.key AS dst, properties(r) AS p",
    )
    for kind in EdgeKind
}
# every edge of one kind at an anchor, one way: typed, so only that kind's relationships are read
_LOAD_OUT: dict[EdgeKind, LiteralString] = {
    kind: cast(
        LiteralString,
        f"UNWIND $anchors AS anchor MATCH (a:Node {{key: anchor}})-[r:{kind.value}]->(b) "
        "USING INDEX a:Node(key) "
        "RETURN a.key AS src, type(r) AS kind, b.key AS dst, properties(r) AS p",
    )
    for kind in EdgeKind
}
_LOAD_IN: dict[EdgeKind, LiteralString] = {
    kind: cast(
        LiteralString,
        f"UNWIND $anchors AS anchor MATCH (a:Node {{key: anchor}})<-[r:{kind.value}]-(b) "
        "USING INDEX a:Node(key) "
        "RETURN b.key AS src, type(r) AS kind, a.key AS dst, properties(r) AS p",
    )
    for kind in EdgeKind
}


# by the kind's value as records and edge ids hold it: no enum built per record
_CREATE_NODES_BY: dict[str, LiteralString] = {k.value: q for k, q in _CREATE_NODES.items()}
_WRITE_NODES_BY: dict[str, LiteralString] = {k.value: q for k, q in _WRITE_NODES.items()}
_CREATE_EDGES_BY: dict[str, LiteralString] = {k.value: q for k, q in _CREATE_EDGES.items()}
_WRITE_EDGES_BY: dict[str, LiteralString] = {k.value: q for k, q in _WRITE_EDGES.items()}
_LOAD_EDGES_BY: dict[str, LiteralString] = {k.value: q for k, q in _LOAD_EDGES.items()}
_CREATE_EDGES_AT_BY: dict[str, LiteralString] = {k.value: q for k, q in _CREATE_EDGES_AT.items()}
_WRITE_EDGES_AT_BY: dict[str, LiteralString] = {k.value: q for k, q in _WRITE_EDGES_AT.items()}


def edge_rows(result: Iterable[Any]) -> dict[EdgeId, Record]:
    return {(r["src"], r["kind"], r["dst"], r["p"]["disc"]): r["p"] for r in result}


# A batch's nodes and the alias rows of the datasets it names, in one round trip: an ingest
# that brings no new link pays no extra trip for knowing its names.
_LOAD_NODES_AND_ALIASES: LiteralString = (
    "CALL () { UNWIND $ids AS id MATCH (n:Node {key: id}) "
    "RETURN n.key AS key, properties(n) AS p, null AS canonical "
    "UNION ALL UNWIND $names AS name MATCH (a:LkgAlias {key: name}) "
    "RETURN a.key AS key, null AS p, a.canonical AS canonical } "
    "RETURN key, p, canonical"
)
LOAD_ALIASES: LiteralString = (
    "UNWIND $names AS name MATCH (a:LkgAlias {key: name}) RETURN a.key AS key, a.canonical AS c"
)
LOAD_ALIASES_TO: LiteralString = (
    "UNWIND $ids AS id MATCH (a:LkgAlias {canonical: id}) RETURN a.key AS key, a.canonical AS c"
)
_WRITE_ALIASES: LiteralString = (
    "UNWIND $rows AS row MERGE (a:LkgAlias {key: row.key}) SET a.canonical = row.canonical"
)
_DELETE_NODES: LiteralString = "UNWIND $ids AS id MATCH (n:Node {key: id}) DETACH DELETE n"
_LOAD_AROUND: LiteralString = (
    "UNWIND $ids AS id MATCH (a:Node {key: id}) USING INDEX a:Node(key) "
    "MATCH (a)-[r]-() "
    "RETURN startNode(r).key AS src, type(r) AS kind, endNode(r).key AS dst, properties(r) AS p"
)

_SET_CHECKPOINT: LiteralString = "MERGE (c:LkgCheckpoint {name: 'projector'}) SET c.seq = $seq"
GET_CHECKPOINT: LiteralString = "MATCH (c:LkgCheckpoint {name: 'projector'}) RETURN c.seq AS seq"


# the fence: setting a property takes the node's write lock until the transaction ends; read
# after that (a statement of its own), the value is the last committed one (Neo4j's manual,
# "Concurrent data access": lost updates are avoided by taking the lock before reading)
_LOCK_CHECKPOINT: LiteralString = (
    "MERGE (c:LkgCheckpoint {name: 'projector'}) ON CREATE SET c.seq = 0 SET c.locked = true"
)


class Neo4jUnitOfWork(UnitOfWork):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx
        # node key -> element id, of the nodes this transaction wrote (see _CREATE_EDGES_AT);
        # never carried to another transaction: the unit of work lives and dies with its own
        self._ids: dict[str, str] = {}

    def load_nodes(self, ids: Sequence[str]) -> dict[str, Record]:
        found: dict[str, Record] = {}
        for chunk in chunks(list(ids)):
            found.update({r["key"]: r["p"] for r in self._tx.run(_LOAD_NODES, ids=chunk)})
        return found

    def load_edges(self, ids: Sequence[EdgeId]) -> dict[EdgeId, Record]:
        # grouped by the kind's string (an edge id's), its statement found by that string as the
        # writes find theirs: no enum looked up per id (~250k a large batch)
        by_kind: dict[str, list[dict[str, str]]] = defaultdict(list)
        for src, kind, dst, disc in ids:
            by_kind[kind].append({"src": src, "dst": dst, "disc": disc})
        found: dict[EdgeId, Record] = {}
        for kind, rows in by_kind.items():
            query = _LOAD_EDGES_BY[kind]
            for chunk in chunks(rows):
                found.update(edge_rows(self._tx.run(query, rows=chunk)))
        return found

    def load_incident(self, specs: Sequence[IncidentSpec]) -> dict[EdgeId, Record]:
        anchors: dict[tuple[EdgeKind, Direction], list[str]] = defaultdict(list)
        for anchor, kind, direction in specs:
            anchors[kind, direction].append(anchor)
        found: dict[EdgeId, Record] = {}
        for (kind, direction), ids in anchors.items():
            query = (_LOAD_OUT if direction is Direction.OUT else _LOAD_IN)[kind]
            for chunk in chunks(ids):
                found.update(edge_rows(self._tx.run(query, anchors=chunk)))
        return found

    def load_nodes_and_aliases(
        self, ids: Sequence[str], names: Sequence[str]
    ) -> tuple[dict[str, Record], dict[str, str]]:
        if not names:
            return self.load_nodes(ids), {}
        nodes: dict[str, Record] = {}
        aliases: dict[str, str] = {}
        id_chunks, name_chunks = list(chunks(list(ids))), list(chunks(list(names)))
        for i in range(max(len(id_chunks), len(name_chunks))):
            some_ids = id_chunks[i] if i < len(id_chunks) else []
            some_names = name_chunks[i] if i < len(name_chunks) else []
            for r in self._tx.run(_LOAD_NODES_AND_ALIASES, ids=some_ids, names=some_names):
                if r["p"] is not None:
                    nodes[r["key"]] = r["p"]
                else:
                    aliases[r["key"]] = r["canonical"]
        return nodes, aliases

    def load_aliases(self, names: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunks(list(names)):
            found.update({r["key"]: r["c"] for r in self._tx.run(LOAD_ALIASES, names=chunk)})
        return found

    def load_aliases_to(self, canonicals: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunks(list(canonicals)):
            found.update({r["key"]: r["c"] for r in self._tx.run(LOAD_ALIASES_TO, ids=chunk)})
        return found

    def load_around(self, ids: Sequence[str]) -> dict[EdgeId, Record]:
        found: dict[EdgeId, Record] = {}
        for chunk in chunks(list(ids)):
            found.update(edge_rows(self._tx.run(_LOAD_AROUND, ids=chunk)))
        return found

    def delete_nodes(self, ids: Sequence[str]) -> None:
        self._ids.clear()  # a deleted node's id is another's to take
        for chunk in chunks(list(ids)):
            self._tx.run(_DELETE_NODES, ids=chunk).consume()

    def write_aliases(self, rows: Mapping[str, str]) -> None:
        listed = [{"key": k, "canonical": c} for k, c in sorted(rows.items())]
        for chunk in chunks(listed):
            self._tx.run(_WRITE_ALIASES, rows=chunk).consume()

    def set_checkpoint(self, seq: int) -> None:
        self._tx.run(_SET_CHECKPOINT, seq=seq).consume()

    def claim_checkpoint(self) -> int:
        self._tx.run(_LOCK_CHECKPOINT).consume()
        return int(self._tx.run(GET_CHECKPOINT).single(strict=True)["seq"])

    def write(
        self,
        nodes: dict[str, Record],
        edges: dict[EdgeId, Record],
        new_nodes: AbstractSet[str] = frozenset(),
        new_edges: AbstractSet[EdgeId] = frozenset(),
    ) -> None:
        by_kind: dict[tuple[str, bool], list[Record]] = defaultdict(list)
        for key, record in nodes.items():
            by_kind[record["kind"], key in new_nodes].append(record)
        ids = self._ids
        for (kind, new), records in by_kind.items():
            query = (_CREATE_NODES_BY if new else _WRITE_NODES_BY)[kind]
            for chunk in chunks(records):
                row = self._tx.run(query, rows=chunk).single(strict=True)
                ids.update(zip(row["k"], row["e"], strict=True))
        # (kind, new, by element id)
        edges_by_kind: dict[tuple[str, bool, bool], list[dict[str, Any]]] = defaultdict(list)
        for eid, record in edges.items():
            src, kind, dst, _disc = eid
            a, b = ids.get(src), ids.get(dst)
            if a is not None and b is not None:
                edges_by_kind[kind, eid in new_edges, True].append({"a": a, "b": b, "rec": record})
            else:
                edges_by_kind[kind, eid in new_edges, False].append(
                    {"src": src, "dst": dst, "rec": record}
                )
        for (ekind, new, at), rows in edges_by_kind.items():
            if at:
                query = (_CREATE_EDGES_AT_BY if new else _WRITE_EDGES_AT_BY)[ekind]
            else:
                query = (_CREATE_EDGES_BY if new else _WRITE_EDGES_BY)[ekind]
            for chunk in chunks(rows):
                self._tx.run(query, rows=chunk).consume()

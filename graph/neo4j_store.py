"""The production store: Neo4j 5 over Bolt, one server (`bolt://`) or routed (`neo4j://`).

Every node has the label `Node` (unique `key`, the `NodeKey.id`) plus its kind's label; every
relationship has its kind's type and a `disc` property. Records are written whole with
`UNWIND $rows … MERGE … SET x = row` in chunks, one transaction per batch.

Cypher text is never built from user input: the only statements assembled at all are the
per-kind loads, writes and counts below and the typed neighbour reads, built from the
vocabulary's enums (`EdgeKind(...)` refuses anything else).
Everything a user can influence travels as a parameter.

Routing (docs/neo4j-cluster.md): reads run in READ-access sessions, which a cluster sends to its
followers and read replicas; writes in WRITE-access ones, sent to the leader. Every session the
store opens shares one bookmark manager, so a read made after this process's write is answered
by a server that has applied that write (read-your-writes across threads and servers).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import lru_cache
from typing import Any, LiteralString, cast

from neo4j import READ_ACCESS, WRITE_ACCESS, Driver, GraphDatabase, Query, Session, Transaction
from neo4j.api import BookmarkManager
from neo4j.exceptions import (
    AuthError,
    BrokenRecordError,
    DatabaseUnavailable,
    DriverError,
    ForbiddenOnReadOnlyDatabase,
    IncompleteCommit,
    Neo4jError,
    NotALeader,
    ServiceUnavailable,
    SessionError,
    SessionExpired,
    TransientError,
)

from lineage_kg.graph.ends_walk import (
    EndsAhead,
    one_state,
    tested_props,
    walk_ends,
    walk_moves,
    walkable,
    walked_by_levels,
)
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeKey
from lineage_kg.graph.record_cache import RecordCache, through_cache
from lineage_kg.graph.records import EdgeId, Record, StoredEdge, StoredNode
from lineage_kg.graph.store import (
    EdgeTest,
    GraphStats,
    GraphStore,
    IncidentSpec,
    Moves,
    Neighborhood,
    StoreUnavailable,
    UnitOfWork,
    Walked,
    WalkStep,
)

log = logging.getLogger(__name__)

_OUT, _IN = Direction.OUT, Direction.IN
_ALIAS_OF = EdgeKind.ALIAS_OF

CHUNK = 5_000  # rows per UNWIND statement: large enough to amortise, small enough for the heap

SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT node_key IF NOT EXISTS FOR (n:Node) REQUIRE n.key IS UNIQUE",
    # No reads use indexes on kind (each node has its kind's label) or display (search matches
    # a substring of toLower(display): a scan either way); every write paid for them.
    "DROP INDEX node_kind IF EXISTS",
    "DROP INDEX node_display IF EXISTS",
    # a Dataset's other names (storage path beside its TABLE symlink), looked up whole: the
    # keyword analyzer keeps each list element one term, so a lookup is one exact term query
    "CREATE FULLTEXT INDEX dataset_aliases IF NOT EXISTS FOR (n:Dataset) ON EACH [n.aliases] "
    "OPTIONS {indexConfig: {`fulltext.analyzer`: 'keyword'}}",
    "CALL db.awaitIndex('dataset_aliases', 300)",
    # the alias table (graph/merge.py): one LkgAlias per name linked onto another dataset node,
    # apart from the graph (no :Node label), looked up by name and, rarely, by canonical
    "CREATE CONSTRAINT lkg_alias_key IF NOT EXISTS FOR (a:LkgAlias) REQUIRE a.key IS UNIQUE",
    "CREATE INDEX lkg_alias_canonical IF NOT EXISTS FOR (a:LkgAlias) ON (a.canonical)",
    # one checkpoint node: two projectors' first writes must not each MERGE one of their own
    "CREATE CONSTRAINT lkg_checkpoint_name IF NOT EXISTS FOR (c:LkgCheckpoint) "
    "REQUIRE c.name IS UNIQUE",
)

# What a schema statement answers when another process ran the same one at the same moment
# (measured: three `lkg serve` on an empty database, one exited with the first code)
_SCHEMA_DONE_ELSEWHERE = frozenset(
    {
        "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
        "Neo.ClientError.Schema.IndexAlreadyExists",
        "Neo.ClientError.Schema.ConstraintAlreadyExists",
        "Neo.ClientError.Schema.IndexNotFound",  # two DROP INDEX … IF EXISTS at once
        "Neo.ClientError.Schema.IndexDropFailed",
    }
)

# Records the loads found are updated in place; new ones are created outright, labels in the
# pattern. Measured on 20,000 nodes: MERGE then `SET n:Kind` took 6.8 s, CREATE 2.2 s (most of it
# sending the rows). The unique constraint on :Node(key) still refuses a duplicate.
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
_COUNT_NODES = cast(
    LiteralString,
    " UNION ALL ".join(
        f"MATCH (n:{k.value}) RETURN '{k.value}' AS kind, count(n) AS n" for k in NodeKind
    ),
)
_COUNT_EDGES = cast(
    LiteralString,
    " UNION ALL ".join(
        f"MATCH ()-[r:{k.value}]->() RETURN '{k.value}' AS kind, count(r) AS n" for k in EdgeKind
    ),
)

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
# Without $as_of: current edges only. With it: edges known by then and not yet retired then.
_VALID_NOW_OR_AS_OF: LiteralString = (
    "CASE WHEN $as_of IS NULL THEN r.valid_to IS NULL "
    "ELSE r.first_seen <= $as_of AND (r.valid_to IS NULL OR $as_of < r.valid_to) END "
)


def _typed(kinds: AbstractSet[EdgeKind]) -> str:
    """`:A|B|C` — relationship types from the vocabulary's enum only, so Neo4j reads just those
    relationship chains of a node instead of all of them (a dataset has a HAS_VERSION per run)."""
    return ":" + "|".join(sorted(EdgeKind(k).value for k in kinds))


# What a read returns of a record: all of it but the merge's bookkeeping, which no reader gets
# (`StoredNode.from_record` and `StoredEdge.from_record` drop it, graph/records.py): `_stamps`,
# the per-property stamps as a JSON string (about a fifth of a walk's answer in bytes at 10k:
# docs/benchmarks.md), and `_retired` (a node's remembered retirements). Neo4j 5 has no map
# exclusion without APOC: the map projection sets them to null. The merge's own loads
# (`_Neo4jUnitOfWork`) read whole records.
_NODE_VIEW: LiteralString = "n {.*, _stamps: null, _retired: null}"
_EDGE_VIEW: LiteralString = "r {.*, _stamps: null}"
# Reads answer in one row holding a list: a row per record cost the driver one Bolt message and a
# Record each (cProfile at 10k: ~21k messages for 62 impact answers).
_GET_NODES: LiteralString = (
    "UNWIND $ids AS id MATCH (n:Node {key: id}) RETURN collect([n.key, "
    + _NODE_VIEW
    + "]) AS found"
)


# Seek each id by the unique index, then expand from it: hinted, and the expansion in a subquery.
# Left to itself the planner sometimes started an OWNS read from the owners' side (a team owns
# thousands of assets): 460 ms a call instead of 5 (measured at 10k nodes, in about half the runs).
_SEEK: LiteralString = "UNWIND $ids AS id MATCH (a:Node {key: id}) USING INDEX a:Node(key) "


def _incident_query(
    direction: Direction, kinds: frozenset[EdgeKind] | None, returned: str
) -> LiteralString:
    """Each id's current (or as-of) edges one way, collected as [src, dst, type, `returned`]."""
    types = "" if kinds is None else _typed(kinds)
    # no label test on the far end: it costs a node fetch per row and every node has it
    if direction is Direction.OUT:
        match, ends = f"(a)-[r{types}]->(b)", "a.key, b.key"
    else:
        match, ends = f"(a)<-[r{types}]-(b)", "b.key, a.key"
    return cast(
        LiteralString,
        f"{_SEEK}CALL (a) {{ MATCH {match} WHERE {_VALID_NOW_OR_AS_OF}RETURN r, b }} "
        f"RETURN collect([{ends}, type(r), {returned}]) AS found",
    )


@lru_cache(maxsize=256)
def _neighbors_query(direction: Direction, kinds: frozenset[EdgeKind] | None) -> LiteralString:
    return _incident_query(direction, kinds, _EDGE_VIEW)


@lru_cache(maxsize=256)
def _edge_ids_query(direction: Direction, kinds: frozenset[EdgeKind] | None) -> LiteralString:
    """`_neighbors_query`'s edges as their ids alone: a page is chosen from these, and only its
    records are read (`_PAGE_EDGES`)."""
    return _incident_query(direction, kinds, "r.disc")


# a page's edges by id, both ends found first and the pair checked from its sparse end
_PAGE_EDGES: LiteralString = (
    "UNWIND $rows AS row MATCH (a:Node {key: row.src}) MATCH (b:Node {key: row.dst}) "
    "CALL (a, b, row) { MATCH (a)-[r]->(b) WHERE type(r) = row.kind AND r.disc = row.disc "
    "RETURN r } RETURN collect([a.key, b.key, type(r), " + _EDGE_VIEW + "]) AS found"
)


@lru_cache(maxsize=256)
def _each_way_query(out: frozenset[EdgeKind], in_: frozenset[EdgeKind]) -> LiteralString:
    """Both ways in one round trip: a traversal level costs one read, not one per direction."""
    branches = [
        f"MATCH (a)-[r{_typed(out)}]->() WHERE {_VALID_NOW_OR_AS_OF}RETURN r, true AS out"
        if out
        else "",
        f"MATCH (a)<-[r{_typed(in_)}]-() WHERE {_VALID_NOW_OR_AS_OF}RETURN r, false AS out"
        if in_
        else "",
    ]
    return cast(
        LiteralString,
        f"{_SEEK}CALL (a) {{ "
        + " UNION ALL ".join(b for b in branches if b)
        + " } RETURN collect([startNode(r).key, type(r), endNode(r).key, "
        + _EDGE_VIEW
        + ", out]) AS found",
    )


@lru_cache(maxsize=256)
def _nodes_and_each_way_query(out: frozenset[EdgeKind], in_: frozenset[EdgeKind]) -> LiteralString:
    """`_GET_NODES` of `$node_ids` and `_each_way_query` of `$ids`, one round trip."""
    return cast(
        LiteralString,
        "CALL () { UNWIND $node_ids AS nid MATCH (n:Node {key: nid}) "
        f"RETURN collect([n.key, {_NODE_VIEW}]) AS nodes }} "
        f"CALL () {{ {_each_way_query(out, in_)} }} RETURN nodes, found",
    )


# `Neo4jStore.nodes_and_owners`: the nodes, the OWNS edges into others and their owners'
# ALIAS_OF edges (ids alone: the answer needs who, not the records), and the records of the
# edges `$eids` (by element id, as the walk read them) and `$rows` (by key) name (the walk's
# paths, `_PathEdges`), one round trip. An element id may have been reused since the walk: the
# record says which edge it is, and an edge not answered stays pending (`_PathEdges.fill`).
_NODES_AND_OWNERS: LiteralString = (
    "CALL () { UNWIND $rows AS row MATCH (a:Node {key: row.src}) MATCH (b:Node {key: row.dst}) "
    "CALL (a, b, row) { MATCH (a)-[r]->(b) WHERE type(r) = row.kind AND r.disc = row.disc "
    "RETURN r } RETURN collect([a.key, b.key, type(r), " + _EDGE_VIEW + "]) AS keyed } "
    "CALL () { UNWIND $eids AS e MATCH (a)-[r]->(b) WHERE elementId(r) = e "
    "RETURN collect([a.key, b.key, type(r), " + _EDGE_VIEW + "]) AS seeked } "
    "CALL () { UNWIND $node_ids AS nid MATCH (n:Node {key: nid}) "
    f"RETURN collect([n.key, {_NODE_VIEW}]) AS nodes }} "
    f"CALL () {{ {_SEEK}CALL (a) {{ MATCH (a)<-[r:{EdgeKind.OWNS.value}]-(b) "
    f"WHERE {_VALID_NOW_OR_AS_OF}RETURN b }} "
    "RETURN collect([b.key, a.key]) AS owns, collect(DISTINCT b) AS owners } "
    "CALL (owners) { UNWIND owners AS o "
    f"CALL (o) {{ MATCH (o)-[r:{EdgeKind.ALIAS_OF.value}]->(c) WHERE {_VALID_NOW_OR_AS_OF}"
    "RETURN r, c } RETURN collect([o.key, c.key, r.disc]) AS aliases } "
    "RETURN nodes, owns, aliases, keyed + seeked AS edges"
)


def _edge_rows_of(ids: Iterable[EdgeId]) -> list[dict[str, str]]:
    """Edge ids as `_PAGE_EDGES`' `$rows`."""
    return [{"src": s, "kind": k, "dst": d, "disc": c} for s, k, d, c in ids]


def _records_of(found: Iterable[Any]) -> dict[EdgeId, Record]:
    """`_PAGE_EDGES`' answer by edge id."""
    return {(src, kind, dst, p["disc"]): p for src, dst, kind, p in found}


_EDGE_SLOTS = {f: getattr(StoredEdge, f) for f in StoredEdge.__slots__}
_LAZY_FIELDS = frozenset(StoredEdge.__slots__) - {"key"}
_AWAITED = _EDGE_SLOTS["props"]  # a pending edge's `props` slot holds its `_PathEdges`


class _PendingEdge(StoredEdge):
    """A path edge whose record is not read yet: its key is the id the walk read (the kind of
    every hop is known without a record: impact's `training_rows`), anything else read first
    fills every pending edge of its walk in one read (`_PathEdges.load`) — and each becomes a
    plain `StoredEdge` (same layout: the class is switched in place)."""

    __slots__ = ()

    def __getattribute__(self, name: str) -> Any:
        if name in _LAZY_FIELDS:
            _AWAITED.__get__(self).load()
        return object.__getattribute__(self, name)

    # compared, hashed or shown, it is read first (then `StoredEdge`'s, on the same object;
    # as a subclass it is asked first on either side of ==)
    def __eq__(self, other: object) -> bool:
        _AWAITED.__get__(self).load()
        return self == other

    def __hash__(self) -> int:
        _AWAITED.__get__(self).load()
        return hash(self)

    def __repr__(self) -> str:
        _AWAITED.__get__(self).load()
        return repr(self)


def _element_ids(ahead: EndsAhead, ids: Iterable[EdgeId]) -> Iterator[tuple[EdgeId, str]]:
    """Each edge's element id, as the walk read it (`_REACH_END_IDS`: last of its values), from
    whichever end it was read at."""
    edges = ahead.edges
    for eid in ids:
        src, kind, dst, _ = eid
        for at in ((src, _OUT), (dst, _IN)):
            by_kind = edges.get(at)
            hops = by_kind.get(kind) if by_kind is not None else None
            if hops is not None and (values := hops.get(eid)) is not None:
                yield eid, values[-1]
                break


class _PathEdges(dict[int, StoredEdge]):
    """A walk's visits' edges by key (`Walked.edges`), pending until first used — or read
    before, with impact's read of the answer's nodes (`Neo4jStore.nodes_and_owners`, handed
    them as `path_edges`: no round trip of their own)."""

    def __init__(
        self,
        ids: dict[EdgeId, int],
        read: Callable[[list[EdgeId]], Any],
        elements: Mapping[EdgeId, str] | None = None,
    ) -> None:
        super().__init__()
        self.pending: dict[EdgeId, StoredEdge] = {}  # edge id -> its edge, not read yet
        self._read = read
        # edge id -> its element id as the walk read it (the record's read by id: a seek each)
        self.elements = elements or {}
        for eid, no in ids.items():
            src, kind, dst, disc = eid
            edge = _new(_PendingEdge)
            _EDGE_SLOTS["key"].__set__(
                edge, EdgeKey(NodeKey.from_id(src), EdgeKind(kind), NodeKey.from_id(dst), disc)
            )
            _AWAITED.__set__(edge, self)
            self[no] = self.pending[eid] = edge

    def lookups(self) -> tuple[list[dict[str, str]], list[str]]:
        """The pending edges as `_NODES_AND_OWNERS` finds them: by key (`$rows`: no element id
        known) and by element id (`$eids`)."""
        elements = self.elements
        by_key = [e for e in self.pending if e not in elements]
        return _edge_rows_of(by_key), [elements[e] for e in self.pending if e in elements]

    def load(self) -> None:
        if self.pending:
            self.fill(self._read(list(self.pending)))
        if self.pending:  # edges are retired, not deleted: only a merge re-homing a node is
            # a race with the writer, not the caller's mistake: "try again", never a 500
            raise StoreUnavailable("an edge of the walk is gone since it was read: ask again")

    def fill(self, records: Mapping[EdgeId, Record]) -> None:
        for eid, record in records.items():
            if (edge := self.pending.pop(eid, None)) is None:
                continue
            made = StoredEdge.from_record(eid, record)
            for name in _LAZY_FIELDS:
                _EDGE_SLOTS[name].__set__(edge, object.__getattribute__(made, name))
            object.__setattr__(edge, "__class__", StoredEdge)


_new = object.__new__


def _each_way_found(found: Iterable[Any]) -> list[tuple[StoredEdge, Direction]]:
    edges: dict[tuple[EdgeId, Direction], Record] = {}
    for src, kind, dst, p, is_out in found:
        edges[(src, kind, dst, p["disc"]), Direction.OUT if is_out else Direction.IN] = p
    return [(StoredEdge.from_record(eid, p), way) for (eid, way), p in edges.items()]


# The walk (`Neo4jStore.reach`): a breadth-first search over (node, walk state) pairs, each pair
# walked once, `REACH_CHUNK` levels per statement (Cypher has no loop: one CALL per level).
# `$moves`, keyed "state|way|KIND", gives the states a move reaches; a pair follows only the
# moves of its state, and the edges it read are kept, so each edge comes back once per pair that
# reads it. A statement reads `$levels` frontiers and hands back the pairs the last one found
# (`pending`: the next statement's frontier, dropped unread after the walk's last level) and the
# marks it added to `$seen`.
# Why chunks: unrolled to the whole depth, the statement's plan took 21 s to compile at depth 10
# on a loaded machine (7 s at depth 2), once for every depth asked, and a first impact timed out
# at 30 s. Now one plan per set of kinds, compiled once; a walk costs ceil(depth / REACH_CHUNK)
# round trips. `seen` holds "key|state" strings: Neo4j caches `IN` over a list of strings (a list
# of [node, state] pairs was compared element by element: 8,074 checks against 8,074 pairs took
# 7.7 s, the strings 0.28 s). The answer is one row: a row per edge cost a driver message each.
# The frontier and the marks come inside one map, `$chunk` (`walk_chunk`): Neo4j plans a
# statement again for each size bucket of a list parameter it sees (1, 10, 100, ... entries), and
# this plan costs 1-2.5 s; a list inside a map shows no size. Measured on a replaced graph, 40
# walks: 8 reads slowed by a new plan with the lists as parameters, 3 with the map.
REACH_CHUNK = 5
# The walk with paths (impact, `traverse`: `Neo4jStore.walk(edges=True)`) in chunks of 10 levels:
# one round trip to impact's depth (10) instead of two past level 5 — the QPP statement it is
# measured against needs one. The 10-level plan measured (2026-12-06, 10k estate, load 5-8):
# compiled after `db.clearQueryCaches()` 4.1-6.9 s against 2.7-4.5 s for 5 levels; on a fresh
# server 4.9-12.2 s against 6.1-7.9 s (most of it the planner's own JIT warming up); cached, no
# slower than 5 levels. Once per set of kinds per server; its first run here is given
# `PLAN_TIMEOUT` (`Neo4jStore._read`) so that a cold server under load does not time it out.
PATHS_CHUNK = 10
# a walk statement's first run in a store: its plan may be compiled now (seconds, more on a cold
# server under load); afterwards the store's `query_timeout` holds again
PLAN_TIMEOUT = 120.0
# the walk statements' texts (`_reach_query`, `_sets_query`): slow to plan, see `PLAN_TIMEOUT`
_SLOW_TO_PLAN: set[str] = set()
_REACH_START: LiteralString = (
    "UNWIND $chunk.frontier AS f MATCH (s:Node {key: f[0]}) USING INDEX s:Node(key) "
    "WITH collect([s, f[1]]) AS frontier "
    "WITH frontier, $chunk.seen AS seen, [] AS nodes, [] AS edges, [] AS pending "
)
_REACH_LEVEL: LiteralString = (
    "CALL (frontier, seen) {{ "
    "UNWIND frontier AS f WITH f[0] AS a, f[1] AS st CALL (a, st) {{ {moves} }} "
    "WITH collect([r, out]) AS read, collect([b, nexts]) AS hops "
    "CALL (hops, seen) {{ "
    "UNWIND hops AS h UNWIND h[1] AS t WITH DISTINCT h[0] AS b, t "
    "WITH b, t, b.key + '|' + t AS mark WHERE NOT mark IN seen "
    "RETURN collect([b, t]) AS next, collect(mark) AS marks }} "
    "RETURN read, next, marks }} "
    # the last level asked, or past $cap pairs (more than $limit nodes: the answer will be None)
    "WITH CASE WHEN $levels <= {level} OR size(seen) + size(marks) > $cap THEN [] ELSE next END "
    "AS frontier, CASE WHEN $levels = {level} THEN next ELSE pending END AS pending, "
    "seen + marks AS seen, nodes + [f IN frontier | f[0].key] AS nodes, edges + read AS edges "
)
# Each edge as its id and either its record or (`$chunk.tested`, a list: `Neo4jStore.walk`) the
# values of the properties the walk's tests read alone — no record to serialise, unpack and
# build. One statement for both: its plan is compiled once (seconds on a loaded machine).
_REACH_END: LiteralString = (
    "CALL (edges) { UNWIND edges AS e WITH DISTINCT e[0] AS r, e[1] AS out "
    "RETURN collect([startNode(r).key, type(r), endNode(r).key, r.disc, out, "
    "CASE WHEN $chunk.tested IS NULL THEN " + _EDGE_VIEW + " "
    "ELSE [t IN $chunk.tested | r[t]] END]) AS found } "
    "RETURN nodes, found, [p IN pending | [p[0].key, p[1]]] AS pending, "
    "seen[size($chunk.seen)..] AS marks"
)
# The walk with paths: each edge's tested values followed by its element id, so that the
# records of the path edges are then read by id (`_PATH_EDGES`): a relationship seek each, where
# by (src, kind, dst, disc) it was two node seeks and an expand (measured, 10k, 119 path edges,
# load 8: 6.5 ms on the server against 13.5, the parameters 5.7 KB against 20.5 KB).
_REACH_END_IDS: LiteralString = _REACH_END.replace(
    "[t IN $chunk.tested | r[t]]", "[t IN $chunk.tested | r[t]] + elementId(r)"
)


# A move's `EdgeTest` (graph/store.py), in Cypher: the ends' kinds by label, a property missing
# or anything but true (where Python says "false or missing", Cypher says no less).
_PASSES: LiteralString = (
    "(m.src IS NULL OR any(l IN labels(startNode(r)) WHERE l IN m.src)) "
    "AND (m.dst IS NULL OR any(l IN labels(endNode(r)) WHERE l IN m.dst)) "
    "AND (m.unset IS NULL OR NOT coalesce(r[m.unset] = true, false))"
)


@lru_cache(maxsize=64)
def _reach_query(
    out: frozenset[EdgeKind],
    in_: frozenset[EdgeKind],
    levels: int = REACH_CHUNK,
    element_ids: bool = False,
) -> LiteralString:
    """`levels` levels of the walk over these kinds (the kinds from the enum, the levels ints:
    nothing else is put into the text); `element_ids`: each edge's tested values end with its
    element id. PROFILE: tests/integration/test_neo4j_walk_oracle.py (a lattice of 2^40 paths
    reads each relationship once per walk state)."""
    moves = []
    for arrow, kinds, way, is_out in (
        ("-[r{}]->", out, "out", "true"),
        ("<-[r{}]-", in_, "in", "false"),
    ):
        if kinds:
            of = f"$moves[st + '|{way}|' + type(r)]"
            moves.append(
                f"MATCH (a){arrow.format(_typed(kinds))}(b) WHERE {_VALID_NOW_OR_AS_OF}"
                f"AND {of} IS NOT NULL WITH r, b, [m IN {of} WHERE {_PASSES} | m.then] AS nexts "
                f"WHERE size(nexts) > 0 RETURN r, b, {is_out} AS out, nexts"
            )
    walk = " UNION ALL ".join(moves)
    unrolled = "".join(
        _REACH_LEVEL.format(moves=walk, level=level) for level in range(1, levels + 1)
    )
    query = _REACH_START + unrolled + (_REACH_END_IDS if element_ids else _REACH_END)
    _SLOW_TO_PLAN.add(query)
    return cast(LiteralString, query)


def walk_chunk(
    frontier: list[list[str]], seen: list[str], levels: int, tested: Sequence[str] | None = None
) -> dict[str, Any]:
    """The parameters of one chunk of `reach_statement`'s walk, beside the ones it returned:
    the frontier's [key, state] pairs, the "key|state" marks already walked, the levels to read,
    and what comes with each edge: its record (`tested` None), or these properties' values."""
    chosen = None if tested is None else list(tested)
    return {"chunk": {"frontier": frontier, "seen": seen, "tested": chosen}, "levels": levels}


def _move(then: str, test: EdgeTest | None) -> dict[str, Any]:
    test = test or EdgeTest()
    src, dst = (
        None if k is None else sorted(NodeKind(x).value for x in k) for k in (test.src, test.dst)
    )
    return {"then": then, "src": src, "dst": dst, "unset": test.unset}


def reach_statement(
    start_ids: Sequence[str],
    moves: Moves,
    *,
    start_state: str,
    as_of: str | None,
    limit: int,
    levels: int = REACH_CHUNK,
    keyed: _Keyed | None = None,
    element_ids: bool = False,
) -> tuple[LiteralString, dict[str, Any]]:
    """`Neo4jStore.reach`'s statement (`levels` a chunk) and the parameters every chunk of one
    walk shares (each chunk adds `walk_chunk`'s; the plan tests PROFILE it). `keyed`: the
    policy's part, `_keyed_moves(moves, start_state)`, made before."""
    out, in_, keyed_moves, states = keyed or _keyed_moves(moves, start_state)
    params = {
        "moves": keyed_moves,
        "as_of": as_of,
        # more pairs than this means more than `limit` nodes: stop walking, the answer is None
        "cap": limit * states,
    }
    return _reach_query(out, in_, levels, element_ids), params


# a policy's part of the walk statement: its kinds each way, `$moves`, how many states it has
_Keyed = tuple[frozenset[EdgeKind], frozenset[EdgeKind], dict[str, list[dict[str, Any]]], int]


def _keyed_moves(moves: Moves, start_state: str) -> _Keyed:
    """The kinds each way (the statement's text), `$moves` keyed "state|way|KIND", the states."""
    out = frozenset(EdgeKind(kind) for (_, way, kind) in moves if way is Direction.OUT)
    in_ = frozenset(EdgeKind(kind) for (_, way, kind) in moves if way is Direction.IN)
    keyed = {
        f"{state}|{way.value}|{EdgeKind(kind).value}": sorted(
            (_move(then, test) for then, test in thens), key=repr
        )
        for (state, way, kind), thens in moves.items()
    }
    states = {start_state, *(s for s, _, _ in moves)}
    states.update(then for thens in moves.values() for then, _ in thens)
    return out, in_, keyed, len(states)


class _Policy:
    """What a walk on ids makes from its step table and start state: the moves, the tested
    properties, the statement's part (`_keyed_moves`). Made once per step table that is a tuple
    (`traverse` hands over the same one each time), found by its identity: made per walk they
    cost ~4 ms of a ~20 ms impact answer (2026-12-06, load ~10; `$moves` sorted by repr ~3)."""

    __slots__ = ("keyed", "moves", "steps", "tested")

    def __init__(self, steps: Sequence[WalkStep], start_state: str) -> None:
        self.steps = steps
        self.moves = walk_moves(steps, start_state)
        self.tested = tested_props(steps)
        self.keyed = _keyed_moves(self.moves, start_state) if self.moves else None


_POLICIES: dict[tuple[int, str], _Policy] = {}


def _policy(steps: Sequence[WalkStep], start_state: str) -> _Policy:
    key = (id(steps), start_state)
    if (hit := _POLICIES.get(key)) is not None and hit.steps is steps:
        return hit
    made = _Policy(steps, start_state)
    if isinstance(steps, tuple):  # immutable: the same identity is the same table
        if len(_POLICIES) >= 64:
            _POLICIES.clear()
        _POLICIES[key] = made
    return made


# A walk in one state (graph/ends_walk.py `one_state`: upstream's, every plain walk) walked as
# sets of nodes, both passes in one statement: each level, every frontier node's edges are read
# once (its flags say which pass it is new to), the edges no step follows dropped, and the far
# nodes not yet seen by a pass become that pass's next level. The answer is the keys each pass
# reached at each level and the count of edges read — not an edge row per edge (~110k rows
# for the largest team's upstream at 100k). `$moves`, keyed "way|KIND", holds the steps with
# their tests and whether the exact pass follows them. Chunked as `_reach_query`, for the same
# reason (one plan per set of kinds).
_SETS_START: LiteralString = (
    "UNWIND $chunk.frontier AS f MATCH (s:Node {key: f[0]}) USING INDEX s:Node(key) "
    "WITH collect([s, f[1], f[2]]) AS frontier "
    "WITH frontier, $chunk.seen AS seen, $chunk.reached AS reached, [] AS every, [] AS exact, "
    "0 AS read, [] AS pending "
)
_SETS_LEVEL: LiteralString = (
    "CALL (frontier, seen) {{ "
    "UNWIND frontier AS f WITH f[0] AS a, f[1] AS fe, f[2] AS fx CALL (a) {{ {ways} }} "
    "WITH fe, fx, b, [m IN $moves[way + type(r)] WHERE {passes} | m.exact] AS ok "
    "WHERE size(ok) > 0 "
    "WITH count(*) AS level_read, collect(CASE WHEN fe THEN b END) AS be, "
    "collect(CASE WHEN fx AND true IN ok THEN b END) AS bx "
    "CALL (be, seen) {{ UNWIND be AS b WITH DISTINCT b WITH b, b.key AS k "
    "WHERE NOT 'e|' + k IN seen RETURN collect(b) AS ne, collect(k) AS ke }} "
    "CALL (bx, seen) {{ UNWIND bx AS b WITH DISTINCT b WITH b, b.key AS k "
    "WHERE NOT 'x|' + k IN seen RETURN collect(b) AS nx, collect(k) AS kx }} "
    "CALL (ne, nx) {{ UNWIND [n IN ne | [n, true, false]] + [n IN nx | [n, false, true]] AS p "
    "WITH p[0] AS b, collect(p[1]) AS es, collect(p[2]) AS xs "
    "RETURN collect([b, true IN es, true IN xs]) AS next }} "
    "RETURN level_read, ke, kx, next }} "
    # the last level asked, or $cap nodes reached by every step (the walk is given up)
    "WITH CASE WHEN $levels <= {level} OR reached + size(ke) >= $cap THEN [] ELSE next END "
    "AS frontier, CASE WHEN $levels = {level} THEN next ELSE pending END AS pending, "
    "seen + [k IN ke | 'e|' + k] + [k IN kx | 'x|' + k] AS seen, reached + size(ke) AS reached, "
    "every + [ke] AS every, exact + [kx] AS exact, read + level_read AS read "
)
_SETS_END: LiteralString = (
    "RETURN every, exact, read, [p IN pending | [p[0].key, p[1], p[2]]] AS pending"
)


@lru_cache(maxsize=64)
def _sets_query(out: frozenset[EdgeKind], in_: frozenset[EdgeKind]) -> LiteralString:
    """`REACH_CHUNK` levels of a one-state walk over these kinds (kinds from the enum, levels
    ints: nothing else is put into the text)."""
    ways = " UNION ALL ".join(
        f"MATCH (a){arrow.format(_typed(kinds))}(b) WHERE {_VALID_NOW_OR_AS_OF}"
        f"RETURN r, b, '{way}|' AS way"
        for arrow, kinds, way in (("-[r{}]->", out, "out"), ("<-[r{}]-", in_, "in"))
        if kinds
    )
    levels = "".join(
        _SETS_LEVEL.format(ways=ways, passes=_PASSES, level=level)
        for level in range(1, REACH_CHUNK + 1)
    )
    query = _SETS_START + levels + _SETS_END
    _SLOW_TO_PLAN.add(query)
    return cast(LiteralString, query)


def sets_statement(
    steps: Sequence[WalkStep], *, as_of: str | None, cap: int
) -> tuple[LiteralString, dict[str, Any]]:
    """The one-state walk's statement and the parameters its chunks share (`one_state` steps,
    `EdgeTest`s only)."""
    keyed: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        test = step.accepts if isinstance(step.accepts, EdgeTest) else None
        move = _move("", test) | {"exact": step.exact}
        keyed.setdefault(f"{step.direction.value}|{EdgeKind(step.kind).value}", []).append(move)
    out = frozenset(EdgeKind(s.kind) for s in steps if s.direction is Direction.OUT)
    in_ = frozenset(EdgeKind(s.kind) for s in steps if s.direction is Direction.IN)
    moves = {k: sorted(v, key=repr) for k, v in keyed.items()}
    return _sets_query(out, in_), {"moves": moves, "as_of": as_of, "cap": cap}


_SEARCH: LiteralString = (
    "MATCH (n:Node) WHERE toLower(n.display) CONTAINS $needle "
    "AND ($kinds IS NULL OR n.kind IN $kinds) "
    "RETURN properties(n) AS p ORDER BY n.display, n.key LIMIT $limit"
)


# The Lucene query is a parameter built from quoted phrases (see `_alias_query`); the exact test
# on the list keeps the answer exact whatever Lucene makes of a name.
_FIND_ALIASED: LiteralString = (
    "CALL db.index.fulltext.queryNodes('dataset_aliases', $lucene) YIELD node "
    "WHERE any(a IN node.aliases WHERE a IN $names) "
    "RETURN properties(node) AS p ORDER BY node.key LIMIT $limit"
)


def _alias_query(names: Sequence[str]) -> str:
    """Each name as one Lucene phrase ("…", with \\ and " escaped), OR-ed together."""
    quoted = (n.replace("\\", "\\\\").replace('"', '\\"') for n in names)
    return " OR ".join(f'"{q}"' for q in quoted)


def _chunks(rows: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(rows), CHUNK):
        yield rows[i : i + CHUNK]


def _edge_rows(result: Iterable[Any]) -> dict[EdgeId, Record]:
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
_LOAD_ALIASES: LiteralString = (
    "UNWIND $names AS name MATCH (a:LkgAlias {key: name}) RETURN a.key AS key, a.canonical AS c"
)
_LOAD_ALIASES_TO: LiteralString = (
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
_GET_CHECKPOINT: LiteralString = "MATCH (c:LkgCheckpoint {name: 'projector'}) RETURN c.seq AS seq"
# `GraphStore.mark`: beside the checkpoint (one node per name, cleared with it)
_SET_MARK: LiteralString = "MERGE (c:LkgCheckpoint {name: $name}) SET c.seq = $seq"
_GET_MARK: LiteralString = "MATCH (c:LkgCheckpoint {name: $name}) RETURN c.seq AS seq"
# the fence: setting a property takes the node's write lock until the transaction ends; read
# after that (a statement of its own), the value is the last committed one (Neo4j's manual,
# "Concurrent data access": lost updates are avoided by taking the lock before reading)
_LOCK_CHECKPOINT: LiteralString = (
    "MERGE (c:LkgCheckpoint {name: 'projector'}) ON CREATE SET c.seq = 0 SET c.locked = true"
)


class _Neo4jUnitOfWork(UnitOfWork):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def load_nodes(self, ids: Sequence[str]) -> dict[str, Record]:
        found: dict[str, Record] = {}
        for chunk in _chunks(list(ids)):
            found.update({r["key"]: r["p"] for r in self._tx.run(_LOAD_NODES, ids=chunk)})
        return found

    def load_edges(self, ids: Sequence[EdgeId]) -> dict[EdgeId, Record]:
        by_kind: dict[EdgeKind, list[dict[str, str]]] = defaultdict(list)
        for src, kind, dst, disc in ids:
            by_kind[EdgeKind(kind)].append({"src": src, "dst": dst, "disc": disc})
        found: dict[EdgeId, Record] = {}
        for kind, rows in by_kind.items():
            for chunk in _chunks(rows):
                found.update(_edge_rows(self._tx.run(_LOAD_EDGES[kind], rows=chunk)))
        return found

    def load_incident(self, specs: Sequence[IncidentSpec]) -> dict[EdgeId, Record]:
        anchors: dict[tuple[EdgeKind, Direction], list[str]] = defaultdict(list)
        for anchor, kind, direction in specs:
            anchors[kind, direction].append(anchor)
        found: dict[EdgeId, Record] = {}
        for (kind, direction), ids in anchors.items():
            query = (_LOAD_OUT if direction is Direction.OUT else _LOAD_IN)[kind]
            for chunk in _chunks(ids):
                found.update(_edge_rows(self._tx.run(query, anchors=chunk)))
        return found

    def load_nodes_and_aliases(
        self, ids: Sequence[str], names: Sequence[str]
    ) -> tuple[dict[str, Record], dict[str, str]]:
        if not names:
            return self.load_nodes(ids), {}
        nodes: dict[str, Record] = {}
        aliases: dict[str, str] = {}
        id_chunks, name_chunks = list(_chunks(list(ids))), list(_chunks(list(names)))
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
        for chunk in _chunks(list(names)):
            found.update({r["key"]: r["c"] for r in self._tx.run(_LOAD_ALIASES, names=chunk)})
        return found

    def load_aliases_to(self, canonicals: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(list(canonicals)):
            found.update({r["key"]: r["c"] for r in self._tx.run(_LOAD_ALIASES_TO, ids=chunk)})
        return found

    def load_around(self, ids: Sequence[str]) -> dict[EdgeId, Record]:
        found: dict[EdgeId, Record] = {}
        for chunk in _chunks(list(ids)):
            found.update(_edge_rows(self._tx.run(_LOAD_AROUND, ids=chunk)))
        return found

    def delete_nodes(self, ids: Sequence[str]) -> None:
        for chunk in _chunks(list(ids)):
            self._tx.run(_DELETE_NODES, ids=chunk).consume()

    def write_aliases(self, rows: Mapping[str, str]) -> None:
        listed = [{"key": k, "canonical": c} for k, c in sorted(rows.items())]
        for chunk in _chunks(listed):
            self._tx.run(_WRITE_ALIASES, rows=chunk).consume()

    def set_checkpoint(self, seq: int) -> None:
        self._tx.run(_SET_CHECKPOINT, seq=seq).consume()

    def claim_checkpoint(self) -> int:
        self._tx.run(_LOCK_CHECKPOINT).consume()
        return int(self._tx.run(_GET_CHECKPOINT).single(strict=True)["seq"])

    def write(
        self,
        nodes: dict[str, Record],
        edges: dict[EdgeId, Record],
        new_nodes: AbstractSet[str] = frozenset(),
        new_edges: AbstractSet[EdgeId] = frozenset(),
    ) -> None:
        by_kind: dict[tuple[NodeKind, bool], list[Record]] = defaultdict(list)
        for key, record in nodes.items():
            by_kind[NodeKind(record["kind"]), key in new_nodes].append(record)
        for (kind, new), records in by_kind.items():
            query = (_CREATE_NODES if new else _WRITE_NODES)[kind]
            for chunk in _chunks(records):
                self._tx.run(query, rows=chunk).consume()
        edges_by_kind: dict[tuple[EdgeKind, bool], list[dict[str, Any]]] = defaultdict(list)
        for eid, record in edges.items():
            src, kind, dst, _disc = eid
            row = {"src": src, "dst": dst, "rec": record}
            edges_by_kind[EdgeKind(kind), eid in new_edges].append(row)
        for (ekind, new), rows in edges_by_kind.items():
            query = (_CREATE_EDGES if new else _WRITE_EDGES)[ekind]
            for chunk in _chunks(rows):
                self._tx.run(query, rows=chunk).consume()


def _timed_out(exc: Neo4jError) -> bool:
    """Neo.ClientError.Transaction.TransactionTimedOut(ClientConfiguration) and kin; and
    Neo.ClientError.Transaction.LockClientStopped, which is what the same timeout raises when it
    stops the transaction while it waits for a lock (seen in CI, once): terminated, not refused."""
    code = exc.code or ""
    return "TransactionTimedOut" in code or code.endswith(".LockClientStopped")


# Server states that say nothing about the statement: the database is not there (yet), the
# server refuses these credentials for now (a restarted server answers Bolt before its password
# is set: Unauthorized, then AuthenticationRateLimit once a few tries failed), or the transaction
# was stopped from outside (an operator's TERMINATE TRANSACTION or killed connection: measured,
# a read whose connection was killed mid-statement gets Terminated, on bolt:// and neo4j://).
_UNAVAILABLE_CODES = (
    "Neo.ClientError.Security.",
    "Neo.ClientError.Database.DatabaseNotFound",
    "Neo.ClientError.Transaction.Terminated",
)

# What a cluster answers while its leader changes: a write that reached a former leader
# (NotALeader; ForbiddenOnReadOnlyDatabase from a server that became a follower), or a server the
# routing table named that is gone or has no copy of the database to serve now (SessionExpired
# on a routed driver, ServiceUnavailable on a direct one, the Routing/Read/WriteServiceUnavailable
# kinds when no router answers, DatabaseUnavailable). The driver then drops that server from its
# routing table (`_bolt5.py`: FAILURE handling), so a new session asks the cluster again.
# Named by class and by code: the driver files the first two under TransientError though their
# codes say ClientError, and the rule should not hang on how a driver version classes them.
_REROUTED_CODES = (
    "Neo.ClientError.Cluster.NotALeader",
    "Neo.ClientError.General.ForbiddenOnReadOnlyDatabase",
    "Neo.TransientError.General.DatabaseUnavailable",
)


def is_rerouted(exc: BaseException) -> bool:
    """Whether another try, on a fresh session, may reach a server that answers: the connection
    broke or the cluster moved (see `_REROUTED_CODES`). Not a timeout (it would take as long
    again), refused credentials or a statement's fault; not IncompleteCommit either (a write that
    may have landed: the caller's fence decides what to do)."""
    if isinstance(exc, IncompleteCommit):
        return False
    if isinstance(
        exc,
        SessionExpired
        | ServiceUnavailable
        | NotALeader
        | ForbiddenOnReadOnlyDatabase
        | DatabaseUnavailable,
    ):
        return True
    return isinstance(exc, Neo4jError) and (exc.code or "") in _REROUTED_CODES


def is_unavailable(exc: BaseException) -> bool:
    """Whether a driver error means "Neo4j cannot answer now" (retry later) rather than a fault
    of the statement or its data (a bug, or a batch to refuse). One rule for reads and writes.

    Unavailable: no connection or a broken one, a cluster switching leaders (`is_rerouted`),
    transient server states, a database still starting or missing, credentials refused, a
    transaction stopped by its timeout.
    Not: syntax, type, constraint and other client errors of the statement; DatabaseError (an
    error executing this statement, which a retry would repeat)."""
    if is_rerouted(exc) or isinstance(
        exc, ServiceUnavailable | SessionExpired | SessionError | BrokenRecordError | TransientError
    ):
        return True
    if isinstance(exc, Neo4jError):
        code = exc.code or ""
        return isinstance(exc, AuthError) or code.startswith(_UNAVAILABLE_CODES) or _timed_out(exc)
    return False


class Neo4jStore(GraphStore):
    name = "neo4j"
    # the graph's writer's cache of what it committed (graph/record_cache.py; its projector
    # attaches it): the loads of a batch read only what it lacks
    record_cache: RecordCache | None = None
    # levels a statement of the walk with paths (`PATHS_CHUNK`; a benchmark sets it on a store
    # to compare chunk sizes interleaved)
    paths_chunk: int = PATHS_CHUNK
    # the walk with paths reads its edges' element ids, its path edges' records then by id
    # (`_REACH_END_IDS`); off, by key (a benchmark compares both interleaved)
    path_element_ids: bool = True

    def __init__(
        self,
        uri: str,
        *,
        user: str = "neo4j",
        password: str = "",
        database: str = "neo4j",
        max_pool_size: int = 20,
        connection_timeout: float = 10.0,
        query_timeout: float | None = 30.0,
        write_timeout: float | None = 300.0,
        first_contact_timeout: float | None = None,
        defer_first_contact: bool = False,
        bookmark_manager: BookmarkManager | None = None,
    ) -> None:
        """`uri`: `bolt://` (one server) or `neo4j://` (routed: a cluster, Aura, or one server
        that names itself the whole routing table), `+s`/`+ssc` for TLS.
        `first_contact_timeout`: how long opening may try to reach Neo4j (one connection
        attempt, then the schema's retries) before StoreUnavailable; None: the driver's own
        bounds (connection_timeout, 30 s of retries). `defer_first_contact`: if Neo4j does not
        answer at open, open anyway (a warning) and make that first contact, the schema
        included, on the first read or write that reaches it (the service starts without it).
        `bookmark_manager`: the causal chain every session of the store joins (default: one of
        its own); pass one to share read-your-writes with other stores of the process."""
        self.uri, self.database, self._query_timeout = uri, database, query_timeout
        # a projector batch may write tens of thousands of rows: bounded, but not like a read
        self._write_timeout = write_timeout
        self._first_contact_timeout = first_contact_timeout
        connect, bounded = connection_timeout, {}
        if first_contact_timeout is not None:
            connect = min(connection_timeout, first_contact_timeout)
            bounded = {"max_transaction_retry_time": first_contact_timeout}  # the schema's
        self._driver: Driver = GraphDatabase.driver(
            uri,
            auth=(user, password),
            max_connection_pool_size=max_pool_size,
            connection_acquisition_timeout=connection_timeout,
            connection_timeout=connect,
            # Off: the count queries name every kind, present or not. Measured: with
            # notifications on, the first such read after Neo4j was killed and restarted hung
            # for over 90 s on 5.26.30 (tests/integration/test_intake_http.py, outage test).
            notifications_min_severity="OFF",
            **bounded,
        )
        # one per store, shared by all its sessions: each transaction starts from the bookmarks
        # of every one committed before it here (thread-safe; a kept session asks it at each run)
        self._bookmarks = bookmark_manager or GraphDatabase.bookmark_manager()
        self._local = threading.local()
        self._sessions: set[Session] = set()  # every thread's, closed with the store
        self._sessions_lock = threading.Lock()
        self._planned: set[str] = set()  # the walk statements run here once (`PLAN_TIMEOUT`)
        self._contact_pending = True
        self._contact_lock = threading.Lock()
        try:
            self._first_contact()
        except StoreUnavailable as exc:
            if not defer_first_contact:
                self._driver.close()  # a store that failed to open leaves no pool behind
                raise
            log.warning("%s; going on without it until it answers", exc)
        except BaseException:
            self._driver.close()
            raise

    def _first_contact(self) -> None:
        """Reach Neo4j (bounded: one attempt of connection_timeout, when a first-contact timeout
        is set, so an unreachable server fails fast instead of after the schema's retries), then
        make sure of the schema."""
        if self._first_contact_timeout is not None:
            try:
                self._driver.verify_connectivity()
            except (DriverError, Neo4jError) as exc:
                if is_unavailable(exc):
                    raise self._unreached(exc) from exc
                raise
        self._ensure_schema()
        self._contact_pending = False

    def _ensure_contact(self) -> None:
        """The first contact a deferred open still owes, made by the first read or write to
        come; one thread tries at a time, the others are told the store is unavailable now."""
        if not self._contact_pending:
            return
        if not self._contact_lock.acquire(blocking=False):
            raise StoreUnavailable(f"Neo4j at {self.uri}: not reached yet")
        try:
            if self._contact_pending:
                self._first_contact()
        finally:
            self._contact_lock.release()

    def _ensure_schema(self) -> None:
        try:
            for statement in SCHEMA:
                try:
                    self._driver.execute_query(
                        statement, database_=self.database, bookmark_manager_=self._bookmarks
                    )
                except Neo4jError as exc:
                    # `IF [NOT] EXISTS` is not safe against another process doing the same at
                    # once (replicas starting together on an empty database): what it refuses
                    # for that reason is done, by the other
                    if (exc.code or "") not in _SCHEMA_DONE_ELSEWHERE:
                        raise
                    log.info("schema statement already done by another process: %s", exc.code)
        except (DriverError, Neo4jError) as exc:
            if is_unavailable(exc):
                raise self._unreached(exc) from exc
            raise

    def _unreached(self, exc: BaseException) -> StoreUnavailable:
        # one line: the driver's connection errors span several, and a command prints this
        return StoreUnavailable(f"Neo4j at {self.uri}: {' '.join(str(exc).split())}")

    def _open_session(self, access: str) -> Session:
        return self._driver.session(
            database=self.database, default_access_mode=access, bookmark_manager=self._bookmarks
        )

    def _session(self) -> Session:
        """This thread's read session. Opening one per read cost ~2 ms of a ~5 ms round trip
        (measured: `RETURN 1` 4.8 ms with a new session, 2.7 ms on a kept one), and an impact
        answer makes a dozen reads; with driver 5.28 the gap is ~0.04 ms of ~0.45 (2026-12-05,
        docs/neo4j-cluster.md). Sessions are not thread-safe, hence one per thread; an idle
        one holds no connection (auto-commit results give theirs back to the pool). Keeping it
        costs no freshness: a session takes the bookmark manager's bookmarks at each run."""
        session: Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._open_session(READ_ACCESS)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.add(session)
        return session

    def _drop_session(self) -> None:
        session = getattr(self._local, "session", None)
        self._local.session = None
        if session is not None:
            with self._sessions_lock:
                self._sessions.discard(session)
            with suppress(Exception):  # a broken session: nothing to save
                session.close()

    def _read(self, query: LiteralString, **params: Any) -> list[Any]:
        # auto-commit: one pipelined round trip (a traversal makes one read per level), with a
        # server-side timeout so a stuck read ends as an error instead of holding a thread
        self._ensure_contact()
        timeout, planning = self._query_timeout, False
        if timeout is not None and query in _SLOW_TO_PLAN and query not in self._planned:
            timeout, planning = max(timeout, PLAN_TIMEOUT), True
        bounded = Query(query, timeout=timeout)
        for retry in (False, True):
            try:
                rows = list(self._session().run(bounded, params))
            except BaseException as exc:
                self._drop_session()  # whatever failed, the next read starts from a fresh session
                # a broken connection or a moved cluster: once more, on a fresh session (the
                # driver dropped the server that failed from its pool and routing table)
                if not retry and is_rerouted(exc):
                    log.info("Neo4j read failed (%s); trying once more", exc)
                    continue
                if is_unavailable(exc):
                    raise StoreUnavailable(f"Neo4j at {self.uri}: {exc}") from exc
                raise
            else:
                if planning:  # planned now: cached on the server from here on
                    self._planned.add(query)
                return rows
        raise AssertionError("unreachable")  # the second pass returns or raises

    def _unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        return through_cache(self.record_cache, self._transaction())

    @contextmanager
    def _transaction(self) -> Iterator[UnitOfWork]:
        self._ensure_contact()
        try:
            with (
                self._open_session(WRITE_ACCESS) as session,
                session.begin_transaction(timeout=self._write_timeout) as tx,
            ):
                yield _Neo4jUnitOfWork(tx)
                tx.commit()
        except (DriverError, Neo4jError) as exc:
            # unavailable (a timed-out write included) says nothing about the batch: retry it,
            # never park its events; anything else is the batch's own fault
            if is_unavailable(exc):
                raise StoreUnavailable(f"Neo4j at {self.uri}: {exc}") from exc
            raise

    def checkpoint(self) -> int:
        rows = self._read(_GET_CHECKPOINT)
        return int(rows[0]["seq"]) if rows else 0

    def mark(self, name: str) -> int:
        rows = self._read(_GET_MARK, name=f"mark:{name}")
        return int(rows[0]["seq"]) if rows else 0

    def set_mark(self, name: str, seq: int) -> None:
        try:
            with self._open_session(WRITE_ACCESS) as session:
                session.run(_SET_MARK, name=f"mark:{name}", seq=seq).consume()
        except (DriverError, Neo4jError) as exc:
            if is_unavailable(exc):
                raise StoreUnavailable(f"Neo4j at {self.uri}: {exc}") from exc
            raise

    # ---- reads --------------------------------------------------------------------------
    def get_nodes(self, ids: Sequence[str]) -> list[StoredNode]:
        if not ids:
            return []
        (row,) = self._read(_GET_NODES, ids=list(dict.fromkeys(ids)))
        found = dict(row["found"])
        return [StoredNode.from_record(found[i]) for i in ids if i in found]

    def neighbors(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[StoredEdge]:
        wanted = frozenset(EdgeKind(k) for k in kinds) if kinds is not None else None
        if (wanted is not None and not wanted) or not ids:
            return []
        query = _neighbors_query(direction, wanted)
        (row,) = self._read(query, ids=list(dict.fromkeys(ids)), as_of=as_of)
        found = {(src, kind, dst, p["disc"]): p for src, dst, kind, p in row["found"]}
        edges = [StoredEdge.from_record(eid, p) for eid, p in found.items()]
        edges.sort(key=lambda e: e.key.id)
        return edges

    def neighbor_page(
        self,
        node_id: str,
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
        *,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[StoredEdge], int]:
        # two reads: every edge's id (no records), then the page's records; ordered here, in
        # Python's order of the ids, as the embedded store and `neighbors` order them
        wanted = frozenset(EdgeKind(k) for k in kinds) if kinds is not None else None
        if wanted is not None and not wanted:
            return [], 0
        (row,) = self._read(_edge_ids_query(direction, wanted), ids=[node_id], as_of=as_of)
        ids = sorted({(src, kind, dst, disc) for src, dst, kind, disc in row["found"]})
        page = ids[offset : offset + limit]
        if not page:
            return [], len(ids)
        rows = [{"src": s, "kind": k, "dst": d, "disc": c} for s, k, d, c in page]
        (found,) = self._read(_PAGE_EDGES, rows=rows)
        records = {(src, kind, dst, p["disc"]): p for src, dst, kind, p in found["found"]}
        edges = [StoredEdge.from_record(eid, records[eid]) for eid in page if eid in records]
        return edges, len(ids)

    def neighbor_ends(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[tuple[str, str]]:
        # the edges' ids alone (`neighbor_page`'s first read): no record sent or built
        wanted = frozenset(EdgeKind(k) for k in kinds) if kinds is not None else None
        if (wanted is not None and not wanted) or not ids:
            return []
        query = _edge_ids_query(direction, wanted)
        (row,) = self._read(query, ids=list(dict.fromkeys(ids)), as_of=as_of)
        found = sorted({(src, kind, dst, disc) for src, dst, kind, disc in row["found"]})
        return [(src, dst) for src, _, dst, _ in found]

    def neighbors_each_way(
        self,
        ids: Sequence[str],
        kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
    ) -> list[tuple[StoredEdge, Direction]]:
        out, in_ = (frozenset(EdgeKind(k) for k in kinds.get(d, ())) for d in Direction)
        if not (out or in_) or not ids:
            return []
        (row,) = self._read(_each_way_query(out, in_), ids=list(dict.fromkeys(ids)), as_of=as_of)
        return _each_way_found(row["found"])

    def nodes_and_neighbors(
        self,
        node_ids: Sequence[str],
        ids: Sequence[str],
        kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
    ) -> tuple[list[StoredNode], list[tuple[StoredEdge, Direction]]]:
        out, in_ = (frozenset(EdgeKind(k) for k in kinds.get(d, ())) for d in Direction)
        if not (out or in_) or not ids or not node_ids:  # one of the two reads is empty
            return self.get_nodes(node_ids), self.neighbors_each_way(ids, kinds, as_of)
        (row,) = self._read(
            _nodes_and_each_way_query(out, in_),
            node_ids=list(dict.fromkeys(node_ids)),
            ids=list(dict.fromkeys(ids)),
            as_of=as_of,
        )
        found = dict(row["nodes"])
        nodes = [StoredNode.from_record(found[i]) for i in node_ids if i in found]
        return nodes, _each_way_found(row["found"])

    def nodes_and_owners(
        self,
        node_ids: Sequence[str],
        ids: Sequence[str],
        as_of: str | None = None,
        *,
        path_edges: Mapping[int, StoredEdge] | None = None,
    ) -> tuple[list[StoredNode], list[tuple[str, str]], list[tuple[str, str]]]:
        # the records of the walk's path edges come along, if not read yet (impact asks for the
        # paths of the items it answers next)
        paths = path_edges if isinstance(path_edges, _PathEdges) and path_edges.pending else None
        if not ids and not node_ids and paths is None:
            return [], [], []
        rows, eids = paths.lookups() if paths is not None else ([], [])
        (row,) = self._read(
            _NODES_AND_OWNERS,
            node_ids=list(dict.fromkeys(node_ids)),
            ids=list(dict.fromkeys(ids)),
            rows=rows,
            eids=eids,
            as_of=as_of,
        )
        if paths is not None:
            paths.fill(_records_of(row["edges"]))
        found = dict(row["nodes"])
        nodes = [StoredNode.from_record(found[i]) for i in node_ids if i in found]
        owns = [(src, dst) for src, dst in row["owns"]]
        alias_of = _ALIAS_OF.value
        aliases = sorted({(src, alias_of, dst, disc) for src, dst, disc in row["aliases"]})
        return nodes, owns, [(src, dst) for src, _, dst, _ in aliases]

    def reach(
        self,
        start_ids: Sequence[str],
        moves: Moves,
        *,
        start_state: str,
        max_depth: int,
        as_of: str | None,
        limit: int,
    ) -> Neighborhood | None:
        if not start_ids or not moves:
            return Neighborhood.of(start_ids, ())  # nothing to follow from them
        read = self._reach_rows(
            start_ids, moves, start_state=start_state, max_depth=max_depth, as_of=as_of,
            limit=limit, tested=None,
        )  # fmt: skip
        if read is None:
            return None
        covered, rows = read
        found: dict[tuple[EdgeId, Direction], Record] = {}
        for src, kind, dst, disc, out, p in rows:
            found[(src, kind, dst, disc), _OUT if out else _IN] = p
        return Neighborhood.of(
            covered, ((StoredEdge.from_record(e, p), w) for (e, w), p in found.items())
        )

    def _reach_rows(
        self,
        start_ids: Sequence[str],
        moves: Moves,
        *,
        start_state: str,
        max_depth: int,
        as_of: str | None,
        limit: int,
        tested: Sequence[str] | None,
        chunk_levels: int = REACH_CHUNK,
        keyed: _Keyed | None = None,
        element_ids: bool = False,
    ) -> tuple[list[str], list[Any]] | None:
        """The read-ahead walk's statement, chunk after chunk (`chunk_levels` levels each): the
        nodes covered and the edge rows found — records, or (`tested` given) ids with those
        properties' values. None past `limit` nodes (see `reach`)."""
        query, params = reach_statement(
            start_ids, moves, start_state=start_state, as_of=as_of, limit=limit,
            levels=chunk_levels, keyed=keyed, element_ids=element_ids,
        )  # fmt: skip
        starts = list(dict.fromkeys(start_ids))
        frontier = [[key, start_state] for key in starts]
        seen = [f"{key}|{start_state}" for key in starts]
        covered = dict.fromkeys(starts)  # a start the store lacks has no edges: covered too
        rows: list[Any] = []
        left = max_depth
        while left > 0 and frontier:
            levels = min(chunk_levels, left)
            chunk = walk_chunk(frontier, seen, levels, tested)
            row = self._read(query, **params, **chunk)[0]
            seen += row["marks"]
            if len(seen) > params["cap"]:
                return None
            covered.update(dict.fromkeys(row["nodes"]))
            rows += row["found"]
            frontier, left = row["pending"], left - levels
        if len(covered) > limit:
            return None
        return list(covered), rows

    def walk(
        self,
        start_ids: Sequence[str],
        steps: Sequence[WalkStep],
        *,
        start_state: str,
        covers: Mapping[str, frozenset[str]],
        max_depth: int,
        as_of: str | None,
        max_nodes: int,
        edges: bool,
    ) -> Walked | None:
        # The read-ahead statement answers each edge as its id and the values its tests read,
        # and the walk runs on those (graph/ends_walk.py) — no record is sent, unpacked or built
        # for the edges only read. With paths (`traverse`, impact), the records of the visits'
        # edges alone are read after the walk (one round trip; ~one edge per node reached, of
        # the several the walk reads). A test in code needs the edge: `reach` then.
        if not walkable(steps):
            return None
        starts = list(dict.fromkeys(start_ids))
        if edges:
            return self._walk_paths(
                starts, steps, start_state=start_state, covers=covers, max_depth=max_depth,
                as_of=as_of, max_nodes=max_nodes,
            )  # fmt: skip
        if starts and (plain := one_state(steps, start_state)) is not None:
            walked = self._walk_sets(
                starts, plain, state=start_state, max_depth=max_depth, as_of=as_of,
                max_nodes=max_nodes,
            )  # fmt: skip
            if walked is not None:
                return walked
        return self._walk_ids(
            starts, steps, start_state=start_state, covers=covers, max_depth=max_depth,
            as_of=as_of, max_nodes=max_nodes,
        )  # fmt: skip

    def _walk_sets(
        self,
        starts: list[str],
        steps: Sequence[WalkStep],
        *,
        state: str,
        max_depth: int,
        as_of: str | None,
        max_nodes: int,
    ) -> Walked | None:
        """A one-state walk (`one_state`) as sets of nodes per level, on the server: only the
        keys reached come back. None at `traverse`'s cap (where it would stop part way, in an
        order only the walk on edges keeps): the caller walks on edges then."""
        cap = max_nodes + len(starts)  # traverse's `len(every.states) - len(start) >= max_nodes`
        if not steps:
            return walked_by_levels(starts, state, [], [], 0)
        query, params = sets_statement(steps, as_of=as_of, cap=cap)
        frontier: list[list[Any]] = [[key, True, True] for key in starts]
        seen = [f"{p}|{key}" for key in starts for p in ("e", "x")]
        every: list[list[str]] = []
        exact: list[list[str]] = []
        reached, visited, left = len(starts), 0, max_depth
        while left > 0 and frontier:
            levels = min(REACH_CHUNK, left)
            chunk = {"frontier": frontier, "seen": seen, "reached": reached}
            row = self._read(query, **params, chunk=chunk, levels=levels)[0]
            for ke, kx in zip(row["every"][:levels], row["exact"][:levels], strict=True):
                every.append(ke)
                exact.append(kx)
                reached += len(ke)
                seen += [f"e|{k}" for k in ke] + [f"x|{k}" for k in kx]
            if reached >= cap:
                return None
            visited += row["read"]
            frontier, left = row["pending"], left - levels
        return walked_by_levels(starts, state, every, exact, visited)

    def _walk_paths(
        self,
        starts: list[str],
        steps: Sequence[WalkStep],
        *,
        start_state: str,
        covers: Mapping[str, frozenset[str]],
        max_depth: int,
        as_of: str | None,
        max_nodes: int,
    ) -> Walked | None:
        """`_walk_ids` with parent pointers, then the visits' edges' records by id."""
        edge_ids: dict[EdgeId, int] = {}
        elements: dict[EdgeId, str] | None = {} if self.path_element_ids else None
        walked = self._on_ids(
            starts, steps, start_state=start_state, covers=covers, max_depth=max_depth,
            as_of=as_of, max_nodes=max_nodes, edge_ids=edge_ids, elements=elements,
        )  # fmt: skip
        if walked is None or not edge_ids:
            return walked
        walked.edges = _PathEdges(edge_ids, self._edge_records, elements)
        return walked

    def _edge_records(self, ids: list[EdgeId]) -> dict[EdgeId, Record]:
        (found,) = self._read(_PAGE_EDGES, rows=_edge_rows_of(ids))
        return _records_of(found["found"])

    def _walk_ids(
        self,
        starts: list[str],
        steps: Sequence[WalkStep],
        *,
        start_state: str,
        covers: Mapping[str, frozenset[str]],
        max_depth: int,
        as_of: str | None,
        max_nodes: int,
    ) -> Walked | None:
        """The walk on edge ids: the read-ahead's edges as ids, walked in Python in `traverse`'s
        order (graph/ends_walk.py). A policy with several states: which state reaches a node
        first decides what the states it covers may skip."""
        return self._on_ids(
            starts, steps, start_state=start_state, covers=covers, max_depth=max_depth,
            as_of=as_of, max_nodes=max_nodes, edge_ids=None, elements=None,
        )  # fmt: skip

    def _on_ids(
        self,
        starts: list[str],
        steps: Sequence[WalkStep],
        *,
        start_state: str,
        covers: Mapping[str, frozenset[str]],
        max_depth: int,
        as_of: str | None,
        max_nodes: int,
        edge_ids: dict[EdgeId, int] | None,
        elements: dict[EdgeId, str] | None,
    ) -> Walked | None:
        """`_walk_ids`, and with `edge_ids` the visits' parents and edges too (`_walk_paths`);
        `elements` is filled with the element id of each visit's edge."""
        policy = _policy(steps, start_state)
        tested = policy.tested
        covered: list[str] = starts
        rows: list[Any] = []
        if starts and policy.moves:
            read = self._reach_rows(
                starts, policy.moves, start_state=start_state, max_depth=max_depth, as_of=as_of,
                limit=max_nodes + len(starts), tested=tested,
                chunk_levels=REACH_CHUNK if edge_ids is None else self.paths_chunk,
                keyed=policy.keyed, element_ids=elements is not None,
            )  # fmt: skip
            if read is None:
                return None  # past the limit: the caller walks level by level
            covered, rows = read
        ahead = EndsAhead(covered, rows)
        walked = walk_ends(
            ahead, starts, steps, start_state=start_state, covers=covers, max_depth=max_depth,
            max_nodes=max_nodes, tested=tested, edge_ids=edge_ids,
        )  # fmt: skip
        if elements is not None and edge_ids:
            elements.update(_element_ids(ahead, edge_ids))
        return walked

    def search(
        self, text: str, kinds: Iterable[NodeKind] | None = None, limit: int = 20
    ) -> list[StoredNode]:
        kind_names = sorted(k.value for k in kinds) if kinds is not None else None
        rows = self._read(_SEARCH, needle=text.lower(), kinds=kind_names, limit=limit)
        return [StoredNode.from_record(r["p"]) for r in rows]

    def find_aliased(self, names: Sequence[str], limit: int = 10) -> list[StoredNode]:
        wanted = sorted({n for n in names if n})
        if not wanted:
            return []
        rows = self._read(_FIND_ALIASED, lucene=_alias_query(wanted), names=wanted, limit=limit)
        return [StoredNode.from_record(r["p"]) for r in rows]

    def linked_names(self, ids: Sequence[str]) -> dict[str, str]:
        rows = self._read(_LOAD_ALIASES, names=sorted(set(ids)))
        return {r["key"]: r["c"] for r in rows}

    def names_linked_to(self, ids: Sequence[str]) -> dict[str, str]:
        rows = self._read(_LOAD_ALIASES_TO, ids=sorted(set(ids)))
        return {r["key"]: r["c"] for r in rows}

    def stats(self) -> GraphStats:
        nodes = {r["kind"]: r["n"] for r in self._read(_COUNT_NODES) if r["n"]}
        edges = {r["kind"]: r["n"] for r in self._read(_COUNT_EDGES) if r["n"]}
        return GraphStats(dict(sorted(nodes.items())), dict(sorted(edges.items())))

    def iter_nodes(self) -> Iterator[StoredNode]:
        rows = self._read("MATCH (n:Node) RETURN properties(n) AS p")
        yield from sorted((StoredNode.from_record(r["p"]) for r in rows), key=lambda n: n.id)

    def iter_edges(self) -> Iterator[StoredEdge]:
        rows = self._read(
            "MATCH (a:Node)-[r]->(b:Node) "
            "RETURN a.key AS src, type(r) AS kind, b.key AS dst, properties(r) AS p"
        )
        edges = [StoredEdge.from_record(eid, p) for eid, p in _edge_rows(rows).items()]
        yield from sorted(edges, key=lambda e: e.key.id)

    # ---- lifecycle ----------------------------------------------------------------------
    def ping(self) -> None:
        try:
            self._driver.verify_connectivity()
        except (DriverError, Neo4jError) as exc:
            raise StoreUnavailable(f"Neo4j at {self.uri}: {exc}") from exc

    def server_version(self) -> str:
        rows = self._read("CALL dbms.components() YIELD versions, edition RETURN versions, edition")
        return f"{rows[0]['versions'][0]} {rows[0]['edition']}"

    def describe(self) -> str:
        return f"neo4j {self.server_version()} at {self.uri} (database {self.database})"

    def clear(self) -> None:
        try:
            with self._open_session(WRITE_ACCESS) as session:
                # batched so that clearing a large graph never needs one huge transaction
                session.run(
                    "MATCH (n:Node) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
                ).consume()
                session.run("MATCH (c:LkgCheckpoint) DELETE c").consume()
                session.run(
                    "MATCH (a:LkgAlias) CALL (a) { DELETE a } IN TRANSACTIONS OF 10000 ROWS"
                ).consume()
        finally:  # after: a read made while it deleted is not kept either
            if self.record_cache is not None:
                self.record_cache.clear()

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = list(self._sessions), set()
        for session in sessions:
            with suppress(Exception):
                session.close()
        self._driver.close()

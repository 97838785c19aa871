"""The production store: Neo4j 5 over Bolt, one server (`bolt://`) or routed (`neo4j://`).

Every node has the label `Node` (unique `key`, the `NodeKey.id`) plus its kind's label; every
relationship has its kind's type and a `disc` property. Records are written whole with
`UNWIND $rows … MERGE … SET x = row` in chunks, one transaction per batch.

Cypher text is never built from user input: the only statements assembled at all are the
per-kind counts and typed neighbour reads below, the projector's loads and writes
(graph/neo4j_unit_of_work.py) and the walk statements (graph/neo4j_walk_statements.py), built
from the vocabulary's enums (`EdgeKind(...)` refuses anything else) and ints.
Everything a user can influence travels as a parameter. Shared fragments: graph/neo4j_cypher.py;
lazily read path edges: graph/neo4j_path_edges.py; driver errors: graph/neo4j_errors.py.

Routing (docs/neo4j-cluster.md): reads run in READ-access sessions, which a cluster sends to its
followers and read replicas; writes in WRITE-access ones, sent to the leader. Every session the
store opens shares one bookmark manager, so a read made after this process's write is answered
by a server that has applied that write (read-your-writes across threads and servers).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import lru_cache, partial
from typing import Any, LiteralString, cast

from neo4j import READ_ACCESS, WRITE_ACCESS, Driver, GraphDatabase, Query, Session
from neo4j.api import BookmarkManager
from neo4j.exceptions import DriverError, Neo4jError

from lineage_kg.graph import neo4j_node_rows, neo4j_trace_evidence, neo4j_walk_statements
from lineage_kg.graph.ends_walk import (
    DropRule,
    EndsAhead,
    GiveWay,
    one_state,
    walk_ends,
    walkable,
    walked_by_levels,
)
from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_cypher import EDGE_VIEW, NODE_VIEW, SEEK, VALID_NOW_OR_AS_OF, typed
from lineage_kg.graph.neo4j_errors import is_rerouted, is_unavailable
from lineage_kg.graph.neo4j_params import quiet
from lineage_kg.graph.neo4j_parts_assets import parts_and_assets
from lineage_kg.graph.neo4j_path_edges import PathEdges, edge_rows_of, element_ids, records_of
from lineage_kg.graph.neo4j_unit_of_work import (
    GET_CHECKPOINT,
    LOAD_ALIASES,
    LOAD_ALIASES_TO,
    Neo4jUnitOfWork,
    edge_rows,
)
from lineage_kg.graph.neo4j_walk_ahead import OwnersAhead
from lineage_kg.graph.neo4j_walk_pair import WalkPairs
from lineage_kg.graph.neo4j_walk_statements import (
    PATHS_CHUNK,
    PLAN_TIMEOUT,
    REACH_CHUNK,
    SLOW_TO_PLAN,
    Keyed,
    LeftOut,
    left_out,
    reach_statement,
    sets_chunk,
    sets_statement,
    walk_chunk,
    walk_policy,
)
from lineage_kg.graph.record_cache import RecordCache, through_cache
from lineage_kg.graph.records import EdgeId, Record, StoredEdge, StoredNode
from lineage_kg.graph.store import (
    GraphStats,
    GraphStore,
    Moves,
    Neighborhood,
    PairedWalk,
    StoreUnavailable,
    UnitOfWork,
    Walked,
    WalkStep,
)
from lineage_kg.graph.walk_ahead import reads_owners

log = logging.getLogger(__name__)

_OUT, _IN = Direction.OUT, Direction.IN
_ALIAS_OF = EdgeKind.ALIAS_OF


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


# Reads answer in one row holding a list: a row per record cost the driver one Bolt message and a
# Record each (cProfile at 10k: ~21k messages for 62 impact answers).
_GET_NODES: LiteralString = (
    "UNWIND $ids AS id MATCH (n:Node {key: id}) RETURN collect([n.key, " + NODE_VIEW + "]) AS found"
)


def _incident_query(
    direction: Direction, kinds: frozenset[EdgeKind] | None, returned: str
) -> LiteralString:
    """Each id's current (or as-of) edges one way, collected as [src, dst, type, `returned`]."""
    types = "" if kinds is None else typed(kinds)
    # no label test on the far end: it costs a node fetch per row and every node has it
    if direction is Direction.OUT:
        match, ends = f"(a)-[r{types}]->(b)", "a.key, b.key"
    else:
        match, ends = f"(a)<-[r{types}]-(b)", "b.key, a.key"
    return cast(
        LiteralString,
        f"{SEEK}CALL (a) {{ MATCH {match} WHERE {VALID_NOW_OR_AS_OF}RETURN r, b }} "
        f"RETURN collect([{ends}, type(r), {returned}]) AS found",
    )


@lru_cache(maxsize=256)
def _neighbors_query(direction: Direction, kinds: frozenset[EdgeKind] | None) -> LiteralString:
    return _incident_query(direction, kinds, EDGE_VIEW)


@lru_cache(maxsize=64)
def _now_and_at_query(direction: Direction, kinds: frozenset[EdgeKind]) -> LiteralString:
    """`_neighbors_query`'s edges valid now or at `$at` (`VALID_NOW_OR_AS_OF` with $as_of null,
    then $at), each with whether it is valid now and whether at `$at`: two reads' answers in
    one (the decision trace's deployments: queries/decision_trace.py `_PointDeployments`)."""
    match = "(a)-[r{}]->(b)" if direction is Direction.OUT else "(a)<-[r{}]-(b)"
    ends = "a.key, b.key" if direction is Direction.OUT else "b.key, a.key"
    then = "r.first_seen <= $at AND (r.valid_to IS NULL OR $at < r.valid_to)"
    return cast(
        LiteralString,
        f"{SEEK}CALL (a) {{ MATCH {match.format(typed(kinds))} "
        f"WHERE r.valid_to IS NULL OR ({then}) RETURN r, b }} "
        f"RETURN collect([{ends}, type(r), {EDGE_VIEW}, r.valid_to IS NULL, {then}]) AS found",
    )


@lru_cache(maxsize=256)
def _edge_ids_query(direction: Direction, kinds: frozenset[EdgeKind] | None) -> LiteralString:
    """`_neighbors_query`'s edges as their ids alone: a page is chosen from these, and only its
    records are read (`_PAGE_EDGES`)."""
    return _incident_query(direction, kinds, "r.disc")


# a page's edges by id, both ends found first and the pair checked from its sparse end
_PAGE_EDGES: LiteralString = (
    "UNWIND $rows AS row MATCH (a:Node {key: row.src}) MATCH (b:Node {key: row.dst}) "
    "CALL (a, b, row) { MATCH (a)-[r]->(b) WHERE type(r) = row.kind AND r.disc = row.disc "
    "RETURN r } RETURN collect([a.key, b.key, type(r), " + EDGE_VIEW + "]) AS found"
)


@lru_cache(maxsize=256)
def _each_way_query(out: frozenset[EdgeKind], in_: frozenset[EdgeKind]) -> LiteralString:
    """Both ways in one round trip: a traversal level costs one read, not one per direction."""
    branches = [
        f"MATCH (a)-[r{typed(out)}]->() WHERE {VALID_NOW_OR_AS_OF}RETURN r, true AS out"
        if out
        else "",
        f"MATCH (a)<-[r{typed(in_)}]-() WHERE {VALID_NOW_OR_AS_OF}RETURN r, false AS out"
        if in_
        else "",
    ]
    return cast(
        LiteralString,
        f"{SEEK}CALL (a) {{ "
        + " UNION ALL ".join(b for b in branches if b)
        + " } RETURN collect([startNode(r).key, type(r), endNode(r).key, "
        + EDGE_VIEW
        + ", out]) AS found",
    )


@lru_cache(maxsize=256)
def _nodes_and_each_way_query(out: frozenset[EdgeKind], in_: frozenset[EdgeKind]) -> LiteralString:
    """`_GET_NODES` of `$node_ids` and `_each_way_query` of `$ids`, one round trip."""
    return cast(
        LiteralString,
        "CALL () { UNWIND $node_ids AS nid MATCH (n:Node {key: nid}) "
        f"RETURN collect([n.key, {NODE_VIEW}]) AS nodes }} "
        f"CALL () {{ {_each_way_query(out, in_)} }} RETURN nodes, found",
    )


# `Neo4jStore.nodes_and_owners`: the nodes, the OWNS edges into others and their owners'
# ALIAS_OF edges (ids alone: the answer needs who, not the records), and the records of the
# edges `$eids` (by element id, as the walk read them) and `$rows` (by key) name (the walk's
# paths, `PathEdges`), one round trip. An element id may have been reused since the walk: the
# record says which edge it is, and an edge not answered stays pending (`PathEdges.fill`).
def _path_edges_and_nodes(
    edge_view: LiteralString, node_row: LiteralString, node_with: LiteralString = ""
) -> LiteralString:
    """The path edges, each as `edge_view` of `r`, and the nodes, each as `node_row` of `n` (or
    of what `node_with` makes of it)."""
    return (
        "CALL () { UNWIND $rows AS row MATCH (a:Node {key: row.src}) "
        "MATCH (b:Node {key: row.dst}) CALL (a, b, row) { MATCH (a)-[r]->(b) "
        "WHERE type(r) = row.kind AND r.disc = row.disc "
        "RETURN r } RETURN collect([a.key, b.key, type(r), " + edge_view + "]) AS keyed } "
        "CALL () { UNWIND $eids AS e MATCH (a)-[r]->(b) WHERE elementId(r) = e "
        "RETURN collect([a.key, b.key, type(r), " + edge_view + "]) AS seeked } "
        "CALL () { UNWIND $node_ids AS nid MATCH (n:Node {key: nid}) "
        + node_with
        + "RETURN collect("
        + node_row
        + ") AS nodes } "
    )


_PATH_EDGES_AND_NODES = _path_edges_and_nodes(EDGE_VIEW, "[n.key, " + NODE_VIEW + "]")
# ... the OWNS edges into `a` (sought before it) and their owners' ALIAS_OF edges
_OWNS_AND_ALIASES: LiteralString = (
    f"CALL (a) {{ MATCH (a)<-[r:{EdgeKind.OWNS.value}]-(b) WHERE {VALID_NOW_OR_AS_OF}RETURN b }} "
    "RETURN collect([b.key, a.key]) AS owns, collect(DISTINCT b) AS owners } "
    "CALL (owners) { UNWIND owners AS o "
    f"CALL (o) {{ MATCH (o)-[r:{EdgeKind.ALIAS_OF.value}]->(c) WHERE {VALID_NOW_OR_AS_OF}"
    "RETURN r, c } RETURN collect([o.key, c.key, r.disc]) AS aliases } "
)
_NODES_AND_OWNERS: LiteralString = (
    f"{_PATH_EDGES_AND_NODES}CALL () {{ {SEEK}{_OWNS_AND_ALIASES}"
    "RETURN nodes, owns, aliases, keyed + seeked AS edges"
)


@lru_cache(maxsize=64)
def _nodes_assets_and_owners_query(
    in_: frozenset[EdgeKind], out: frozenset[EdgeKind], evidence: bool = False
) -> LiteralString:
    """`_NODES_AND_OWNERS` (`Neo4jStore.nodes_assets_and_owners`) with the edges of `$in_parts`
    (in, of `in_`) and of `$out_parts` (out, of `out`) as their ids, and the OWNS edges into the
    far end of every one of them too: the caller keeps each part's first edge's end, and the
    owners of those (a part with two assets, rare, costs a few rows more, not a round trip).
    With `evidence`, the path edges' evidence alone and each node as a row of scalars
    (graph/neo4j_trace_evidence.py, the decision trace's form)."""
    ends = []
    for name, kinds, pattern, pair in (
        ("in", in_, "(p)<-[r{}]-(b)", "b.key, p.key"),
        ("out", out, "(p)-[r{}]->(b)", "p.key, b.key"),
    ):
        if not kinds:
            ends.append(f"CALL () {{ RETURN [] AS {name}_ends }} ")
            continue
        ends.append(
            f"CALL () {{ UNWIND ${name}_parts AS pid MATCH (p:Node {{key: pid}}) "
            f"USING INDEX p:Node(key) CALL (p) {{ MATCH {pattern.format(typed(kinds))} "
            f"WHERE {VALID_NOW_OR_AS_OF}RETURN r, b }} "
            f"RETURN collect([{pair}, type(r), r.disc]) AS {name}_ends }} "
        )
    head = (
        _path_edges_and_nodes(
            neo4j_trace_evidence.EVIDENCE_VIEW,
            neo4j_node_rows.NODE_ROW,
            neo4j_node_rows.NODE_WITH,
        )
        if evidence
        else _PATH_EDGES_AND_NODES
    )
    return cast(
        LiteralString,
        head
        + "".join(ends)
        + (
            "CALL (in_ends, out_ends) { "
            "UNWIND $ids + [e IN in_ends | e[0]] + [e IN out_ends | e[1]] AS id WITH DISTINCT id "
            "MATCH (a:Node {key: id}) USING INDEX a:Node(key) "
        )
        + _OWNS_AND_ALIASES
        + "RETURN nodes, in_ends, out_ends, owns, aliases, keyed + seeked AS edges",
    )


def _each_way_found(found: Iterable[Any]) -> list[tuple[StoredEdge, Direction]]:
    edges: dict[tuple[EdgeId, Direction], Record] = {}
    for src, kind, dst, p, is_out in found:
        edges[(src, kind, dst, p["disc"]), Direction.OUT if is_out else Direction.IN] = p
    return [(StoredEdge.from_record(eid, p), way) for (eid, way), p in edges.items()]


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


# `GraphStore.mark`: beside the checkpoint (one node per name, cleared with it)
_SET_MARK: LiteralString = "MERGE (c:LkgCheckpoint {name: $name}) SET c.seq = $seq"
_GET_MARK: LiteralString = "MATCH (c:LkgCheckpoint {name: $name}) RETURN c.seq AS seq"


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
        self._pairs = WalkPairs()  # `walk_pair`'s worker threads
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
        if timeout is not None and query in SLOW_TO_PLAN and query not in self._planned:
            timeout, planning = max(timeout, PLAN_TIMEOUT), True
        bounded = Query(query, timeout=timeout)
        sent = quiet(params)  # the driver builds their repr for its debug log, at any level
        for retry in (False, True):
            try:
                rows = list(self._session().run(bounded, sent))
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
                yield Neo4jUnitOfWork(tx)
                tx.commit()
        except (DriverError, Neo4jError) as exc:
            # unavailable (a timed-out write included) says nothing about the batch: retry it,
            # never park its events; anything else is the batch's own fault
            if is_unavailable(exc):
                raise StoreUnavailable(f"Neo4j at {self.uri}: {exc}") from exc
            raise

    def checkpoint(self) -> int:
        rows = self._read(GET_CHECKPOINT)
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

    def neighbors_now_and_at(
        self, ids: Sequence[str], direction: Direction, kinds: Iterable[EdgeKind], at: str
    ) -> tuple[list[StoredEdge], list[StoredEdge]]:
        """`neighbors(ids, direction, kinds)` and `neighbors(ids, direction, kinds, at)` in one
        round trip (an edge valid both times is one record, built once)."""
        wanted = frozenset(EdgeKind(k) for k in kinds)
        if not wanted or not ids:
            return [], []
        query = _now_and_at_query(direction, wanted)
        (row,) = self._read(query, ids=list(dict.fromkeys(ids)), at=at)
        found = {(src, kind, dst, p["disc"]): (p, now, then) for src, dst, kind, p, now, then
                 in row["found"]}  # fmt: skip
        now_edges: list[StoredEdge] = []
        then_edges: list[StoredEdge] = []
        for eid in sorted(found):
            p, now, then = found[eid]
            edge = StoredEdge.from_record(eid, p)
            if now:
                now_edges.append(edge)
            if then:
                then_edges.append(edge)
        return now_edges, then_edges

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

    def parts_and_assets(
        self, ids: Sequence[str], kinds: Iterable[EdgeKind], as_of: str | None = None
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        # one statement, the parts not sought again (graph/neo4j_parts_assets.py)
        return parts_and_assets(self._read, ids, kinds, as_of)

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
        paths = path_edges if isinstance(path_edges, PathEdges) and path_edges.pending else None
        # read with the walk (graph/walk_ahead.py), if it can answer
        ahead = path_edges.ahead if isinstance(path_edges, PathEdges) and paths is None else None
        if ahead is not None and (done := ahead.answer(node_ids, ids, as_of)) is not None:
            return done
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
            paths.fill(records_of(row["edges"]))
        found = dict(row["nodes"])
        nodes = [StoredNode.from_record(found[i]) for i in node_ids if i in found]
        owns = [(src, dst) for src, dst in row["owns"]]
        alias_of = _ALIAS_OF.value
        aliases = sorted({(src, alias_of, dst, disc) for src, dst, disc in row["aliases"]})
        return nodes, owns, [(src, dst) for src, _, dst, _ in aliases]

    def nodes_assets_and_owners(
        self,
        node_ids: Sequence[str],
        ids: Sequence[str],
        parts: Mapping[Direction, Sequence[str]],
        part_kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
        *,
        path_edges: Mapping[int, StoredEdge] | None = None,
    ) -> tuple[list[StoredNode], dict[str, str], list[tuple[str, str]], list[tuple[str, str]]]:
        # one round trip: the parts' edges come as ids, their far ends' owners with the rest's;
        # each part's first edge by id is chosen here (as `neighbor_ends` orders them), and the
        # owners of far ends not chosen (a part with two assets, rare) are left out
        if not any(parts.get(way) for way in Direction):
            found = self.nodes_and_owners(node_ids, ids, as_of, path_edges=path_edges)
            return found[0], {}, found[1], found[2]
        of_way, kinds = neo4j_trace_evidence.parts_by_way(parts, part_kinds)
        paths = path_edges if isinstance(path_edges, PathEdges) and path_edges.pending else None
        row = neo4j_trace_evidence.owners_row(
            self,
            _nodes_assets_and_owners_query(kinds[_IN], kinds[_OUT]),
            node_ids=node_ids,
            ids=ids,
            of_way=of_way,
            lookups=paths.lookups() if paths is not None else ([], []),
            as_of=as_of,
        )
        if paths is not None:
            paths.fill(records_of(row["edges"]))
        return neo4j_trace_evidence.owners_answer(row, dict(row["nodes"]), node_ids, ids)

    def nodes_assets_owners_and_evidence(
        self,
        node_ids: Sequence[str],
        ids: Sequence[str],
        parts: Mapping[Direction, Sequence[str]],
        part_kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
        *,
        path_edges: Mapping[int, StoredEdge] | None = None,
        only: Collection[EdgeId] | None = None,
    ) -> neo4j_trace_evidence.Answer:
        # the decision trace's last read, its path edges' events alone (not their records)
        return neo4j_trace_evidence.nodes_assets_owners_and_evidence(
            self,
            node_ids,
            ids,
            parts,
            part_kinds,
            query=partial(_nodes_assets_and_owners_query, evidence=True),
            as_of=as_of,
            path_edges=path_edges,
            only=only,
        )

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
        covered, rows, _ = read
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
        keyed: Keyed | None = None,
        element_ids: bool = False,
        drop: DropRule | None = None,
        ahead: OwnersAhead | None = None,
    ) -> tuple[list[str], list[Any], LeftOut | None] | None:
        """The read-ahead walk's statement, chunk after chunk (`chunk_levels` levels each): the
        nodes covered and the edge rows found — records, or (`tested` given) ids with those
        properties' values — and with `drop`, what its first level left out. None past `limit`
        nodes (see `reach`)."""
        query, params = reach_statement(
            start_ids, moves, start_state=start_state, as_of=as_of, limit=limit,
            levels=chunk_levels, keyed=keyed, element_ids=element_ids, ahead=ahead is not None,
        )  # fmt: skip
        starts = list(dict.fromkeys(start_ids))
        frontier: list[list[str]] = []  # the first chunk's is its starts (`_REACH_START`)
        seen = [f"{key}|{start_state}" for key in starts]
        covered = dict.fromkeys(starts)  # a start the store lacks has no edges: covered too
        rows: list[Any] = []
        left = max_depth
        total = None  # rows the first level left out (with `drop`)
        sent: list[str] = starts  # the first chunk sends its starts as keys (`_REACH_START`)
        while left > 0 and (frontier or sent):
            levels = min(chunk_levels, left)
            first = drop.param if drop is not None and total is None else None
            skip = None if drop is None else drop.skip
            # a later chunk: the starts as keys, their marks made on the server, and the marks
            # found since (the largest team's downstream at 100k: 33,898 + 7,060, not 40,958 marks)
            keyed_starts = neo4j_walk_statements.LATER_STARTS_AS_KEYS and not sent
            chunk = walk_chunk(
                [] if sent else frontier,
                [] if sent else seen[len(starts) :] if keyed_starts else seen,
                levels, tested, first, skip=skip, starts=sent, state=start_state,
                marked=starts if keyed_starts else (),
            )  # fmt: skip
            row = self._read(query, **params, **chunk)[0]
            if ahead is not None:  # the nodes met, their owners (`_REACH_END_AHEAD`)
                ahead.add(sent or (f[0] for f in frontier), row)
            sent = []
            if first is not None:
                total = row["dropped"][0]
            seen += row["marks"]
            if len(seen) > params["cap"]:
                return None
            covered.update(dict.fromkeys(row["nodes"]))
            rows += row["found"]
            frontier, left = row["pending"], left - levels
        if len(covered) > limit:
            return None
        if drop is None or not total:
            return list(covered), rows, None
        kept = left_out(
            self._read, (query, params), drop, starts=starts, seen=seen, total=total, limit=limit,
            tested=tested,
        )  # fmt: skip
        if kept is None:  # give way: the read-ahead again, leaving nothing out
            return self._reach_rows(
                start_ids, moves, start_state=start_state, max_depth=max_depth, as_of=as_of,
                limit=limit, tested=tested, chunk_levels=chunk_levels, keyed=keyed,
                element_ids=element_ids,
            )  # fmt: skip
        return list(covered), rows, kept

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
        owners_next: bool = False,
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
                as_of=as_of, max_nodes=max_nodes, owners_next=owners_next,
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

    def walk_pair(
        self,
        start_ids: Sequence[str],
        first: PairedWalk,
        second: PairedWalk,
        *,
        max_depth: int,
        as_of: str | None,
        max_nodes: int,
        edges: bool,
    ) -> tuple[Walked | None, Walked | None]:
        # at once, each `walk` on its own thread's session (graph/neo4j_walk_pair.py)
        return self._pairs.run(
            self.walk, start_ids, first, second, max_depth=max_depth, as_of=as_of,
            max_nodes=max_nodes, edges=edges,
        )  # fmt: skip

    def walk_pair_then(
        self,
        start_ids: Sequence[str],
        first: PairedWalk,
        second: PairedWalk,
        *,
        then: Callable[[PairedWalk, Walked], Any],
        max_depth: int,
        as_of: str | None,
        max_nodes: int,
    ) -> tuple[Any, Any]:
        """`walk_pair` (no paths), each walk's answer `then` of the walk asked and its answer
        (None for a walk answered None), called on the thread that walked it as soon as it
        ended: the caller's reads after the walk the worker ends first (the accountability map's
        upstream, then its parts' assets: queries/accountability.py) run while the other one is
        still walking."""

        def after(asked: PairedWalk, walked: Walked | None) -> Any:
            return None if walked is None else then(asked, walked)

        return self._pairs.run(
            self.walk, start_ids, first, second, then=after, max_depth=max_depth, as_of=as_of,
            max_nodes=max_nodes, edges=False,
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
        frontier: list[list[Any]] = []  # the first chunk's is its starts (`_SETS_START`)
        seen: list[str] = []  # the marks found: the starts' are made on the server
        every: list[list[str]] = []
        exact: list[list[str]] = []
        reached, visited, left = len(starts), 0, max_depth
        sent: list[str] = starts
        while left > 0 and (frontier or sent):
            levels = min(REACH_CHUNK, left)
            chunk = sets_chunk(frontier, seen, reached, sent, [] if sent else starts)
            row = self._read(query, **params, chunk=chunk, levels=levels)[0]
            sent = []
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
        owners_next: bool,
    ) -> Walked | None:
        """`_walk_ids` with parent pointers, then the visits' edges' records by id — or, when
        impact reads its nodes' owners next (`owners_next`, graph/walk_ahead.py), with every
        edge's record and those of the nodes met (`OwnersAhead`), in the walk's round trip."""
        edge_ids: dict[EdgeId, int] = {}
        ahead = OwnersAhead(as_of) if reads_owners(owners_next) else None
        # each visit's edge's last value: its element id, or (ahead) its record
        elements: dict[EdgeId, Any] | None = {} if self.path_element_ids or ahead else None
        walked = self._on_ids(
            starts, steps, start_state=start_state, covers=covers, max_depth=max_depth,
            as_of=as_of, max_nodes=max_nodes, edge_ids=edge_ids, elements=elements, ahead=ahead,
        )  # fmt: skip
        if walked is None or (not edge_ids and ahead is None):
            return walked
        if ahead is not None and elements is not None:
            walked.edges = PathEdges(edge_ids, self._edge_records, None, ahead, elements)
            return walked
        walked.edges = PathEdges(edge_ids, self._edge_records, elements)
        return walked

    def _edge_records(self, ids: list[EdgeId]) -> dict[EdgeId, Record]:
        (found,) = self._read(_PAGE_EDGES, rows=edge_rows_of(ids))
        return records_of(found["found"])

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
        elements: dict[EdgeId, Any] | None,
        leave_out: bool = True,
        ahead: OwnersAhead | None = None,
    ) -> Walked | None:
        """`_walk_ids`, and with `edge_ids` the visits' parents and edges too (`_walk_paths`);
        `elements` is filled with the element id of each visit's edge. Without paths, the
        read-ahead may leave rows out of its first level (`DropRule`: counted, never followed)."""
        policy = walk_policy(steps, start_state)
        tested = policy.tested
        drop = policy.drop_rule(covers) if edge_ids is None and leave_out else None
        covered: list[str] = starts
        rows: list[Any] = []
        kept: LeftOut | None = None
        if starts and policy.moves:
            read = self._reach_rows(
                starts, policy.moves, start_state=start_state, max_depth=max_depth, as_of=as_of,
                limit=max_nodes + len(starts), tested=tested,
                chunk_levels=REACH_CHUNK if edge_ids is None else self.paths_chunk,
                keyed=policy.keyed, element_ids=elements is not None, drop=drop, ahead=ahead,
            )  # fmt: skip
            if read is None:
                return None  # past the limit: the caller walks level by level
            covered, rows, kept = read
        ahead = EndsAhead(covered, rows)
        dropped = None
        if drop is not None and kept is not None:
            dropped = drop.dropped(ahead, frozenset(starts), *kept)
        try:
            walked = walk_ends(
                ahead, starts, steps, start_state=start_state, covers=covers,
                max_depth=max_depth, max_nodes=max_nodes, tested=tested, edge_ids=edge_ids,
                dropped=dropped,
            )  # fmt: skip
        except GiveWay:  # again, every row read
            return self._on_ids(
                starts, steps, start_state=start_state, covers=covers, max_depth=max_depth,
                as_of=as_of, max_nodes=max_nodes, edge_ids=edge_ids, elements=elements,
                leave_out=False,
            )  # fmt: skip
        if elements is not None and edge_ids:
            elements.update(element_ids(ahead, edge_ids))
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
        rows = self._read(LOAD_ALIASES, names=sorted(set(ids)))
        return {r["key"]: r["c"] for r in rows}

    def names_linked_to(self, ids: Sequence[str]) -> dict[str, str]:
        rows = self._read(LOAD_ALIASES_TO, ids=sorted(set(ids)))
        return {r["key"]: r["c"] for r in rows}

    def stats(self) -> GraphStats:
        nodes = {r["kind"]: r["n"] for r in self._read(_COUNT_NODES) if r["n"]}
        edges = {r["kind"]: r["n"] for r in self._read(_COUNT_EDGES) if r["n"]}
        return GraphStats(dict(sorted(nodes.items())), dict(sorted(edges.items())))

    def is_empty(self) -> bool:
        # the label's count comes from Neo4j's count store; `stats`' two statements of a
        # branch per kind took ~7 s to plan on a freshly started server (the projector's start)
        (row,) = self._read("MATCH (n:Node) RETURN count(n) AS n")
        return int(row["n"]) == 0

    def iter_nodes(self) -> Iterator[StoredNode]:
        rows = self._read("MATCH (n:Node) RETURN properties(n) AS p")
        yield from sorted((StoredNode.from_record(r["p"]) for r in rows), key=lambda n: n.id)

    def iter_edges(self) -> Iterator[StoredEdge]:
        rows = self._read(
            "MATCH (a:Node)-[r]->(b:Node) "
            "RETURN a.key AS src, type(r) AS kind, b.key AS dst, properties(r) AS p"
        )
        edges = [StoredEdge.from_record(eid, p) for eid, p in edge_rows(rows).items()]
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
        self._pairs.close()  # its threads' sessions are closed below
        with self._sessions_lock:
            sessions, self._sessions = list(self._sessions), set()
        for session in sessions:
            with suppress(Exception):
                session.close()
        self._driver.close()

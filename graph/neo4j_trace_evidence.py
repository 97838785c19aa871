"""The decision trace's last read on Neo4j with its path edges' events alone (issue 19, target 1,
session 27): `Neo4jStore.nodes_assets_and_owners`' statement, each path edge answered as its id
and the three values an edge's evidence is made of (`queries.assets.events`: its first and last
events, the event that retired it), not its whole record. The trace shows no path edge, only that
evidence: its walk's path edges stay pending (read whole, in a read of their own, if anything
else asks them).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, LiteralString, Protocol, cast

from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_cypher import VALID_NOW_OR_AS_OF, typed
from lineage_kg.graph.neo4j_node_rows import NOT_PROPS, stored_node
from lineage_kg.graph.neo4j_path_edges import PathEdges, edge_rows_of
from lineage_kg.graph.records import EdgeEvents, EdgeId, StoredEdge, StoredNode
from lineage_kg.graph.store import keep_first_assets


class _Reads(Protocol):
    """The store's read (`Neo4jStore._read`; not imported: it imports this module)."""

    def _read(self, query: LiteralString, **params: Any) -> list[Any]: ...


_IN, _OUT = Direction.IN, Direction.OUT
# Each path edge as its id's disc and its evidence, in its row after its ends and kind; each node
# as a row of scalars (graph/neo4j_node_rows.py).
EVIDENCE_VIEW: LiteralString = "r.disc, r.first_event, r.last_event, r.retired_by"
Answer = tuple[
    list[StoredNode],
    dict[str, str],
    list[tuple[str, str]],
    list[tuple[str, str]],
    dict[EdgeId, EdgeEvents],
]


def nodes_assets_owners_and_evidence(
    store: _Reads,
    node_ids: Sequence[str],
    ids: Sequence[str],
    parts: Mapping[Direction, Sequence[str]],
    part_kinds: Mapping[Direction, Iterable[EdgeKind]],
    *,
    query: Callable[[frozenset[EdgeKind], frozenset[EdgeKind]], LiteralString],
    as_of: str | None = None,
    path_edges: Mapping[int, StoredEdge] | None = None,
    only: Collection[EdgeId] | None = None,
) -> Answer:
    """`nodes_assets_and_owners`' answer, and the pending path edges' events by edge id (an edge
    not answered, its element id reused since the walk, is absent: read whole if asked). The
    path edges are not filled; with `only`, only those of them are read (the edges the caller
    shows). One round trip; `query(in_kinds, out_kinds)` is the owners' statement in its
    evidence form."""
    of_way, kinds = parts_by_way(parts, part_kinds)
    paths = path_edges if isinstance(path_edges, PathEdges) and path_edges.pending else None
    if paths is not None and only is not None and kinds[_IN]:
        by_edge = _by_path_edges(
            store, paths, only=only, node_ids=node_ids, ids=ids, of_way=of_way,
            in_kinds=kinds[_IN], as_of=as_of,
        )  # fmt: skip
        if by_edge is not None:
            return by_edge
    lookups = _lookups(paths, only) if paths is not None else ([], [])
    row = owners_row(
        store,
        query(kinds[_IN], kinds[_OUT]),
        node_ids=node_ids,
        ids=ids,
        of_way=of_way,
        lookups=lookups,
        as_of=as_of,
    )
    evidence: dict[EdgeId, EdgeEvents] = {}
    if paths is not None:
        pending = paths.pending
        for src, dst, kind, disc, first, last, retired_by in row["edges"]:
            if (eid := (src, kind, dst, disc)) in pending:
                evidence[eid] = (first, last, retired_by)
    nodes = {record[0]: record for record in row["nodes"]}
    return (*owners_answer(row, nodes, node_ids, ids, node=stored_node), evidence)


def owners_row(
    store: _Reads,
    query: LiteralString,
    *,
    node_ids: Sequence[str],
    ids: Sequence[str],
    of_way: Mapping[Direction, list[str]],
    lookups: tuple[list[dict[str, str]], list[str]],
    as_of: str | None,
) -> Any:
    """The owners' statement's one row (`query`: either form), its parameters named once."""
    rows, eids = lookups
    (row,) = store._read(
        query,
        node_ids=list(dict.fromkeys(node_ids)),
        ids=list(dict.fromkeys(ids)),
        in_parts=of_way[_IN],
        out_parts=of_way[_OUT],
        rows=rows,
        eids=eids,
        as_of=as_of,
        not_props=NOT_PROPS,
    )
    return row


def _lookups(
    paths: PathEdges, only: Collection[EdgeId] | None
) -> tuple[list[dict[str, str]], list[str]]:
    """`paths.lookups()`, of `only`'s pending edges alone when given."""
    if only is None:
        return paths.lookups()
    elements, pending = paths.elements, paths.pending
    wanted = [e for e in dict.fromkeys(only) if e in pending]
    return edge_rows_of([e for e in wanted if e not in elements]), [
        elements[e] for e in wanted if e in elements
    ]


def parts_by_way(
    parts: Mapping[Direction, Sequence[str]], part_kinds: Mapping[Direction, Iterable[EdgeKind]]
) -> tuple[dict[Direction, list[str]], dict[Direction, frozenset[EdgeKind]]]:
    """The parts each way (once each) and the part kinds each way, as the owners' statement
    takes them: a way with no kinds has no parts (and no statement branch)."""
    of_way = {way: list(dict.fromkeys(parts.get(way, ()))) for way in Direction}
    kinds = {way: frozenset(EdgeKind(k) for k in part_kinds.get(way, ())) for way in Direction}
    for way in Direction:
        of_way[way] = of_way[way] if kinds[way] else []
    return of_way, kinds


def owners_answer(
    row: Any,
    records: Mapping[str, Any],
    node_ids: Sequence[str],
    ids: Sequence[str],
    *,
    node: Callable[[Any], StoredNode] = StoredNode.from_record,
) -> tuple[list[StoredNode], dict[str, str], list[tuple[str, str]], list[tuple[str, str]]]:
    """`nodes_assets_and_owners`' answer from the owners' statement's row (`records`: its node
    records by id, each made a node by `node`): each part's first edge by id (as `neighbor_ends`
    orders them) gives its asset; the owners of far ends not chosen (a part with two assets,
    rare) and their aliases are left out."""
    asset_of: dict[str, str] = {}
    for way, ends in sorted({_IN: row["in_ends"], _OUT: row["out_ends"]}.items()):
        by_id = sorted({(s, k, d, c) for s, d, k, c in ends})
        keep_first_assets(asset_of, way, ((src, dst) for src, _, dst, _ in by_id))
    nodes = [node(records[i]) for i in node_ids if i in records]
    return nodes, asset_of, *_owners_kept(row, ids, asset_of)


def _owners_kept(
    row: Any, ids: Sequence[str], asset_of: Mapping[str, str]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The OWNS of the statement's row into the ids asked and their chosen assets (an unchosen
    far end's owners are left out), and those owners' aliases by edge id."""
    wanted = {*ids, *asset_of.values()}
    owns = [(src, dst) for src, dst in row["owns"] if dst in wanted]
    owners = {src for src, _ in owns}
    alias_of = EdgeKind.ALIAS_OF.value
    aliases = sorted(
        {(src, alias_of, dst, disc) for src, dst, disc in row["aliases"] if src in owners}
    )
    return owns, [(src, dst) for src, _, dst, _ in aliases]


# The same answer with the feature nodes found by their path edge (session 29): each node the trace
# shows is the start of the last edge of its walk's path (the feature chain is walked upstream),
# and that edge is sought by its element id for its evidence anyway; from that one relationship
# seek come the node's record, its part edges' far ends and the OWNS into it, where the statement
# above seeks each node by key three times (its record, its parts, its owners). The other ids
# (the data chain's, the assets) are sought by key for their OWNS, as above. Measured replayed at
# 1M (the four slowest decisions' statements, x15 alternated, load 7): server 24.0 -> 20.5 ms
# median, wall 30.3 -> 24.8 ms.
#
# Its answer is columns (session 30): a list per field of the path edges, of the nodes and of the
# part edges, and the nodes' own props as three flat lists (whose node, name, value), where it
# was a list per edge, per node (and per node's props, and per prop) and per part edge: ~3,200
# fewer lists for the driver to make in a 750-step trace, and the parts' first asset found without
# a tuple and a sort per part edge. The values that may be null (an edge's `retired_by`) are taken
# by a list comprehension over the collected records, which keeps nulls (`collect` drops them).
# The nodes' fields are read from the nodes met, not from their `properties` maps (which hold
# `_retired` and `_stamps`, up to KBs of JSON): replayed x20 and x30 at load 6-7, server 60 ->
# 56 and 57 -> 54.5 ms.
@lru_cache(maxsize=16)
def by_path_edges_query(in_kinds: frozenset[EdgeKind]) -> LiteralString:
    """The owners' statement of `_by_path_edges`: `$eids` the path edges by element id (their
    start nodes: the nodes asked), `$rest` the other ids whose owners are asked. Its answer is
    columns (the cyclic collector counts every list the driver makes)."""
    valid = VALID_NOW_OR_AS_OF
    return cast(
        LiteralString,
        "CALL () { UNWIND $eids AS e MATCH (n)-[r]->(c) WHERE elementId(r) = e "
        + "RETURN collect(n.key) AS edge_src, collect(c.key) AS edge_dst, collect(r) AS rels, "
        + "collect(DISTINCT n) AS met } "
        + "CALL (met) { UNWIND range(0, size(met) - 1) AS i "
        + "WITH i, met[i] AS m, $not_props[met[i].kind] AS skip "
        + "UNWIND [k IN keys(m) WHERE skip[k] IS NULL] AS k "
        + "RETURN collect(i) AS prop_of, collect(k) AS prop_name, collect(m[k]) AS prop_value } "
        + "CALL (met) { UNWIND met AS p "
        + f"CALL (p) {{ MATCH (p)<-[r{typed(in_kinds)}]-(b) WHERE {valid}RETURN r, b }} "
        + "RETURN collect(b.key) AS in_src, collect(p.key) AS in_dst, collect(r) AS in_rels } "
        + "CALL (met, in_src) { CALL (in_src) { "
        + "UNWIND $rest + in_src AS id WITH DISTINCT id "
        + "MATCH (a:Node {key: id}) USING INDEX a:Node(key) RETURN collect(a) AS sought } "
        + "UNWIND met + sought AS a WITH DISTINCT a "
        + f"CALL (a) {{ MATCH (a)<-[r:{EdgeKind.OWNS.value}]-(b) WHERE {valid}RETURN b }} "
        + "RETURN collect([b.key, a.key]) AS owns, collect(DISTINCT b) AS owners } "
        + "CALL (owners) { UNWIND owners AS o "
        + f"CALL (o) {{ MATCH (o)-[r:{EdgeKind.ALIAS_OF.value}]->(c) WHERE {valid}"
        + "RETURN r, c } RETURN collect([o.key, c.key, r.disc]) AS aliases } "
        + "RETURN edge_src, edge_dst, [r IN rels | type(r)] AS edge_kind, "
        + "[r IN rels | r.disc] AS edge_disc, [r IN rels | r.first_event] AS edge_first, "
        + "[r IN rels | r.last_event] AS edge_last, [r IN rels | r.retired_by] AS edge_retired, "
        + "[m IN met | m.key] AS node_key, [m IN met | m.sources] AS node_sources, "
        + "[m IN met | m.first_seen] AS node_first_seen, "
        + "[m IN met | m.first_event] AS node_first_event, "
        + "[m IN met | m.last_seen] AS node_last_seen, "
        + "[m IN met | m.last_event] AS node_last_event, "
        + "prop_of, prop_name, prop_value, in_src, in_dst, "
        + "[r IN in_rels | type(r)] AS in_kind, [r IN in_rels | r.disc] AS in_disc, owns, aliases",
    )


def _by_path_edges(
    store: _Reads,
    paths: PathEdges,
    *,
    only: Collection[EdgeId],
    node_ids: Sequence[str],
    ids: Sequence[str],
    of_way: Mapping[Direction, list[str]],
    in_kinds: frozenset[EdgeKind],
    as_of: str | None,
) -> Answer | None:
    """`nodes_assets_owners_and_evidence`' answer by `by_path_edges_query`, or None where it
    cannot give all of it (the caller then reads as before): a path edge without its element
    id, a node asked or a part that starts no path edge asked (`only`), a part walked out (a
    run's job), or an element id reused since the walk (its row is not the edge asked)."""
    pending, elements = paths.pending, paths.elements
    wanted = {e: elements.get(e) for e in only if e in pending}  # the edges asked, once each
    if not wanted or None in wanted.values() or of_way[_OUT]:
        return None
    starts = {e[0] for e in wanted}
    if not starts.issuperset(node_ids) or not starts.issuperset(of_way[_IN]):
        return None
    (row,) = store._read(
        by_path_edges_query(in_kinds),
        eids=list(wanted.values()),
        rest=[i for i in dict.fromkeys(ids) if i not in starts],
        as_of=as_of,
        not_props=NOT_PROPS,
    )
    evidence: dict[EdgeId, EdgeEvents] = {}
    answered: set[str] = set()
    for src, dst, kind, disc, first, last, retired_by in zip(
        row["edge_src"], row["edge_dst"], row["edge_kind"], row["edge_disc"],
        row["edge_first"], row["edge_last"], row["edge_retired"], strict=True,
    ):  # fmt: skip
        if (eid := (src, kind, dst, disc)) in wanted:  # else its element id was reused since
            evidence[eid] = (first, last, retired_by)
            answered.add(src)
    if not answered >= starts:
        return None
    # a node met by a reused element id (no node asked, or one asked anyway) is left out or
    # answered as itself: its parts only where asked, its owners kept only for the ids asked
    asset_of = _first_assets(row, set(of_way[_IN]))
    return _nodes(row, node_ids), asset_of, *_owners_kept(row, ids, asset_of), evidence


def _first_assets(row: Any, parts: set[str]) -> dict[str, str]:
    """Each part of `parts`' asset from the statement's part edge columns: the far end of its
    first part edge by edge id (src, kind, dst, disc), as `owners_answer` takes it. Most parts
    have one part edge: only those with more are compared."""
    src_of, dst_of, kind_of, disc_of = row["in_src"], row["in_dst"], row["in_kind"], row["in_disc"]
    first: dict[str, int] = {}  # part -> the place of its first part edge so far
    for i, part in enumerate(dst_of):
        if part not in parts:
            continue
        j = first.get(part)
        if j is None or (src_of[i], kind_of[i], disc_of[i]) < (src_of[j], kind_of[j], disc_of[j]):
            first[part] = i
    return {part: src_of[i] for part, i in first.items()}


def _nodes(row: Any, node_ids: Sequence[str]) -> list[StoredNode]:
    """The nodes of `node_ids` the statement's node columns hold, in that order, each made by
    `stored_node` from its fields as a `NODE_ROW`."""
    keys = row["node_key"]
    at = {key: i for i, key in enumerate(keys)}
    props: dict[int, list[tuple[str, Any]]] = {}
    for i, name, value in zip(row["prop_of"], row["prop_name"], row["prop_value"], strict=True):
        props.setdefault(i, []).append((name, value))
    sources, first_seen, first_event = (
        row["node_sources"], row["node_first_seen"], row["node_first_event"]
    )  # fmt: skip
    last_seen, last_event = row["node_last_seen"], row["node_last_event"]
    nodes = []
    for node_id in node_ids:
        if (i := at.get(node_id)) is not None:
            nodes.append(
                stored_node(
                    (keys[i], sources[i], first_seen[i], first_event[i], last_seen[i],
                     last_event[i], props.get(i))
                )
            )  # fmt: skip
    return nodes

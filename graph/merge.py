"""Two names of one dataset, one node: links, the rewriting they cause, and re-homing.

A dataset may be named by its storage path in one event and by its table name in another; a
`DatasetLink` (an event's `symlinks` facet) says both name one dataset. The store keeps every
link in its alias table (alias dataset id -> canonical dataset id, off the graph), and
`GraphStore._prepare` uses this module to:

1. `plan`: join the batch's links with the links the store holds (a union-find over names); the
   canonical node of a set of names is the smallest one that only ever was a link's canonical
   end (a TABLE symlink), so the same links give the same node in any order;
2. `rewrite`: put every mutation naming an alias (a Dataset, its Columns, its DatasetVersions,
   retirement `keep` sets) onto the canonical node, as if the event had used that name;
3. `rehome`: a name that already has a node when its link arrives moves onto the canonical one:
   the node, its columns and versions, every edge at any of them (both ways), and the remembered
   retirements that name them, merged record by record (graph/records.py `combine`), so the graph
   is the one the links would have made had they come first. The old nodes are deleted; the old
   name stays an alias, so lookups (graph/resolve.py) and the audit trail still find it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import DatasetLink, EdgeKey, EdgeRetire, EdgeUpsert, NodeUpsert
from lineage_kg.graph.records import EdgeId, Record, combine
from lineage_kg.graph.validity import rehome_retired

K = NodeKind
ON_A_DATASET = frozenset({K.DATASET, K.COLUMN, K.DATASET_VERSION})  # keys start with its name
CHILDREN = (EdgeKind.HAS_COLUMN, EdgeKind.HAS_VERSION)  # how a dataset's sub-nodes hang off it

Mutation = NodeUpsert | EdgeUpsert | EdgeRetire | DatasetLink


@lru_cache(maxsize=65536)
def dataset_id(key: NodeKey) -> str | None:
    """The id of the Dataset whose name `key` embeds (itself for a Dataset), or None."""
    if key.kind is K.DATASET:
        return key.id
    if key.kind in ON_A_DATASET:
        return NodeKey(K.DATASET, key.parts[:2]).id
    return None


def rekey(key: NodeKey, canon: Mapping[str, NodeKey]) -> NodeKey:
    """`key` on the canonical dataset of the dataset it names (itself if that has no other)."""
    ds = dataset_id(key)
    root = canon.get(ds) if ds is not None else None
    if root is None:
        return key
    return NodeKey(key.kind, (*root.parts, *key.parts[2:]))


def _keys(m: Mutation) -> Iterable[NodeKey]:
    if isinstance(m, NodeUpsert):
        return (m.key,)
    if isinstance(m, EdgeUpsert):
        return (m.key.src, m.key.dst)
    if isinstance(m, EdgeRetire):
        return (m.anchor, *m.keep, *(m.only or ()))
    return (m.alias, m.canonical)


def datasets_named(mutations: Iterable[Mutation]) -> set[str]:
    """Every dataset id a batch names, through its own key or a column's or version's (what
    `dataset_id` gives, spelled out: a batch of 500 large events names ~1.5M keys, and hashing
    each NodeKey for the LRU took a fifth of the batch's merge)."""
    named: set[str] = set()
    seen: set[str] = set()  # the columns and versions already looked at
    dataset, column, version = K.DATASET, K.COLUMN, K.DATASET_VERSION
    for m in mutations:
        # `_keys`, inlined: an edge's two ends are most of the keys
        keys = (m.key.src, m.key.dst) if type(m) is EdgeUpsert else _keys(m)
        for key in keys:
            kind = key.kind
            if kind is dataset:  # the ids from the keys' slots: no Python call per key
                named.add(key._id)
            elif (kind is column or kind is version) and (kid := key._id) not in seen:
                seen.add(kid)
                named.add(NodeKey(dataset, key.parts[:2]).id)
    return named


@dataclass(slots=True)
class Plan:
    canon: dict[str, NodeKey] = field(default_factory=dict)  # dataset id -> canonical dataset
    entries: dict[str, str] = field(default_factory=dict)  # alias table rows to write
    moved: dict[str, NodeKey] = field(default_factory=dict)  # names that were canonical till now


def plan(
    held: Mapping[str, str],
    links: Sequence[DatasetLink],
    held_to: Callable[[Sequence[str]], Mapping[str, str]],
) -> Plan:
    """Where each name the batch uses goes. `held`: the alias table's rows for those names;
    `held_to`: the rows pointing at some canonical ids (asked only when a name stops being
    canonical, i.e. when a new link appears)."""
    result = Plan()
    result.canon = {alias: NodeKey.from_id(root) for alias, root in held.items()}
    if not links:
        return result
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    aliases = set(held)
    targets = set(held.values())
    for alias, root in held.items():
        parent[find(alias)] = find(root)
    for link in links:
        aliases.add(link.alias.id)
        targets.add(link.canonical.id)
        a, b = find(link.alias.id), find(link.canonical.id)
        if a != b:
            parent[a] = b
    classes: dict[str, list[str]] = {}
    for name in list(parent):
        classes.setdefault(find(name), []).append(name)
    for members in classes.values():
        # a TABLE name (only ever a canonical end) names the set; the smallest, if several
        roots = sorted(m for m in members if m in targets and m not in aliases) or sorted(members)
        root = roots[0]
        for name in members:
            if name != root and held.get(name) != root:
                result.entries[name] = root
                if name not in held:  # canonical until now: it may hold nodes and aliases
                    result.moved[name] = NodeKey.from_id(root)
            if name != root:
                result.canon[name] = NodeKey.from_id(root)
    if result.moved:
        for alias, old_root in held_to(sorted(result.moved)).items():
            if alias not in result.canon or result.canon[alias].id != result.moved[old_root].id:
                result.entries[alias] = result.moved[old_root].id
    return result


def rewrite(mutations: list[Mutation], canon: Mapping[str, NodeKey]) -> list[Mutation]:
    """The batch on canonical names, links left out (`mutations` itself if nothing changes)."""
    if not canon and not any(isinstance(m, DatasetLink) for m in mutations):
        return mutations
    out: list[Mutation] = []
    for m in mutations:
        if isinstance(m, DatasetLink):
            continue
        moved = canon and any(rekey(k, canon) != k for k in _keys(m))
        out.append(_rekeyed(m, canon) if moved else m)
    return out


def _rekeyed(m: Mutation, canon: Mapping[str, NodeKey]) -> Mutation:
    if isinstance(m, NodeUpsert):
        return NodeUpsert(rekey(m.key, canon), m.prov, m.props)
    if isinstance(m, EdgeUpsert):
        key = EdgeKey(rekey(m.key.src, canon), m.key.kind, rekey(m.key.dst, canon), m.key.disc)
        return EdgeUpsert(key, m.prov, m.props)
    assert isinstance(m, EdgeRetire)
    return EdgeRetire(
        rekey(m.anchor, canon),
        m.kind,
        m.direction,
        frozenset(rekey(k, canon) for k in m.keep),
        m.prov,
        m.disc,
        None if m.only is None else frozenset(rekey(k, canon) for k in m.only),
        m.scoped,
    )


def children(dataset: str, edges: Mapping[EdgeId, Record]) -> set[str]:
    """The columns and versions of `dataset` among `edges` (those hanging off it)."""
    kinds = {k.value for k in CHILDREN}
    return {dst for src, kind, dst, _ in edges if src == dataset and kind in kinds}


def _renamed(record: Record, key: NodeKey) -> Record:
    return {**record, "key": key.id, "kind": key.kind.value, "display": key.display, **key.fields}


def rehome(
    moves: Mapping[str, str],
    nodes: dict[str, Record],
    edges: dict[EdgeId, Record],
    around: Mapping[EdgeId, Record],
) -> set[EdgeId]:
    """Move the nodes `moves` names (old id -> new id) and the edges `around` them onto their new
    ids, merging with what is there (`nodes` and `edges` hold the new ids' records, if any, and
    every far end). Far ends' remembered retirements are renamed too. Returns the moved edges' new
    ids: their validity must be settled once the batch is applied."""
    names = dict(moves)
    for old, new in moves.items():
        record = nodes.pop(old)
        base = nodes.get(new)
        moved = _renamed(record, NodeKey.from_id(new)) if base is None else combine(base, record)
        nodes[new] = rehome_retired(moved, names, record if base is not None else None)
    settled: set[EdgeId] = set()
    for eid, record in around.items():
        src, kind, dst, disc = eid
        new_eid = (names.get(src, src), kind, names.get(dst, dst), disc)
        edges.pop(eid, None)
        base = edges.get(new_eid)
        merged = record if base is None else combine(base, record)
        # validity is settled afresh from the (renamed) retirements both ends remember
        edges[new_eid] = {k: v for k, v in merged.items() if k not in ("valid_to", "retired_by")}
        settled.add(new_eid)
        for far in (src, dst):
            if far not in names and far in nodes:
                nodes[far] = rehome_retired(nodes[far], names)
    return settled

"""The zero-setup store: the graph in memory, on integer ids and a per-(kind, way) adjacency.

It holds exactly the records Neo4j holds (node id -> record, edge (kind, disc) keyed between two
node ids -> record), so the contract tests can demand identical answers. It is rebuilt from the
durable event log at start (or loaded from a snapshot: `export_state` / `from_state`).

Layout, chosen for the walks (queries/traversal.py asks one frontier at a time):
- a node is an int (its slot): `_ids` maps its string id to it, `_names` back;
- an edge is an int (its slot) with parallel lists for its ends, kind (a small int) and disc;
- `_adj[kind * 2 + way]` maps a node slot to the slots of its edges of that kind, that way
  (0 out, 1 in), kept at commit: a frontier step reads only the kinds it follows (a snapshot
  keeps these tables as arrays, and a load takes them over: `EmbeddedState`);
- records are packed (graph/packed.py), `StoredNode`/`StoredEdge` built only for what is returned,
  from keys parsed once per node and edge;
- a walk with paths keeps each node's live hops it read, sorted in walk order, until the next
  commit (`_Graph.hops`): repeated questions over the same part of the graph neither gather nor
  sort them again.
Slots of deleted nodes and edges (a re-homing: rare) stay empty; they are not reused.
"""

from __future__ import annotations

import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import accumulate, chain, repeat
from operator import is_not, itemgetter

from lineage_kg.graph.gc_pause import no_cyclic_gc
from lineage_kg.graph.model import KEY_FIELDS, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeKey
from lineage_kg.graph.packed import Packed, Shapes
from lineage_kg.graph.records import EdgeId, Record, StoredEdge, StoredNode
from lineage_kg.graph.store import (
    EdgeTest,
    GraphStats,
    GraphStore,
    IncidentSpec,
    UnitOfWork,
    Walked,
    WalkPass,
    WalkStep,
)

KINDS: tuple[EdgeKind, ...] = tuple(EdgeKind)
KIND_NO: dict[str, int] = {k.value: i for i, k in enumerate(KINDS)}
KIND_VALUES: tuple[str, ...] = tuple(k.value for k in KINDS)
NODE_KIND_NO: dict[str, int] = {k.value: i for i, k in enumerate(NodeKind)}
OUT, IN = 0, 1  # the way, in an adjacency index: kind * 2 + way
_WAY = {Direction.OUT: OUT, Direction.IN: IN}
NO_SLOT = -1  # in the edge lists: a deleted edge
_NOT_NONE = partial(is_not, None)
_FIRST, _SECOND, _THIRD = itemgetter(0), itemgetter(1), itemgetter(2)
CACHED = 1 << 17  # StoredNode / StoredEdge objects (and nodes' sorted hops) kept for reads, each
KIND_BITS = 23  # a mask of edge kinds fits: a node's sorted hops are keyed by two (`_Graph.hops`)
assert len(KINDS) <= KIND_BITS


class _Graph:
    """The state itself, without locking (EmbeddedStore holds the lock)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.names: list[str | None] = []
        self.shapes = Shapes()  # of the packed records below
        self.nrec: list[Packed | None] = []
        self.nkind: list[int] = []  # the node's kind number (NODE_KIND_NO), -1 until a walk asks
        # StoredNode/StoredEdge of the slots read lately: immutable, dropped when written,
        # bounded (emptied when full) so that walks over a large graph do not keep one per edge
        self.ncache: dict[int, StoredNode] = {}
        self.ecache: dict[int, StoredEdge] = {}
        # a node's live hops of some kinds each way, in walk order (`_Walk._walk_paths`), by
        # `node << 46 | kinds out | kinds in << 23` (`KIND_BITS`): gathered and sorted once, kept
        # until a commit (emptied by each: an edge added, retired or removed), bounded
        self.hops: dict[int, list[int]] = {}
        self.esrc: list[int] = []
        self.edst: list[int] = []
        self.ekind: list[int] = []
        self.edisc: list[str] = []
        self.erec: list[Packed | None] = []
        self.efirst: list[str] = []  # first_seen and valid_to, for the validity filter
        self.eto: list[str | None] = []
        # the slots in a list, or in a tuple (what a snapshot's load makes: less memory for the
        # millions of one- and two-edge entries) until they change
        self.adj: list[dict[int, list[int] | tuple[int, ...]]] = [{} for _ in range(2 * len(KINDS))]
        # per way, per node slot: a bit per kind the node has edges of that way (1 << kind),
        # so a frontier step looks up only the tables that hold something for the node
        self.kmask: tuple[array[int], array[int]] = (array("q"), array("q"))
        # a walk's blocked states per node slot, one list per pass: 0 between walks (a walk
        # holds the store's lock, and zeroes what it set); indexed, not hashed, per edge
        self.blocks: tuple[list[int], list[int]] = ([], [])

    def walk_blocks(self) -> tuple[list[int], list[int]]:
        """The blocked-state lists, as long as the graph (0 for every node)."""
        for b in self.blocks:
            if len(b) < len(self.names):
                b.extend([0] * (len(self.names) - len(b)))
        return self.blocks

    # ---- nodes ------------------------------------------------------------------------------
    def node_slot(self, node_id: str) -> int:
        n = self.ids.get(node_id)
        if n is None:
            n = self.ids[node_id] = len(self.names)
            self.names.append(node_id)
            self.nrec.append(None)
            self.nkind.append(-1)
            self.kmask[OUT].append(0)
            self.kmask[IN].append(0)
        return n

    def kind_no(self, n: int) -> int:
        """The node's kind number, read off its id (`["Kind",…]`) once."""
        k = self.nkind[n]
        if k < 0:
            name = self.names[n]
            assert name is not None
            k = self.nkind[n] = NODE_KIND_NO[name[2 : name.index('"', 2)]]
        return k

    def key_of(self, n: int) -> NodeKey:
        return NodeKey.from_id(self.names[n])  # type: ignore[arg-type]  # parsed ids are cached

    def put_node(self, n: int, record: Record) -> None:
        self.nrec[n] = self.shapes.pack(record)
        self.ncache.pop(n, None)

    def stored_node(self, n: int) -> StoredNode:
        found = self.ncache.get(n)
        if found is None:
            if len(self.ncache) >= CACHED:
                self.ncache.clear()
            found = self.ncache[n] = self._stored_node(n)
        return found

    def _stored_node(self, n: int) -> StoredNode:
        rec = self.nrec[n]
        assert rec is not None
        key = self.key_of(n)
        shape = self.shapes.all[rec[0]]
        at = shape.at
        return StoredNode(
            key=key,
            props={k: rec[i] for k, i in shape.node_props(key.kind, KEY_FIELDS[key.kind])},
            sources=tuple(rec[at["sources"]]),
            first_seen=rec[at["first_seen"]],
            first_event=rec[at["first_event"]],
            last_seen=rec[at["last_seen"]],
            last_event=rec[at["last_event"]],
        )

    def remove_node(self, n: int) -> None:
        for index, table in enumerate(self.adj):
            slots = table.pop(n, None)
            if not slots:
                continue
            other = self.adj[index ^ 1]  # the same edges seen from their far ends
            far_way = (index & 1) ^ 1
            far_of = self.edst if far_way == IN else self.esrc
            for e in slots:
                if self.ekind[e] == NO_SLOT:  # a loop, already gone from the other side
                    continue
                far = far_of[e]
                if far != n:
                    # a new list, not changed in place: a state being exported may hold the
                    # old one (`export_state` copies the tables, not their lists)
                    kept = other[far] = [x for x in other[far] if x != e]
                    if not kept:
                        del other[far]
                        self.kmask[far_way][far] &= ~(1 << (index >> 1))
                self.remove_edge(e)
        name = self.names[n]
        assert name is not None
        del self.ids[name]
        self.names[n] = self.nrec[n] = None
        self.kmask[OUT][n] = self.kmask[IN][n] = 0
        self.ncache.pop(n, None)

    # ---- edges ------------------------------------------------------------------------------
    def edge_id(self, e: int) -> EdgeId:
        src, dst = self.names[self.esrc[e]], self.names[self.edst[e]]
        return (src, KIND_VALUES[self.ekind[e]], dst, self.edisc[e])  # type: ignore[return-value]

    def stored_edge(self, e: int) -> StoredEdge:
        found = self.ecache.get(e)
        if found is None:
            if len(self.ecache) >= CACHED:
                self.ecache.clear()
            found = self.ecache[e] = self._stored_edge(e)
        return found

    def _stored_edge(self, e: int) -> StoredEdge:
        rec = self.erec[e]
        assert rec is not None
        shape = self.shapes.all[rec[0]]
        at = shape.at
        to = at.get("valid_to")
        by = at.get("retired_by")
        src, dst = self.key_of(self.esrc[e]), self.key_of(self.edst[e])
        return StoredEdge(
            key=EdgeKey(src, KINDS[self.ekind[e]], dst, self.edisc[e]),
            props={k: rec[i] for k, i in shape.edge_props},
            sources=tuple(rec[at["sources"]]),
            first_seen=rec[at["first_seen"]],
            first_event=rec[at["first_event"]],
            last_seen=rec[at["last_seen"]],
            last_event=rec[at["last_event"]],
            valid_to=None if to is None else rec[to],
            retired_by=None if by is None else rec[by],
        )

    def find_edge(self, s: int, k: int, d: int, disc: str) -> int | None:
        """The slot of edge (s, k, d, disc), by the shorter of its two adjacency lists: no
        index of its own (it would cost more memory than the rest of the edge); one end of an
        edge of a given kind is almost always of low degree (a column has one dataset, an asset
        an owner or two, a run one job)."""
        out, into = self.adj[k * 2 + OUT].get(s), self.adj[k * 2 + IN].get(d)
        if not out or not into:
            return None
        if len(out) <= len(into):
            edst, edisc = self.edst, self.edisc
            for e in out:
                if edst[e] == d and edisc[e] == disc:
                    return e
        else:
            esrc, edisc = self.esrc, self.edisc
            for e in into:
                if esrc[e] == s and edisc[e] == disc:
                    return e
        return None

    def put_edge(self, s: int, k: int, d: int, disc: str, record: Record) -> None:
        rec = self.shapes.pack(record)
        e = self.find_edge(s, k, d, disc)
        if e is None:
            e = len(self.esrc)
            self.esrc.append(s)
            self.edst.append(d)
            self.ekind.append(k)
            self.edisc.append(disc)
            self.erec.append(rec)
            self.efirst.append(record["first_seen"])
            self.eto.append(record.get("valid_to"))
            self.link(e, s, k, d)
        else:
            self.erec[e] = rec
            self.efirst[e] = record["first_seen"]
            self.eto[e] = record.get("valid_to")
            self.ecache.pop(e, None)

    def link(self, e: int, s: int, k: int, d: int) -> None:
        """Put edge `e` into the adjacency of both its ends."""
        for table, n in ((self.adj[k * 2 + OUT], s), (self.adj[k * 2 + IN], d)):
            held = table.get(n)
            if held is None:
                table[n] = [e]
            elif type(held) is list:
                held.append(e)
            else:  # a tuple, as a snapshot's load left it: a list from its first change
                table[n] = [*held, e]
        bit = 1 << k
        self.kmask[OUT][s] |= bit
        self.kmask[IN][d] |= bit

    def remove_edge(self, e: int) -> None:
        """Forget the edge's slot; the caller has taken it out of the adjacency."""
        self.esrc[e] = self.edst[e] = self.ekind[e] = NO_SLOT
        self.erec[e] = self.eto[e] = None
        self.edisc[e] = self.efirst[e] = ""
        self.ecache.pop(e, None)

    def edges_at(self, n: int, kinds: Iterable[int], way: int) -> Iterator[int]:
        adj = self.adj
        for k in kinds:
            yield from adj[k * 2 + way].get(n, ())

    def live_edges(self) -> Iterator[int]:
        return (e for e, k in enumerate(self.ekind) if k != NO_SLOT)

    def live_nodes(self) -> Iterator[int]:
        return (n for n, rec in enumerate(self.nrec) if rec is not None)


ALL_KINDS = (1 << len(KINDS)) - 1


def _mask(kinds: Iterable[EdgeKind]) -> int:
    mask = 0
    for k in kinds:
        mask |= 1 << KIND_NO[k.value]
    return mask


@lru_cache(maxsize=4096)
def _bits(mask: int) -> tuple[int, ...]:
    """The kind numbers set in `mask` (few distinct masks occur: cached)."""
    return tuple(k for k in range(len(KINDS)) if mask >> k & 1)


def _edge_id(edge: StoredEdge) -> EdgeId:
    return edge.key.id


def _valid(first: str, valid_to: str | None, as_of: str | None) -> bool:
    if as_of is None:
        return valid_to is None
    return first <= as_of and (valid_to is None or as_of < valid_to)


class _EmbeddedUnitOfWork(UnitOfWork):
    def __init__(
        self,
        graph: _Graph,
        aliases: dict[str, set[str]],
        links: dict[str, str],
        links_to: dict[str, set[str]],
        committed_checkpoint: int = 0,
    ) -> None:
        self._g = graph
        self._aliases = aliases
        self._links, self._links_to = links, links_to
        self._pending: tuple[dict[str, Record], dict[EdgeId, Record]] | None = None
        self._deleted: list[str] = []
        self._new_links: dict[str, str] = {}
        self.checkpoint: int | None = None
        self._committed_checkpoint = committed_checkpoint

    def set_checkpoint(self, seq: int) -> None:
        self.checkpoint = seq

    def claim_checkpoint(self) -> int:
        return self._committed_checkpoint  # the store's lock is held for the whole unit

    def load_nodes(self, ids: Sequence[str]) -> dict[str, Record]:
        g = self._g
        found: dict[str, Record] = {}
        for i in ids:
            n = g.ids.get(i)
            if n is not None and (rec := g.nrec[n]) is not None:
                found[i] = g.shapes.unpack(rec)
        return found

    def load_edges(self, ids: Sequence[EdgeId]) -> dict[EdgeId, Record]:
        g = self._g
        found: dict[EdgeId, Record] = {}
        for eid in ids:
            src, kind, dst, disc = eid
            s, d, k = g.ids.get(src), g.ids.get(dst), KIND_NO.get(kind)
            if s is None or d is None or k is None:
                continue
            e = g.find_edge(s, k, d, disc)
            if e is not None:
                found[eid] = g.shapes.unpack(g.erec[e])  # type: ignore[arg-type]
        return found

    def load_incident(self, specs: Sequence[IncidentSpec]) -> dict[EdgeId, Record]:
        g = self._g
        found: dict[EdgeId, Record] = {}
        for anchor, kind, direction in specs:
            n = g.ids.get(anchor)
            if n is None:
                continue
            for e in g.edges_at(n, (KIND_NO[kind.value],), _WAY[direction]):
                found[g.edge_id(e)] = g.shapes.unpack(g.erec[e])  # type: ignore[arg-type]
        return found

    def load_around(self, ids: Sequence[str]) -> dict[EdgeId, Record]:
        g = self._g
        found: dict[EdgeId, Record] = {}
        every = range(len(KINDS))
        for node in ids:
            n = g.ids.get(node)
            if n is None:
                continue
            for way in (OUT, IN):
                for e in g.edges_at(n, every, way):
                    found[g.edge_id(e)] = g.shapes.unpack(g.erec[e])  # type: ignore[arg-type]
        return found

    def load_aliases(self, names: Sequence[str]) -> dict[str, str]:
        return {n: self._links[n] for n in names if n in self._links}

    def load_aliases_to(self, canonicals: Sequence[str]) -> dict[str, str]:
        return {a: c for c in canonicals for a in self._links_to.get(c, ())}

    def delete_nodes(self, ids: Sequence[str]) -> None:
        self._deleted.extend(ids)  # staged, like the writes

    def write_aliases(self, rows: Mapping[str, str]) -> None:
        self._new_links.update(rows)

    def write(
        self,
        nodes: dict[str, Record],
        edges: dict[EdgeId, Record],
        new_nodes: AbstractSet[str] = frozenset(),
        new_edges: AbstractSet[EdgeId] = frozenset(),
    ) -> None:
        # staged until commit, so a batch that fails half-way leaves the graph untouched
        self._pending = (nodes, edges)

    def commit(self) -> None:
        g = self._g
        if g.hops:  # sorted hops (`_Graph.hops`) of nodes whose edges may change below
            g.hops.clear()
        for node_id in self._deleted:
            n = g.ids.get(node_id)
            if n is not None:
                old = g.nrec[n]
                self._index_aliases(node_id, g.shapes.get(old, "aliases") or () if old else (), ())
                g.remove_node(n)
        for alias, canonical in self._new_links.items():
            if (before := self._links.get(alias)) is not None:
                self._links_to[before].discard(alias)
            self._links[alias] = canonical
            self._links_to.setdefault(canonical, set()).add(alias)
        if self._pending is None:
            return
        nodes, edges = self._pending
        for node_id, record in nodes.items():
            n = g.node_slot(node_id)
            old = g.nrec[n]
            before = (g.shapes.get(old, "aliases") or ()) if old is not None else ()
            self._index_aliases(node_id, before, record.get("aliases") or ())
            g.put_node(n, record)
        for (src, kind, dst, disc), record in edges.items():
            g.put_edge(g.node_slot(src), KIND_NO[kind], g.node_slot(dst), disc, record)

    def _index_aliases(self, node_id: str, old: Iterable[str], new: Iterable[str]) -> None:
        old_set, new_set = set(old), set(new)
        for alias in old_set - new_set:
            holders = self._aliases.get(alias, set())
            holders.discard(node_id)
            if not holders:
                self._aliases.pop(alias, None)
        for alias in new_set - old_set:
            self._aliases.setdefault(alias, set()).add(node_id)


class EmbeddedStore(GraphStore):
    name = "embedded"

    def __init__(self) -> None:
        self._g = _Graph()
        # writers and readers take turns: a batch is committed whole before anyone reads it
        self._lock = threading.RLock()
        self._checkpoint = 0
        self._marks: dict[str, int] = {}  # `GraphStore.mark`: not in snapshots (one process)
        self._aliases: dict[str, set[str]] = {}  # a Dataset's other name -> the nodes it names
        self._links: dict[str, str] = {}  # the alias table (graph/merge.py): alias id -> canonical
        self._links_to: dict[str, set[str]] = {}  # and back: canonical id -> alias ids

    @contextmanager
    def _unit_of_work(self) -> Iterator[UnitOfWork]:
        with self._lock:
            uow = _EmbeddedUnitOfWork(
                self._g, self._aliases, self._links, self._links_to, self._checkpoint
            )
            yield uow
            uow.commit()
            if uow.checkpoint is not None:
                self._checkpoint = uow.checkpoint

    def checkpoint(self) -> int:
        return self._checkpoint

    def mark(self, name: str) -> int:
        return self._marks.get(name, 0)

    def set_mark(self, name: str, seq: int) -> None:
        self._marks[name] = seq

    def get_nodes(self, ids: Sequence[str]) -> list[StoredNode]:
        with self._lock:
            g = self._g
            slots = [g.ids.get(i) for i in ids]
            return [g.stored_node(n) for n in slots if n is not None and g.nrec[n] is not None]

    def _incident(
        self,
        ids: Iterable[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None,
        as_of: str | None,
    ) -> list[int]:
        """The slots of the edges `neighbors` answers (unordered); the caller holds the lock."""
        wanted = ALL_KINDS if kinds is None else _mask(kinds)
        way = _WAY[direction]
        g = self._g
        adj, masks, ids_of = g.adj, g.kmask[way], g.ids
        found: list[int] = []
        for node_id in dict.fromkeys(ids):
            n = ids_of.get(node_id)
            if n is None:
                continue
            present = masks[n] & wanted
            if present:
                for k in _bits(present):
                    found.extend(adj[k * 2 + way][n])
        if as_of is None:
            eto = g.eto
            return [e for e in found if eto[e] is None]
        efirst, eto = g.efirst, g.eto
        return [e for e in found if _valid(efirst[e], eto[e], as_of)]

    def neighbors(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[StoredEdge]:
        with self._lock:
            g = self._g
            edges = [g.stored_edge(e) for e in self._incident(ids, direction, kinds, as_of)]
        edges.sort(key=_edge_id)
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
        # the edges ordered by their ids (tuples of names), and only the page's built
        with self._lock:
            g = self._g
            found = self._incident((node_id,), direction, kinds, as_of)
            ordered = sorted(found, key=g.edge_id)
            return [g.stored_edge(e) for e in ordered[offset : offset + limit]], len(ordered)

    def neighbor_ends(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[tuple[str, str]]:
        wanted = ALL_KINDS if kinds is None else _mask(kinds)
        way = _WAY[direction]
        with self._lock:
            g = self._g
            eto, efirst = g.eto, g.efirst
            # gathered kind by kind at C speed (the order is the sort's below); a read of a
            # whole walk's parts asks for tens of thousands of nodes
            slots = list(filter(_NOT_NONE, map(g.ids.get, dict.fromkeys(ids))))
            found: list[int] = []
            for k in _bits(wanted):
                lists = map(g.adj[k * 2 + way].get, slots)
                found.extend(chain.from_iterable(filter(None, lists)))  # type: ignore[arg-type]
            if as_of is None:
                found = [e for e in found if eto[e] is None]
            else:
                found = [e for e in found if _valid(efirst[e], eto[e], as_of)]
            # by edge id (src id, kind, dst id, disc), the keys zipped at C speed: a read of a
            # whole walk's parts sorts tens of thousands
            name, srcs, dsts = g.names.__getitem__, g.esrc.__getitem__, g.edst.__getitem__
            src_ids, dst_ids = map(name, map(srcs, found)), map(name, map(dsts, found))
            kinds = map(KIND_VALUES.__getitem__, map(g.ekind.__getitem__, found))
            discs = map(g.edisc.__getitem__, found)
            ranked = sorted(zip(src_ids, kinds, dst_ids, discs, strict=True))  # ids: no ties
            return list(zip(map(_FIRST, ranked), map(_THIRD, ranked), strict=True))

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
    ) -> Walked:
        with self._lock:
            return _Walk(self._g, steps, start_state, covers, as_of).run(
                start_ids, max_depth=max_depth, max_nodes=max_nodes, edges=edges
            )

    def search(
        self, text: str, kinds: Iterable[NodeKind] | None = None, limit: int = 20
    ) -> list[StoredNode]:
        needle = text.lower()
        wanted = {k.value for k in kinds} if kinds is not None else None
        with self._lock:
            g = self._g
            hits = []
            for n in g.live_nodes():
                rec = g.nrec[n]
                display = g.shapes.get(rec, "display")  # type: ignore[arg-type]
                if needle in display.lower() and (
                    wanted is None or g.shapes.get(rec, "kind") in wanted  # type: ignore[arg-type]
                ):
                    hits.append((display, g.names[n]))
            hits.sort()
        return self.get_nodes([node_id for _, node_id in hits[:limit]])  # type: ignore[misc]

    def find_aliased(self, names: Sequence[str], limit: int = 10) -> list[StoredNode]:
        with self._lock:
            ids = sorted({i for name in names for i in self._aliases.get(name, ())})
            found = [n for n in self.get_nodes(ids) if n.key.kind is NodeKind.DATASET]
        return found[:limit]

    def linked_names(self, ids: Sequence[str]) -> dict[str, str]:
        with self._lock:
            return {i: self._links[i] for i in ids if i in self._links}

    def names_linked_to(self, ids: Sequence[str]) -> dict[str, str]:
        with self._lock:
            return {a: c for c in ids for a in self._links_to.get(c, ())}

    def stats(self) -> GraphStats:
        with self._lock:
            g = self._g
            nodes = Counter(g.shapes.get(g.nrec[n], "kind") for n in g.live_nodes())  # type: ignore[arg-type]
            edges = Counter(KINDS[k].value for k in g.ekind if k != NO_SLOT)
        return GraphStats(dict(sorted(nodes.items())), dict(sorted(edges.items())))

    def iter_nodes(self) -> Iterator[StoredNode]:
        with self._lock:
            g = self._g
            order = sorted((g.names[n], n) for n in g.live_nodes())
            found = [g.stored_node(n) for _, n in order]  # type: ignore[misc]
        yield from found

    def iter_edges(self) -> Iterator[StoredEdge]:
        with self._lock:
            g = self._g
            # ids without building (and keeping) a key per edge: a whole export at once
            order = sorted((g.edge_id(e), e) for e in g.live_edges())
            found = [g.stored_edge(e) for _, e in order]
        yield from found

    def ping(self) -> None:
        return None

    def describe(self) -> str:
        return "embedded (in memory, integer adjacency)"

    def clear(self) -> None:
        with self._lock:
            self._g = _Graph()
            self._aliases.clear()
            self._links.clear()
            self._links_to.clear()
            self._checkpoint = 0
            self._marks.clear()

    # ---- the whole state, for a snapshot (service/runtime.py, graph/snapshot.py) ------------
    def export_state(self) -> EmbeddedState:
        """The store's whole state (graph, alias indexes, checkpoint) as one picklable object,
        copied under the lock so it is one committed state and shares nothing the store changes
        later: it can be written out while the projector goes on. Cheap to copy and to pickle:
        flat lists of packed records (tuples of builtins), their shapes' keys once, the edge
        ends, kinds and adjacency as the bytes of int arrays. Packed records are immutable and
        their values never changed in place (graph/records.py replaces them), so the lists are
        copied, not the records. The adjacency's tables are copied under the lock, but not their
        lists (millions): those are read after it, which is sound because a list is only ever
        appended to in place (a new edge: a slot past the copied ones, left out here) and
        replaced when an edge leaves it (`_Graph.remove_node`)."""
        with self._lock:
            g = self._g
            tables = [table.copy() for table in g.adj]
            state = EmbeddedState(
                names=list(g.names),
                nodes=list(g.nrec),
                shapes=g.shapes.keys(),
                edge_src=array("q", g.esrc).tobytes(),
                edge_kind=array("b", g.ekind).tobytes(),
                edge_dst=array("q", g.edst).tobytes(),
                edge_disc=list(g.edisc),
                edges=list(g.erec),
                aliases={alias: set(ids) for alias, ids in self._aliases.items()},
                links=dict(self._links),
                links_to={canonical: set(ids) for canonical, ids in self._links_to.items()},
                checkpoint=self._checkpoint,
                adjacency=[],
                kind_masks=(g.kmask[OUT].tobytes(), g.kmask[IN].tobytes()),
            )
        state.adjacency = _export_adjacency(tables, len(state.edge_disc))
        return state

    @classmethod
    def from_state(cls, state: EmbeddedState) -> EmbeddedStore:
        """A store holding `state` (from `export_state`), taking it over: its lists become the
        store's (not copied), its arrays are read into the columns and adjacency and dropped."""
        store = cls()
        g = store._g
        with no_cyclic_gc():
            g.names, g.nrec, g.shapes = state.names, state.nodes, Shapes(state.shapes)
            g.nkind = [-1] * len(g.names)
            g.edisc, g.erec = state.edge_disc, state.edges
            _take_over(g, state)
            first = [shape.at["first_seen"] for shape in g.shapes.all]
            to = [shape.at.get("valid_to") for shape in g.shapes.all]
            g.efirst = ["" if r is None else r[first[r[0]]] for r in g.erec]
            g.eto = [None if r is None or (i := to[r[0]]) is None else r[i] for r in g.erec]
        store._aliases, store._links, store._links_to = state.aliases, state.links, state.links_to
        store._checkpoint = state.checkpoint
        return store


# a compiled step: (exact, then state number or -1, only-from state mask or -1, test)
# test: None, (src kind mask or -1, dst kind mask or -1, unset prop or None), or a callable;
# with the kinds settled (`_Policy.steps_between`): None, the unset prop's name, or a callable
_Test = tuple[int, int, str | None] | str | Callable[[StoredEdge], bool] | None
_Compiled = tuple[bool, int, int, _Test]
_Step = tuple[int, int, _Test]  # a compiled step without its exact flag
# a pass's steps along an edge (its kinds settled), by the state at its origin: (the state it
# goes to, the blocked states it adds: that one and those it covers, test) each; None: no step
# of the pass takes the edge, from any state
_Plan = tuple[tuple[tuple[int, int, _Test], ...], ...] | None


def _kinds_mask(kinds: frozenset[NodeKind] | None) -> int:
    return -1 if kinds is None else sum(1 << NODE_KIND_NO[k.value] for k in kinds)


class _Policy:
    """A walk's steps compiled for `_Walk` (states as bit numbers, steps by adjacency index):
    the same for every walk of a question, so made once per step table (`_policy`)."""

    def __init__(
        self,
        steps: Sequence[WalkStep],
        start_state: str,
        covers: Mapping[str, frozenset[str]],
    ) -> None:
        names = [start_state]
        for step in steps:
            names += [*(step.only_from or ()), *([step.then] if step.then is not None else [])]
        for state, covered in covers.items():
            names += [state, *covered]
        self.states = list(dict.fromkeys(names))
        no = {state: i for i, state in enumerate(self.states)}
        self.start = no[start_state]
        self.cover = [
            sum(1 << no[c] for c in covers.get(state, ()) if c in no) for state in self.states
        ]
        # (way, kind) -> the steps along it, in the policy's order; ways grouped by direction
        # in the order the policy first names each (as traverse reads them)
        by_way: dict[tuple[int, int], list[_Compiled]] = {}
        only: dict[tuple[int, int], int] = {}
        for step in steps:
            at = (_WAY[step.direction], KIND_NO[step.kind.value])
            mask = -1 if step.only_from is None else sum(1 << no[s] for s in step.only_from)
            then = -1 if step.then is None else no[step.then]
            by_way.setdefault(at, []).append((step.exact, then, mask, _Walk._test(step.accepts)))
            only[at] = -1 if mask == -1 or only.get(at, 0) == -1 else only.get(at, 0) | mask
        # the ways in the order the policy first names each direction (as traverse reads them)
        self.directions = list(dict.fromkeys(way for way, _ in by_way))
        self.by_way, self.only = by_way, only
        # per (way, kind) and pass: the states its steps name for the far node, and whether one
        # keeps the origin's: when all those are blocked there, the edge can find nothing
        self.ends: dict[tuple[int, int], tuple[tuple[int, bool], tuple[int, bool]]] = {}
        for at, compiled in by_way.items():
            ends = []
            for exact_pass in (True, False):
                mine = [c for c in compiled if c[0] or not exact_pass]
                fixed = sum({1 << c[1] for c in mine if c[1] != -1})
                ends.append((fixed, any(c[1] == -1 for c in mine)))
            self.ends[at] = (ends[0], ends[1])
        # the same by adjacency index (kind * 2 + way), per pass (exact steps, every step)
        slots = 2 * len(KINDS)
        self.steps_at: list[tuple[list[_Step], list[_Step]]] = [([], [])] * slots
        self.ends_at: list[tuple[tuple[int, bool], tuple[int, bool]]] = [((0, False),) * 2] * slots
        for (w, k), compiled in by_way.items():
            every = [(then, mask, test) for _, then, mask, test in compiled]
            exact = [(then, mask, test) for ok, then, mask, test in compiled if ok]
            self.steps_at[k * 2 + w] = (exact, every)
            self.ends_at[k * 2 + w] = self.ends[(w, k)]
        # the steps by adjacency index and the kinds of the edge's ends (`_kinds_key`), their
        # kind tests settled: made as walks meet them, shared by every walk of the policy
        self.by_kinds: dict[int, tuple[_Plan, _Plan]] = {}
        self.wanted: dict[int, list[tuple[int, int]]] = {}  # by the states present (`_wanted`)
        # `fast_plan`'s, by their key (`_Fast`); for walks of at most 15 states (four bits each)
        self.fast: dict[int, _Fast] = {}
        self.fast_ok = len(self.states) <= 15
        self._shared: dict[str, object] | None = None

    def shared(self) -> dict[str, object]:
        """What each `_Walk` of the policy takes over (`_POLICY`), as one dict: a walk's setup
        is then one update, not a lookup and a set per name."""
        if self._shared is None:
            self._shared = {name: getattr(self, name) for name in _POLICY}
        return self._shared

    def steps_between(self, at: int, src_kind: int, dst_kind: int) -> tuple[_Plan, _Plan]:
        """`steps_at[at]` for an edge from a node of kind `src_kind` to one of `dst_kind`, as a
        plan per pass (`_Plan`): the steps whose `EdgeTest` kinds reject it left out, the tests
        left the property one (its name) or code, each state's steps with its state to go to."""
        found: list[_Plan] = []
        for steps in self.steps_at[at]:
            kept: list[_Step] = []
            for then, mask, test in steps:
                if type(test) is tuple:
                    src, dst, unset = test
                    if (src != -1 and not src >> src_kind & 1) or (
                        dst != -1 and not dst >> dst_kind & 1
                    ):
                        continue
                    test = unset  # noqa: PLW2901
                kept.append((then, mask, test))
            if not kept:
                found.append(None)
                continue
            plan = []
            for state in range(len(self.states)):
                ahead = []
                for then, mask, test in kept:
                    if mask == -1 or mask >> state & 1:
                        to = state if then == -1 else then
                        ahead.append((to, 1 << to | self.cover[to], test))
                plan.append(tuple(ahead))
            found.append(tuple(plan))
        made = self.by_kinds[_kinds_key(at, src_kind, dst_kind)] = (found[0], found[1])
        return made

    def fast_plan(self, key: int) -> _Fast:
        """What an edge does from an origin holding at most one visit in each pass (its key:
        the edge's `_kinds_key` and the origin's state in each pass): per pass, its steps from that
        state (`_Plan`'s entry; None: none, or no visit there), and the far node's blocked states
        that leave the edge nothing to find (the states its steps name, and the origin's if one
        keeps it: `_follow_level`'s skip)."""
        kinds, code = key >> 8, key & 255
        at = kinds >> 12
        plans = self.by_kinds.get(kinds)
        if plans is None:
            plans = self.steps_between(at, kinds >> 6 & 63, kinds & 63)
        made: list[tuple[tuple[int, int, _Test], ...] | int | None] = []
        for p in (0, 1):
            state, plan = (code >> 4 * p & 15) - 1, plans[p]
            fixed, keeps = self.ends_at[at][p]
            steps = plan[state] if state >= 0 and plan is not None else ()
            made += [steps or None, fixed | (1 << state if keeps and state >= 0 else 0)]
        found = self.fast[key] = tuple(made)  # type: ignore[assignment]
        return found  # type: ignore[return-value]


def _kinds_key(at: int, src_kind: int, dst_kind: int) -> int:
    return at << 12 | src_kind << 6 | dst_kind


# `_Policy.fast_plan`'s key: `_kinds_key(at, src, dst) << 8 | code`, code: the origin's state + 1
# in each pass (four bits each, exact pass low; 0: no visit). `_follow_paths` makes it per edge
# from two per-origin parts (`out_part`, `in_part`) and the edge's kind and far node's kind.
_Fast = tuple[
    tuple[tuple[int, int, "_Test"], ...] | None,
    int,
    tuple[tuple[int, int, "_Test"], ...] | None,
    int,
]


@lru_cache(maxsize=64)
def _policy(
    steps: tuple[WalkStep, ...],
    start_state: str,
    covers: tuple[tuple[str, frozenset[str]], ...],
) -> _Policy:
    return _Policy(steps, start_state, dict(covers))


def _policy_of(
    steps: Sequence[WalkStep], start_state: str, covers: Mapping[str, frozenset[str]]
) -> _Policy:
    """`_policy`, found first by the identity of a tuple of steps (traversal.py hands a step
    table over as the same tuple each time; hashing its steps per walk costs more than a small
    walk's first level)."""
    shared = tuple(sorted(covers.items()))
    if type(steps) is not tuple:
        return _policy(tuple(steps), start_state, shared)
    key = (id(steps), start_state, shared)
    hit = _BY_IDENTITY.get(key)
    if hit is not None and hit[0] is steps:
        return hit[1]
    policy = _policy(steps, start_state, shared)
    if len(_BY_IDENTITY) >= 64:
        _BY_IDENTITY.clear()
    _BY_IDENTITY[key] = (steps, policy)
    return policy


_BY_IDENTITY: dict[
    tuple[int, str, tuple[tuple[str, frozenset[str]], ...]], tuple[Sequence[WalkStep], _Policy]
] = {}


_POLICY = (
    "states",
    "start",
    "cover",
    "directions",
    "by_way",
    "only",
    "ends",
    "steps_at",
    "ends_at",
    "by_kinds",
    "steps_between",
    "wanted",
    "fast",
    "fast_ok",
    "fast_plan",
)


class _Walk:
    """`EmbeddedStore.walk` on slots: states as bit numbers, a blocked-state mask per node and
    pass, visits as parallel int lists; node ids and `StoredEdge`s made only for the answer.
    Mirrors queries/traversal.py's level loop step for step (its order decides which state
    reaches a node first, and so which a covering state blocks)."""

    def __init__(
        self,
        g: _Graph,
        steps: Sequence[WalkStep],
        start_state: str,
        covers: Mapping[str, frozenset[str]],
        as_of: str | None,
    ) -> None:
        self.g, self.as_of = g, as_of
        policy = _policy_of(steps, start_state, covers)
        # shared by every walk of the policy: read, never changed (added to, for its caches)
        self.__dict__.update(policy.shared())
        self.led_on: set[int] = set()
        self.visited = 0
        self.sort_key = self._sort_key()

    def _sort_key(self) -> Callable[[int], tuple[str, str, str, str]]:
        """A hop's edge id (src id, kind, dst id, disc): the order traverse takes edges in."""
        g = self.g
        names, esrc, edst, ekind, edisc = g.names, g.esrc, g.edst, g.ekind, g.edisc

        def key(hop: int) -> tuple[str, str, str, str]:
            e = hop >> 1
            return (names[esrc[e]], KIND_VALUES[ekind[e]], names[edst[e]], edisc[e])  # type: ignore[return-value]

        return key

    @staticmethod
    def _test(accepts: Callable[[StoredEdge], bool] | None) -> _Test:
        if accepts is None:
            return None
        if isinstance(accepts, EdgeTest):
            return (_kinds_mask(accepts.src), _kinds_mask(accepts.dst), accepts.unset)
        return accepts

    def run(
        self, start_ids: Sequence[str], *, max_depth: int, max_nodes: int, edges: bool
    ) -> Walked:
        g, cover, s0 = self.g, self.cover, self.start
        self.paths = edges  # led_on is part of the answer: every origin a step follows from
        starts = list(filter(_NOT_NONE, map(g.ids.get, dict.fromkeys(start_ids))))
        # per pass: visits as parallel lists (node, state, level, parent, edge, way), and the
        # states blocked at each node (reached in them, or in one covering them)
        passes: list[_Visits] = []
        blocks = g.walk_blocks()
        for blocked in blocks:
            k = len(starts)
            j = k if edges else 0  # parent pointers: only paths need them
            passes.append((list(starts), [s0] * k, [0] * k, [-1] * j, [-1] * j, [-1] * j, blocked))
        self.count = len(starts)  # nodes the pass over every step holds (traverse's states)
        truncated = False
        try:
            for blocked in blocks:
                for n in starts:
                    blocked[n] = 1 << s0 | cover[s0]
            truncated = self._levels(passes, max_depth, max_nodes + len(starts))
        finally:  # every node blocked was visited: zeroed for the next walk
            for blocked, visits in zip(blocks, passes, strict=True):
                for n in visits[0]:
                    blocked[n] = 0
        name, state = g.names.__getitem__, self.states.__getitem__
        way = _WAYS_OR_NONE.__getitem__  # -1 (a start): None
        found = [
            WalkPass(
                list(map(name, vnode)),  # type: ignore[arg-type]
                list(map(state, vstate)),
                vlevel,
                vparent,
                vedge,
                list(map(way, vway)),
            )
            for vnode, vstate, vlevel, vparent, vedge, vway, _ in passes
        ]
        made: dict[int, StoredEdge] = {}
        if edges:  # each edge once: the two passes mostly reach a node by the same one
            slots = {*passes[0][4], *passes[1][4]}
            slots.discard(-1)
            # those cached looked up at C speed, the others built
            made = dict(zip(slots, map(g.ecache.get, slots), strict=True))
            for e in [e for e, edge in made.items() if edge is None]:
                made[e] = g.stored_edge(e)
        led_on = set(map(name, self.led_on))
        return Walked(found[0], found[1], made, led_on, truncated, self.visited)  # type: ignore[arg-type]

    def _levels(self, passes: list[_Visits], max_depth: int, cap: int) -> bool:
        """Level by level until the frontier runs out or `max_depth`; True: stopped at `cap`."""
        (vnode0, _, vlevel0, *_), (vnode1, _, vlevel1, *_) = passes
        frontiers = [range(len(vnode0)), range(len(vnode1))]
        if self.paths and self.fast_ok and self.as_of is None:
            return self._walk_paths(passes, max_depth, cap)
        self.hops_at = self._hops_at()
        for depth in range(1, max_depth + 1):
            level = self._read_level(passes, frontiers, cap)
            if level is None:
                return False
            went_on = self._follow_level(passes, level, cap)
            # a level's visits are appended together, after the last one's: the next frontier,
            # their level set at once
            frontiers = [range(len(vlevel0), len(vnode0)), range(len(vlevel1), len(vnode1))]
            vlevel0 += [depth] * len(frontiers[0])
            vlevel1 += [depth] * len(frontiers[1])
            if not went_on:
                return True
        return False

    def _hops_at(self) -> Callable[[int, list[tuple[int, int, array[int]]]], list[int]]:
        """A node's hops (edge << 1 | way) of the ways and kinds asked for (`_read_level`'s
        `ways`), those valid at `as_of` (live ones without it), unsorted: the one gathering of a
        node's edges every walk uses (made once per walk: the graph's lists bound)."""
        g, as_of = self.g, self.as_of
        adj, eto, efirst = g.adj, g.eto, g.efirst

        def now(n: int, ways: list[tuple[int, int, array[int]]]) -> list[int]:
            hops = []
            for w, m, masks in ways:
                if here := masks[n] & m:
                    for k in _bits(here):
                        for e in adj[k * 2 + w][n]:
                            if eto[e] is None:
                                hops.append(e << 1 | w)
            return hops

        def then(n: int, ways: list[tuple[int, int, array[int]]]) -> list[int]:
            hops = []
            for w, m, masks in ways:
                if here := masks[n] & m:
                    for k in _bits(here):
                        for e in adj[k * 2 + w][n]:
                            if _valid(efirst[e], eto[e], as_of):
                                hops.append(e << 1 | w)
            return hops

        return now if as_of is None else then

    def _sorted_hops(
        self, n: int, ways: list[tuple[int, int, array[int]]]
    ) -> list[tuple[int, int, int, int]]:
        """`n`'s live hops of `ways` in walk order (by edge id), each as (edge, way, far node,
        `_Policy.fast_plan`'s key less the origin's states): what `_walk_paths` keeps per node
        (`_Graph.hops`)."""
        g = self.g
        adj, eto, esrc, edst, ekind, nkind = g.adj, g.eto, g.esrc, g.edst, g.ekind, g.nkind
        hops = []
        for w, m, masks in ways:
            if here := masks[n] & m:
                for k in _bits(here):
                    for e in adj[k * 2 + w][n]:
                        if eto[e] is None:
                            hops.append(e << 1 | w)
        if len(hops) > 1:
            hops.sort(key=self.sort_key)
        if (at := nkind[n]) < 0:
            at = g.kind_no(n)
        found = []
        for hop in hops:
            e, w = hop >> 1, hop & 1
            to = esrc[e] if w else edst[e]
            if (far := nkind[to]) < 0:
                far = g.kind_no(to)
            # `_kinds_key(kind * 2 + way, src kind, dst kind) << 8`
            src, dst = (far, at) if w else (at, far)
            found.append((e, w, to, ((ekind[e] * 2 + w) << 12 | src << 6 | dst) << 8))
        return found

    def _read_level(self, passes: list[_Visits], frontiers: list[range], cap: int) -> _Level | None:
        """The level's reads: each frontier node (in frontier order, exact pass first) with its
        edges of the kinds some step follows from a state the frontier holds, by edge id (ties,
        a loop read both ways: the reading order); each pass's frontier visits by node, and the
        states they hold there. None: the frontier is empty. With paths, nothing is dropped and
        the reads are left to `_follow_level`, each node's as it comes to follow them (the
        frontier's nodes and the ways to read: no flat list of the whole level)."""
        g = self.g
        ins, held, present = _by_node(passes, frontiers)
        order = {**ins[0][0], **ins[1][0]}  # the frontier's nodes: exact pass first
        if not order:
            return None
        kmask = g.kmask
        ways = [(w, m, kmask[w]) for w, m in self._wanted(present)]
        if self.paths:
            return (order, ways), ins, held
        if len(g.ids) < cap:  # no stop possible: dropped as they are read
            return self._read_live(order, ways, passes, held), ins, held
        key, hops_at = self.sort_key, self.hops_at
        reads: list[int] = []
        raw: list[tuple[int, list[int]]] = []
        read = 0
        for n in order:
            if hops := hops_at(n, ways):
                read += len(hops)
                raw.append((n, hops))
        self.visited += read
        # Without paths to explain, an edge into a node where every state it could bring is
        # already blocked can do nothing (blocking only grows): dropped before sorting, unless
        # this level could reach `cap` (where traverse stops counts, even at such an edge): each
        # edge finds one node at most, and no walk finds more than the graph holds.
        prune = min(self.count + read, len(g.ids)) < cap
        for n, hops in raw:
            if prune:
                hops = self._live(passes, held, n, hops)  # noqa: PLW2901
            if len(hops) > 1:
                hops.sort(key=key)
            if hops:
                reads += (n, len(hops), *hops)
        return reads, ins, held

    def _wanted(self, present: int) -> list[tuple[int, int]]:
        """Per direction (in reading order), the kinds (a bit each) some step follows from a
        state in `present`; the same few masks recur: kept with the policy, for all its walks."""
        found = self.wanted.get(present)
        if found is None:
            wanted = dict.fromkeys(self.directions, 0)
            for (w, k), m in self.only.items():
                if m == -1 or m & present:
                    wanted[w] |= 1 << k
            found = self.wanted[present] = [(w, m) for w, m in wanted.items() if m]
        return found

    def _read_live(
        self,
        order: Iterable[int],
        ways: list[tuple[int, int, array[int]]],
        passes: list[_Visits],
        held: list[dict[int, int]],
    ) -> list[int]:
        """`_read_level`'s reads with `_live` applied as each edge is read (one pass, no list of
        the dead ones): for a walk without paths that cannot reach its `cap`."""
        g, as_of, ends = self.g, self.as_of, self.ends_at
        adj, eto, efirst, esrc, edst = g.adj, g.eto, g.efirst, g.esrc, g.edst
        b0, b1 = passes[0][6], passes[1][6]
        held0, held1 = held
        now = as_of is None
        key = self.sort_key
        reads: list[int] = []
        read = 0
        for n in order:
            hops = []
            h0, h1 = held0.get(n, 0), held1.get(n, 0)
            for w, m, masks in ways:
                if not (here := masks[n] & m):
                    continue
                far = edst if w == OUT else esrc
                for k in _bits(here):
                    # per pass: the states an edge of this way could bring (those its steps
                    # name, and the origin's if one keeps it); live if one is not blocked there
                    (f0, k0), (f1, k1) = ends[k * 2 + w]
                    need0 = (f0 | h0 if k0 else f0) if h0 else 0
                    need1 = (f1 | h1 if k1 else f1) if h1 else 0
                    edges = adj[k * 2 + w][n]
                    if not now:
                        edges = [e for e in edges if _valid(efirst[e], eto[e], as_of)]
                    for e in edges:
                        if now and eto[e] is not None:
                            continue
                        read += 1
                        to = far[e]
                        if b1[to] & need1 != need1 or b0[to] & need0 != need0:
                            hops.append(e << 1 | w)
            if hops:
                if len(hops) > 1:
                    hops.sort(key=key)
                reads += (n, len(hops), *hops)
        self.visited += read
        return reads

    def _live(
        self, passes: list[_Visits], held: list[dict[int, int]], n: int, hops: list[int]
    ) -> list[int]:
        """The hops from `n` that may still reach a node in a new state, in either pass."""
        esrc, edst, ekind, ends = self.g.esrc, self.g.edst, self.g.ekind, self.ends_at
        b0, b1 = passes[0][6], passes[1][6]
        h0, h1 = held[0].get(n, 0), held[1].get(n, 0)
        live = []
        for hop in hops:
            e, w = hop >> 1, hop & 1
            to = edst[e] if w == OUT else esrc[e]
            (f0, k0), (f1, k1) = ends[ekind[e] * 2 + w]
            if (h1 and (not (b := b1[to]) or b & f1 != f1 or (k1 and b & h1 != h1))) or (
                h0 and (not (b := b0[to]) or b & f0 != f0 or (k0 and b & h0 != h0))
            ):
                live.append(hop)
        return live

    def _follow_level(  # noqa: PLR0915
        self,
        passes: list[_Visits],
        level: _Level,
        cap: int,
    ) -> bool:
        """Follow the level's edges in order, both passes; False: stopped at `cap` nodes (before
        the edge that would find one more, as traverse stops)."""
        g, led_on, paths = self.g, self.led_on, self.paths
        esrc, edst, ekind, ends, by_kinds = g.esrc, g.edst, g.ekind, self.ends_at, self.by_kinds
        nkind, kind_no, rget, erec = g.nkind, g.kind_no, g.shapes.get, g.erec
        blockeds = (passes[0][6], passes[1][6])
        count = self.count  # nodes the pass over every step holds
        reads, ins, held = level
        (first0, more0), (first1, more1) = ins
        held0, held1 = held
        vstate0, vstate1 = passes[0][1], passes[1][1]
        lazy = type(reads) is tuple
        if lazy:  # each node's hops read as the walk comes to them: how many is not known ahead
            order, ways = reads
            by_origin: Iterator[tuple[int, list[int]]] = zip(
                order, map(self.hops_at, order, repeat(ways)), strict=True
            )
            key, visited = self.sort_key, 0
            # each hop finds one node at most, and no walk finds more than the graph holds
            check = len(g.ids) >= cap
        else:  # with room for all of them, no stop is possible
            check = count + len(reads) >= cap  # type: ignore[arg-type]
            by_origin = _unflatten(reads)  # type: ignore[arg-type]
        for origin, hops in by_origin:
            if lazy:
                if not hops:
                    continue
                visited += len(hops)
                if len(hops) > 1:
                    hops.sort(key=key)
            # each pass's visits at the origin with their states (a tuple each: none, mostly one)
            v0, v1 = first0.get(origin), first1.get(origin)
            froms = (
                None
                if v0 is None
                else tuple((v, vstate0[v]) for v in (v0, *more0[origin]))
                if origin in more0
                else ((v0, vstate0[v0]),),
                None
                if v1 is None
                else tuple((v, vstate1[v]) for v in (v1, *more1[origin]))
                if origin in more1
                else ((v1, vstate1[v1]),),
            )
            holds = (held0.get(origin, 0), held1.get(origin, 0))
            # with paths, `led_on` must learn every origin a step is followed from: until it
            # has this one, an edge into a blocked node is still tested
            settled = not paths or origin in led_on
            here = nkind[origin]
            if here < 0:
                here = kind_no(origin)
            for hop in hops:
                e = hop >> 1
                if check and count >= cap:
                    self.count = count
                    if lazy:  # the level's reads are counted, as traverse does
                        self.visited += visited + sum(map(len, map(_SECOND, by_origin)))
                    return False
                if hop & 1:
                    to, at = esrc[e], ekind[e] * 2 + 1
                    if (far := nkind[to]) < 0:
                        far = kind_no(to)
                    kinds = at << 12 | far << 6 | here  # `_kinds_key`: (src, dst) kinds
                else:
                    to, at = edst[e], ekind[e] * 2
                    if (far := nkind[to]) < 0:
                        far = kind_no(to)
                    kinds = at << 12 | here << 6 | far
                plans = by_kinds.get(kinds)
                if plans is None:
                    if hop & 1:
                        plans = self.steps_between(at, far, here)
                    else:
                        plans = self.steps_between(at, here, far)
                for p in (0, 1):
                    if not (from_ := froms[p]) or not (plan := plans[p]):
                        continue  # not at the origin, or no step of this pass takes the edge
                    blocked = blockeds[p]
                    b = blocked[to]
                    if b and settled:
                        fixed, keeps = ends[at][p]  # nothing left to find along here: skip
                        if b & fixed == fixed and (not keeps or b & holds[p] == holds[p]):
                            continue
                    for v, state in from_:
                        for then, add, test in plan[state]:
                            known = b >> then & 1  # b: the node's blocked states, kept current
                            if known and settled:
                                continue  # nothing new here (the test, pure, need not run)
                            if test is not None:  # kinds settled: a property, or code
                                if type(test) is str:
                                    if rget(erec[e], test):  # type: ignore[arg-type]
                                        continue
                                elif not test(g.stored_edge(e)):  # type: ignore[operator]
                                    continue
                            if not settled:
                                led_on.add(origin)
                                settled = True
                            if known:
                                continue
                            if p and not b:
                                count += 1
                            b = blocked[to] = b | add  # the state, and those it covers
                            vnode, vstate, _, vparent, vedge, vway, _ = passes[p]
                            vnode.append(to)  # its level: set with the level's (`_levels`)
                            vstate.append(then)
                            if paths:  # parent pointers: only paths need them
                                vparent.append(v)
                                vedge.append(e)
                                vway.append(hop & 1)
        self.count = count
        if lazy:
            self.visited += visited
        return True

    def _walk_paths(  # noqa: PLR0915
        self, passes: list[_Visits], max_depth: int, cap: int
    ) -> bool:
        """`_levels` for a walk with paths at the present time (impact's, the decision trace's):
        its hot loop, in one frame. An origin holding at most one visit in each pass (nearly
        every one) takes each edge's steps and skip test from one lookup (`_Policy.fast_plan`),
        the two passes written out, the visits' columns appended by bound methods; an origin
        holding more is followed by `_follow_level`. The same reads in the same order, so the
        same visits; True: stopped at `cap`."""
        g, led_on, fast, fast_plan = self.g, self.led_on, self.fast, self.fast_plan
        kmask, rget, erec, stored_edge, sorted_hops = (
            g.kmask,
            g.shapes.get,
            g.erec,
            g.stored_edge,
            g.hops,
        )
        (vnode0, vstate0, vlevel0, vparent0, vedge0, vway0, b0) = passes[0]
        (vnode1, vstate1, vlevel1, vparent1, vedge1, vway1, b1) = passes[1]
        an0, as0, ap0, ae0, aw0 = (
            vnode0.append,
            vstate0.append,
            vparent0.append,
            vedge0.append,
            vway0.append,
        )
        an1, as1, ap1, ae1, aw1 = (
            vnode1.append,
            vstate1.append,
            vparent1.append,
            vedge1.append,
            vway1.append,
        )
        hops_at = self.hops_at = self._hops_at()
        wanted = self._wanted
        count, visited = self.count, 0
        check = len(g.ids) >= cap  # each hop finds one node at most
        lo0 = lo1 = 0
        stopped = False
        ins: list[tuple[dict[int, int], dict[int, list[int]]]] = []
        held: list[dict[int, int]] = []
        for depth in range(1, max_depth + 1):
            hi0, hi1 = len(vnode0), len(vnode1)
            # each pass's frontier visits by node, at C speed unless a node holds several
            first0 = dict(zip(vnode0[lo0:hi0], range(lo0, hi0), strict=True))
            first1 = dict(zip(vnode1[lo1:hi1], range(lo1, hi1), strict=True))
            several: AbstractSet[int] = _NONE
            if len(first0) < hi0 - lo0 or len(first1) < hi1 - lo1:
                ins, held, present = _by_node(passes, [range(lo0, hi0), range(lo1, hi1)])
                (first0, more0), (first1, more1) = ins
                several = more0.keys() | more1.keys()
            else:
                present = 0
                for state in {*vstate0[lo0:hi0], *vstate1[lo1:hi1]}:
                    present |= 1 << state
            order = first0 | first1  # the frontier's nodes: exact pass first
            if not order:
                break
            ways = [(w, m, kmask[w]) for w, m in wanted(present)]
            sig = 0  # the kinds read, each way: with the node, the key of its hops (`hops`)
            for w, m, _ in ways:
                sig |= m << KIND_BITS * w
            origins = iter(order)
            for origin in origins:
                if several and origin in several:  # the general loop, for this origin
                    self.count, self.visited = count, self.visited + visited
                    visited = 0
                    one = (({origin: origin}, ways), ins, held)
                    stopped = not self._follow_level(passes, one, cap)
                    count = self.count
                    if stopped:
                        break
                    continue
                hops = sorted_hops.get(hkey := origin << 2 * KIND_BITS | sig)
                if hops is None:  # `_hops_at`'s, inline, sorted and kept with their far ends
                    hops = self._sorted_hops(origin, ways)
                    if len(sorted_hops) >= CACHED:
                        sorted_hops.clear()
                    sorted_hops[hkey] = hops
                if not hops:
                    continue
                visited += len(hops)
                v0, v1 = first0.get(origin), first1.get(origin)
                code = (0 if v0 is None else vstate0[v0] + 1) | (
                    0 if v1 is None else vstate1[v1] + 1 << 4
                )
                # `led_on` must learn every origin a step is followed from: until it has this
                # one, an edge into a blocked node is still tested
                settled = origin in led_on
                for e, way, to, kinds in hops:
                    if check and count >= cap:
                        stopped = True
                        break
                    at = kinds | code  # `fast_plan`'s key
                    plan = fast.get(at)
                    if plan is None:
                        plan = fast_plan(at)
                    steps0, need0, steps1, need1 = plan
                    if steps0 is not None:  # the exact pass
                        b = b0[to]
                        if not (b and settled and b & need0 == need0):
                            for then, add, test in steps0:
                                known = b >> then & 1  # b: the node's blocked states, current
                                if known and settled:
                                    continue  # nothing new here (the test, pure, need not run)
                                if test is not None:  # kinds settled: a property, or code
                                    if type(test) is str:
                                        if rget(erec[e], test):  # type: ignore[arg-type]
                                            continue
                                    elif not test(stored_edge(e)):  # type: ignore[operator]
                                        continue
                                if not settled:
                                    led_on.add(origin)
                                    settled = True
                                if known:
                                    continue
                                b = b0[to] = b | add  # the state, and those it covers
                                an0(to)  # its level: set with the level's, below
                                as0(then)
                                ap0(v0)
                                ae0(e)
                                aw0(way)
                    if steps1 is not None:  # the pass over every step: the same
                        b = b1[to]
                        if not (b and settled and b & need1 == need1):
                            for then, add, test in steps1:
                                known = b >> then & 1
                                if known and settled:
                                    continue
                                if test is not None:
                                    if type(test) is str:
                                        if rget(erec[e], test):  # type: ignore[arg-type]
                                            continue
                                    elif not test(stored_edge(e)):  # type: ignore[operator]
                                        continue
                                if not settled:
                                    led_on.add(origin)
                                    settled = True
                                if known:
                                    continue
                                if not b:
                                    count += 1
                                b = b1[to] = b | add
                                an1(to)
                                as1(then)
                                ap1(v1)
                                ae1(e)
                                aw1(way)
                if stopped:
                    break
            # a level's visits are appended together, after the last one's: their level set
            vlevel0 += [depth] * (len(vnode0) - hi0)
            vlevel1 += [depth] * (len(vnode1) - hi1)
            lo0, lo1 = hi0, hi1
            if stopped:  # the level's reads are counted, as traverse does
                visited += sum(map(len, map(hops_at, origins, repeat(ways))))
                break
        self.count = count
        self.visited += visited
        return stopped


def _unflatten(reads: list[int]) -> Iterator[tuple[int, list[int]]]:
    """A level's flat reads (`_Level`) as (frontier node, its hops in order)."""
    i, size = 0, len(reads)
    while i < size:
        many = reads[i + 1]
        yield reads[i], reads[i + 2 : i + 2 + many]
        i += 2 + many


# one pass's visits: node, state, level, parent visit, edge, way (lists), blocked states by node
# slot (the graph's `blocks`)
_Visits = tuple[list[int], list[int], list[int], list[int], list[int], list[int], list[int]]
# a level's reads, flat: frontier node, how many hops, its hops in order (edge << 1 | way) — ints
# rather than tuples and lists, so that a large walk's hundreds of thousands of hops give the
# collector nothing to track; or, with paths, the frontier's nodes and the ways to read (each
# node's hops read as it is followed); each pass's frontier visits by node, with their states;
# and the states each pass's frontier holds at a node (a bit each)
_Level = tuple[
    list[int] | tuple[dict[int, int], list[tuple[int, int, "array[int]"]]],
    list[tuple[dict[int, int], dict[int, list[int]]]],
    list[dict[int, int]],
]


def _by_node(
    passes: list[_Visits], frontiers: list[range]
) -> tuple[list[tuple[dict[int, int], dict[int, list[int]]]], list[dict[int, int]], int]:
    """Each pass's frontier visits by node (its first visit, and its others: rare, so no list
    per node for the collector), the states each pass holds at a node (a bit each), and all the
    states present."""
    present = 0
    ins: list[tuple[dict[int, int], dict[int, list[int]]]] = []
    held: list[dict[int, int]] = []
    for p, frontier in enumerate(frontiers):
        vnode, vstate = passes[p][0], passes[p][1]
        first: dict[int, int] = {}
        more: dict[int, list[int]] = {}
        states: dict[int, int] = {}
        for v in frontier:
            n = vnode[v]
            bit = 1 << vstate[v]
            present |= bit
            if n in first:
                more.setdefault(n, []).append(v)
                states[n] |= bit
            else:
                first[n] = v
                states[n] = bit
        ins.append((first, more))
        held.append(states)
    return ins, held, present


_WAYS_OR_NONE = (Direction.OUT, Direction.IN, None)
_NONE: frozenset[int] = frozenset()  # by way number; -1: None


@dataclass(slots=True)
class EmbeddedState:
    """Everything an `EmbeddedStore` holds; `export_state` / `from_state`. Node and edge slots
    are list positions (None / -1: deleted); records are packed (graph/packed.py). The
    adjacency is taken as it is (rebuilding it edge by edge was half of a 1M start): per table
    (`kind * 2 + way`), the node slots holding edges, how many each, and the edge slots one list
    after the other, in the table's order — machine int64 arrays (array "q") as bytes."""

    names: list[str | None]
    nodes: list[Packed | None]
    shapes: list[tuple[str, ...]]  # the records' key tuples, by shape number (graph/packed.py)
    edge_src: bytes  # machine int64 arrays (array "q"), one item per edge slot
    edge_kind: bytes  # int8 (array "b")
    edge_dst: bytes
    edge_disc: list[str]
    edges: list[Packed | None]
    aliases: dict[str, set[str]]
    links: dict[str, str]
    links_to: dict[str, set[str]]
    checkpoint: int
    adjacency: list[tuple[bytes, bytes, bytes]]  # per table: node slots, counts, edge slots
    kind_masks: tuple[bytes, bytes]  # `_Graph.kmask` (array "q"), out and in


def _array(typecode: str, raw: bytes) -> array[int]:
    items = array(typecode)
    items.frombytes(raw)
    return items


def _export_adjacency(
    tables: list[dict[int, list[int] | tuple[int, ...]]], edges: int
) -> list[tuple[bytes, bytes, bytes]]:
    """Each table as arrays (`EmbeddedState.adjacency`), with the edge slots below `edges`
    only: a list may have grown since its table was copied (slots only grow, in order)."""
    out = []
    for table in tables:
        held = list(map(tuple, table.values()))  # each list as it is now, once
        if held and max(map(itemgetter(-1), held)) >= edges:
            held = [t if t[-1] < edges else tuple(e for e in t if e < edges) for t in held]
        out.append(
            (
                array("q", table).tobytes(),
                array("q", map(len, held)).tobytes(),
                array("q", chain.from_iterable(held)).tobytes(),
            )
        )
    return out


def _take_over(g: _Graph, state: EmbeddedState) -> None:
    """The edge columns and adjacency from `state`, built at C speed (no loop per edge in
    Python); each array is dropped from `state` once read (the start's peak). The adjacency's
    slots are tuples (`_Graph.adj`) until written. One int object per node slot and per edge
    slot, shared by every list, dict and tuple that holds it (made from arrays, they would hold
    a fresh int per item: at 1M about 200 MiB more)."""
    nodes = list(range(len(g.names)))
    edges = list(range(len(state.edge_disc)))
    g.ids = dict(zip(g.names, nodes, strict=True))
    g.ids.pop(None, None)  # type: ignore[call-overload]  # deleted slots
    node_of, edge_of = nodes.__getitem__, edges.__getitem__
    g.ekind = _array("b", state.edge_kind).tolist()
    g.esrc = list(map(node_of, _array("q", state.edge_src)))
    g.edst = list(map(node_of, _array("q", state.edge_dst)))
    gone = state.edge_kind.find(b"\xff")  # deleted edges (kind -1): their ends are -1 too
    while gone >= 0:
        g.esrc[gone] = g.edst[gone] = NO_SLOT
        gone = state.edge_kind.find(b"\xff", gone + 1)
    state.edge_src = state.edge_dst = state.edge_kind = b""
    g.adj = []
    tables, state.adjacency = state.adjacency, []
    tables.reverse()
    while tables:
        node_slots, counts, edge_slots = tables.pop()
        slots = tuple(map(edge_of, _array("q", edge_slots)))
        ends = list(accumulate(_array("q", counts)))
        held = map(slots.__getitem__, map(slice, chain((0,), ends), ends))  # tuples
        g.adj.append(dict(zip(map(node_of, _array("q", node_slots)), held, strict=True)))
        del node_slots, counts, edge_slots, slots, ends, held
    g.kmask = (_array("q", state.kind_masks[0]), _array("q", state.kind_masks[1]))
    state.kind_masks = (b"", b"")

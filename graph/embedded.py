"""The zero-setup store: the graph in memory, on integer ids and a per-(kind, way) adjacency.

It holds exactly the records Neo4j holds (node id -> record, edge (kind, disc) keyed between two
node ids -> record), so the contract tests can demand identical answers. It is rebuilt from the
durable event log at start (or loaded from a snapshot: `export_state` / `from_state`).

The state itself (integer slots, the adjacency) is graph/slot_graph.py; its walk is
graph/slot_walk.py. This module adds the lock, the unit of work, the reads of `GraphStore` and
the snapshot's state (`EmbeddedState`).
"""

from __future__ import annotations

import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import accumulate, chain
from operator import itemgetter

from lineage_kg.graph.gc_pause import no_cyclic_gc
from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.packed import Packed, Shapes
from lineage_kg.graph.records import EdgeId, Record, StoredEdge, StoredNode
from lineage_kg.graph.slot_graph import (
    ALL_KINDS,
    IN,
    KIND_NO,
    KIND_VALUES,
    KINDS,
    NO_SLOT,
    NOT_NONE,
    OUT,
    WAY,
    SlotGraph,
    kind_bits,
    kinds_mask_of,
    valid_at,
)
from lineage_kg.graph.slot_walk import SlotWalk
from lineage_kg.graph.store import (
    GraphStats,
    GraphStore,
    IncidentSpec,
    UnitOfWork,
    Walked,
    WalkStep,
)

_FIRST, _THIRD = itemgetter(0), itemgetter(2)


def _edge_id(edge: StoredEdge) -> EdgeId:
    return edge.key.id


class _EmbeddedUnitOfWork(UnitOfWork):
    def __init__(
        self,
        graph: SlotGraph,
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
            for e in g.edges_at(n, (KIND_NO[kind.value],), WAY[direction]):
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
        if g.hops:  # sorted hops (`SlotGraph.hops`) of nodes whose edges may change below
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
        self._g = SlotGraph()
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
        wanted = ALL_KINDS if kinds is None else kinds_mask_of(kinds)
        way = WAY[direction]
        g = self._g
        adj, masks, ids_of = g.adj, g.kmask[way], g.ids
        found: list[int] = []
        for node_id in dict.fromkeys(ids):
            n = ids_of.get(node_id)
            if n is None:
                continue
            present = masks[n] & wanted
            if present:
                for k in kind_bits(present):
                    found.extend(adj[k * 2 + way][n])
        if as_of is None:
            eto = g.eto
            return [e for e in found if eto[e] is None]
        efirst, eto = g.efirst, g.eto
        return [e for e in found if valid_at(efirst[e], eto[e], as_of)]

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
        wanted = ALL_KINDS if kinds is None else kinds_mask_of(kinds)
        way = WAY[direction]
        with self._lock:
            g = self._g
            eto, efirst = g.eto, g.efirst
            # gathered kind by kind at C speed (the order is the sort's below); a read of a
            # whole walk's parts asks for tens of thousands of nodes
            slots = list(filter(NOT_NONE, map(g.ids.get, dict.fromkeys(ids))))
            found: list[int] = []
            for k in kind_bits(wanted):
                lists = map(g.adj[k * 2 + way].get, slots)
                found.extend(chain.from_iterable(filter(None, lists)))  # type: ignore[arg-type]
            if as_of is None:
                found = [e for e in found if eto[e] is None]
            else:
                found = [e for e in found if valid_at(efirst[e], eto[e], as_of)]
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
        owners_next: bool = False,  # its reads after the walk are in-process: nothing to read ahead
    ) -> Walked:
        with self._lock:
            return SlotWalk(self._g, steps, start_state, covers, as_of).run(
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
            self._g = SlotGraph()
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
        replaced when an edge leaves it (`SlotGraph.remove_node`)."""
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
    kind_masks: tuple[bytes, bytes]  # `SlotGraph.kmask` (array "q"), out and in


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


def _take_over(g: SlotGraph, state: EmbeddedState) -> None:
    """The edge columns and adjacency from `state`, built at C speed (no loop per edge in
    Python); each array is dropped from `state` once read (the start's peak). The adjacency's
    slots are tuples (`SlotGraph.adj`) until written. One int object per node slot and per edge
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

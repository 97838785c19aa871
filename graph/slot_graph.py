"""The embedded store's state: nodes and edges as integer slots, a per-(kind, way) adjacency.

No locking here: `EmbeddedStore` (graph/embedded.py) holds its lock around every read and commit.

Layout, chosen for the walks (graph/slot_walk.py):
- a node is an int (its slot): `ids` maps its string id to it, `names` back;
- an edge is an int (its slot) with parallel lists for its ends, kind (a small int) and disc;
- `adj[kind * 2 + way]` maps a node slot to the slots of its edges of that kind, that way
  (0 out, 1 in), kept at commit: a frontier step reads only the kinds it follows;
- records are packed (graph/packed.py), `StoredNode`/`StoredEdge` built only for what is returned,
  from keys parsed once per node and edge;
- a walk with paths keeps each node's live hops it read, sorted in walk order, until the next
  commit (`SlotGraph.hops`).
Slots of deleted nodes and edges (a re-homing: rare) stay empty; they are not reused.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from functools import lru_cache, partial
from operator import is_not

from lineage_kg.graph.model import KEY_FIELDS, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeKey
from lineage_kg.graph.packed import Packed, Shapes
from lineage_kg.graph.records import EdgeId, Record, StoredEdge, StoredNode

KINDS: tuple[EdgeKind, ...] = tuple(EdgeKind)
KIND_NO: dict[str, int] = {k.value: i for i, k in enumerate(KINDS)}
KIND_VALUES: tuple[str, ...] = tuple(k.value for k in KINDS)
NODE_KIND_NO: dict[str, int] = {k.value: i for i, k in enumerate(NodeKind)}
OUT, IN = 0, 1  # the way, in an adjacency index: kind * 2 + way
WAY = {Direction.OUT: OUT, Direction.IN: IN}
NO_SLOT = -1  # in the edge lists: a deleted edge
NOT_NONE = partial(is_not, None)
CACHED = 1 << 17  # StoredNode / StoredEdge objects (and nodes' sorted hops) kept for reads, each
# a mask of edge kinds fits: a node's sorted hops are keyed by two (`SlotGraph.hops`)
KIND_BITS = 23
assert len(KINDS) <= KIND_BITS


class SlotGraph:
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
        # a node's live hops of some kinds each way, in walk order (`SlotWalk._walk_paths`), by
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


def kinds_mask_of(kinds: Iterable[EdgeKind]) -> int:
    mask = 0
    for k in kinds:
        mask |= 1 << KIND_NO[k.value]
    return mask


@lru_cache(maxsize=4096)
def kind_bits(mask: int) -> tuple[int, ...]:
    """The kind numbers set in `mask` (few distinct masks occur: cached)."""
    return tuple(k for k in range(len(KINDS)) if mask >> k & 1)


def valid_at(first: str, valid_to: str | None, as_of: str | None) -> bool:
    """`StoredEdge.valid_at`'s rule on an edge's columns (no record built), and current-only when
    `as_of` is None."""
    if as_of is None:
        return valid_to is None
    return first <= as_of and (valid_to is None or as_of < valid_to)

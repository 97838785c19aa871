"""A walk's path edges on Neo4j, read lazily: each is pending (its key known from the walk)
until first used, then all of a walk's are read in one statement — or before, with impact's
read of the answer's nodes (`Neo4jStore.nodes_and_owners`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from lineage_kg.graph.ends_walk import EndsAhead
from lineage_kg.graph.model import EdgeKind, NodeKey
from lineage_kg.graph.mutations import Direction, EdgeKey
from lineage_kg.graph.records import EdgeId, Record, StoredEdge, edge_fields
from lineage_kg.graph.store import StoreUnavailable

if TYPE_CHECKING:
    from lineage_kg.graph.neo4j_walk_ahead import OwnersAhead


def edge_rows_of(ids: Iterable[EdgeId]) -> list[dict[str, str]]:
    """Edge ids as `_PAGE_EDGES`' `$rows`."""
    return [{"src": s, "kind": k, "dst": d, "disc": c} for s, k, d, c in ids]


def records_of(found: Iterable[Any]) -> dict[EdgeId, Record]:
    """`_PAGE_EDGES`' answer by edge id."""
    return {(src, kind, dst, p["disc"]): p for src, dst, kind, p in found}


_EDGE_SLOTS = {f: getattr(StoredEdge, f) for f in StoredEdge.__slots__}
_LAZY_FIELDS = frozenset(StoredEdge.__slots__) - {"key"}
# the slots `edge_fields` answers, in its order (the key is the pending edge's already)
_FILLED = tuple(_EDGE_SLOTS[f].__set__ for f in StoredEdge.__slots__ if f != "key")
_AWAITED = _EDGE_SLOTS["props"]  # a pending edge's `props` slot holds its `PathEdges`


class _PendingEdge(StoredEdge):
    """A path edge whose record is not read yet: its key is the id the walk read (the kind of
    every hop is known without a record: impact's `training_rows`), anything else read first
    fills every pending edge of its walk in one read (`PathEdges.load`) — and each becomes a
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


def element_ids(ahead: EndsAhead, ids: Iterable[EdgeId]) -> Iterator[tuple[EdgeId, Any]]:
    """Each edge's element id, as the walk read it (`_REACH_END_IDS`: last of its values), from
    whichever end it was read at — or its record (`_REACH_END_AHEAD`: last of its values)."""
    edges, out, in_ = ahead.edges, Direction.OUT, Direction.IN
    for eid in ids:  # ~830 a big decision trace: the two ends unrolled, no pair made per end
        src, kind, dst, _ = eid
        if (
            (by_kind := edges.get((src, out))) is not None
            and (hops := by_kind.get(kind)) is not None
            and (values := hops.get(eid)) is not None
        ) or (
            (by_kind := edges.get((dst, in_))) is not None
            and (hops := by_kind.get(kind)) is not None
            and (values := hops.get(eid)) is not None
        ):
            yield eid, values[-1]


class PathEdges(dict[int, StoredEdge]):
    """A walk's visits' edges by key (`Walked.edges`), pending until first used — or read
    before, with impact's read of the answer's nodes (`Neo4jStore.nodes_and_owners`, handed
    them as `path_edges`: no round trip of their own) — or read with the walk (`records`,
    graph/walk_ahead.py), which then hands over what it read of the nodes it met (`ahead`)."""

    def __init__(
        self,
        ids: dict[EdgeId, int],
        read: Callable[[list[EdgeId]], Any],
        elements: Mapping[EdgeId, str] | None = None,
        ahead: OwnersAhead | None = None,
        records: Mapping[EdgeId, Record] | None = None,
    ) -> None:
        super().__init__()
        self.pending: dict[EdgeId, StoredEdge] = {}  # edge id -> its edge, not read yet
        self._read = read
        # edge id -> its element id as the walk read it (the record's read by id: a seek each)
        self.elements = elements or {}
        pending, set_key, key_of = self.pending, _EDGE_SLOTS["key"].__set__, _walked_key
        for eid, no in ids.items():
            edge = _new(_PendingEdge)
            set_key(edge, key_of(eid))
            _AWAITED.__set__(edge, self)
            self[no] = pending[eid] = edge
        self.ahead = ahead
        if records:
            self.fill(records)

    def lookups(self) -> tuple[list[dict[str, str]], list[str]]:
        """The pending edges as `_NODES_AND_OWNERS` finds them: by key (`$rows`: no element id
        known) and by element id (`$eids`)."""
        elements = self.elements
        by_key = [e for e in self.pending if e not in elements]
        return edge_rows_of(by_key), [elements[e] for e in self.pending if e in elements]

    def load(self) -> None:
        if self.pending:
            self.fill(self._read(list(self.pending)))
        if self.pending:  # edges are retired, not deleted: only a merge re-homing a node is
            # a race with the writer, not the caller's mistake: "try again", never a 500
            raise StoreUnavailable("an edge of the walk is gone since it was read: ask again")

    def fill(self, records: Mapping[EdgeId, Record]) -> None:
        # in place: the key is the pending edge's (no second key, no edge made to copy from)
        pending, as_stored = self.pending, StoredEdge
        for eid, record in records.items():
            if (edge := pending.pop(eid, None)) is None:
                continue
            for put, value in zip(_FILLED, edge_fields(record), strict=True):
                put(edge, value)
            object.__setattr__(edge, "__class__", as_stored)


_new = object.__new__
_KEY_SLOTS = tuple(getattr(EdgeKey, f).__set__ for f in ("src", "kind", "dst", "disc", "_id"))
_KINDS = {k.value: k for k in EdgeKind}


def _walked_key(eid: EdgeId) -> EdgeKey:
    """`EdgeKey` of an edge id the walk read from the store, as `EdgeKey(...)` makes it but not
    checked again (`__post_init__`: the kinds its ends may have): the store holds only edges
    checked when written. A big decision trace at 100k makes 826: `PathEdges` 1.7-2.0 -> 0.6-0.8
    ms (docs/bench-notes/target1-trace.md, session 27, later)."""
    src, kind, dst, disc = eid
    key = _new(EdgeKey)
    set_src, set_kind, set_dst, set_disc, set_id = _KEY_SLOTS
    src_key, dst_key, edge_kind = NodeKey.from_id(src), NodeKey.from_id(dst), _KINDS[kind]
    set_src(key, src_key)
    set_kind(key, edge_kind)
    set_dst(key, dst_key)
    set_disc(key, disc)
    # as `__post_init__` makes it, from the slots `.id` and `.value` read (a Python call each:
    # 5.4 -> 3.8 us a key, 830 keys a big decision trace; session 32)
    set_id(key, (src_key._id, edge_kind._value_, dst_key._id, disc))
    return key

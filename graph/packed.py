"""Records kept compactly for the embedded store: a tuple of values behind a shared shape.

A record is a flat dict (graph/records.py) of a dozen entries; a million of them as dicts cost
several hundred bytes each and pickle slowly (every key again). Records written by the same code
have the same keys in the same order, so each distinct key tuple becomes one `Shape`, numbered in
the store's `Shapes` table, and a record is stored as `(shape number, value, value, …)`: a
fraction of the memory, and a snapshot pickles plain tuples and the table's key tuples once —
nothing but builtins (graph/snapshot.py unpickles only what a state is made of). Values are
shared, never changed in place (records.py replaces them).
"""

from __future__ import annotations

import sys
import zlib
from typing import Any

from lineage_kg.graph.model import RESERVED_PROPS, NodeKind

Record = dict[str, Any]
Packed = tuple[Any, ...]  # (shape number, *values)
SHARED_CHARS = 64  # strings up to this long are interned (ids, times, names), longer ones not
STAMPS = "_stamps"  # the merge's per-prop stamps (graph/records.py): long, and repeated
# A node's remembered retirements (graph/validity.py): JSON of ~500 characters on most columns
# at 1M (the largest values the store holds), each different, read only by the merge: kept
# deflated (raw, a small window: about half the bytes, header included) and inflated in
# `unpack` / `get`, the only ways to a record's values.
RETIRED = "_retired"
_DEFLATE_OVER = 128  # characters: shorter texts are kept as they are
_WBITS = -9  # raw deflate, a 512-byte window: enough for these, and a small state to set up
# Recently packed `_stamps` texts and records, each held once: every edge one event writes with
# the same props has the same stamps (at 100k, 229,536 edge stamps were 5,844 texts) and often
# the same record (fifty FEEDS edges of one column-lineage facet: 274,575 edge records were
# 87,788 distinct). Bounded (emptied when full): one event's writes come together.
RECENT = 1 << 13


class Shape:
    """One key tuple, with the positions readers need precomputed (1-based: 0 is the number)."""

    __slots__ = ("_node_props", "at", "edge_props", "keys", "retired", "stamps")

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self.at = {k: i + 1 for i, k in enumerate(keys)}
        self.stamps = self.at.get(STAMPS, 0)  # its position, 0: none
        self.retired = self.at.get(RETIRED, 0)
        # an edge's own props, in the order StoredEdge.from_record lists them (sorted by name)
        self.edge_props = tuple((k, self.at[k]) for k in sorted(keys) if k not in RESERVED_PROPS)
        self._node_props: dict[NodeKind, tuple[tuple[str, int], ...]] = {}

    def node_props(self, kind: NodeKind, fields: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
        """A node's own props (StoredNode.from_record: not reserved, not a key field), sorted."""
        found = self._node_props.get(kind)
        if found is None:
            skip = RESERVED_PROPS | set(fields)
            found = tuple((k, self.at[k]) for k in sorted(self.keys) if k not in skip)
            self._node_props[kind] = found
        return found


class Shapes:
    """A store's shapes, numbered in the order first seen (callers hold the store's lock)."""

    def __init__(self, keys: list[tuple[str, ...]] | None = None) -> None:
        self.all: list[Shape] = [Shape(k) for k in keys or ()]
        self._number = {s.keys: i for i, s in enumerate(self.all)}
        # shared lists are never changed in place: records' values are replaced (records.py)
        self._lists: dict[tuple[str, ...], list[str]] = {}
        self._stamps: dict[str, str] = {}
        # by the identities of a packed record's values: equal when every value is the same
        # object (the entry holds them all, so no id is reused while it is there)
        self._records: dict[tuple[int, ...], Packed] = {}

    def keys(self) -> list[tuple[str, ...]]:
        """The key tuples by number: what `Shapes(keys)` numbers the same way again."""
        return [s.keys for s in self.all]

    def pack(self, record: Record) -> Packed:
        keys = tuple(record)
        n = self._number.get(keys)
        if n is None:
            n = self._number[keys] = len(self.all)
            self.all.append(Shape(keys))
        values = [n, *map(self._share, record.values())]
        if at := self.all[n].stamps:
            text = values[at]
            held = self._stamps.get(text)
            if held is None:
                if len(self._stamps) >= RECENT:
                    self._stamps.clear()
                held = self._stamps[text] = text
            values[at] = held
        at = self.all[n].retired
        if at and type(text := values[at]) is str and len(text) > _DEFLATE_OVER:
            values[at] = zlib.compress(text.encode(), 6, _WBITS)
        key = (n, *map(id, values[1:]))
        packed = self._records.get(key)
        if packed is None:
            if len(self._records) >= RECENT:
                self._records.clear()
            packed = self._records[key] = tuple(values)
        return packed

    def _share(self, value: Any) -> Any:
        """One object for equal short strings and string lists: the event ids, times, sources
        and names that thousands of records repeat are then held once — and pickled once."""
        if type(value) is str:
            return sys.intern(value) if len(value) <= SHARED_CHARS else value
        if type(value) is list and len(value) <= 4 and all(type(v) is str for v in value):
            key = tuple(value)
            held = self._lists.get(key)
            if held is None:
                held = self._lists[key] = [self._share(v) for v in value]
            return held
        return value

    def unpack(self, packed: Packed) -> Record:
        """A fresh dict: the caller may change it."""
        shape = self.all[packed[0]]
        record = dict(zip(shape.keys, packed[1:], strict=True))
        if shape.retired and type(packed[shape.retired]) is bytes:
            record[RETIRED] = _inflate(packed[shape.retired])
        return record

    def get(self, packed: Packed, name: str, default: Any = None) -> Any:
        i = self.all[packed[0]].at.get(name)
        if i is None:
            return default
        return _inflate(packed[i]) if type(packed[i]) is bytes else packed[i]


def _inflate(deflated: bytes) -> str:
    """A text `Shapes.pack` deflated (record values are never bytes otherwise: JSON's types)."""
    return zlib.decompress(deflated, _WBITS).decode()

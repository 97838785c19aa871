"""Records kept compactly for the embedded store: a tuple of values behind a shared shape.

A record is a flat dict (graph/records.py) of a dozen entries; a million of them as dicts cost
several hundred bytes each and pickle slowly (every key again). Records written by the same code
have the same keys in the same order, so each distinct key tuple becomes one interned `Shape`
and a record is stored as `(shape, value, value, …)`: about a third of the memory, and a snapshot
pickles each shape once. Values are shared, never changed in place (records.py replaces them).
"""

from __future__ import annotations

import threading
from typing import Any

from lineage_kg.graph.model import RESERVED_PROPS, NodeKind

Record = dict[str, Any]
Packed = tuple[Any, ...]  # (Shape, *values)

_SHAPES: dict[tuple[str, ...], Shape] = {}
_SHAPES_LOCK = threading.Lock()


class Shape:
    """One key tuple, with the positions readers need precomputed (1-based: 0 is the shape)."""

    __slots__ = ("_node_props", "at", "edge_props", "keys")

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self.at = {k: i + 1 for i, k in enumerate(keys)}
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

    def __reduce__(self) -> tuple[Any, tuple[tuple[str, ...]]]:
        return shape_of, (self.keys,)  # unpickled into the interned one


def shape_of(keys: tuple[str, ...]) -> Shape:
    shape = _SHAPES.get(keys)
    if shape is None:
        with _SHAPES_LOCK:
            shape = _SHAPES.setdefault(keys, Shape(keys))
    return shape


def pack(record: Record) -> Packed:
    return (shape_of(tuple(record)), *record.values())


def unpack(packed: Packed) -> Record:
    """A fresh dict: the caller may change it."""
    return dict(zip(packed[0].keys, packed[1:], strict=True))


def get(packed: Packed, name: str, default: Any = None) -> Any:
    i = packed[0].at.get(name)
    return default if i is None else packed[i]

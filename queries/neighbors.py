"""A node's direct neighbours, one page at a time: the edges entering it, leaving it, or both
(optionally of some kinds), each with the node at its other end.

Per direction, the store's page of the node's edges (`GraphStore.neighbor_page`: ordered by
edge id, only the page's records built), then only the page's nodes: a page of a node with
100,000 edges builds `first` edges and reads `first` nodes, not 100,000.
Order: the edges leaving the node (OUT) before those entering it (IN), each by edge id, so both
stores give the same pages. A page is named by its offset in that order (`after`: the offset
of the last item seen); a graph written between two pages may shift them, as with impact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.graph.store import GraphStore

MAX_FIRST = 500  # one page: what a node page shows, bounded whatever the node's degree


class Way(StrEnum):
    OUT = "out"  # edges leaving the node: mostly downstream (flow edges point with the data)
    IN = "in"  # edges entering it: upstream, and its owners (OWNS points at the asset)
    BOTH = "both"


_DIRECTIONS: dict[Way, tuple[Direction, ...]] = {
    Way.OUT: (Direction.OUT,),
    Way.IN: (Direction.IN,),
    Way.BOTH: (Direction.OUT, Direction.IN),
}


@dataclass(frozen=True, slots=True)
class Neighbor:
    node: StoredNode  # the node at the edge's other end
    edge: StoredEdge
    direction: Direction  # OUT: the edge leaves the asked node; IN: it enters it


@dataclass(frozen=True, slots=True)
class NeighborPage:
    items: list[Neighbor]
    offset: int  # the first item's position in the whole answer
    total: int  # neighbours (edges) in the whole answer

    @property
    def has_next_page(self) -> bool:
        return self.offset + len(self.items) < self.total


def neighbors(
    store: GraphStore,
    node_id: str,
    *,
    way: Way = Way.BOTH,
    kinds: Iterable[EdgeKind] | None = None,
    first: int = 50,
    offset: int = 0,
    as_of: str | None = None,
) -> NeighborPage:
    """The page of `node_id`'s neighbours starting at `offset` (see the module docstring)."""
    if not 1 <= first <= MAX_FIRST:
        raise InvalidArgument(f"first must be between 1 and {MAX_FIRST}")
    if offset < 0:
        raise InvalidArgument("after: not a cursor of this answer")
    wanted = sorted(set(kinds)) if kinds is not None else None
    page: list[tuple[StoredEdge, Direction]] = []
    total, start = 0, offset  # `start`: the page's offset within the current direction
    for direction in _DIRECTIONS[way]:
        edges, count = store.neighbor_page(
            node_id, direction, wanted, as_of, offset=start, limit=first - len(page)
        )
        page += [(edge, direction) for edge in edges]
        total += count
        start = max(0, start - count)
    others = [_other_end(edge, direction) for edge, direction in page]
    nodes = {n.id: n for n in store.get_nodes(sorted(set(others)))}
    items = [
        Neighbor(nodes[other], edge, direction)
        for (edge, direction), other in zip(page, others, strict=True)
        if other in nodes  # an edge to a node deleted since: nothing to show
    ]
    return NeighborPage(items, offset, total)


def _other_end(edge: StoredEdge, direction: Direction) -> str:
    return edge.key.dst.id if direction is Direction.OUT else edge.key.src.id

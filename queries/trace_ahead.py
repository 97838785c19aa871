"""The decision trace's data chain read ahead (issue 19, target 1): one walk, then memory.

The data chain (queries/decision_trace.py) goes upstream level by level, because a run that read a
whole dataset leads to the version current at the read, a choice made from times. On Neo4j that
was one round trip per level, and three more for the writes of the datasets to resolve. Here the
store walks, ahead, everything the level loop could ask for (`GraphStore.reach`, a few
statements): upstream along the chain edges, from a version to its dataset and from a dataset to
all its versions (what a resolution reads), and each run to its job (its asset, for the owners);
then the records of every node covered, in one read. The level loop then runs unchanged over
`ReadAhead`, which answers a read from memory when the read-ahead holds all of it, and asks the
store otherwise — so the answers are the level loop's whatever the read-ahead covers; only the
round trips change. A read-ahead past `AHEAD_LIMIT` nodes is given up (the loop reads as before).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.graph.store import EdgeTest, GraphStore, Moves, Neighborhood
from lineage_kg.queries.traversal import answers_itself

E, K = EdgeKind, NodeKind
IN, OUT = Direction.IN, Direction.OUT
_STATE = ""

# (way, kind) -> the node kinds at which the read-ahead holds every such edge (None: any kind).
# A version's dataset, every version of a dataset (not of a model: every training run of every
# version would follow), the writers and readers upstream, a run's job; the parts' asset edges
# (columns, features: none on the chain, but then memory answers those reads too).
_HELD: dict[tuple[Direction, EdgeKind], frozenset[NodeKind] | None] = {
    (IN, E.TRAINED): None,
    (IN, E.READ_BY): None,
    (IN, E.WROTE): None,
    (IN, E.HAS_VERSION): None,
    (IN, E.HAS_COLUMN): None,
    (IN, E.HAS_FEATURE): None,
    (OUT, E.RUN_OF): None,
    (OUT, E.HAS_VERSION): frozenset({K.DATASET}),
}


def _near(way: Direction, kinds: frozenset[NodeKind]) -> EdgeTest:
    """The test that keeps edges whose end at the node walked from is of `kinds`."""
    return EdgeTest(src=kinds) if way is OUT else EdgeTest(dst=kinds)


# one walk state: every covered node has every edge of these kinds read (a test on the edge's end
# at the node walked from: so held or not per node kind)
CHAIN_MOVES: Moves = {
    (_STATE, way, kind): frozenset({(_STATE, None if near is None else _near(way, near))})
    for (way, kind), near in _HELD.items()
}
AHEAD_LIMIT = 2_000  # nodes: past it, the trace reads level by level


def chain_hops(depth: int) -> int:
    """Hops the read-ahead walks for a trace of `depth` levels: a level is one hop on the chain
    edges, one more through a dataset read whole (run ← dataset → version), two more for a
    version no run wrote (version ← dataset → version ← writer); and the last level's edges are
    read, to tell whether the depth cut the chain. Two extra hops held every generated trace at
    10k; five cost no more statements on Neo4j (three of five levels at depth 10) and leave room
    for more resolutions. Past them the loop reads the rest from the store. (Measured at 10k:
    the depth alone, one statement fewer but 1.7 reads more a trace; twice the depth, 0.7
    statements more and no read fewer.)"""
    return depth + 5


class ChainReads(Protocol):
    """The reads the data chain makes (a `GraphStore` has them)."""

    def get_nodes(self, ids: Sequence[str]) -> list[StoredNode]: ...

    def neighbors(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[StoredEdge]: ...

    def nodes_and_neighbors(
        self,
        node_ids: Sequence[str],
        ids: Sequence[str],
        kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
    ) -> tuple[list[StoredNode], list[tuple[StoredEdge, Direction]]]: ...

    def neighbor_ends(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[tuple[str, str]]: ...


def read_ahead(
    store: GraphStore,
    start: Sequence[str],
    depth: int,
    as_of: str | None,
    decided: Sequence[str] = (),
) -> ReadAhead | None:
    """The data chain's reads from `start` (the model versions) read ahead, or None: no start, a
    store with no faster way (`reach` None: the embedded store), more than `AHEAD_LIMIT` nodes.
    A view of a store (a request's budget: api/graphql/traversal_budget.py) passes when it has a
    `reach` of its own: it bounds the walk by what the budget has left, and its read-ahead charges
    each read answered from memory as the level loop's read was charged.

    `decided`: model versions whose DECIDED edges (valid now) are read with the covered nodes'
    records, in their one statement (`ReadAhead.decided`, by edge id, as `neighbors` answers):
    the edge a side-table decision naming its version links it by (queries/decisions.py
    `resolve_unread`), one round trip fewer than reading it first (session 31)."""
    if not start or not answers_itself(store, "reach"):
        return None
    ahead = store.reach(
        start, CHAIN_MOVES, start_state=_STATE, max_depth=chain_hops(depth), as_of=as_of,
        limit=AHEAD_LIMIT,
    )  # fmt: skip
    if ahead is None:
        return None
    covered = sorted(ahead.covered)
    if not decided:
        return ReadAhead(store, ahead, {n.id: n for n in store.get_nodes(covered)}, as_of)
    nodes, each = store.nodes_and_neighbors(covered, decided, _DECIDED, None)
    edges = sorted((e for e, _ in each), key=lambda e: e.key.id)
    return ReadAhead(store, ahead, {n.id: n for n in nodes}, as_of, decided=edges)


_DECIDED: Mapping[Direction, Iterable[EdgeKind]] = {OUT: (E.DECIDED,)}


class ReadAhead:
    """`ChainReads` from a read-ahead where it holds the whole answer, else from the store."""

    def __init__(
        self,
        store: GraphStore,
        ahead: Neighborhood,
        nodes: Mapping[str, StoredNode],
        as_of: str | None,
        *,
        decided: list[StoredEdge] | None = None,
    ) -> None:
        self._store, self._ahead, self._nodes, self._as_of = store, ahead, nodes, as_of
        self._covered = ahead.covered  # their records were read: absent from `nodes`, no node
        # `read_ahead`'s `decided` versions' DECIDED edges valid now, by edge id (None: not read)
        self.decided = decided

    def _holds(
        self, ids: Sequence[str], kinds: Mapping[Direction, Iterable[EdgeKind]], as_of: str | None
    ) -> bool:
        """Whether the read-ahead holds every edge of `kinds` at each of `ids`."""
        if as_of != self._as_of or not all(i in self._covered for i in ids):
            return False
        of_kinds = {NodeKey.from_id(i).kind for i in ids}
        for way, kinds_that_way in kinds.items():
            for kind in kinds_that_way:
                key = (way, EdgeKind(kind))
                if key not in _HELD:
                    return False
                near = _HELD[key]
                if near is not None and not of_kinds <= near:
                    return False
        return True

    def _edges(
        self, ids: Sequence[str], kinds: Mapping[Direction, Iterable[EdgeKind]]
    ) -> list[tuple[StoredEdge, Direction]]:
        """From memory: each way's edges (out, then in), by edge id, each once."""
        found = []
        for way in (OUT, IN):
            if way not in kinds:
                continue
            edges = {e.key.id: e for e, _ in self._ahead.neighbors_each_way(ids, {way: kinds[way]})}
            found += [(edges[k], way) for k in sorted(edges)]
        return found

    def holding(
        self, ids: Sequence[str], direction: Direction, kinds: Iterable[EdgeKind], as_of: str | None
    ) -> list[str]:
        """Those of `ids` whose edges of `kinds` walked `direction` are held (read from memory).
        (Hundreds of a trace's parts, most not covered: asked once a node kind.)"""
        wanted = {direction: list(kinds)}
        covered = self._covered
        by_kind: dict[NodeKind, list[str]] = {}
        for i in ids:
            if i in covered:
                by_kind.setdefault(NodeKey.from_id(i).kind, []).append(i)
        return [
            i
            for of_kind in by_kind.values()
            if self._holds(of_kind, wanted, as_of)
            for i in of_kind
        ]

    def get_nodes(self, ids: Sequence[str]) -> list[StoredNode]:
        if not all(i in self._covered for i in ids):
            return self._store.get_nodes(ids)
        return [self._nodes[i] for i in ids if i in self._nodes]

    def neighbors(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[StoredEdge]:
        wanted = None if kinds is None else list(kinds)
        if wanted is None or not self._holds(ids, {direction: wanted}, as_of):
            return self._store.neighbors(ids, direction, wanted, as_of)
        return [e for e, _ in self._edges(ids, {direction: wanted})]

    def neighbor_ends(
        self,
        ids: Sequence[str],
        direction: Direction,
        kinds: Iterable[EdgeKind] | None = None,
        as_of: str | None = None,
    ) -> list[tuple[str, str]]:
        wanted = None if kinds is None else list(kinds)
        if wanted is None or not self._holds(ids, {direction: wanted}, as_of):
            return self._store.neighbor_ends(ids, direction, wanted, as_of)
        return [(e.key.src.id, e.key.dst.id) for e, _ in self._edges(ids, {direction: wanted})]

    def nodes_and_neighbors(
        self,
        node_ids: Sequence[str],
        ids: Sequence[str],
        kinds: Mapping[Direction, Iterable[EdgeKind]],
        as_of: str | None = None,
    ) -> tuple[list[StoredNode], list[tuple[StoredEdge, Direction]]]:
        kinds = {way: list(of) for way, of in kinds.items()}
        nodes_held = all(i in self._covered for i in node_ids)
        edges_held = self._holds(ids, kinds, as_of)
        if not nodes_held and not edges_held:
            return self._store.nodes_and_neighbors(node_ids, ids, kinds, as_of)
        nodes = self.get_nodes(node_ids)
        edges = self._edges(ids, kinds) if edges_held else None
        if edges is None:
            edges = self._store.neighbors_each_way(ids, kinds, as_of)
        return nodes, edges

"""Bounded breadth-first traversal over the store, one frontier per round trip.

Never enumerates paths (a lattice of diamonds has exponentially many): each node is reached once
per pass, with a parent pointer from which one shortest explaining path is rebuilt. A node's
certainty is the best over all paths: `exact` if some path uses only exact (field-level) steps,
found by a first pass over exact steps alone; everything else reached is `possible`.

The steps followed are a policy (which edge kinds, which way, how certain), so impact and root
cause share this code and differ only in their step tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from graph.errors import InvalidArgument, NotFound
from graph.model import Certainty, EdgeKind, NodeKind
from graph.mutations import Direction
from graph.records import StoredEdge, StoredNode
from graph.store import GraphStore
from queries.arguments import check_depth


@dataclass(frozen=True, slots=True)
class Step:
    """Follow `kind` edges in `direction`; `certainty` None keeps the certainty it arrived with
    (e.g. from a column to the dataset holding it)."""

    kind: EdgeKind
    direction: Direction
    certainty: Certainty | None


@dataclass(frozen=True, slots=True)
class Hop:
    edge: StoredEdge
    direction: Direction  # the way it was walked

    @property
    def to(self) -> str:
        return self.edge.key.dst.id if self.direction is Direction.OUT else self.edge.key.src.id


@dataclass(frozen=True, slots=True)
class Reached:
    node_id: str
    distance: int
    certainty: Certainty
    path: tuple[Hop, ...]  # from the start to this node


@dataclass(slots=True)
class Traversal:
    start: tuple[str, ...]
    reached: dict[str, Reached] = field(default_factory=dict)
    truncated: bool = False  # stopped at max_nodes before the frontier ran out
    visited_edges: int = 0


def traverse(
    store: GraphStore,
    start: Iterable[str],
    steps: Sequence[Step],
    *,
    max_depth: int = 10,
    as_of: str | None = None,
    max_nodes: int = 100_000,
) -> Traversal:
    """Everything reachable from `start` along `steps` within `max_depth` hops.

    Two BFS at once, level by level, sharing each round trip: one over exact (and
    certainty-keeping) steps only, one over all steps. A node is exact if the first reaches it
    (its path there is exact), else possible with the second's shortest path.
    """
    check_depth(max_depth)
    if max_nodes < 1:
        raise InvalidArgument("max_nodes must be positive")
    start = tuple(dict.fromkeys(start))
    by_direction: dict[Direction, dict[EdgeKind, Step]] = {}
    for step in steps:
        by_direction.setdefault(step.direction, {})[step.kind] = step
    exact: dict[str, tuple[Hop, ...]] = {s: () for s in start}
    every: dict[str, tuple[Hop, ...]] = {s: () for s in start}
    exact_frontier, every_frontier = list(start), list(start)
    result = Traversal(start)
    for _depth in range(max_depth):
        ids = list(dict.fromkeys([*exact_frontier, *every_frontier]))
        if not ids:
            break
        ways = {direction: kinds.keys() for direction, kinds in by_direction.items()}
        found = [Hop(edge, way) for edge, way in store.neighbors_each_way(ids, ways, as_of)]
        result.visited_edges += len(found)
        # deterministic: by the node we came from (frontier order), then edge id
        order = {node: i for i, node in enumerate(ids)}
        found.sort(key=lambda h: (order[_origin(h)], h.edge.key.id))
        in_exact, in_every = set(exact_frontier), set(every_frontier)
        exact_frontier, every_frontier = [], []
        for hop in found:
            origin, step = _origin(hop), by_direction[hop.direction][hop.edge.key.kind]
            if len(every) - len(start) >= max_nodes:
                result.truncated = True
                break
            if (
                origin in in_exact
                and step.certainty is not Certainty.POSSIBLE
                and (hop.to not in exact)
            ):
                exact[hop.to] = (*exact[origin], hop)
                exact_frontier.append(hop.to)
            if origin in in_every and hop.to not in every:
                every[hop.to] = (*every[origin], hop)
                every_frontier.append(hop.to)
        if result.truncated:
            break
    starting = set(start)  # a set: `in` on the tuple was quadratic for walks with many starts
    for node_id, path in every.items():
        if node_id in starting:
            continue
        if node_id in exact:
            best = exact[node_id]
            result.reached[node_id] = Reached(node_id, len(best), Certainty.EXACT, best)
        else:
            result.reached[node_id] = Reached(node_id, len(path), Certainty.POSSIBLE, path)
    return result


def _origin(hop: Hop) -> str:
    return hop.edge.key.src.id if hop.direction is Direction.OUT else hop.edge.key.dst.id


def start_nodes(store: GraphStore, node_id: str, as_of: str | None) -> tuple[StoredNode, list[str]]:
    """The start node, and the ids a walk from it begins with: a dataset stands for itself and
    each of its columns (a change to it is a change to them; its columns' sources are its own)."""
    start = store.get_node(node_id)
    if start is None:
        raise NotFound(f"no node with id {node_id}")
    ids = [node_id]
    if start.key.kind is NodeKind.DATASET:
        columns = store.neighbors([node_id], Direction.OUT, [EdgeKind.HAS_COLUMN], as_of)
        ids += [e.key.dst.id for e in columns]
    return start, ids


def flow_steps(direction: Direction, extra: Mapping[EdgeKind, Certainty | None] = {}) -> list[Step]:
    """Every lineage (flow) edge kind, walked `direction`, at its own certainty, plus extras."""
    steps = [
        Step(kind, direction, kind.spec.certainty)
        for kind in EdgeKind
        if kind.is_flow and kind not in extra
    ]
    steps += [Step(kind, direction, certainty) for kind, certainty in extra.items()]
    return steps

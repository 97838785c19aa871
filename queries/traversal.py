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

from graph.errors import InvalidArgument
from graph.model import Certainty, EdgeKind
from graph.mutations import Direction
from graph.records import StoredEdge
from graph.store import GraphStore

MAX_DEPTH = 25


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


def _walk(
    store: GraphStore,
    start: Sequence[str],
    *,
    steps: Sequence[Step],
    max_depth: int,
    as_of: str | None,
    max_nodes: int,
) -> tuple[dict[str, tuple[Hop, ...]], bool, int]:
    """Plain BFS with parent pointers over `steps`; returns node -> path, truncated, edges seen."""
    by_direction: dict[Direction, dict[EdgeKind, Step]] = {}
    for step in steps:
        by_direction.setdefault(step.direction, {})[step.kind] = step
    paths: dict[str, tuple[Hop, ...]] = {s: () for s in start}
    frontier = list(dict.fromkeys(start))
    seen_edges, truncated = 0, False
    for _depth in range(max_depth):
        if not frontier:
            break
        found: list[Hop] = []
        for direction, kinds in by_direction.items():
            for edge in store.neighbors(frontier, direction, kinds.keys(), as_of):
                found.append(Hop(edge, direction))
        seen_edges += len(found)
        # deterministic order: by the node we came from (frontier order), then edge id
        order = {node: i for i, node in enumerate(frontier)}
        found.sort(key=lambda h: (order[_origin(h)], h.edge.key.id))
        next_frontier: list[str] = []
        for hop in found:
            if hop.to in paths:
                continue
            if len(paths) - len(start) >= max_nodes:
                truncated = True
                break
            paths[hop.to] = (*paths[_origin(hop)], hop)
            next_frontier.append(hop.to)
        if truncated:
            break
        frontier = next_frontier
    return paths, truncated, seen_edges


def _origin(hop: Hop) -> str:
    return hop.edge.key.src.id if hop.direction is Direction.OUT else hop.edge.key.dst.id


def traverse(
    store: GraphStore,
    start: Iterable[str],
    steps: Sequence[Step],
    *,
    max_depth: int = 10,
    as_of: str | None = None,
    max_nodes: int = 100_000,
) -> Traversal:
    """Everything reachable from `start` along `steps` within `max_depth` hops."""
    if not 1 <= max_depth <= MAX_DEPTH:
        raise InvalidArgument(f"depth must be between 1 and {MAX_DEPTH}")
    if max_nodes < 1:
        raise InvalidArgument("max_nodes must be positive")
    start = tuple(dict.fromkeys(start))
    # pass 1: exact steps and certainty-keeping ones only — every path found there is exact
    exact_steps = [s for s in steps if s.certainty in (Certainty.EXACT, None)]
    bounds = {"max_depth": max_depth, "as_of": as_of, "max_nodes": max_nodes}
    exact, exact_cut, edges_a = _walk(store, start, steps=exact_steps, **bounds)
    # pass 2: all steps — shortest paths for what is only possibly reached
    everything, all_cut, edges_b = _walk(store, start, steps=steps, **bounds)
    result = Traversal(start, truncated=exact_cut or all_cut, visited_edges=edges_a + edges_b)
    for node_id, path in everything.items():
        if node_id in start:
            continue
        if node_id in exact:
            best = exact[node_id]
            result.reached[node_id] = Reached(node_id, len(best), Certainty.EXACT, best)
        else:
            result.reached[node_id] = Reached(node_id, len(path), Certainty.POSSIBLE, path)
    return result


def flow_steps(direction: Direction, extra: Mapping[EdgeKind, Certainty | None] = {}) -> list[Step]:
    """Every lineage (flow) edge kind, walked `direction`, at its own certainty, plus extras."""
    steps = [
        Step(kind, direction, kind.spec.certainty)
        for kind in EdgeKind
        if kind.is_flow and kind not in extra
    ]
    steps += [Step(kind, direction, certainty) for kind, certainty in extra.items()]
    return steps

"""The production side of the graph, read once per evaluation and shared by the rules: the
decision points, the deployments open at the evaluation time, the model versions serving (not
shadow) and the upstream chain of those versions: one bounded breadth-first walk from all of
them at once, each node once, one store read per level (on Neo4j the whole walk is read ahead in
one statement, `GraphStore.reach`, as queries/traversal.py does). Not traversal.py's `traverse`
itself: its second pass, for certainty, and its paths per walk state doubled the work of a walk
that needs neither.

A deployment is open at `at` when its declared window (`valid_from` <= at < `valid_until`, else
the edge's life in the graph) holds it: queries/deployments.py `serves_at`, the same test the
decision questions use. Shadow deployments see traffic but decide nothing: they do not serve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.queries.deployments import SHADOW, declared_time, serves_at
from lineage_kg.queries.governance.model import Context
from lineage_kg.queries.traversal import PLAIN, Step, moves

K, E = NodeKind, EdgeKind

# Every node of a kind is found through `GraphStore.search` (each store's full scan, one read).
SCAN_LIMIT = 10_000_000

# Upstream of a serving version: every flow edge backwards (training runs, the versions they
# read, the runs that wrote those, features, feature services, metrics), a column's dataset,
# and a version's dataset or model, so dataset-level lineage goes on from a version read (the
# steps of queries/assets.py UPSTREAM_STEPS, and HAS_VERSION).
CHAIN_EDGES: tuple[EdgeKind, ...] = (
    *(kind for kind in EdgeKind if kind.is_flow),
    E.HAS_COLUMN,
    E.HAS_VERSION,
)
_CHAIN_MOVES = moves([Step(kind, Direction.IN, None) for kind in CHAIN_EDGES])


def nodes_of_kind(ctx: Context, kind: NodeKind) -> list[StoredNode]:
    """Every node of `kind`, by display name (read once per evaluation)."""
    key = ("kind", kind)
    if key not in ctx.cache:
        ctx.cache[key] = ctx.store.search("", [kind], SCAN_LIMIT)
    found: list[StoredNode] = ctx.cache[key]
    return found


def deployment_start(edge: StoredEdge) -> str:
    return declared_time(edge, "valid_from") or edge.first_seen


def deployment_mode(edge: StoredEdge) -> str:
    mode = edge.props.get("mode")
    return mode if isinstance(mode, str) and mode else (edge.key.disc or "champion")


@dataclass(frozen=True, slots=True)
class Production:
    open: list[StoredEdge]  # DEPLOYED_TO edges open at `at`, every mode, by edge id
    serving: dict[str, list[StoredEdge]]  # version id -> its open non-shadow deployments

    @property
    def versions(self) -> list[str]:
        return sorted(self.serving)

    @property
    def points(self) -> list[str]:
        """The decision points some version serves: the production decision points."""
        return sorted({e.key.dst.id for edges in self.serving.values() for e in edges})

    def first(self, version: str) -> StoredEdge:
        """The deployment a violation's path goes through: the version's first by edge id."""
        return self.serving[version][0]


def production(ctx: Context) -> Production:
    if "production" in ctx.cache:
        found: Production = ctx.cache["production"]
        return found
    points = [n.id for n in nodes_of_kind(ctx, K.DECISION_POINT)]
    reads: Sequence[str | None] = (None,) if ctx.as_of is None else (None, ctx.as_of)
    edges = {
        e.key.id: e
        for when in reads
        for e in ctx.store.neighbors(points, Direction.IN, [E.DEPLOYED_TO], when)
    }
    open_now = sorted((e for e in edges.values() if serves_at(e, ctx.at)), key=lambda e: e.key.id)
    serving: dict[str, list[StoredEdge]] = {}
    for edge in open_now:
        if deployment_mode(edge) != SHADOW:
            serving.setdefault(edge.key.src.id, []).append(edge)
    ctx.cache["production"] = found = Production(open_now, serving)
    return found


@dataclass(slots=True)
class Chain:
    """What one breadth-first walk upstream reached: each node once, with the edge it was first
    reached by (BFS: one shortest path back to a start), its key and its distance."""

    starts: tuple[str, ...]
    parent: dict[str, StoredEdge] = field(default_factory=dict)  # its dst: the node walked from
    keys: dict[str, NodeKey] = field(default_factory=dict)
    distance: dict[str, int] = field(default_factory=dict)
    truncated: bool = False

    def edges_to(self, node_id: str) -> list[StoredEdge]:
        """The edges from a start to `node_id`, in walking order."""
        found = []
        while (edge := self.parent.get(node_id)) is not None:
            found.append(edge)
            node_id = edge.key.dst.id
        return found[::-1]

    def path_to(self, node_id: str) -> list[str]:
        """Node ids from a start to `node_id`."""
        edges = self.edges_to(node_id)
        return [edges[0].key.dst.id, *(e.key.src.id for e in edges)] if edges else [node_id]


def upstream_chain(ctx: Context, depth: int) -> Chain:
    """Everything upstream of the serving versions within `depth` hops (`CHAIN_EDGES` walked
    backwards), breadth-first from all of them at once, each node once, one read per level, at
    most `ctx.max_nodes` nodes (read once per evaluation and depth)."""
    key = ("chain", depth)
    if key in ctx.cache:
        found: Chain = ctx.cache[key]
        return found
    starts = tuple(production(ctx).versions)
    chain = Chain(starts)
    seen = set(starts)
    frontier = list(starts)
    # a store that can (Neo4j) reads the whole walk ahead in one statement; else one read a level
    ahead = ctx.store.reach(
        starts,
        _CHAIN_MOVES,
        start_state=PLAIN,
        max_depth=depth,
        as_of=ctx.as_of,
        limit=ctx.max_nodes + len(starts),
    )
    for level in range(1, depth + 1):
        if not frontier or chain.truncated:
            break
        order = {node: i for i, node in enumerate(frontier)}
        edges = (
            ctx.store.neighbors(frontier, Direction.IN, CHAIN_EDGES, ctx.as_of)
            if ahead is None
            else [e for e, _ in ahead.neighbors_each_way(frontier, {Direction.IN: CHAIN_EDGES})]
        )
        # the same order on every store: by the node walked from (frontier order), then edge id
        edges.sort(key=lambda e: (order[e.key.dst.id], e.key.id))
        frontier = []
        for edge in edges:
            far = edge.key.src
            if far.id in seen:
                continue
            if len(seen) - len(starts) >= ctx.max_nodes:
                chain.truncated = True
                break
            seen.add(far.id)
            chain.parent[far.id] = edge
            chain.keys[far.id] = far
            chain.distance[far.id] = level
            frontier.append(far.id)
    ctx.truncated = ctx.truncated or chain.truncated
    ctx.cache[key] = chain
    return chain

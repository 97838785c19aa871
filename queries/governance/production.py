"""The production side of the graph, read once per evaluation and shared by the rules: the
decision points, the deployments open at the evaluation time, the model versions serving (not
shadow) and the upstream chain of those versions: one bounded breadth-first walk from all of
them at once, each node once, one store read per level of the edges' ends alone; the edges of
a violation's path are read when it is found. Not queries/traversal.py's `traverse`: its second
pass, for certainty, and its paths per walk state doubled the work of a walk that needs neither;
nor its read-ahead on Neo4j (`GraphStore.reach`), slower here than ten level reads (10k
estate, 1.5-2.6 s against 3.4-4.0 s, same run, loaded).

A deployment is open at `at` when its declared window (`valid_from` <= at < `valid_until`, else
the edge's life in the graph) holds it: queries/deployments.py `serves_at`, the same test the
decision questions use. Shadow deployments see traffic but decide nothing: they do not serve.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.queries.deployments import SHADOW, declared_time, serves_at
from lineage_kg.queries.governance.model import Context

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
    """What one breadth-first walk upstream reached: each node once, with the node it was first
    reached from (BFS: one shortest path back to a start) and its distance. The edges of a path
    are read when a violation needs them (`edges_to`)."""

    starts: tuple[str, ...]
    parent: dict[str, str] = field(default_factory=dict)  # node id -> the node reached from
    distance: dict[str, int] = field(default_factory=dict)
    edge: dict[str, StoredEdge] = field(default_factory=dict)  # node id -> its edge, once read
    truncated: bool = False

    def path_to(self, node_id: str) -> list[str]:
        """Node ids from a start to `node_id`."""
        path = [node_id]
        while (parent := self.parent.get(path[-1])) is not None:
            path.append(parent)
        return path[::-1]

    def of_kinds(self, kinds: Collection[NodeKind]) -> list[str]:
        """The nodes reached of `kinds` (a node id begins with its kind), closest first."""
        prefixes = tuple(f'["{kind.value}",' for kind in kinds)
        found = [n for n in self.distance if n.startswith(prefixes)]
        return sorted(found, key=lambda n: (self.distance[n], n))


def edges_to(ctx: Context, chain: Chain, node_ids: Iterable[str]) -> dict[str, list[StoredEdge]]:
    """node id -> the edges of its path from a start, in walking order: the edge each step was
    first reached by (the first by edge id from its parent, as the walk took it), the ones not
    read yet in one read."""
    paths = {n: chain.path_to(n) for n in node_ids}
    missing = {c for path in paths.values() for c in path[1:] if c not in chain.edge}
    if missing:
        parents = sorted({chain.parent[c] for c in missing})
        for edge in ctx.store.neighbors(parents, Direction.IN, CHAIN_EDGES, ctx.as_of):
            child = edge.key.src.id
            if child in missing and chain.parent[child] == edge.key.dst.id:
                chain.edge.setdefault(child, edge)
    return {n: [chain.edge[c] for c in path[1:]] for n, path in paths.items()}


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
    for level in range(1, depth + 1):
        if not frontier or chain.truncated:
            break
        order = {node: i for i, node in enumerate(frontier)}
        # the edges' ends alone, by edge id (as `neighbors`): the embedded store builds no edge
        read = ctx.store.neighbor_ends(frontier, Direction.IN, CHAIN_EDGES, ctx.as_of)
        # the same order on every store: by the node walked from (frontier order), then edge id
        read.sort(key=lambda r: order[r[1]])  # stable: edge id order within a node
        frontier = []
        for far, near in read:
            if far in seen:
                continue
            if len(seen) - len(starts) >= ctx.max_nodes:
                chain.truncated = True
                break
            seen.add(far)
            chain.parent[far] = near
            chain.distance[far] = level
            frontier.append(far)
    ctx.truncated = ctx.truncated or chain.truncated
    ctx.cache[key] = chain
    return chain

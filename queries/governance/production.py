"""The production side of the graph, read once per evaluation and shared by the rules: the
decision points, the deployments open at the evaluation time, the model versions serving (not
shadow) and the upstream chain of those versions (one bounded breadth-first walk from all of
them at once, queries/traversal.py).

A deployment is open at `at` when its declared window (`valid_from` <= at < `valid_until`, else
the edge's life in the graph) holds it: queries/deployments.py `serves_at`, the same test the
decision questions use. Shadow deployments see traffic but decide nothing: they do not serve.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.assets import ASSET_KINDS, PART_OF, UPSTREAM_STEPS
from lineage_kg.queries.deployments import SHADOW, declared_time, serves_at
from lineage_kg.queries.governance.model import Context
from lineage_kg.queries.traversal import Hop, Step, Traversal, traverse

K, E = NodeKind, EdgeKind

# Every node of a kind is found through `GraphStore.search` (each store's full scan, one read).
SCAN_LIMIT = 10_000_000

# Upstream of a serving version: every flow edge backwards (training runs, the versions they
# read, the runs that wrote those, features, feature services, metrics), a column's dataset,
# and a version's dataset or model, so dataset-level lineage goes on from a version read.
CHAIN_STEPS: list[Step] = [*UPSTREAM_STEPS, Step(E.HAS_VERSION, Direction.IN, None)]


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


def upstream_chain(ctx: Context, depth: int) -> Traversal:
    """Everything upstream of the serving versions within `depth` hops, each node once, with one
    shortest path from a serving version (read once per evaluation and depth)."""
    key = ("chain", depth)
    if key not in ctx.cache:
        walk = traverse(
            ctx.store,
            production(ctx).versions,
            CHAIN_STEPS,
            max_depth=depth,
            as_of=ctx.as_of,
            max_nodes=ctx.max_nodes,
        )
        ctx.truncated = ctx.truncated or walk.truncated
        ctx.cache[key] = walk
    found: Traversal = ctx.cache[key]
    return found


def path_ids(start: str, hops: Iterable[Hop]) -> list[str]:
    return [start, *(hop.to for hop in hops)]


def hop_origin(hops: Sequence[Hop], fallback: str) -> str:
    """The node a walk's path starts from."""
    if not hops:
        return fallback
    first = hops[0]
    return first.edge.key.src.id if first.direction is Direction.OUT else first.edge.key.dst.id


def assets_of_ids(store: GraphStore, ids: Iterable[str], as_of: str | None) -> dict[str, str]:
    """node id -> the asset it is or belongs to (queries/assets.py's model), from the ids alone
    (a node's kind is in its id): one edge read per direction, no node read."""
    found: dict[str, str] = {}
    parts: dict[Direction, list[str]] = {}
    for node_id in dict.fromkeys(ids):
        kind = NodeKey.from_id(node_id).kind
        if kind in ASSET_KINDS:
            found[node_id] = node_id
        elif (link := PART_OF.get(kind)) is not None:
            parts.setdefault(link[1], []).append(node_id)
    for direction, part_ids in sorted(parts.items()):
        kinds = {kind for kind, way in PART_OF.values() if way is direction}
        # sorted by edge id: a part with two assets (rare) gets the first, on every store
        for edge in store.neighbors(part_ids, direction, kinds, as_of):
            src, dst = edge.key.src.id, edge.key.dst.id
            part, asset = (dst, src) if direction is Direction.IN else (src, dst)
            found.setdefault(part, asset)
    return found

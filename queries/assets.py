"""The asset-and-ownership model every question about owners and upstream shares
(accountability, decision traces, suspects).

Which nodes are *assets* (things someone owns: a dataset, a job, a model, …) and which are
*parts* of one (a column, a dataset version, a run, a feature, a model version). Ownership is
declared on assets, so a part is judged by its asset: a column is owned by whoever owns its
dataset. Also: who owns what (with aliases and leavers), a job's runs and a dataset's versions,
and which assets a walk reached and how close.

Conventions:
- an owner has left when its `left_at` prop is set (and, with `as_of`, is not after it), or, with
  no `left_at`, when its `status` prop is "left";
- a job's latest run is the one started last (`started_at`, else first seen), ties by run id;
- a dataset's latest version is the one first seen last, ties by id; node props are not
  time-travelled, so `as_of` narrows the edges walked but judges runs and versions as they are;
- an owner named by one of its aliases (`a.smith`, `ASmith@Corp.com` -ALIAS_OF-> the person)
  is that owner: what the alias owns, the owner owns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.model import KEY_FIELDS, Certainty, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import EdgeEvents, StoredEdge, StoredNode
from lineage_kg.graph.resolve import resolve
from lineage_kg.graph.store import GraphStore, keep_first_assets
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries.impact import canonical_owners
from lineage_kg.queries.traversal import Traversal, flow_steps

K, E = NodeKind, EdgeKind

# Things an owner is accountable for.
ASSET_KINDS = frozenset(
    {
        K.DATASET,
        K.JOB,
        K.FEATURE_VIEW,
        K.FEATURE_SERVICE,
        K.MODEL,
        K.DECISION_POINT,
        K.KPI,
        K.EXPOSURE,
    }
)
# A part and the edge from it to its asset. Decisions and owners are neither assets nor parts.
PART_OF: dict[NodeKind, tuple[EdgeKind, Direction]] = {
    K.COLUMN: (E.HAS_COLUMN, Direction.IN),
    K.DATASET_VERSION: (E.HAS_VERSION, Direction.IN),
    K.MODEL_VERSION: (E.HAS_VERSION, Direction.IN),
    K.FEATURE: (E.HAS_FEATURE, Direction.IN),
    K.RUN: (E.RUN_OF, Direction.OUT),
}
# the edge kinds a part is read along to its asset, each way (sorted: every store reads alike)
PART_KINDS: dict[Direction, tuple[EdgeKind, ...]] = {
    way: tuple(sorted({kind for kind, w in PART_OF.values() if w is way})) for way in Direction
}
# Parts that start a walk together with their asset: a change to a dataset is a change to its
# columns and versions. A job's runs are left out (there is one per execution; the job's own
# INPUT_TO/PRODUCES edges already say what it reads and writes).
WALK_PARTS = (E.HAS_COLUMN, E.HAS_VERSION, E.HAS_FEATURE)

# Upstream: every flow edge walked backwards, and from a column to the dataset that holds it
# (whatever produces the dataset produces the column).
UPSTREAM_STEPS = flow_steps(Direction.IN, {E.HAS_COLUMN: None})

FAILED_STATES = frozenset({"FAIL", "ABORT"})


def node_ref(store: GraphStore, ref: str, kind: NodeKind, name: str) -> StoredNode:
    """The node `ref` names: a node id, or else the one key value of a `kind` node, as anyone
    writes it (`Priya.Raman@Example.com` is `priya.raman@example.com`): graph/resolve.py."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidArgument(f"{name} must be a non-empty string")
    if ref.startswith("["):
        try:
            key = NodeKey.from_id(ref)
        except ValueError as exc:
            raise InvalidArgument(f"{name} is not a node id: {ref!r}") from exc
    else:
        # kinds looked up this way (Decision, Owner) have a one-field key
        (field_name,) = KEY_FIELDS[kind]
        key = NodeKey.of(kind, **{field_name: ref})
    return resolve(store, key).node


def events(*items: StoredNode | StoredEdge | EdgeEvents | None) -> tuple[str, ...]:
    """Evidence: the ids of the first and last events that asserted each node or edge (and the
    event that retired an edge), sorted. An edge may be given as its `EdgeEvents` (the decision
    trace's path edges on Neo4j: graph/neo4j_trace_evidence.py)."""
    found: set[str] = set()
    for item in items:
        if item is None:
            continue
        if isinstance(item, tuple):
            first, last, retired_by = item
        elif isinstance(item, StoredEdge):
            first, last, retired_by = item.first_event, item.last_event, item.retired_by
        else:
            found.update((item.first_event, item.last_event))
            continue
        found.update((first, last))
        if retired_by:
            found.add(retired_by)
    return tuple(sorted(found))


def has_left(owner: StoredNode, as_of: str | None = None) -> bool:
    left_at = owner.props.get("left_at")
    if isinstance(left_at, str) and left_at:
        try:
            when = canonical_time(left_at)
        except ValueError:
            return True  # a date we cannot read still says they left
        return as_of is None or when <= as_of
    return str(owner.props.get("status", "")).strip().lower() == "left"


def assets_of(
    store: GraphStore, nodes: Iterable[StoredNode], as_of: str | None = None
) -> dict[str, str]:
    """node id -> id of the asset it is or belongs to (two batched reads at most)."""
    found: dict[str, str] = {}
    parts: dict[Direction, list[str]] = {}
    for node in nodes:
        if node.key.kind in ASSET_KINDS:
            found[node.id] = node.id
        elif (link := PART_OF.get(node.key.kind)) is not None:
            parts.setdefault(link[1], []).append(node.id)
    for direction, ids in sorted(parts.items()):
        kinds = {kind for kind, way in PART_OF.values() if way is direction}
        edges = store.neighbors(ids, direction, kinds, as_of)  # sorted by edge id
        keep_first_assets(found, direction, ((e.key.src.id, e.key.dst.id) for e in edges))
    return found


@dataclass(frozen=True, slots=True)
class Ownership:
    owner: StoredNode
    type: str  # the OWNS edge's discriminator: technical, business, …
    edge: StoredEdge
    left: bool

    @property
    def owner_id(self) -> str:
        return self.owner.key.parts[0]


def ownerships(
    store: GraphStore, asset_ids: Iterable[str], as_of: str | None = None
) -> dict[str, list[Ownership]]:
    """asset id -> its OWNS edges (by owner id, then type) with whether each owner has left.

    An OWNS edge from an alias (`a.smith`, `ASmith@Corp.com`) counts for the owner it is an
    alias of; one ownership per (owner, type)."""
    edges = store.neighbors(sorted(set(asset_ids)), Direction.IN, [E.OWNS], as_of)
    canonical = canonical_owners(store, (e.key.src.id for e in edges), as_of)
    owners = {n.id: n for n in store.get_nodes(sorted(set(canonical.values())))}
    found: dict[str, list[Ownership]] = {}
    seen: set[tuple[str, str, str]] = set()
    for edge in edges:
        owner = owners[canonical[edge.key.src.id]]
        if (edge.key.dst.id, owner.id, edge.key.disc) in seen:
            continue
        seen.add((edge.key.dst.id, owner.id, edge.key.disc))
        found.setdefault(edge.key.dst.id, []).append(
            Ownership(owner, edge.key.disc, edge, has_left(owner, as_of))
        )
    for held in found.values():
        held.sort(key=lambda o: (o.owner.id, o.type))
    return found


def run_started(run: StoredNode) -> str:
    value = run.props.get("started_at")
    return value if isinstance(value, str) and value else run.first_seen


def run_ended(run: StoredNode) -> str | None:
    value = run.props.get("ended_at")
    return value if isinstance(value, str) and value else None


def runs_of(
    store: GraphStore, job_ids: Sequence[str], as_of: str | None = None
) -> dict[str, list[StoredNode]]:
    """job id -> its runs, oldest first (by start, then run id)."""
    edges = store.neighbors(sorted(set(job_ids)), Direction.IN, [E.RUN_OF], as_of)
    runs = {n.id: n for n in store.get_nodes(sorted({e.key.src.id for e in edges}))}
    found: dict[str, list[StoredNode]] = {}
    for edge in edges:
        found.setdefault(edge.key.dst.id, []).append(runs[edge.key.src.id])
    return {job: sorted(rs, key=lambda r: (run_started(r), r.id)) for job, rs in found.items()}


def versions_of(
    store: GraphStore, dataset_ids: Sequence[str], as_of: str | None = None
) -> dict[str, list[StoredNode]]:
    """dataset id -> its versions, oldest first (by first seen, then id)."""
    edges = store.neighbors(sorted(set(dataset_ids)), Direction.OUT, [E.HAS_VERSION], as_of)
    nodes = {n.id: n for n in store.get_nodes(sorted({e.key.dst.id for e in edges}))}
    found: dict[str, list[StoredNode]] = {}
    for edge in edges:
        if edge.key.dst.kind is K.DATASET_VERSION:
            found.setdefault(edge.key.src.id, []).append(nodes[edge.key.dst.id])
    return {ds: sorted(vs, key=lambda v: (v.first_seen, v.id)) for ds, vs in found.items()}


def quality_failed(node: StoredNode) -> int:
    value = node.props.get("quality_failed")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True, slots=True)
class AssetReach:
    """How an asset was reached: the least distance and the best certainty over itself and its
    reached parts (a dataset is as close as its closest column)."""

    distance: int
    certainty: Certainty


@dataclass(slots=True)
class ReachedAssets:
    assets: dict[str, AssetReach]  # asset id -> reach, the walk's starts included at 0
    nodes: dict[str, StoredNode]  # every node reached, and every asset
    asset_of: dict[str, str]  # node id -> its asset id
    distance: dict[str, int]  # node id -> its own distance


def reached_assets(store: GraphStore, walk: Traversal, as_of: str | None) -> ReachedAssets:
    reach = {s: (0, Certainty.EXACT) for s in walk.start}
    reach.update({r.node_id: (r.distance, r.certainty) for r in walk.reached.values()})
    nodes = {n.id: n for n in store.get_nodes(sorted(reach))}
    asset_of = assets_of(store, nodes.values(), as_of)
    best: dict[str, AssetReach] = {}
    for node_id, (distance, certainty) in reach.items():
        if (asset := asset_of.get(node_id)) is None:
            continue
        seen = best.get(asset)
        if seen is None:
            best[asset] = AssetReach(distance, certainty)
        else:
            exact = Certainty.EXACT in (seen.certainty, certainty)
            best[asset] = AssetReach(
                min(distance, seen.distance), Certainty.EXACT if exact else Certainty.POSSIBLE
            )
    missing = sorted(a for a in best if a not in nodes)
    nodes.update({n.id: n for n in store.get_nodes(missing)})
    return ReachedAssets(
        dict(sorted(best.items())), nodes, asset_of, {k: v[0] for k, v in reach.items()}
    )

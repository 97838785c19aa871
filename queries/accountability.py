"""Accountability: "what am I accountable for?" — for a person or a team.

The answer holds what the owner owns (a person also through the teams they are a member of), the
KPIs that depend on it, the upstream assets it depends on and who owns those, the downstream
owners who depend on it, and the gaps in those chains: unowned assets, owners who have left,
jobs whose latest run failed, datasets whose latest version fails its quality checks.

The first half of this module is the small asset-and-ownership model that root cause shares:
which nodes are *assets* (things someone owns: a dataset, a job, a model, …) and which are *parts*
of one (a column, a dataset version, a run, a feature, a model version). Ownership is declared on
assets, so a part is judged by its asset: a column is owned by whoever owns its dataset.

Conventions:
- an owner has left when its `left_at` prop is set (and, with `as_of`, is not after it), or, with
  no `left_at`, when its `status` prop is "left";
- a job's latest run is the one started last (`started_at`, else first seen), ties by run id;
- a dataset's latest version is the one first seen last, ties by id; node props are not
  time-travelled, so `as_of` narrows the edges walked but judges runs and versions as they are;
- an owner named by one of its aliases (`a.smith`, `ASmith@Corp.com` -ALIAS_OF-> the person)
  is that owner: what the alias owns, the owner owns;
- membership is one level: a person's map holds their own assets and their teams' (marked
  `via` the team); a team's map holds the team's own, and lists its members.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from graph.errors import InvalidArgument
from graph.model import KEY_FIELDS, Certainty, EdgeKind, NodeKey, NodeKind
from graph.mutations import Direction
from graph.records import StoredEdge, StoredNode
from graph.resolve import resolve
from graph.store import GraphStore
from graph.timefmt import canonical_time
from queries.arguments import check_depth, time_arg
from queries.impact import canonical_owners, walk_downstream
from queries.traversal import Traversal, flow_steps, traverse

K, E = NodeKind, EdgeKind

# ---- the asset model (shared with root cause) ------------------------------------------------

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


def events(*items: StoredNode | StoredEdge | None) -> tuple[str, ...]:
    """Evidence: the ids of the first and last events that asserted each node or edge (and the
    event that retired an edge), sorted."""
    found: set[str] = set()
    for item in items:
        if item is None:
            continue
        found.update((item.first_event, item.last_event))
        if isinstance(item, StoredEdge) and item.retired_by:
            found.add(item.retired_by)
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
        # sorted by edge id: a part with two assets (rare) gets the first, on every store
        for edge in store.neighbors(ids, direction, kinds, as_of):
            src, dst = edge.key.src.id, edge.key.dst.id
            part, asset = (dst, src) if direction is Direction.IN else (src, dst)
            found.setdefault(part, asset)
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


# ---- the accountability answer ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnedAsset:
    node: StoredNode
    ownership_type: str  # the OWNS edge's discriminator
    via: str  # owner id holding the OWNS edge: the owner itself, or one of its teams


@dataclass(frozen=True, slots=True)
class RelatedAsset:
    node: StoredNode
    distance: int  # 0 for an owned KPI
    certainty: Certainty
    owners: tuple[str, ...]  # owner ids, departed ones included (see the gaps)


@dataclass(frozen=True, slots=True)
class OwnerLink:
    """Another owner in the chain, and their assets through which the link runs."""

    owner: str
    left: bool
    assets: tuple[str, ...]  # node ids, sorted


class GapKind(StrEnum):
    FAILING_QUALITY = "failing_quality"
    FAILING_RUN = "failing_run"
    OWNER_LEFT = "owner_left"
    UNOWNED = "unowned"


@dataclass(frozen=True, slots=True)
class Gap:
    kind: GapKind
    asset: StoredNode
    related: StoredNode | None  # the owner who left, the failing run, the failing version
    detail: str
    evidence: tuple[str, ...]


@dataclass(slots=True)
class AccountabilityMap:
    owner: StoredNode
    teams: list[str]  # owner ids of the teams the owner is a member of
    members: list[str]  # owner ids of the owner's members (for a team)
    owned: list[OwnedAsset]
    kpis: list[RelatedAsset]  # owned KPIs (distance 0) and KPIs downstream of owned assets
    upstream: list[RelatedAsset]  # assets the owned ones depend on (not owned by us)
    downstream: list[RelatedAsset]  # assets depending on the owned ones (not owned by us)
    upstream_owners: list[OwnerLink]
    downstream_owners: list[OwnerLink]
    gaps: list[Gap] = field(default_factory=list)
    truncated: bool = False


def accountability(
    store: GraphStore,
    owner_id: str,
    *,
    depth: int = 10,
    as_of: str | datetime | None = None,
    max_nodes: int = 100_000,
) -> AccountabilityMap:
    """What `owner_id` (an owner id such as `team:ml-risk`, or an Owner node id) answers for."""
    check_depth(depth)
    when = time_arg("as_of", as_of)
    owner = node_ref(store, owner_id, K.OWNER, "owner_id")
    if owner.key.kind is not K.OWNER:
        raise InvalidArgument(f"owner_id must name an Owner, not a {owner.key.kind}")

    # asked by an alias (`a.smith`): the answer is the owner's it is an alias of
    canonical = canonical_owners(store, [owner.id], when)[owner.id]
    if canonical != owner.id:
        owner = store.get_nodes([canonical])[0]

    # what is owned (or joined) under one of our aliases is ours: the alias is the owner it names
    my_aliases = [
        e.key.src.id for e in store.neighbors([owner.id], Direction.IN, [E.ALIAS_OF], when)
    ]
    teams = sorted(
        {
            e.key.dst.id
            for e in store.neighbors([owner.id, *my_aliases], Direction.OUT, [E.MEMBER_OF], when)
        }
    )
    members = sorted(
        e.key.src.id for e in store.neighbors([owner.id], Direction.IN, [E.MEMBER_OF], when)
    )
    us = {owner.id, *teams}
    alias_of = {a: owner.id for a in my_aliases} | {
        e.key.src.id: e.key.dst.id for e in store.neighbors(teams, Direction.IN, [E.ALIAS_OF], when)
    }

    owns = store.neighbors(sorted(us | set(alias_of)), Direction.OUT, [E.OWNS], when)
    nodes = {n.id: n for n in store.get_nodes(sorted({e.key.dst.id for e in owns}))}
    held = {
        (e.key.dst.id, e.key.disc, NodeKey.from_id(alias_of.get(e.key.src.id, e.key.src.id)))
        for e in owns
    }
    owned = sorted(
        (OwnedAsset(nodes[asset], disc, via.parts[0]) for asset, disc, via in held),
        key=lambda o: (o.node.key.display, o.node.id, o.via, o.ownership_type),
    )
    mine = set(nodes)
    parts = store.neighbors(sorted(mine), Direction.OUT, WALK_PARTS, when)
    starts = [*sorted(mine), *(e.key.dst.id for e in parts)]

    down_walk = walk_downstream(store, starts, depth=depth, as_of=when, max_nodes=max_nodes)
    up_walk = traverse(
        store, starts, UPSTREAM_STEPS, max_depth=depth, as_of=when, max_nodes=max_nodes
    )
    down, up = reached_assets(store, down_walk, when), reached_assets(store, up_walk, when)
    nodes.update(down.nodes)
    nodes.update(up.nodes)
    # distance 0: an owned asset, or the asset of an owned part (a column owned on its own)
    down_ids = [a for a, r in down.assets.items() if a not in mine and r.distance > 0]
    up_ids = [a for a, r in up.assets.items() if a not in mine and r.distance > 0]
    owns_of = ownerships(store, [*mine, *down_ids, *up_ids], when)

    def related(asset: str, reach: AssetReach) -> RelatedAsset:
        holders = sorted({o.owner_id for o in owns_of.get(asset, [])})
        return RelatedAsset(nodes[asset], reach.distance, reach.certainty, tuple(holders))

    def by_closeness(items: Iterable[RelatedAsset]) -> list[RelatedAsset]:
        return sorted(items, key=lambda r: (r.distance, r.node.key.display, r.node.id))

    downstream = by_closeness(related(a, down.assets[a]) for a in down_ids)
    upstream = by_closeness(related(a, up.assets[a]) for a in up_ids)
    owned_kpis = [
        related(a, AssetReach(0, Certainty.EXACT)) for a in mine if nodes[a].key.kind is K.KPI
    ]
    kpis = by_closeness([*owned_kpis, *(r for r in downstream if r.node.key.kind is K.KPI)])

    answer = AccountabilityMap(
        owner=owner,
        teams=[NodeKey.from_id(t).parts[0] for t in teams],
        members=[NodeKey.from_id(m).parts[0] for m in members],
        owned=owned,
        kpis=kpis,
        upstream=upstream,
        downstream=downstream,
        upstream_owners=_owner_links(up_ids, owns_of, us),
        downstream_owners=_owner_links(down_ids, owns_of, us),
        truncated=down_walk.truncated or up_walk.truncated,
    )
    answer.gaps = _gaps(
        store, nodes=nodes, mine=mine, up_ids=up_ids, down_ids=down_ids, owns_of=owns_of, when=when
    )
    return answer


def _owner_links(
    assets: list[str], owns_of: dict[str, list[Ownership]], us: set[str]
) -> list[OwnerLink]:
    found: dict[str, tuple[bool, set[str]]] = {}
    for asset in assets:
        for o in owns_of.get(asset, []):
            if o.owner.id not in us:
                found.setdefault(o.owner_id, (o.left, set()))[1].add(asset)
    return [OwnerLink(k, left, tuple(sorted(a))) for k, (left, a) in sorted(found.items())]


def _gaps(
    store: GraphStore,
    *,
    nodes: dict[str, StoredNode],
    mine: set[str],
    up_ids: list[str],
    down_ids: list[str],
    owns_of: dict[str, list[Ownership]],
    when: str | None,
) -> list[Gap]:
    gaps: list[Gap] = []
    chains = sorted(set(up_ids) | set(down_ids))
    for asset in chains:
        if not owns_of.get(asset):
            gaps.append(Gap(GapKind.UNOWNED, nodes[asset], None, "no owner", events(nodes[asset])))
    for asset in sorted(mine | set(chains)):
        for o in owns_of.get(asset, []):
            if o.left:
                detail = f"owner {o.owner_id} ({o.type}) has left"
                if all(x.left for x in owns_of[asset]):
                    detail += "; no remaining owner"
                evidence = events(nodes[asset], o.edge, o.owner)
                gaps.append(Gap(GapKind.OWNER_LEFT, nodes[asset], o.owner, detail, evidence))

    # failing runs and quality: of what we own and what we depend on, not of our dependants
    ours_and_upstream = sorted(mine | set(up_ids))
    jobs = [a for a in ours_and_upstream if nodes[a].key.kind is K.JOB]
    for job, runs in runs_of(store, jobs, when).items():
        latest = runs[-1]
        state = latest.props.get("state")
        if state in FAILED_STATES:
            detail = f"latest run {latest.key.parts[0]} is {state}"
            if message := latest.props.get("error_message"):
                detail += f": {message}"
            gaps.append(Gap(GapKind.FAILING_RUN, nodes[job], latest, detail, events(latest)))

    datasets = [a for a in ours_and_upstream if nodes[a].key.kind is K.DATASET]
    versions = versions_of(store, datasets, when)
    for ds in datasets:
        # the latest version speaks for the dataset; quality stated on the dataset itself only
        # counts when no version is known
        judged = versions[ds][-1] if ds in versions else nodes[ds]
        if failed := quality_failed(judged):
            passed = judged.props.get("quality_passed", 0)
            detail = f"{failed} quality check(s) failed, {passed} passed, on {judged.key.display}"
            related = judged if judged.id != ds else None
            gaps.append(Gap(GapKind.FAILING_QUALITY, nodes[ds], related, detail, events(judged)))

    gaps.sort(
        key=lambda g: (
            g.kind.value,
            g.asset.key.display,
            g.asset.id,
            g.related.id if g.related else "",
        )
    )
    return gaps

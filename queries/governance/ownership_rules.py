"""Rules about owners: who answers for the production chain, the decision points and the KPIs.

Ownership follows queries/assets.py: it is declared on assets (a column is its dataset's, a
feature its view's), an alias owns for the owner it names, and an owner has left when its
`left_at` is set (and not after the evaluation time) or its status is "left". An asset is
unaccountable when no owner that has not left holds it; "some owners left, others remain" is no
violation (the accountability question lists those).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries.assets import Ownership, events, ownerships
from lineage_kg.queries.governance.model import Context, Severity, Violation, later
from lineage_kg.queries.governance.production import (
    deployment_start,
    edges_to,
    nodes_of_kind,
    production,
    upstream_chain,
)

K, E = NodeKind, EdgeKind


@dataclass(frozen=True, slots=True)
class Gap:
    detail: str
    related: str | None  # the owner who left (the latest to leave), if any
    since: str | None  # when the last owner left; None: never owned (the caller dates it)
    evidence: tuple[StoredNode | StoredEdge, ...]


def left_at(owner: StoredNode) -> str | None:
    value = owner.props.get("left_at")
    if isinstance(value, str) and value:
        try:
            return canonical_time(value)
        except ValueError:
            return None
    return None


def ownership_gap(held: Sequence[Ownership], types: Collection[str] | None = None) -> Gap | None:
    """Why an asset held by `held` has nobody accountable (None: somebody is). With `types`,
    only ownerships of those types count."""
    counted = [o for o in held if types is None or o.type in types]
    if any(not o.left for o in counted):
        return None
    if not counted:
        what = f"no {' or '.join(sorted(types))} owner" if types else "no owner"
        return Gap(what, None, None, ())
    gone = sorted(counted, key=lambda o: (left_at(o.owner) or "", o.owner.id))
    names = ", ".join(sorted({o.owner_id for o in gone}))
    last = gone[-1]
    evidence = tuple(x for o in gone for x in (o.edge, o.owner))
    return Gap(
        f"owner(s) {names} have left; no remaining owner",
        last.owner.id,
        later(*(left_at(o.owner) for o in gone)),
        evidence,
    )


def _violation(
    rule: str,
    severity: Severity,
    node: StoredNode,
    path: Sequence[str],
    gap: Gap,
    *,
    since: str | None,
    more: Sequence[StoredNode | StoredEdge | None] = (),
    where: str = "",
) -> Violation:
    return Violation(
        rule,
        severity,
        node.id,
        tuple(path),
        events(node, *more, *gap.evidence),
        later(since, gap.since) if gap.since else since,
        f"{node.key.display}: {gap.detail}{where}",
        gap.related,
    )


def decision_point_without_owner(ctx: Context, severity: Severity) -> list[Violation]:
    """Every decision point with no accountable owner (any ownership type)."""
    points = nodes_of_kind(ctx, K.DECISION_POINT)
    held = ownerships(ctx.store, [p.id for p in points], ctx.as_of)
    found = []
    for point in points:
        if (gap := ownership_gap(held.get(point.id, []))) is not None:
            found.append(
                _violation(
                    "decision_point_without_owner",
                    severity,
                    point,
                    (point.id,),
                    gap,
                    since=point.first_seen,
                )
            )
    return found


def kpi_without_definition_owner(
    ctx: Context, severity: Severity, types: Collection[str]
) -> list[Violation]:
    """Every KPI with no accountable owner of its definition: an ownership of one of `types`
    (the catalog's KPI `owner` is the business owner)."""
    kpis = nodes_of_kind(ctx, K.KPI)
    held = ownerships(ctx.store, [k.id for k in kpis], ctx.as_of)
    found = []
    for kpi in kpis:
        if (gap := ownership_gap(held.get(kpi.id, []), set(types))) is not None:
            found.append(
                _violation(
                    "kpi_without_definition_owner",
                    severity,
                    kpi,
                    (kpi.id,),
                    gap,
                    since=kpi.first_seen,
                )
            )
    return found


def unowned_on_production_chain(
    ctx: Context, severity: Severity, depth: int, kinds: Collection[NodeKind]
) -> list[Violation]:
    """Assets of `kinds` on a production decision point's chain with no accountable owner: the
    KPIs the decision point drives, and every asset upstream of the versions serving it within
    `depth` hops. Each asset once, with the shortest path found: a driven KPI's first, else the
    walk's."""
    prod = production(ctx)
    if not prod.serving:
        return []
    store, rule = ctx.store, "unowned_on_production_chain"
    serving_at = {}  # production decision point -> its first serving deployment (by edge id)
    for edges in prod.serving.values():
        for edge in edges:
            seen = serving_at.get(edge.key.dst.id)
            if seen is None or edge.key.id < seen.key.id:
                serving_at[edge.key.dst.id] = edge
    # subject -> (path, the deployment it goes through, the edges of the path if known)
    chains: dict[str, tuple[list[str], StoredEdge, list[StoredEdge] | None]] = {}
    if K.KPI in kinds:
        for edge in store.neighbors(prod.points, Direction.OUT, [E.DRIVES], ctx.as_of):
            kpi, point = edge.key.dst.id, edge.key.src.id
            chains.setdefault(kpi, ([point, kpi], serving_at[point], [edge]))
    chain = upstream_chain(ctx, depth)
    # the walk reaches a part's asset one hop after the part (HAS_COLUMN, HAS_VERSION and
    # HAS_FEATURE are walked): the assets reached are the subjects, each by its own path
    for node_id in chain.of_kinds(kinds):
        if node_id not in chains:
            path = chain.path_to(node_id)
            deployment = prod.first(path[0])
            chains[node_id] = ([deployment.key.dst.id, *path], deployment, None)
    held = ownerships(store, list(chains), ctx.as_of)
    gaps = {a: g for a in chains if (g := ownership_gap(held.get(a, []))) is not None}
    nodes = {n.id: n for n in store.get_nodes(sorted(gaps))}
    walked = edges_to(ctx, chain, [a for a in gaps if chains[a][2] is None])
    found = []
    for asset, gap in gaps.items():
        path, deployment, edges = chains[asset]
        if asset not in nodes:
            continue
        node = nodes[asset]
        point = NodeKey.from_id(deployment.key.dst.id).display
        found.append(
            _violation(
                rule,
                severity,
                node,
                path,
                gap,
                since=later(deployment_start(deployment), node.first_seen),
                more=[deployment, *(edges if edges is not None else walked[asset])],
                where=f" (on the chain of decision point {point})",
            )
        )
    return found

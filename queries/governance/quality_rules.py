"""Rules about the data and the monitoring behind the models in production.

`serving_trained_on_failed_quality` reads each serving version's training data through the
decision trace (queries/decision_trace.py `decision_lineage` from the version: its training runs,
the exact dataset versions they read, the runs that wrote those, …) and its features' source
datasets, so the rule judges the very data the auditor's question shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from lineage_kg.graph.model import Certainty, EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries.assets import events, quality_failed, versions_of
from lineage_kg.queries.decision_trace import DecisionTrace, decision_lineage
from lineage_kg.queries.governance.model import Context, Severity, Violation, days_between, later
from lineage_kg.queries.governance.production import deployment_start, production
from lineage_kg.queries.traversal import Step, traverse

K, E = NodeKind, EdgeKind
FAILING = "fail"


def _trace_path(trace: DecisionTrace, node_id: str) -> list[str]:
    """Node ids from the trace's model version to `node_id`, along the steps' `via`."""
    steps = {s.node.id: s for s in trace.steps}
    path: list[str] = []
    at: str | None = node_id
    while at is not None and at not in path:
        path.append(at)
        at = steps[at].via if at in steps else None
    return path[::-1]


def _dataset_of(node: StoredNode) -> str | None:
    if node.key.kind is K.DATASET:
        return node.id
    if node.key.kind is K.DATASET_VERSION:
        namespace, name, _ = node.key.parts
        return NodeKey.of(K.DATASET, namespace=namespace, name=name).id
    return None


def check_since(check: StoredNode) -> str:
    """When a failing check began failing, as far as the graph tells: its last result that did
    not fail (`last_ok_at`, ingest/catalog), else its first result (it never passed)."""
    value = check.props.get("last_ok_at")
    if isinstance(value, str) and value:
        try:
            return canonical_time(value)
        except ValueError:
            pass
    return check.first_seen


def is_failing(check: StoredNode) -> bool:
    return str(check.props.get("status", "")).strip().lower() == FAILING


def serving_trained_on_failed_quality(
    ctx: Context, severity: Severity, depth: int, unowned_sources: bool, checks: bool
) -> list[Violation]:
    """A serving version whose training data (its decision trace, within `depth`) holds
    - a dataset version whose quality assertions failed (`quality_failed` > 0; a dataset read
      without a resolvable version is judged by its latest version, else by itself);
    - with `checks`, a dataset with a failing monitoring check (Check -CHECKS-> dataset);
    - with `unowned_sources`, a source (where the known chain ends) nobody owns.
    One violation per (version, culprit), with the path decision point → version → … culprit."""
    prod = production(ctx)
    found: list[Violation] = []
    for version in prod.versions:
        found += _trained_on(
            ctx, severity, version, depth=depth, unowned_sources=unowned_sources, checks=checks
        )
    return found


@dataclass(frozen=True, slots=True)
class _Seen:
    """A node of a version's training data, with its path from the version and its evidence."""

    node: StoredNode
    distance: int
    path: tuple[str, ...]  # from the version to the node
    evidence: tuple[str, ...]
    owners: tuple[str, ...] | None = None  # the trace's (data chain only)


# The feature side of a version's data: its features and feature services (FEEDS), their views
# (SERVES_FEATURES, HAS_FEATURE) and the datasets sourcing those (SOURCES). The trace's feature
# chain walks the features' column lineage too, but a column never leads to a dataset the rule
# judges (a dataset is reached from a view alone): its DATASET steps are exactly these.
_FEATURE_SOURCES = [
    Step(
        E.FEEDS,
        Direction.IN,
        Certainty.EXACT,
        accepts=lambda e: e.key.src.kind in (K.FEATURE, K.FEATURE_SERVICE),
    ),
    Step(E.SERVES_FEATURES, Direction.IN, Certainty.EXACT),
    Step(E.HAS_FEATURE, Direction.IN, Certainty.EXACT),
    Step(E.SOURCES, Direction.IN, Certainty.POSSIBLE),
]


def _training_data(ctx: Context, version: str, depth: int) -> tuple[list[_Seen], list[str]]:
    """The version's training data, closest first: the data chain of its decision trace (the
    runs, the exact versions read, their writers, …) and its features' source datasets; and the
    trace's sources (where the known chain ends)."""
    store = ctx.store
    trace = decision_lineage(
        store, version, depth=depth, as_of=ctx.as_of, max_nodes=ctx.max_nodes, features=False
    )
    walk = traverse(
        store, [version], _FEATURE_SOURCES, max_depth=depth, as_of=ctx.as_of,
        max_nodes=ctx.max_nodes,
    )  # fmt: skip
    ctx.truncated = ctx.truncated or trace.truncated or walk.truncated
    seen = [
        _Seen(s.node, s.distance, tuple(_trace_path(trace, s.node.id)), s.evidence, s.owners)
        for s in trace.data
    ]
    reached = [r for r in walk.reached.values() if r.node_id.startswith('["Dataset",')]
    nodes = {n.id: n for n in store.get_nodes(sorted(r.node_id for r in reached))}
    for r in reached:
        node = nodes[r.node_id]
        path = (version, *(hop.to for hop in r.path))
        seen.append(_Seen(node, r.distance, path, events(node, r.path[-1].edge)))
    seen.sort(key=lambda x: (x.distance, x.node.id))
    return seen, trace.sources


def _trained_on(
    ctx: Context,
    severity: Severity,
    version: str,
    *,
    depth: int,
    unowned_sources: bool,
    checks: bool,
) -> list[Violation]:
    store, rule = ctx.store, "serving_trained_on_failed_quality"
    deployment = production(ctx).first(version)
    began = deployment_start(deployment)
    point = deployment.key.dst.id
    data, sources = _training_data(ctx, version, depth)
    whole = [s.node.id for s in data if s.node.key.kind is K.DATASET]
    latest = versions_of(store, whole, ctx.as_of)
    found: list[Violation] = []

    def add(
        at: _Seen,
        culprit: StoredNode,
        detail: str,
        *more: StoredNode | StoredEdge,
        since: str | None = None,
    ) -> None:
        path = [point, *at.path]
        if path[-1] != culprit.id:
            path.append(culprit.id)
        found.append(
            Violation(
                rule,
                severity,
                version,
                tuple(path),
                tuple(sorted({*events(deployment, culprit, *more), *at.evidence})),
                later(began, since or culprit.first_seen),
                f"{NodeKey.from_id(version).display} serves "
                f"{NodeKey.from_id(point).display} and was trained on {detail}",
                culprit.id,
            )
        )

    datasets: dict[str, _Seen] = {}  # dataset id -> the closest step naming it
    for at in data:
        node = at.node
        if (ds := _dataset_of(node)) is not None:
            datasets.setdefault(ds, at)
        if node.key.kind is K.DATASET_VERSION or node.key.kind is K.DATASET:
            judged = latest[node.id][-1] if node.id in latest else node
            if failed := quality_failed(judged):
                passed = judged.props.get("quality_passed", 0)
                what = f"{judged.key.display}: {failed} quality check(s) failed, {passed} passed"
                add(at, judged, what)
    if checks and datasets:
        checked = store.neighbors(sorted(datasets), Direction.IN, [E.CHECKS], ctx.as_of)
        nodes = {n.id: n for n in store.get_nodes(sorted({e.key.src.id for e in checked}))}
        for edge in checked:
            check = nodes.get(edge.key.src.id)
            if check is None or not is_failing(check):
                continue
            name = check.key.fields["name"]
            what = f"{edge.key.dst.display}, whose check {name} fails"
            add(datasets[edge.key.dst.id], check, what, edge, since=check_since(check))
    if unowned_sources:
        by_id = {at.node.id: at for at in data if at.owners is not None}
        for source in sources:
            at = by_id.get(source)
            if at is not None and not at.owners:
                add(at, at.node, f"{at.node.key.display}, a source nobody owns")
    return found


def check_failing_too_long(ctx: Context, severity: Severity, days: float) -> list[Violation]:
    """A monitoring check on a serving version (Check -CHECKS-> ModelVersion) whose latest result
    fails and that has been failing for more than `days` at the evaluation time, counted from
    `check_since`. Judged by its latest result (node props are not time-travelled)."""
    prod = production(ctx)
    store = ctx.store
    edges = store.neighbors(prod.versions, Direction.IN, [E.CHECKS], ctx.as_of)
    nodes = {n.id: n for n in store.get_nodes(sorted({e.key.src.id for e in edges}))}
    found = []
    for edge in edges:
        check = nodes.get(edge.key.src.id)
        if check is None or not is_failing(check):
            continue
        since = check_since(check)
        if since > ctx.at or days_between(since, ctx.at) <= days:
            continue
        version = edge.key.dst.id
        deployment = prod.first(version)
        found.append(
            Violation(
                "check_failing_too_long",
                severity,
                check.id,
                (deployment.key.dst.id, version, check.id),
                events(check, edge, deployment),
                since,
                f"check {check.key.fields['name']} on {edge.key.dst.display} has been failing "
                f"since {since} ({days_between(since, ctx.at):.1f} days, limit {days:g}); "
                f"latest result at {check.props.get('checked_at', check.last_seen)}",
                version,
            )
        )
    return found

"""Rules about the data and the monitoring behind the models in production.

`serving_trained_on_failed_quality` reads each serving version's training data through the
decision trace (queries/decision_trace.py `decision_lineage` from the version: its training runs,
the exact dataset versions they read, the runs that wrote those, … and its features' sources),
so the rule judges the very data the auditor's question shows.
"""

from __future__ import annotations

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge, StoredNode
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries.assets import events, quality_failed, versions_of
from lineage_kg.queries.decision_trace import DecisionTrace, TraceStep, decision_lineage
from lineage_kg.queries.governance.model import Context, Severity, Violation, days_between, later
from lineage_kg.queries.governance.production import deployment_start, production

K, E = NodeKind, EdgeKind
FAILING = "fail"


def _trace_path(trace: DecisionTrace, node_id: str) -> list[str]:
    """Node ids from the trace's model version down to `node_id`, along the steps' `via`."""
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
    trace = decision_lineage(store, version, depth=depth, as_of=ctx.as_of, max_nodes=ctx.max_nodes)
    ctx.truncated = ctx.truncated or trace.truncated
    data = [*trace.data, *trace.features]
    whole = [s.node.id for s in data if s.node.key.kind is K.DATASET]
    latest = versions_of(store, whole, ctx.as_of)
    found: list[Violation] = []

    def add(
        step: TraceStep,
        culprit: StoredNode,
        detail: str,
        *more: StoredNode | StoredEdge,
        since: str | None = None,
    ) -> None:
        path = [point, *_trace_path(trace, step.node.id)]
        if path[-1] != culprit.id:
            path.append(culprit.id)
        found.append(
            Violation(
                rule,
                severity,
                version,
                tuple(path),
                tuple(sorted({*events(deployment, culprit, *more), *step.evidence})),
                later(began, since or culprit.first_seen),
                f"{NodeKey.from_id(version).display} serves "
                f"{NodeKey.from_id(point).display} and was trained on {detail}",
                culprit.id,
            )
        )

    datasets: dict[str, TraceStep] = {}  # dataset id -> the closest step naming it
    for step in sorted(data, key=lambda s: (s.distance, s.node.id)):
        node = step.node
        if (ds := _dataset_of(node)) is not None:
            datasets.setdefault(ds, step)
        if node.key.kind is K.DATASET_VERSION or node.key.kind is K.DATASET:
            judged = latest[node.id][-1] if node.id in latest else node
            if failed := quality_failed(judged):
                passed = judged.props.get("quality_passed", 0)
                what = f"{judged.key.display}: {failed} quality check(s) failed, {passed} passed"
                add(step, judged, what)
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
        steps = {s.node.id: s for s in data}
        for source in trace.sources:
            step = steps.get(source)
            if step is not None and not step.owners:
                add(step, step.node, f"{step.node.key.display}, a source nobody owns")
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

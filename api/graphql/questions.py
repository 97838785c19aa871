"""GraphQL for the auditor's and the owner's questions: decision lineage, root-cause suspects,
the accountability map and the governance policies' violations. Resolvers only call `queries/`
off the event loop and reshape."""

from __future__ import annotations

from functools import partial

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from lineage_kg.api.graphql.offload import run_blocking
from lineage_kg.api.graphql.types import Node, NodeRef, PageInfo, to_node
from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.resolve import resolve as resolve_name
from lineage_kg.graph.sides.decisions import DecisionRow, DecisionTable
from lineage_kg.queries.accountability import (
    AccountabilityMap,
    OwnerLink,
    RelatedAsset,
    accountability,
)
from lineage_kg.queries.change_check import parse_change
from lineage_kg.queries.change_policy import evaluate as judge_changes
from lineage_kg.queries.change_policy import load_policy
from lineage_kg.queries.change_report import to_json as change_report
from lineage_kg.queries.decision_trace import TraceStep, decision_lineage
from lineage_kg.queries.decisions import (
    Selection,
    counts_by_model_version,
    get_decision,
    list_decisions,
    resolve,
)
from lineage_kg.queries.governance import DEFAULT_POLICY, Policy, Violation, evaluate_all, page
from lineage_kg.queries.governance.evaluate import encode_cursor
from lineage_kg.queries.suspects import suspects


@strawberry.type(description="One link of a decision's lineage, with its evidence.")
class TraceStepType:
    kind: str
    node: Node
    distance: int
    via: strawberry.ID | None = strawberry.field(description="the step this one explains")
    edge: str | None
    resolution: str = strawberry.field(
        description="observed in an event, resolved by time (e.g. the version read), or not"
    )
    time: str | None
    evidence: list[str] = strawberry.field(description="event ids: GET /api/v1/events/{id}")
    owners: list[str]
    detail: str


def _step(step: TraceStep) -> TraceStepType:
    return TraceStepType(
        kind=step.kind.value,
        node=to_node(step.node),
        distance=step.distance,
        via=strawberry.ID(step.via) if step.via else None,
        edge=step.edge.value if step.edge else None,
        resolution=step.resolution.value,
        time=step.time,
        evidence=list(step.evidence),
        owners=list(step.owners),
        detail=step.detail,
    )


@strawberry.type
class DecisionLineage:
    start: Node
    decision: TraceStepType | None
    model_versions: list[TraceStepType]
    data: list[TraceStepType] = strawberry.field(
        description="training runs → dataset versions read → runs that wrote them → …"
    )
    features: list[TraceStepType]
    sources: list[strawberry.ID]
    truncated: bool


@strawberry.type(description="An upstream node that may explain a symptom, and why.")
class SuspectType:
    node: Node
    asset: Node
    reason: str
    distance: int
    score: float
    time: str | None
    evidence: list[str]
    detail: str
    rank_reason: str = strawberry.field(
        description="why it ranks where it does: failures before changes before standing "
        "risks, then weight / (1 + distance), the arithmetic spelled out"
    )


@strawberry.type
class Related:
    node: Node
    distance: int
    certainty: str
    owners: list[str]


def _related(items: list[RelatedAsset]) -> list[Related]:
    return [
        Related(
            node=to_node(r.node),
            distance=r.distance,
            certainty=r.certainty.value,
            owners=list(r.owners),
        )
        for r in items
    ]


@strawberry.type(description="Another owner in the chain, and their assets it runs through.")
class OwnerLinkType:
    owner: str
    left: bool
    assets: list[Node] = strawberry.field(description="the assets, by node id")


def _links(items: list[OwnerLink]) -> list[OwnerLinkType]:
    return [
        OwnerLinkType(owner=o.owner, left=o.left, assets=[to_node(n) for n in o.asset_nodes])
        for o in items
    ]


@strawberry.type
class OwnedAssetType:
    node: Node
    ownership_type: str
    via: str


@strawberry.type(description="Something missing or failing in an owner's chains.")
class GapType:
    kind: str
    asset: Node
    related: Node | None
    detail: str
    evidence: list[str]


@strawberry.type
class Accountability:
    owner: Node
    teams: list[str]
    members: list[str]
    owned: list[OwnedAssetType]
    kpis: list[Related]
    upstream: list[Related]
    downstream: list[Related]
    upstream_owners: list[OwnerLinkType]
    downstream_owners: list[OwnerLinkType]
    gaps: list[GapType]
    truncated: bool


def _accountability(answer: AccountabilityMap) -> Accountability:
    return Accountability(
        owner=to_node(answer.owner),
        teams=answer.teams,
        members=answer.members,
        owned=[
            OwnedAssetType(node=to_node(o.node), ownership_type=o.ownership_type, via=o.via)
            for o in answer.owned
        ],
        kpis=_related(answer.kpis),
        upstream=_related(answer.upstream),
        downstream=_related(answer.downstream),
        upstream_owners=_links(answer.upstream_owners),
        downstream_owners=_links(answer.downstream_owners),
        gaps=[
            GapType(
                kind=g.kind.value,
                asset=to_node(g.asset),
                related=to_node(g.related) if g.related else None,
                detail=g.detail,
                evidence=list(g.evidence),
            )
            for g in answer.gaps
        ],
        truncated=answer.truncated,
    )


@strawberry.type(description="A feature a decision used, with the value it saw if logged.")
class FeatureUseType:
    project: str
    view: str
    name: str
    value: JSON | None


@strawberry.type(description="Which model version made a decision, worked out at query time.")
class MadeBy:
    resolution: str = strawberry.field(
        description="observed: the decision names it; resolved: by alias or deployment at the "
        "decision's time; unresolved: none or several (the candidates)"
    )
    model_versions: list[Node]
    detail: str


@strawberry.type(description="One logged decision, from the decisions side table.")
class DecisionType:
    decision_id: str
    timestamp: str
    decision_point: str
    registry: str
    model: str
    version: str | None = strawberry.field(description="as logged")
    alias: str | None = strawberry.field(description="as logged")
    features: list[FeatureUseType]
    outcome: JSON
    request_id: str | None
    event_id: str = strawberry.field(description="the batch event: GET /api/v1/events/{id}")
    seq: int
    row: strawberry.Private[DecisionRow]

    @strawberry.field(description="The model version that made it (resolved at query time).")
    async def made_by(self, info: Info) -> MadeBy:
        found = await run_blocking(resolve, info.context.store, self.row)
        nodes = [to_node(link.node) for link in found.versions]
        return MadeBy(resolution=found.resolution.value, model_versions=nodes, detail=found.detail)


def _decision(row: DecisionRow) -> DecisionType:
    return DecisionType(
        decision_id=row.decision_id,
        timestamp=row.timestamp,
        decision_point=row.decision_point,
        registry=row.registry,
        model=row.model,
        version=row.version,
        alias=row.alias,
        features=[
            FeatureUseType(
                project=f["project"], view=f["view"], name=f["name"], value=f.get("value")
            )
            for f in row.features
        ],
        outcome=row.outcome,
        request_id=row.request_id,
        event_id=row.event_id,
        seq=row.seq,
        row=row,
    )


@strawberry.type
class DecisionConnection:
    nodes: list[DecisionType]
    page_info: PageInfo


@strawberry.type(description="Decisions of a model naming a version, an alias, or neither.")
class DecisionCount:
    version: str | None
    alias: str | None
    count: int


@strawberry.type(description="A node named by its id: its kind and short name read from the id.")
class NodeLabel:
    id: strawberry.ID
    kind: str
    display: str


def _label(node_id: str) -> NodeLabel:
    key = NodeKey.from_id(node_id)
    return NodeLabel(id=strawberry.ID(node_id), kind=key.kind.value, display=key.display)


@strawberry.type(description="One governance rule broken by one subject, with its evidence.")
class ViolationType:
    rule: str
    severity: str = strawberry.field(description="error, warning or info, as the policy says")
    subject: NodeLabel
    related: NodeLabel | None = strawberry.field(
        description="what makes it a violation: the failing version or check, the owner who "
        "left, the decision point a canary or shadow is deployed to"
    )
    path: list[NodeLabel] = strawberry.field(
        description="from the production end (a decision point) to the subject and beyond"
    )
    evidence: list[str] = strawberry.field(description="event ids: GET /api/v1/events/{id}")
    since: str | None = strawberry.field(description="when the violation began, from the graph")
    detail: str
    cursor: str


def _violation(v: Violation, cursor: str) -> ViolationType:
    return ViolationType(
        rule=v.rule,
        severity=v.severity.value,
        subject=_label(v.subject),
        related=_label(v.related) if v.related else None,
        path=[_label(p) for p in v.path],
        evidence=list(v.evidence),
        since=v.since,
        detail=v.detail,
        cursor=cursor,
    )


@strawberry.type
class GovernanceReport:
    violations: list[ViolationType]
    page_info: PageInfo
    total: int = strawberry.field(description="violations at or above the severity asked")
    evaluated_at: str = strawberry.field(description="the time judged: asOf, or now")
    policy: str = strawberry.field(description="the policy file, or 'default policy'")
    rules: list[str] = strawberry.field(description="the rules the policy runs")
    truncated: bool = strawberry.field(
        description="a walk stopped at its node bound, or a decision trace at its depth: "
        "violations beyond it may be missing"
    )


def _policy(info: Info) -> Policy:
    """The service's policy (LKG_POLICY_FILE, read at start by api/app.py), else the default."""
    policy: Policy | None = getattr(info.context, "policy", None)
    return policy or DEFAULT_POLICY


def _governance(
    info: Info, as_of: str | None, severity: str | None, first: int, after: str | None
) -> GovernanceReport:
    policy = _policy(info)
    found = evaluate_all(
        info.context.store,
        policy,
        as_of,
        decisions=info.context.decisions,
        max_nodes=info.context.max_traversal_nodes,
    )
    got = page(found.violations, severity=severity, first=first, after=after)
    return GovernanceReport(
        violations=[_violation(v, encode_cursor(v)) for v in got.items],
        page_info=PageInfo(has_next_page=got.has_next_page, end_cursor=got.end_cursor),
        total=got.total,
        evaluated_at=found.at,
        policy=policy.source,
        rules=list(found.rules),
        truncated=found.truncated,
    )


def _decisions_table(info: Info) -> DecisionTable:
    table: DecisionTable | None = info.context.decisions
    if table is None:
        raise InvalidArgument("this service keeps no decisions table")
    return table


# a gate's changes per request: a dbt change touching every column of a few hundred models
MAX_CHANGES = 5_000


@strawberry.type(
    description="`lkg check-change`'s verdict on proposed changes, from this service's graph."
)
class ChangeCheck:
    passed: bool
    exit_code: int = strawberry.field(description="0 passed (warnings allowed), 1 failed")
    report: JSON = strawberry.field(
        description="the check's report, as `lkg check-change --format json` prints it: changes, "
        "decision points and KPIs at risk, model versions touched, owners, findings"
    )


def _check_change(
    info: Info,
    changes: list[str],
    *,
    policy: JSON | None,
    depth: int,
    as_of: str | None,
    at: str | None,
) -> ChangeCheck:
    if len(changes) > MAX_CHANGES:
        raise InvalidArgument(f"changes: at most {MAX_CHANGES:,} in one request")
    parsed = [parse_change(text) for text in changes]
    gate = load_policy({"check_change": policy} if policy is not None else None, "policy")
    result = judge_changes(
        info.context.store,
        parsed,
        gate,
        depth=depth,
        as_of=as_of,
        at=at,
        max_nodes=info.context.max_traversal_nodes,
    )
    doc = change_report(result)
    return ChangeCheck(passed=doc["passed"], exit_code=doc["exit_code"], report=doc)


@strawberry.type
class Questions:
    @strawberry.field(description="One logged decision by id (milliseconds), or null.")
    async def decision(self, info: Info, id: str) -> DecisionType | None:
        row = await run_blocking(get_decision, _decisions_table(info), id)
        return _decision(row) if row is not None else None

    @strawberry.field(
        description="Logged decisions in time order, keyset-paged: by the model version they "
        "name, by model, by decision point, in a time window (inclusive)."
    )
    async def decisions(  # noqa: PLR0917 - one parameter per GraphQL argument
        self,
        info: Info,
        model_version: NodeRef | None = None,
        model: NodeRef | None = None,
        decision_point: str | None = None,
        since: str | None = None,
        until: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> DecisionConnection:
        selection = Selection(
            model_version.to_key() if model_version is not None else None,
            model.to_key() if model is not None else None,
            decision_point,
            since,
            until,
        )
        page = await run_blocking(
            partial(list_decisions, _decisions_table(info), selection, first=first, after=after)
        )
        return DecisionConnection(
            nodes=[_decision(r) for r in page.rows],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )

    @strawberry.field(description="How many decisions of a model name each version or alias.")
    async def decision_counts(self, info: Info, model: NodeRef) -> list[DecisionCount]:
        found = await run_blocking(counts_by_model_version, _decisions_table(info), model.to_key())
        return [DecisionCount(version=c.version, alias=c.alias, count=c.count) for c in found]

    @strawberry.field(
        description="Which data was this decision made from? decision → model version → "
        "training run → dataset versions → the runs that wrote them → sources; and features."
    )
    async def decision_lineage(
        self, info: Info, ref: NodeRef, depth: int = 10, as_of: str | None = None
    ) -> DecisionLineage:
        # not resolved in the graph: a decision may live only in the decisions side table
        key = ref.to_key()
        trace = await run_blocking(
            partial(
                decision_lineage,
                info.context.store,
                key.id,
                depth=depth,
                as_of=as_of,
                decisions=info.context.decisions,
                max_nodes=info.context.max_traversal_nodes,
            )
        )
        return DecisionLineage(
            start=to_node(trace.start),
            decision=_step(trace.decision) if trace.decision else None,
            model_versions=[_step(s) for s in trace.model_versions],
            data=[_step(s) for s in trace.data],
            features=[_step(s) for s in trace.features],
            sources=[strawberry.ID(s) for s in trace.sources],
            truncated=trace.truncated,
        )

    @strawberry.field(
        description="Why might this node look wrong? Upstream suspects in a time window, ranked: "
        "failures (runs, quality checks, monitors) before changes (schema, model versions, "
        "aliases) before ownership gaps; within each by weight / (1 + distance): rankReason."
    )
    async def root_cause(
        self, info: Info, ref: NodeRef, since: str, until: str, depth: int = 10
    ) -> list[SuspectType]:
        start = await run_blocking(resolve_name, info.context.store, ref.to_key())
        found = await run_blocking(
            partial(
                suspects,
                info.context.store,
                start.id,
                since=since,
                until=until,
                depth=depth,
                max_nodes=info.context.max_traversal_nodes,
            )
        )
        return [
            SuspectType(
                node=to_node(s.node),
                asset=to_node(s.asset),
                reason=s.reason.value,
                distance=s.distance,
                score=s.score,
                time=s.time,
                evidence=list(s.evidence),
                detail=s.detail,
                rank_reason=s.rank_reason,
            )
            for s in found
        ]

    @strawberry.field(
        description="What is this owner (person or team) accountable for: owned assets, the "
        "KPIs depending on them, upstream and downstream owners, and the gaps."
    )
    async def accountability(
        self, info: Info, owner_id: str, depth: int = 10, as_of: str | None = None
    ) -> Accountability:
        answer = await run_blocking(
            partial(
                accountability,
                info.context.store,
                owner_id,
                depth=depth,
                as_of=as_of,
                max_nodes=info.context.max_traversal_nodes,
            )
        )
        return _accountability(answer)

    @strawberry.field(
        description="The governance policy's violations over the graph as it is, or asOf a "
        "time: most severe first, then by rule and subject; `severity` keeps those at or above "
        "it (error > warning > info). Keyset-paged."
    )
    async def governance(
        self,
        info: Info,
        as_of: str | None = None,
        severity: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> GovernanceReport:
        # the arguments are checked before the evaluation: a bad page costs no walk
        page([], severity=severity, first=first, after=after)
        return await run_blocking(_governance, info, as_of, severity, first, after)

    @strawberry.field(
        description="What proposed changes would break, judged as `lkg check-change` judges "
        "them: each change `REF=KIND` (kinds drop, semantics, rename:NEW, type:NEW), `policy` "
        "the check_change section of a policy file (absent: fail on an exact impact on a "
        "production decision point), deployments judged `at` a time (default now)."
    )
    async def check_change(  # noqa: PLR0917 - one parameter per GraphQL argument
        self,
        info: Info,
        changes: list[str],
        policy: JSON | None = None,
        depth: int = 10,
        as_of: str | None = None,
        at: str | None = None,
    ) -> ChangeCheck:
        ask = partial(
            _check_change, changes=changes, policy=policy, depth=depth, as_of=as_of, at=at
        )
        return await run_blocking(ask, info)

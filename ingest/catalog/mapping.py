"""Logged catalog, deployment and monitoring records → graph mutations (one `map_entry` for the
three sources, dispatching on the record's kind).

Graph produced:
- person / team: Owner(owner_id) {name, email, owner_kind, on_call | on_call_rotation, status,
  left_at}; Owner -MEMBER_OF-> team, team -MEMBER_OF-> parent team; alias -ALIAS_OF-> Owner.
  The catalog is the authority on memberships and aliases: those it no longer lists are retired.
- kpi: KPI(name) {definition, unit, direction}; Owner -OWNS(business)-> KPI;
  Column -FEEDS-> KPI; KPI(metric) -FEEDS-> KPI; Dataset -CONSUMED_BY-> KPI.
- decision_point: DecisionPoint(name) {description}; Owner -OWNS(business)->; -DRIVES-> KPI.
- ownership: Owner -OWNS(type){pattern}-> asset, from a pattern matched at sync time.
- deployment: ModelVersion -DEPLOYED_TO(mode){mode, traffic, valid_from, valid_until}->
  DecisionPoint.
- check_result: Check(subject, name) {status, value, threshold, checked_at, last_ok_at}
  -CHECKS-> subject.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.ingest.catalog.records import (
    CheckResult,
    DecisionPointEntry,
    Deployment,
    Kpi,
    OwnershipRecord,
    Person,
    Team,
)
from lineage_kg.ingest.eventlog import LogEntry
from lineage_kg.ingest.sources import CATALOG, DEPLOYMENT, MONITORING

K, E = NodeKind, EdgeKind

PERSON, TEAM, KPI, DECISION_POINT, OWNERSHIP = (
    "person",
    "team",
    "kpi",
    "decision_point",
    "ownership",
)
DEPLOYMENT_KIND, CHECK_RESULT = "deployment", "check_result"
BUSINESS = "business"  # the ownership type of a KPI's or decision point's owner


def owner(owner_id: str) -> NodeKey:
    return NodeKey.of(K.OWNER, owner_id=owner_id)


def kpi(name: str) -> NodeKey:
    return NodeKey.of(K.KPI, name=name)


def decision_point(name: str) -> NodeKey:
    return NodeKey.of(K.DECISION_POINT, name=name)


def _props(**values: object) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


def _aliases(b: MutationBatch, me: NodeKey, aliases: list[str], p: Provenance) -> None:
    keep = {owner(a) for a in aliases if a != me.parts[0]}
    for alias in sorted(keep):
        b.edge(alias, E.ALIAS_OF, me, p)
    b.add(EdgeRetire(me, E.ALIAS_OF, Direction.IN, frozenset(keep), p))


def _person(entry: LogEntry, p: Provenance, b: MutationBatch) -> None:
    person = Person.model_validate(entry.body)
    me = owner(person.id)
    email = person.id if "@" in person.id else None
    status = "left" if person.left or person.left_at else "active"
    props = _props(name=person.name, email=email, left_at=person.left_at)
    b.node(me, p, owner_kind="person", on_call=person.on_call, status=status, **props)
    teams = {owner(t) for t in person.teams}
    for team in sorted(teams):
        b.edge(me, E.MEMBER_OF, team, p)
    b.add(EdgeRetire(me, E.MEMBER_OF, Direction.OUT, frozenset(teams), p))
    _aliases(b, me, person.aliases, p)


def _team(entry: LogEntry, p: Provenance, b: MutationBatch) -> None:
    team = Team.model_validate(entry.body)
    me = owner(team.id)
    props = _props(name=team.name, email=team.email, on_call_rotation=team.on_call)
    b.node(me, p, owner_kind="team", **props)
    members = {owner(m) for m in team.members}
    for member in sorted(members):
        b.edge(member, E.MEMBER_OF, me, p)
    b.add(EdgeRetire(me, E.MEMBER_OF, Direction.IN, frozenset(members), p))
    parents = {owner(team.parent)} if team.parent else set()
    for parent in parents:
        b.edge(me, E.MEMBER_OF, parent, p)
    b.add(EdgeRetire(me, E.MEMBER_OF, Direction.OUT, frozenset(parents), p))
    _aliases(b, me, [*team.aliases, *([team.email] if team.email else [])], p)


def _business_owner(b: MutationBatch, asset: NodeKey, owner_id: str | None, p: Provenance) -> None:
    """The catalog names the one business owner of its KPIs and decision points."""
    keep = {owner(owner_id)} if owner_id else set()
    for who in keep:
        b.edge(who, E.OWNS, asset, p, disc=BUSINESS)
    b.add(EdgeRetire(asset, E.OWNS, Direction.IN, frozenset(keep), p, disc=BUSINESS))


def _kpi(entry: LogEntry, p: Provenance, b: MutationBatch) -> None:
    item = Kpi.model_validate(entry.body)
    me = b.node(
        kpi(item.name),
        p,
        **_props(definition=item.definition, unit=item.unit, direction=item.direction),
    )
    _business_owner(b, me, item.owner, p)
    for column in item.fed_by:
        b.edge(NodeKey.of(K.COLUMN, **column), E.FEEDS, me, p)
    for metric in item.metrics:
        if metric != item.name:
            b.edge(kpi(metric), E.FEEDS, me, p)
    for dataset in item.datasets:
        b.edge(NodeKey.of(K.DATASET, **dataset), E.CONSUMED_BY, me, p)


def _decision_point(entry: LogEntry, p: Provenance, b: MutationBatch) -> None:
    item = DecisionPointEntry.model_validate(entry.body)
    me = b.node(decision_point(item.name), p, **_props(description=item.description))
    _business_owner(b, me, item.owner, p)
    drives = {kpi(name) for name in item.drives}
    for target in sorted(drives):
        b.edge(me, E.DRIVES, target, p)
    b.add(EdgeRetire(me, E.DRIVES, Direction.OUT, frozenset(drives), p))


def _ownership(entry: LogEntry, p: Provenance, b: MutationBatch) -> None:
    item = OwnershipRecord.model_validate(entry.body)
    asset = item.asset_key()
    for who in item.owners:
        b.edge(owner(who), E.OWNS, asset, p, disc=item.type, pattern=item.pattern)


def _deployment(entry: LogEntry, p: Provenance, b: MutationBatch) -> None:
    item = Deployment.model_validate(entry.body)
    props = _props(
        mode=item.mode,
        traffic=item.traffic,
        valid_from=item.valid_from,
        valid_until=item.valid_until,
    )
    # the edge exists from valid_from; a known end retires it then, so as-of reads and impact
    # see a deployment exactly while it serves
    began = Provenance(p.source, p.event_id, item.valid_from)
    version, point = item.model_version(), item.decision_point_key()
    b.edge(version, E.DEPLOYED_TO, point, began, item.mode, **props)
    if item.valid_until is not None:
        ended = Provenance(p.source, p.event_id, item.valid_until)
        end = EdgeRetire(version, E.DEPLOYED_TO, Direction.OUT, frozenset(), ended, item.mode)
        b.add(replace(end, only=frozenset({point})))


def _check_result(entry: LogEntry, p: Provenance, b: MutationBatch) -> None:
    item = CheckResult.model_validate(entry.body)
    target = item.subject.key()
    check = NodeKey.of(K.CHECK, subject=target.display, name=item.check)
    props = _props(value=item.value, threshold=item.threshold)
    if item.status != "fail":
        # the merge keeps each prop's newest value: `last_ok_at` is then the last result that did
        # not fail, so a failing check has been failing since after it (queries/governance)
        props["last_ok_at"] = item.checked_at
    b.node(check, p, status=item.status, checked_at=item.checked_at, **props)
    b.edge(check, E.CHECKS, target, p)


Handler = Callable[[LogEntry, Provenance, MutationBatch], None]
HANDLERS: dict[tuple[str, str], Handler] = {
    (CATALOG, PERSON): _person,
    (CATALOG, TEAM): _team,
    (CATALOG, KPI): _kpi,
    (CATALOG, DECISION_POINT): _decision_point,
    (CATALOG, OWNERSHIP): _ownership,
    (DEPLOYMENT, DEPLOYMENT_KIND): _deployment,
    (MONITORING, CHECK_RESULT): _check_result,
}


def map_entry(entry: LogEntry) -> MutationBatch:
    handler = HANDLERS.get((entry.source, entry.kind))
    if handler is None:
        raise ValueError(f"no {entry.source} record kind {entry.kind!r}")
    batch = MutationBatch()
    handler(entry, Provenance(entry.source, entry.event_id, entry.event_time), batch)
    return batch

"""Suspects, the on-call's question: something looks wrong here (a KPI moved, a dataset looks
off) — which upstream events in a time window could explain it, ranked?

It walks upstream breadth-first, each node once, within a depth bound (never enumerating paths),
and judges the assets it reached (queries/assets.py) for what changed or failed in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredNode
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries.arguments import check_depth, time_arg
from lineage_kg.queries.assets import (
    FAILED_STATES,
    UPSTREAM_STEPS,
    ReachedAssets,
    events,
    ownerships,
    quality_failed,
    reached_assets,
    run_ended,
    run_started,
    runs_of,
    versions_of,
)
from lineage_kg.queries.traversal import Step, start_nodes, traverse

K, E = NodeKind, EdgeKind

# Upstream: every flow edge walked backwards, and from a column to the dataset holding it.
ROOT_CAUSE_STEPS: list[Step] = UPSTREAM_STEPS


class SuspectReason(StrEnum):
    FAILED_RUN = "failed_run"
    FAILED_QUALITY = "failed_quality"
    ALIAS_MOVED = "alias_moved"
    SCHEMA_CHANGE = "schema_change"
    NEW_MODEL_VERSION = "new_model_version"
    OWNERSHIP_GAP = "ownership_gap"
    MONITOR_ALERT = "monitor_alert"


class Tier(IntEnum):
    """Ranked first to last, whatever the distance: evidence that something broke, then
    changes that may have broken it, then standing risks."""

    FAILURE = 1
    CHANGE = 2
    STANDING = 3


TIER_WHY: dict[Tier, str] = {
    Tier.FAILURE: "a failure: something upstream broke (failures rank before changes)",
    Tier.CHANGE: "a change: it may have broken something (ranked after failures)",
    Tier.STANDING: "a standing risk, not an event (ranked after failures and changes)",
}


@dataclass(frozen=True, slots=True)
class Rank:
    tier: Tier
    weight: float  # within a tier: score = weight * factor / (1 + distance)
    why: str


# The ranking rule, as data: a suspect's tier, then its score (descending), then node id, reason.
RANKING: dict[SuspectReason, Rank] = {
    SuspectReason.FAILED_RUN: Rank(
        Tier.FAILURE, 1.0, "a run that did not finish: stale or partial data downstream"
    ),
    SuspectReason.FAILED_QUALITY: Rank(Tier.FAILURE, 0.9, "data its own checks say is wrong"),
    SuspectReason.MONITOR_ALERT: Rank(
        Tier.FAILURE, 0.8, "a monitor failed (drift, performance); a warning counts half"
    ),
    SuspectReason.ALIAS_MOVED: Rank(
        Tier.CHANGE, 0.6, "a different model version now answers under that alias"
    ),
    SuspectReason.SCHEMA_CHANGE: Rank(
        Tier.CHANGE, 0.5, "a column appeared in, or went from, a schema seen before"
    ),
    SuspectReason.NEW_MODEL_VERSION: Rank(
        Tier.CHANGE, 0.4, "registered; serving only if deployed or aliased"
    ),
    SuspectReason.OWNERSHIP_GAP: Rank(
        Tier.STANDING, 0.2, "nobody to notice or fix it: a standing risk, not an event"
    ),
}
WEIGHTS: dict[SuspectReason, float] = {r: rank.weight for r, rank in RANKING.items()}


@dataclass(frozen=True, slots=True)
class Suspect:
    node: StoredNode  # what to look at: the run, the version, the column, the model version, …
    asset: StoredNode  # the upstream asset it belongs to; its distance is the suspect's
    reason: SuspectReason
    distance: int
    score: float
    time: str | None  # when it happened; None for a standing condition (ownership gap)
    evidence: tuple[str, ...]  # event ids, sorted
    detail: str
    rank_reason: str = ""  # why it ranks where it does: rank_reason()


def score_of(reason: SuspectReason, distance: int, factor: float = 1.0) -> float:
    return round(RANKING[reason].weight * factor / (1 + distance), 6)


def rank_reason(reason: SuspectReason, distance: int, factor: float = 1.0) -> str:
    """Why a suspect ranks where it does, in words: its tier, then its score's arithmetic."""
    rank = RANKING[reason]
    weight = f"{rank.weight:g}" + (f" x {factor:g}" if factor != 1.0 else "")
    score = score_of(reason, distance, factor)
    return (
        f"{TIER_WHY[rank.tier]}; {rank.why}: weight {weight} / (1 + distance {distance})"
        f" = {score:g}"
    )


def rank_key(suspect: Suspect) -> tuple[int, float, str, str]:
    """The order of an answer: tier, then score descending, then node id, then reason."""
    return (RANKING[suspect.reason].tier, -suspect.score, suspect.node.id, suspect.reason.value)


class _Findings:
    """Suspects found so far, one per (node, reason), scored by the distance of their asset."""

    def __init__(self, reach: ReachedAssets, begin: str, end: str) -> None:
        self.reach, self.begin, self.end = reach, begin, end
        self.found: dict[tuple[str, SuspectReason], Suspect] = {}

    def inside(self, at: str | None) -> bool:
        return at is not None and self.begin <= at <= self.end

    def add(
        self,
        node: StoredNode,
        asset_id: str | None,
        reason: SuspectReason,
        *,
        at: str | None,
        evidence: tuple[str, ...],
        detail: str,
        about: str | None = None,
        factor: float = 1.0,
    ) -> None:
        """`about`: the reached node a suspect speaks of when the suspect itself was not
        reached (a monitoring check on a model version); `factor` scales its weight."""
        reach = self.reach
        if asset_id is not None and asset_id in reach.assets:
            asset, distance = reach.nodes[asset_id], reach.assets[asset_id].distance
        elif about is not None:  # e.g. a model version outside any model
            asset, distance = reach.nodes[about], reach.distance[about]
        else:  # a part with no known asset (a model version outside any model) stands alone
            asset, distance = node, reach.distance[node.id]
        score = score_of(reason, distance, factor)
        key = (node.id, reason)
        if key not in self.found or self.found[key].score < score:
            why = rank_reason(reason, distance, factor)
            self.found[key] = Suspect(
                node, asset, reason, distance, score, at, evidence, detail, why
            )

    def ranked(self) -> list[Suspect]:
        return sorted(self.found.values(), key=rank_key)


def suspects(
    store: GraphStore,
    node_id: str,
    *,
    since: str | datetime,
    until: str | datetime,
    depth: int = 10,
    max_nodes: int = 100_000,
) -> list[Suspect]:
    """Upstream causes of a symptom at `node_id`, in the window [since, until], most suspicious
    first: by tier (failures, then changes, then standing risks: RANKING), then score
    descending, then node id, then reason; each suspect says why in `rank_reason`.

    The upstream graph is the one valid at `until`; a dataset starts the walk with its columns.
    An asset's distance is the least over itself
    and its reached parts (a dataset is as close as its closest column); the symptom node and its
    own asset count at distance 0. Reasons, each judged within the window unless noted:
    - failed run: a run of an upstream job in state FAIL/ABORT that ended (else started) in it;
    - failed quality: an upstream dataset or one of its versions with quality_failed > 0, last
      seen in it (the store keeps no time per property, so last seen stands in);
    - schema change: a HAS_COLUMN edge of an upstream dataset retired in it, or first seen in it
      after an earlier column of that dataset (a schema's first sighting is not a change);
    - new model version / alias moved: a HAS_VERSION / ALIAS edge into an upstream model version
      first seen in it;
    - ownership gap (whatever the window): an upstream asset with no owner, or only owners who
      have left;
    - monitor alert: a monitoring check on an upstream model version, model, decision point,
      feature view or dataset whose latest result is `fail` (a `warn` weighs half) and was
      checked in the window (the Check node holds the latest result only: one that failed and
      passed again later is in the audit trail, not here).
    """
    check_depth(depth)
    begin, end = time_arg("since", since), time_arg("until", until)
    if begin is None or end is None:
        raise InvalidArgument("since and until are both required")
    if begin > end:
        raise InvalidArgument(f"since ({begin}) must not be after until ({end})")
    _start, start_ids = start_nodes(store, node_id, end)
    walk = traverse(
        store, start_ids, ROOT_CAUSE_STEPS, max_depth=depth, as_of=end, max_nodes=max_nodes
    )
    findings = _Findings(reached_assets(store, walk, end), begin, end)
    _failed_runs(store, findings)
    _failed_quality(store, findings)
    _schema_changes(store, findings)
    _model_changes(store, findings)
    _ownership_gaps(store, findings)
    _monitor_alerts(store, findings)
    return findings.ranked()


def _assets_of_kind(findings: _Findings, kind: NodeKind) -> list[str]:
    return [a for a in findings.reach.assets if findings.reach.nodes[a].key.kind is kind]


def _failed_runs(store: GraphStore, findings: _Findings) -> None:
    jobs = _assets_of_kind(findings, K.JOB)
    for job, runs in runs_of(store, jobs, findings.end).items():
        for run in runs:
            state, at = run.props.get("state"), run_ended(run) or run_started(run)
            if state in FAILED_STATES and findings.inside(at):
                job_name = findings.reach.nodes[job].key.display
                detail = f"run {run.key.parts[0]} of {job_name} is {state}"
                if message := run.props.get("error_message"):
                    detail += f": {message}"
                findings.add(
                    run, job, SuspectReason.FAILED_RUN, at=at, evidence=events(run), detail=detail
                )


def _failed_quality(store: GraphStore, findings: _Findings) -> None:
    datasets = _assets_of_kind(findings, K.DATASET)
    versions = versions_of(store, datasets, findings.end)
    for ds in datasets:
        for node in [findings.reach.nodes[ds], *versions.get(ds, [])]:
            if (failed := quality_failed(node)) and findings.inside(node.last_seen):
                detail = f"{failed} quality check(s) failed on {node.key.display}"
                reason = SuspectReason.FAILED_QUALITY
                findings.add(
                    node, ds, reason, at=node.last_seen, evidence=events(node), detail=detail
                )


def _schema_changes(store: GraphStore, findings: _Findings) -> None:
    """Columns added (HAS_COLUMN first seen) or removed (retired) within the window. Edges are
    read as of the end (what was added) and as of just before the start (what then existed and
    may since have been removed); a column both added and removed inside the window is missed.
    A column first seen with the dataset's earliest known column is the schema's first sighting
    (a new dataset, or one whose schema was never reported before): no change, no suspect."""
    datasets = _assets_of_kind(findings, K.DATASET)
    before = canonical_time(datetime.fromisoformat(findings.begin) - timedelta(microseconds=1))
    edges = {
        e.key.id: e
        for as_of in (before, findings.end)
        for e in store.neighbors(datasets, Direction.OUT, [E.HAS_COLUMN], as_of)
    }
    columns = {n.id: n for n in store.get_nodes(sorted({e.key.dst.id for e in edges.values()}))}
    schema_since: dict[str, str] = {}  # dataset id -> first seen of its earliest known column
    for edge in edges.values():
        ds = edge.key.src.id
        schema_since[ds] = min(schema_since.get(ds, edge.first_seen), edge.first_seen)
    for _, edge in sorted(edges.items()):
        if findings.inside(edge.valid_to):
            change, at = "removed from", edge.valid_to
        elif findings.inside(edge.first_seen) and schema_since[edge.key.src.id] < edge.first_seen:
            change, at = "added to", edge.first_seen
        else:
            continue
        column = columns[edge.key.dst.id]
        detail = f"column {column.key.parts[2]} {change} {edge.key.src.display}"
        reason = SuspectReason.SCHEMA_CHANGE
        findings.add(column, edge.key.src.id, reason, at=at, evidence=events(edge), detail=detail)


def _model_changes(store: GraphStore, findings: _Findings) -> None:
    reach = findings.reach
    versions = sorted(n for n in reach.distance if reach.nodes[n].key.kind is K.MODEL_VERSION)
    for edge in store.neighbors(versions, Direction.IN, [E.HAS_VERSION, E.ALIAS], findings.end):
        if not findings.inside(edge.first_seen):
            continue
        mv = reach.nodes[edge.key.dst.id]
        if edge.key.kind is E.HAS_VERSION:
            reason, detail = SuspectReason.NEW_MODEL_VERSION, f"new version {mv.key.display}"
        else:
            reason = SuspectReason.ALIAS_MOVED
            detail = f"alias {edge.key.disc} set to {mv.key.display}"
        at, evidence = edge.first_seen, events(edge)
        findings.add(mv, reach.asset_of.get(mv.id), reason, at=at, evidence=evidence, detail=detail)


def _ownership_gaps(store: GraphStore, findings: _Findings) -> None:
    owns = ownerships(store, list(findings.reach.assets), findings.end)
    for asset_id in findings.reach.assets:
        node, held = findings.reach.nodes[asset_id], owns.get(asset_id, [])
        reason = SuspectReason.OWNERSHIP_GAP
        if not held:
            findings.add(node, asset_id, reason, at=None, evidence=events(node), detail="no owner")
        elif all(o.left for o in held):
            gone = ", ".join(o.owner_id for o in held)
            evidence = events(node, *(o.edge for o in held), *(o.owner for o in held))
            detail = f"owned only by owners who have left: {gone}"
            findings.add(node, asset_id, reason, at=None, evidence=evidence, detail=detail)


MONITORED = E.CHECKS.spec.targets
ALERT_FACTOR = {"fail": 1.0, "warn": 0.5}


def _monitor_alerts(store: GraphStore, findings: _Findings) -> None:
    reach = findings.reach
    watched = sorted(n for n in reach.nodes if reach.nodes[n].key.kind in MONITORED)
    checks = store.neighbors(watched, Direction.IN, [E.CHECKS], findings.end)
    nodes = {n.id: n for n in store.get_nodes(sorted({e.key.src.id for e in checks}))}
    for edge in checks:
        check, target = nodes[edge.key.src.id], edge.key.dst.id
        status, at = check.props.get("status"), check.props.get("checked_at")
        if status not in ALERT_FACTOR or not isinstance(at, str) or not findings.inside(at):
            continue
        detail = f"{check.key.parts[1]} {status} on {check.key.parts[0]}"
        value, threshold = check.props.get("value"), check.props.get("threshold")
        if value is not None:
            detail += f": {value}" + (f" (threshold {threshold})" if threshold is not None else "")
        findings.add(
            check,
            target if target in reach.assets else reach.asset_of.get(target),
            SuspectReason.MONITOR_ALERT,
            at=at,
            evidence=events(check, edge),
            detail=detail,
            about=target if target in reach.distance else None,
            factor=ALERT_FACTOR[status],
        )

"""The change check's gate: which findings fail the check, which warn, which approvals waive.

The policy is the `check_change:` section of a YAML policy file (docs/governance.md):

    check_change:
      fail_on: [exact_production_decision]          # the default
      warn_on: [possible_production_decision, exact_kpi, owner_left, unresolved_change]
      approvals:
        - change: duckdb://target/shop.duckdb/shop.main.customer_revenue#order_count
          decision_point: credit-limit
          approved_by: jane@example.com
          reason: the model casts it back

Finding kinds: `exact_production_decision`, `possible_production_decision` (a decision point a
reached model version serves in production), `exact_kpi`, `possible_kpi`, `exact_model_version`,
`possible_model_version`, `owner_left` (an owner to notify has left), `unowned_asset`,
`unresolved_change` (a change naming nothing in the graph), `truncated` (the walk hit its
bound). An approval waives the production-decision findings of one decision point for one change
(`change: "*"`: every change). Waiving is exact even though the check walks all changes at once:
a decision point whose explaining change is approved is walked again from the other changes,
and stays at risk if they reach it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.model import Certainty, NodeKind
from lineage_kg.graph.resolve import resolve_text
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.change_check import Change, ChangeReport, DecisionAtRisk, check_changes

ANY_CHANGE = "*"


class Finding(StrEnum):
    EXACT_PRODUCTION_DECISION = "exact_production_decision"
    POSSIBLE_PRODUCTION_DECISION = "possible_production_decision"
    EXACT_KPI = "exact_kpi"
    POSSIBLE_KPI = "possible_kpi"
    EXACT_MODEL_VERSION = "exact_model_version"
    POSSIBLE_MODEL_VERSION = "possible_model_version"
    OWNER_LEFT = "owner_left"
    UNOWNED_ASSET = "unowned_asset"
    UNRESOLVED_CHANGE = "unresolved_change"
    TRUNCATED = "truncated"


F = Finding


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    change: str = Field(min_length=1)  # a column or dataset ref, or "*"
    decision_point: str = Field(min_length=1)
    approved_by: str = Field(min_length=1)
    reason: str = ""


class CheckChangePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fail_on: list[Finding] = [F.EXACT_PRODUCTION_DECISION]
    warn_on: list[Finding] = [
        F.POSSIBLE_PRODUCTION_DECISION,
        F.EXACT_KPI,
        F.POSSIBLE_KPI,
        F.EXACT_MODEL_VERSION,
        F.POSSIBLE_MODEL_VERSION,
        F.OWNER_LEFT,
        F.UNRESOLVED_CHANGE,
        F.TRUNCATED,
    ]
    approvals: list[Approval] = []

    @field_validator("fail_on", "warn_on", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def load_policy(document: Any, source: str = "policy") -> CheckChangePolicy:
    """The `check_change:` section of a parsed YAML document (absent: the defaults);
    InvalidArgument with one line naming the field at fault."""
    if document is None:
        return CheckChangePolicy()
    if not isinstance(document, dict):
        raise InvalidArgument(f"{source}: expected a mapping at the top level")
    section = document.get("check_change")
    if section is None:
        return CheckChangePolicy()
    try:
        return CheckChangePolicy.model_validate(section)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in ("check_change", *first["loc"]))
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise InvalidArgument(f"{source}: {where}: {first['msg']}{more}") from None


@dataclass(frozen=True, slots=True)
class Verdict:
    finding: Finding
    level: Literal["error", "warning"]
    subject: str  # display name of what is at risk (or the change)
    message: str
    change: Change | None = None
    approved_by: str | None = None  # set when an approval waived it (then it is not listed)


@dataclass(slots=True)
class GateResult:
    report: ChangeReport
    verdicts: list[Verdict]
    waived: list[tuple[DecisionAtRisk, Approval]]
    notes: list[str]  # approvals naming nothing, …

    @property
    def failed(self) -> bool:
        return any(v.level == "error" for v in self.verdicts)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def _ids(store: GraphStore, ref: str, kind: NodeKind | None) -> str | None:
    try:
        return resolve_text(store, ref, kind).id
    except (NotFound, InvalidArgument):
        return None


def _approvals(
    store: GraphStore, policy: CheckChangePolicy, notes: list[str]
) -> dict[str, list[tuple[str, Approval]]]:
    """decision point id -> [(change node id or "*", approval)]."""
    found: dict[str, list[tuple[str, Approval]]] = {}
    for i, a in enumerate(policy.approvals):
        point = _ids(store, a.decision_point, NodeKind.DECISION_POINT)
        change = ANY_CHANGE if a.change == ANY_CHANGE else _ids(store, a.change, None)
        if point is None or change is None:
            notes.append(
                f"check_change.approvals.{i}: names nothing in the graph "
                f"({a.change} at {a.decision_point}); ignored"
            )
            continue
        found.setdefault(point, []).append((change, a))
    return found


def _waive(
    store: GraphStore,
    report: ChangeReport,
    approvals: dict[str, list[tuple[str, Approval]]],
    walk: dict[str, Any],
) -> tuple[list[DecisionAtRisk], list[tuple[DecisionAtRisk, Approval]]]:
    """The decisions still at risk once approvals are applied, and those waived (by whom)."""
    node_of = {c: n.id for c, n in report.changes}
    kept: list[DecisionAtRisk] = []
    waived: list[tuple[DecisionAtRisk, Approval]] = []
    for risk in report.decisions:
        listed = approvals.get(risk.decision_point.id, [])
        approved = {c for c, _ in listed}
        if not listed or not (ANY_CHANGE in approved or node_of[risk.change] in approved):
            kept.append(risk)
            continue
        by = next(a for c, a in listed if c in (ANY_CHANGE, node_of[risk.change]))
        # other changes may reach it too: walk from those not approved for this point
        rest = [c for c, n in report.changes if ANY_CHANGE not in approved and n.id not in approved]
        again = check_changes(store, rest, **walk).decisions if rest else []
        still = next((d for d in again if d.decision_point.id == risk.decision_point.id), None)
        if still is None:
            waived.append((risk, by))
        else:
            kept.append(still)
    return kept, waived


def evaluate(
    store: GraphStore,
    changes: Sequence[Change],
    policy: CheckChangePolicy,
    *,
    depth: int = 10,
    as_of: str | None = None,
    at: str | None = None,
    max_nodes: int = 100_000,
) -> GateResult:
    """Check `changes`, then judge the report by `policy`."""
    walk: dict[str, Any] = {"depth": depth, "as_of": as_of, "at": at, "max_nodes": max_nodes}
    report = check_changes(store, changes, **walk)
    notes: list[str] = []
    approvals = _approvals(store, policy, notes) if report.decisions else {}
    at_risk, waived = _waive(store, report, approvals, walk)
    name = {c: n.key.display for c, n in report.changes}
    found: list[tuple[Finding, str, str, Change | None]] = []
    for d in at_risk:
        finding = (
            F.EXACT_PRODUCTION_DECISION
            if d.certainty is Certainty.EXACT
            else F.POSSIBLE_PRODUCTION_DECISION
        )
        how = f"{d.model_version.key.display}" + (f" ({d.mode})" if d.mode else "")
        found.append(
            (
                finding,
                d.decision_point.key.display,
                f"{d.certainty.value} impact on production decision point "
                f"{d.decision_point.key.display} served by {how}, from {name[d.change]} "
                f"({d.change.kind})",
                d.change,
            )
        )
    for k in report.kpis:
        finding = F.EXACT_KPI if k.certainty is Certainty.EXACT else F.POSSIBLE_KPI
        found.append(
            (
                finding,
                k.node.key.display,
                f"{k.certainty.value} impact on KPI {k.node.key.display}, "
                f"from {name[k.change]} ({k.change.kind})",
                k.change,
            )
        )
    for m in report.models:
        exact = m.item.certainty is Certainty.EXACT
        found.append(
            (
                F.EXACT_MODEL_VERSION if exact else F.POSSIBLE_MODEL_VERSION,
                m.item.node.key.display,
                f"{m.item.certainty.value} impact on model version {m.item.node.key.display} "
                f"through its {m.via}, from {name[m.item.change]} ({m.item.change.kind})",
                m.item.change,
            )
        )
    for o in report.owners:
        if o.left:
            found.append(
                (
                    F.OWNER_LEFT,
                    o.owner_id,
                    f"owner {o.owner_id} has left; owns impacted {', '.join(o.assets)}",
                    None,
                )
            )
    for u in report.unowned:
        found.append(
            (
                F.UNOWNED_ASSET,
                u.node.key.display,
                f"impacted {u.node.key.display} has no owner",
                None,
            )
        )
    for change, why in report.unresolved:
        found.append(
            (
                F.UNRESOLVED_CHANGE,
                change.ref,
                f"{change.ref} ({change.kind}) names nothing in the graph: {why}",
                change,
            )
        )
    if report.truncated:
        found.append(
            (F.TRUNCATED, "", f"the walk stopped at {max_nodes} nodes: the answer is partial", None)
        )
    verdicts = []
    for finding, subject, message, change in found:
        if finding in policy.fail_on:
            verdicts.append(Verdict(finding, "error", subject, message, change))
        elif finding in policy.warn_on:
            verdicts.append(Verdict(finding, "warning", subject, message, change))
    return GateResult(report, verdicts, waived, notes)

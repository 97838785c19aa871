"""The rule registry: each rule's stable id, default severity, parameters (a pydantic model: a
policy file's unknown or ill-typed parameter is an error naming it) and evaluation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lineage_kg.graph.model import NodeKind
from lineage_kg.queries.arguments import MAX_DEPTH
from lineage_kg.queries.governance.deployment_rules import (
    canary_over_traffic_limit,
    shadow_made_decisions,
)
from lineage_kg.queries.governance.model import Context, Severity, Violation
from lineage_kg.queries.governance.ownership_rules import (
    decision_point_without_owner,
    kpi_without_definition_owner,
    unowned_on_production_chain,
)
from lineage_kg.queries.governance.quality_rules import (
    check_failing_too_long,
    serving_trained_on_failed_quality,
)

K = NodeKind


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    pass


class TrainedOnFailedQuality(Params):
    depth: int = Field(10, ge=1, le=MAX_DEPTH)  # hops of the decision trace from the version
    unowned_sources: bool = True  # a source of the training data nobody owns is a violation
    checks: bool = True  # a failing monitoring check on a dataset of the training data too


CHAIN_KINDS = (K.DATASET, K.FEATURE_VIEW, K.FEATURE_SERVICE, K.KPI)


class UnownedOnChain(Params):
    depth: int = Field(10, ge=1, le=MAX_DEPTH)  # hops upstream of the serving versions
    kinds: tuple[NodeKind, ...] = Field(CHAIN_KINDS, min_length=1)

    @field_validator("kinds")
    @classmethod
    def _chain_kinds(cls, kinds: tuple[NodeKind, ...]) -> tuple[NodeKind, ...]:
        if wrong := [k.value for k in kinds if k not in CHAIN_KINDS]:
            allowed = ", ".join(k.value for k in CHAIN_KINDS)
            raise ValueError(f"{', '.join(wrong)} not among {allowed}")
        return kinds


class DefinitionOwner(Params):
    types: tuple[str, ...] = Field(("business",), min_length=1)  # ownership types that count


class FailingTooLong(Params):
    days: float = Field(3.0, gt=0)


class TrafficLimit(Params):
    max_traffic: float = Field(0.1, ge=0, le=1)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity  # the default
    params: type[Params]
    run: Callable[[Context, Severity, Any], list[Violation]]
    summary: str


def _rules() -> dict[str, Rule]:
    rules = [
        Rule(
            "serving_trained_on_failed_quality",
            Severity.ERROR,
            TrainedOnFailedQuality,
            lambda c, s, p: serving_trained_on_failed_quality(
                c, s, p.depth, p.unowned_sources, p.checks
            ),
            "a serving model version was trained on data that failed its quality checks, or "
            "whose source nobody owns",
        ),
        Rule(
            "unowned_on_production_chain",
            Severity.WARNING,
            UnownedOnChain,
            lambda c, s, p: unowned_on_production_chain(c, s, p.depth, set(p.kinds)),
            "a dataset, feature or KPI on a production decision point's chain has no owner, or "
            "its owners have left",
        ),
        Rule(
            "decision_point_without_owner",
            Severity.ERROR,
            NoParams,
            lambda c, s, p: decision_point_without_owner(c, s),
            "a decision point has no accountable owner",
        ),
        Rule(
            "kpi_without_definition_owner",
            Severity.WARNING,
            DefinitionOwner,
            lambda c, s, p: kpi_without_definition_owner(c, s, p.types),
            "a KPI has no owner of its definition",
        ),
        Rule(
            "check_failing_too_long",
            Severity.ERROR,
            FailingTooLong,
            lambda c, s, p: check_failing_too_long(c, s, p.days),
            "a monitoring check on a serving model version has been failing for more than N days",
        ),
        Rule(
            "canary_over_traffic_limit",
            Severity.ERROR,
            TrafficLimit,
            lambda c, s, p: canary_over_traffic_limit(c, s, p.max_traffic),
            "a canary deployment takes more traffic than the policy allows",
        ),
        Rule(
            "shadow_made_decisions",
            Severity.ERROR,
            NoParams,
            lambda c, s, p: shadow_made_decisions(c, s),
            "a shadow deployment's model version made decisions",
        ),
    ]
    return {r.id: r for r in rules}


RULES: dict[str, Rule] = _rules()

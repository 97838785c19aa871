"""Governance rules on both stores (queries/governance): for every rule, the estate of
governance_world.py breaks it — the violation appears with its subject, path, evidence events
and since — and a later record fixes it — the violation is gone. The clean estate breaks none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries.governance import DEFAULT_POLICY, Violation, evaluate, parse_policy
from tests.contract.governance_world import (
    AS_OF,
    ETL_RUN,
    KPI,
    MART_V1,
    PG,
    POINT,
    TRAIN_RUN,
    World,
    build,
    dataset,
    decide,
    mv,
)

RUN_NODE = '["Run","{}"]'


def t(text: str) -> str:
    return canonical_time(text)


def only(rule: str, **params: Any) -> Any:
    return parse_policy({"version": 1, "rules": [{"rule": rule, **params}]})


def found(
    world: World, rule: str, *, as_of: str = AS_OF, decisions: Any = None, **params: Any
) -> list[Violation]:
    return evaluate(world.store, only(rule, **params), as_of, decisions=decisions)


@pytest.fixture
def world(store: GraphStore) -> World:
    return build(store)


def test_the_clean_estate_breaks_no_rule(world: World) -> None:
    assert evaluate(world.store, DEFAULT_POLICY, AS_OF) == []
    assert evaluate(world.store) == []  # now, too


# ---- serving_trained_on_failed_quality ---------------------------------------------------------


def test_failed_quality_of_a_version_trained_on_appears_and_clears(world: World) -> None:
    world.mart_event("2026-03-01T01:30:00Z", passed=False)  # the run's result, later
    (v,) = found(world, "serving_trained_on_failed_quality")
    assert (v.subject, v.related, v.severity) == (mv("1").id, MART_V1.id, "error")
    assert v.path == (POINT.id, mv("1").id, RUN_NODE.format(TRAIN_RUN), MART_V1.id)
    # the version's first and last events (its write, the training read), the deployment's
    version = world.store.get_node(MART_V1.id)
    assert version is not None
    assert {version.first_event, version.last_event, world.deployed} <= set(v.evidence)
    assert "1 quality check(s) failed" in v.detail
    assert v.since == t("2026-03-01T08:00:00Z")  # serving began after the data was there
    # the assertions pass on a later run of the same version: gone
    world.mart_event("2026-03-01T04:00:00Z", passed=True)
    assert found(world, "serving_trained_on_failed_quality") == []


def test_failing_check_on_training_data_appears_and_clears(world: World) -> None:
    subject = {"dataset": {"namespace": PG, "name": "mart"}}
    world.check(subject, "row_count", "pass", "2026-03-02T00:00:00Z")
    failing = world.check(subject, "row_count", "fail", "2026-03-03T00:00:00Z")
    (v,) = found(world, "serving_trained_on_failed_quality")
    check = '["Check","pg/mart","row_count"]'
    assert (v.subject, v.related) == (mv("1").id, check)
    assert v.path[-2:] == (MART_V1.id, check)
    assert failing in v.evidence
    assert v.since == t("2026-03-02T00:00:00Z")  # its last passing result
    assert found(world, "serving_trained_on_failed_quality", checks=False) == []
    world.check(subject, "row_count", "pass", "2026-03-04T00:00:00Z")
    assert found(world, "serving_trained_on_failed_quality") == []


def test_unowned_source_of_training_data_appears_and_clears(world: World) -> None:
    world.mart_event("2026-03-01T01:30:00Z", passed=True, inputs=("raw", "fx"))
    (v,) = found(world, "serving_trained_on_failed_quality")
    fx = dataset("fx").id
    assert (v.subject, v.related) == (mv("1").id, fx)
    assert v.path == (POINT.id, mv("1").id, RUN_NODE.format(TRAIN_RUN), MART_V1.id,
                      RUN_NODE.format(ETL_RUN), fx)  # fmt: skip
    assert "a source nobody owns" in v.detail
    assert found(world, "serving_trained_on_failed_quality", unowned_sources=False) == []
    world.owns(dataset("fx"), "ann@x.com")
    assert found(world, "serving_trained_on_failed_quality") == []


def test_a_deployment_ended_ends_the_violation(world: World) -> None:
    world.mart_event("2026-03-01T01:30:00Z", passed=False)
    assert len(found(world, "serving_trained_on_failed_quality")) == 1
    world.deploy("1", "2026-03-01T08:00:00Z", valid_until="2026-03-05T00:00:00Z")
    assert found(world, "serving_trained_on_failed_quality") == []
    # as of a time it still served, it was a violation then
    assert len(found(world, "serving_trained_on_failed_quality", as_of="2026-03-04T00:00:00Z")) == 1


def test_a_shadow_is_not_serving(world: World) -> None:
    world.mart_event("2026-03-01T01:30:00Z", passed=False)
    world.deploy("1", "2026-03-01T08:00:00Z", valid_until="2026-03-02T00:00:00Z")
    world.deploy("1", "2026-03-02T00:00:00Z", mode="shadow")
    assert found(world, "serving_trained_on_failed_quality") == []


# ---- unowned_on_production_chain ----------------------------------------------------------------


def test_unowned_dataset_on_the_chain_appears_and_clears(world: World) -> None:
    world.mart_event("2026-03-01T01:30:00Z", passed=True, inputs=("raw", "fx"))
    (v,) = found(world, "unowned_on_production_chain")
    fx = dataset("fx")
    assert (v.subject, v.related, v.severity) == (fx.id, None, "warning")
    assert v.path[:2] == (POINT.id, mv("1").id) and v.path[-1] == fx.id
    assert v.since == t("2026-03-01T08:00:00Z")
    assert "no owner" in v.detail
    world.owns(fx, "ann@x.com")
    assert found(world, "unowned_on_production_chain") == []


def test_owner_who_left_appears_and_clears(world: World) -> None:
    world.person("bob@x.com")
    world.mart_event("2026-03-01T01:30:00Z", passed=True, inputs=("raw", "fx"))
    world.owns(dataset("fx"), "bob@x.com")
    assert found(world, "unowned_on_production_chain") == []
    left = world.person("bob@x.com", left=True, left_at="2026-03-06T00:00:00Z")
    (v,) = found(world, "unowned_on_production_chain")
    assert (v.subject, v.related) == (dataset("fx").id, '["Owner","bob@x.com"]')
    assert left in v.evidence and "bob@x.com" in v.detail
    assert v.since == t("2026-03-06T00:00:00Z")  # when the last owner left
    # before he left, nothing was wrong
    assert found(world, "unowned_on_production_chain", as_of="2026-03-05T00:00:00Z") == []
    world.owns(dataset("fx"), "ann@x.com")
    assert found(world, "unowned_on_production_chain") == []


def test_driven_kpi_without_owner_is_on_the_chain(world: World) -> None:
    world.catalog("kpi", {"name": "approval-rate"}, at="2026-03-02T00:00:00Z")  # owner dropped
    (v,) = found(world, "unowned_on_production_chain")
    assert (v.subject, v.path) == (KPI.id, (POINT.id, KPI.id))
    assert found(world, "unowned_on_production_chain", kinds=["Dataset"]) == []


# ---- decision_point_without_owner, kpi_without_definition_owner -------------------------------


def test_decision_point_without_owner_appears_and_clears(world: World) -> None:
    body = {"name": "loan-approval", "drives": ["approval-rate"]}
    dropped = world.catalog("decision_point", body, at="2026-03-02T00:00:00Z")
    (v,) = found(world, "decision_point_without_owner")
    assert (v.subject, v.path, v.related) == (POINT.id, (POINT.id,), None)
    assert dropped in v.evidence
    world.catalog("decision_point", {**body, "owner": "ann@x.com"}, at="2026-03-03T00:00:00Z")
    assert found(world, "decision_point_without_owner") == []
    world.person("ann@x.com", left=True, left_at="2026-03-04T00:00:00Z")
    (v,) = found(world, "decision_point_without_owner")
    assert v.related == '["Owner","ann@x.com"]' and v.since == t("2026-03-04T00:00:00Z")


def test_kpi_without_definition_owner_appears_and_clears(world: World) -> None:
    world.catalog("kpi", {"name": "approval-rate"}, at="2026-03-02T00:00:00Z")
    world.owns(KPI, "ann@x.com", kind="technical")  # not the definition's owner
    (v,) = found(world, "kpi_without_definition_owner")
    assert (v.subject, v.path) == (KPI.id, (KPI.id,))
    assert "no business owner" in v.detail
    assert found(world, "kpi_without_definition_owner", types=["technical"]) == []
    world.catalog("kpi", {"name": "approval-rate", "owner": "ann@x.com"}, "2026-03-03T00:00:00Z")
    assert found(world, "kpi_without_definition_owner") == []


# ---- check_failing_too_long ----------------------------------------------------------------------


MODEL = {"model": "credit-risk", "version": "1"}
AUC = '["Check","mlflow/credit-risk@1","auc"]'


def test_check_failing_too_long_appears_and_clears(world: World) -> None:
    first = world.check(MODEL, "auc", "pass", "2026-03-01T00:00:00Z")
    world.check(MODEL, "auc", "fail", "2026-03-02T00:00:00Z")
    latest = world.check(MODEL, "auc", "fail", "2026-03-05T00:00:00Z")
    (v,) = found(world, "check_failing_too_long", days=3)
    assert (v.subject, v.related) == (AUC, mv("1").id)
    assert v.path == (POINT.id, mv("1").id, AUC)
    assert v.since == t("2026-03-01T00:00:00Z")  # after its last passing result
    assert {first, latest, world.deployed} <= set(v.evidence)  # the check's first and last
    assert found(world, "check_failing_too_long", days=10) == []
    assert found(world, "check_failing_too_long", days=3, as_of="2026-03-03T12:00:00Z") == []
    world.check(MODEL, "auc", "pass", "2026-03-09T00:00:00Z")
    assert found(world, "check_failing_too_long", days=3) == []


def test_a_check_that_never_passed_fails_since_its_first_result(world: World) -> None:
    world.check(MODEL, "auc", "fail", "2026-03-08T00:00:00Z")
    assert found(world, "check_failing_too_long", days=3) == []
    (v,) = found(world, "check_failing_too_long", days=1)
    assert v.since == t("2026-03-08T00:00:00Z")


# ---- canary_over_traffic_limit, shadow_made_decisions -------------------------------------------


def test_canary_over_its_traffic_limit_appears_and_clears(world: World) -> None:
    deployed = world.deploy("2", "2026-03-03T00:00:00Z", mode="canary", traffic=0.3)
    (v,) = found(world, "canary_over_traffic_limit")
    assert (v.subject, v.related, v.path) == (mv("2").id, POINT.id, (POINT.id, mv("2").id))
    assert deployed in v.evidence and v.since == t("2026-03-03T00:00:00Z")
    assert found(world, "canary_over_traffic_limit", max_traffic=0.5) == []
    world.deploy("2", "2026-03-03T00:00:00Z", mode="canary", traffic=0.3,
                 valid_until="2026-03-06T00:00:00Z")  # fmt: skip
    assert found(world, "canary_over_traffic_limit") == []


def _decision(decision_id: str, at: str, version: str) -> dict[str, object]:
    return {"decision_id": decision_id, "timestamp": at, "decision_point": "loan-approval",
            "model": "credit-risk", "version": version, "outcome": "approved"}  # fmt: skip


def test_shadow_that_made_decisions_appears_and_clears(world: World, tmp_path: Path) -> None:
    deployed = world.deploy("2", "2026-03-03T00:00:00Z", mode="shadow")
    table = decide(world.store, tmp_path, [
        _decision("d-1", "2026-03-02T00:00:00Z", "2"),  # before the shadow began: not counted
        _decision("d-2", "2026-03-04T00:00:00Z", "2"),
        _decision("d-3", "2026-03-05T00:00:00Z", "2"),
        _decision("d-4", "2026-03-05T00:00:00Z", "1"),  # the champion's
    ])  # fmt: skip
    assert found(world, "shadow_made_decisions") == []  # no table: nothing to judge
    (v,) = found(world, "shadow_made_decisions", decisions=table)
    assert (v.subject, v.related, v.path) == (mv("2").id, POINT.id, (POINT.id, mv("2").id))
    assert v.since == t("2026-03-04T00:00:00Z")
    assert deployed in v.evidence and "2 decision(s)" in v.detail
    rows = [table.get(d) for d in ("d-2", "d-3")]
    assert {r.event_id for r in rows if r} <= set(v.evidence)
    # before the shadow's first decision: nothing yet
    assert (
        found(world, "shadow_made_decisions", as_of="2026-03-03T12:00:00Z", decisions=table) == []
    )
    world.deploy("2", "2026-03-03T00:00:00Z", mode="shadow", valid_until="2026-03-08T00:00:00Z")
    assert found(world, "shadow_made_decisions", decisions=table) == []


def test_feature_sources_are_the_traces_feature_datasets(
    store: GraphStore, value_chain: Any
) -> None:
    """The quality rule reads a version's feature sources with a walk of its own: the datasets
    it finds are exactly the DATASET steps of the decision trace's feature chain."""
    from lineage_kg.queries.decision_trace import StepKind, decision_lineage
    from lineage_kg.queries.governance.model import Context
    from lineage_kg.queries.governance.quality_rules import _training_data

    version = value_chain.mv4.id
    trace = decision_lineage(store, version)
    want = {s.node.id for s in trace.features if s.kind is StepKind.DATASET}
    assert want == {value_chain.mart.id}  # the feature view's source
    seen, sources = _training_data(Context(store, None, AS_OF), version, 10)
    data = {s.node.id for s in trace.data}
    assert {s.node.id for s in seen} - data == want
    assert sources == trace.sources

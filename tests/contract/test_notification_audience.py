"""Changes detected on the value chain (tests/contract/conftest.py) and who is told of each, on
both stores, against answers worked out by hand from the chain's picture."""

from __future__ import annotations

from typing import Any

from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.notifications.changes import detect
from lineage_kg.queries.audience import audience
from tests.contract.conftest import ValueChain, value_chain_batches


def changes(v: ValueChain) -> dict[str, Any]:
    state: dict[str, Any] = {}
    found = [c for b in value_chain_batches(v) for c in detect(b.mutations, state)]
    return {c.kind.value: c for c in found}


def told(store: GraphStore, change: Any) -> dict[str, Any]:
    return audience(store, change.subject, list(change.starts))


def test_the_chain_brings_five_changes(store: GraphStore, value_chain: ValueChain) -> None:
    v = value_chain
    found = changes(v)
    assert {k: (c.subject, c.event_id) for k, c in found.items()} == {
        "quality_failed": (v.mart_v1.id, "ev-etl-1-complete"),  # 1 of 4 checks failed
        "alias_moved": (v.model.id, "ev-deploy-v4"),  # champion -> 4, its first assignment
        "deployment_started": (v.mv4.id, "ev-deploy-v4"),
        "schema_change": (v.raw.id, "ev-raw-schema"),  # legacy_flag gone (segment added)
        "run_failed": (v.etl_2.id, "ev-etl-2-fail"),
    }
    assert found["schema_change"].detail["dropped"] == ["legacy_flag"]
    assert found["schema_change"].starts == (v.col(v.raw, "legacy_flag").id,)


def test_failed_checks_on_the_mart_reach_the_decision_point_and_both_kpis(
    store: GraphStore, value_chain: ValueChain
) -> None:
    v = value_chain
    a = told(store, changes(v)["quality_failed"])
    # the mart's owner; the feature view's and the decision point's (ml-risk); approval-rate's
    # (finance), reached exactly: mart#debt_ratio -> feature -> credit-risk@4 -> loan-approval
    assert a["owners"] == ["team:data-platform", "team:finance", "team:ml-risk"]
    assert a["kpis"] == ["approval-rate", "approved-volume"]
    assert a["decision_points"] == ["loan-approval"]
    exact = {i["id"] for i in a["exact"]}
    assert {v.feature.id, v.mv4.id, v.point.id, v.volume.id, v.rate.id} <= exact


def test_an_alias_move_and_a_deployment_tell_the_decision_points_owners(
    store: GraphStore, value_chain: ValueChain
) -> None:
    v = value_chain
    for kind in ("alias_moved", "deployment_started"):
        a = told(store, changes(v)[kind])
        assert a["owners"] == ["team:finance", "team:ml-risk"], kind
        assert a["kpis"] == ["approval-rate", "approved-volume"], kind
        assert a["possible_count"] == 0, kind


def test_a_dropped_column_nobody_reads_tells_its_owner_who_has_left(
    store: GraphStore, value_chain: ValueChain
) -> None:
    """legacy_flag feeds nothing, and the mart's column lineage (authoritative) does not name
    it: nothing downstream; the loans table's one owner, bob, has left."""
    a = told(store, changes(value_chain)["schema_change"])
    assert (a["owners"], a["left"]) == ([], ["bob@example.com"])
    assert (a["exact_count"], a["possible_count"]) == (0, 0)


def test_a_failed_etl_run_names_its_jobs_owner_and_summarises_the_rest(
    store: GraphStore, value_chain: ValueChain
) -> None:
    """From the job, lineage is dataset-level: everything downstream is possible; its owners
    are summarised, the job's own owner is named."""
    a = told(store, changes(value_chain)["run_failed"])
    assert a["owners"] == ["team:data-platform"]
    assert a["exact_count"] == 0 and a["possible_count"] > 0
    assert set(a["possible_owners"]) == {"team:finance", "team:ml-risk"}
    assert a["decision_points"] == ["loan-approval"]

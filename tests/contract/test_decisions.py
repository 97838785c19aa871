"""Decisions from the side table on both stores: which model version made each (named, by an
alias that moved over time, by deployment windows), and decision lineage starting from a row.

The graph is the value chain of conftest.py (credit-risk@4 champion and deployed to
loan-approval from 2026-03-01T08:00), plus v5/v6 changes below; the decisions go through the real
log, the mapping and the projection.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lineage_kg.graph.errors import NotFound
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.sides.decisions import DecisionTable
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.decisions.mapping import map_entry
from lineage_kg.ingest.decisions.projection import DecisionProjection
from lineage_kg.ingest.decisions.records import decision_event, validate_items
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.queries.decision_trace import StepKind, decision_lineage
from lineage_kg.queries.decisions import Resolution, resolve

R = Resolution


def mv(version: str) -> NodeKey:
    return NodeKey.of(
        NodeKind.MODEL_VERSION, registry="mlflow", name="credit-risk", version=version
    )


def decision(decision_id: str, at: str, **extra: object) -> dict[str, object]:
    return {
        "decision_id": decision_id,
        "timestamp": at,
        "decision_point": "loan-approval",
        "model": "credit-risk",
        "outcome": "approved",
        "features": ["risk/loan_features:debt_ratio"],
        **extra,
    }


def later_changes(store: GraphStore, v: Any) -> None:
    """champion: v4 → v5 on 03-05; deployments: v4 until 03-05 (retired), v5 from 03-05 (declared
    window), v6 from 03-10 alongside v5 (a canary: two serving at once)."""
    b = MutationBatch()
    p = Provenance("mlflow", "ev-champion-v5", "2026-03-05T00:00:00Z")
    b.edge(v.model, E.HAS_VERSION, mv("5"), p)
    b.edge(v.model, E.ALIAS, mv("5"), p, disc="champion")
    b.add(EdgeRetire(v.model, E.ALIAS, Direction.OUT, frozenset({mv("5")}), p, disc="champion"))
    store.apply(b)
    b = MutationBatch()
    p = Provenance("deployment", "ev-deploy-v5", "2026-03-05T00:00:00Z")
    b.edge(mv("5"), E.DEPLOYED_TO, v.point, p, valid_from="2026-03-05T00:00:00Z")
    b.add(EdgeRetire(v.point, E.DEPLOYED_TO, Direction.IN, frozenset({mv("5")}), p))
    store.apply(b)
    b = MutationBatch()
    p = Provenance("deployment", "ev-deploy-v6", "2026-03-10T00:00:00Z")
    b.edge(v.model, E.HAS_VERSION, mv("6"), p)
    b.edge(mv("6"), E.DEPLOYED_TO, v.point, p, valid_from="2026-03-10T00:00:00Z")
    store.apply(b)


@pytest.fixture
def table(store: GraphStore, value_chain: Any, tmp_path: Path) -> Iterator[DecisionTable]:
    later_changes(store, value_chain)
    rows = [
        decision("sd-named", "2026-03-02T10:00:00Z", version="4"),
        decision("sd-alias-early", "2026-03-02T10:00:00Z", alias="champion"),
        decision("sd-alias-late", "2026-03-06T10:00:00Z", alias="champion"),
        decision("sd-alias-before", "2026-02-20T00:00:00Z", alias="champion"),
        decision("sd-alias-unset", "2026-03-01T07:30:00Z", alias="champion"),
        decision("sd-deployed-v4", "2026-03-02T10:00:00Z"),
        decision("sd-deployed-v5", "2026-03-06T10:00:00Z"),
        decision("sd-canary", "2026-03-11T10:00:00Z"),
        decision("sd-undeployed", "2026-02-20T00:00:00Z"),
    ]
    checked = validate_items([(i, f"[{i}]", r) for i, r in enumerate(rows)])
    assert not checked.rejected
    log = EventLog(tmp_path / "events.sqlite3")
    log.append([decision_event(checked.decisions)])
    for entry in log.read(0, 10):
        store.apply(map_entry(entry))
    projection = DecisionProjection.at(tmp_path)
    projection.catch_up(log, store, log.last_seq())
    assert projection.table.stats().stored == len(rows)
    yield projection.table
    projection.close()
    log.close()


def made_by(store: GraphStore, table: DecisionTable, decision_id: str) -> tuple[Any, ...]:
    row = table.get(decision_id)
    assert row is not None
    found = resolve(store, row)
    return found.resolution, [link.node.key.parts[2] for link in found.versions]


@pytest.mark.parametrize(
    ("decision_id", "expected"),
    [
        ("sd-named", (R.OBSERVED, ["4"])),
        ("sd-alias-early", (R.RESOLVED, ["4"])),
        ("sd-alias-late", (R.RESOLVED, ["5"])),
        # no champion known then: the versions registered by then, never today's target
        ("sd-alias-before", (R.UNRESOLVED, [])),  # none registered yet
        ("sd-alias-unset", (R.UNRESOLVED, ["4"])),  # v4 registered 07:00, champion from 08:00
        ("sd-deployed-v4", (R.RESOLVED, ["4"])),
        ("sd-deployed-v5", (R.RESOLVED, ["5"])),
        ("sd-canary", (R.UNRESOLVED, ["5", "6"])),
        ("sd-undeployed", (R.UNRESOLVED, ["5", "6"])),  # nothing served then; deployed now
    ],
)
def test_which_version_made_the_decision(
    store: GraphStore, table: DecisionTable, decision_id: str, expected: tuple[Any, ...]
) -> None:
    assert made_by(store, table, decision_id) == expected


def test_resolution_details_say_why(store: GraphStore, table: DecisionTable) -> None:
    row = table.get("sd-alias-late")
    assert row is not None
    assert resolve(store, row).detail == (
        "alias champion of mlflow/credit-risk at 2026-03-06T10:00:00.000000Z: "
        "mlflow/credit-risk@5 (set 2026-03-05T00:00:00.000000Z)"
    )
    row = table.get("sd-canary")
    assert row is not None
    assert resolve(store, row).detail.endswith(": several versions")
    # the detail and the candidates agree
    row = table.get("sd-alias-unset")
    assert row is not None
    found = resolve(store, row)
    assert found.detail == (
        "alias champion of mlflow/credit-risk at 2026-03-01T07:30:00.000000Z: pointed at no "
        "version known then; candidates: the 1 version(s) registered by then"
    )
    assert [link.node.key.display for link in found.versions] == ["mlflow/credit-risk@4"]


def test_lineage_starts_from_a_side_table_decision(
    store: GraphStore, value_chain: Any, table: DecisionTable
) -> None:
    v = value_chain
    row = table.get("sd-deployed-v4")
    assert row is not None
    trace = decision_lineage(store, "sd-deployed-v4", decisions=table)
    head = trace.decision
    assert head is not None
    key = NodeKey.of(NodeKind.DECISION, decision_id="sd-deployed-v4")
    assert (head.kind, head.node.id, head.time, head.evidence, head.resolution) == (
        StepKind.DECISION, key.id, canonical_time("2026-03-02T10:00Z"), (row.event_id,),
        R.OBSERVED,
    )  # fmt: skip
    assert head.node.props["features"] == ["risk/loan_features:debt_ratio"]
    (made,) = trace.model_versions
    assert (made.node.id, made.distance, made.via, made.edge, made.resolution) == (
        v.mv4.id, 1, key.id, E.DEPLOYED_TO, R.RESOLVED,
    )  # fmt: skip
    assert "ev-deploy-v4" in made.evidence
    # the chains behind the version are the ones the graph's own decision d-1001 gets
    graph_trace = decision_lineage(store, v.decision.id)
    assert [s.node.id for s in trace.data] == [s.node.id for s in graph_trace.data]
    assert [s.node.id for s in trace.features] == [s.node.id for s in graph_trace.features]
    assert trace.data and trace.features
    # the same through the Decision node id form, and the alias form
    by_node = decision_lineage(store, key.id, decisions=table)
    assert [s.node.id for s in by_node.steps] == [s.node.id for s in trace.steps]
    late = decision_lineage(store, "sd-alias-late", decisions=table)
    assert [(s.node.id, s.edge, s.resolution) for s in late.model_versions] == [
        (mv("5").id, E.ALIAS, R.RESOLVED)
    ]


def test_lineage_falls_back_to_graph_decisions(
    store: GraphStore, value_chain: Any, table: DecisionTable
) -> None:
    with_table = decision_lineage(store, "d-1001", decisions=table)
    without = decision_lineage(store, "d-1001")
    assert [s.node.id for s in with_table.steps] == [s.node.id for s in without.steps]
    with pytest.raises(NotFound):
        decision_lineage(store, "no-such-decision", decisions=table)

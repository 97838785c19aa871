"""The change check on both stores: many changes walked at once answer as the changes one by
one would (queries/impact.py from each, merged: exact if any is, then the nearest), less the
changed nodes themselves; a proposed schema diffs against the graph's columns.

The value chain of tests/contract/conftest.py: loans#income and #amount feed the mart, whose
debt_ratio feeds the feature credit-risk@4 reads; credit-risk@4 serves loan-approval."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.model import Certainty, NodeKey
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.change_check import Change, check_changes, schema_changes
from lineage_kg.queries.impact import impact
from tests.contract.conftest import ValueChain, column

V = ValueChain()
CANDIDATES: list[NodeKey] = [
    column(V.raw, "income"),
    column(V.raw, "amount"),
    column(V.raw, "loan_id"),
    column(V.fx, "rate"),
    column(V.mart, "debt_ratio"),
    column(V.mart, "amount"),
    V.fx,
    V.mart,
]


def one_by_one(store: GraphStore, nodes: list[NodeKey]) -> dict[str, tuple[str, int]]:
    """Each change's impact, merged: exact if one is (at the nearest exact distance), else
    possible at the nearest."""
    merged: dict[str, tuple[str, int]] = {}
    for node in nodes:
        for item in impact(store, node.id).items:
            mine = (item.certainty.value, item.distance)
            held = merged.get(item.node.id)
            if held is None or (mine[0] == "exact", -mine[1]) > (held[0] == "exact", -held[1]):
                merged[item.node.id] = mine
    return merged


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(CANDIDATES), min_size=1, max_size=5, unique=True))
def test_one_walk_answers_as_the_changes_one_by_one(
    store: GraphStore, value_chain: ValueChain, nodes: list[NodeKey]
) -> None:
    report = check_changes(store, [Change(n.id, "drop") for n in nodes])
    # a changed dataset's columns are changed too: starts, not impacted
    starts = {n.id for n in nodes} | _columns_of(store, nodes)
    expected = {k: v for k, v in one_by_one(store, nodes).items() if k not in starts}
    assert {i.node.id: (i.certainty.value, i.distance) for i in report.items} == expected
    changes = {Change(n.id, "drop") for n in nodes}
    for item in report.items:  # each explained by a change its path starts from
        assert item.change in changes
        hop = item.path[0]
        first = (hop.edge.key.src if hop.direction is Direction.OUT else hop.edge.key.dst).id
        assert first == item.change.ref or first in _columns_of(
            store, [NodeKey.from_id(item.change.ref)]
        )


def _columns_of(store: GraphStore, nodes: list[NodeKey]) -> set[str]:
    from lineage_kg.graph.model import EdgeKind

    ids = [n.id for n in nodes if len(n.parts) == 2]
    return {e.key.dst.id for e in store.neighbors(ids, Direction.OUT, [EdgeKind.HAS_COLUMN])}


def test_production_decision_point_and_leaver(store: GraphStore, value_chain: ValueChain) -> None:
    v = value_chain
    report = check_changes(store, [Change(column(v.raw, "income").display, "type:bigint")])
    assert [(d.decision_point.key, d.certainty) for d in report.decisions] == [
        (v.point, Certainty.EXACT)
    ]
    assert report.decisions[0].model_version.key == v.mv4
    assert {m.item.node.key: m.via for m in report.models} == {v.mv4: "features"}
    leavers = {o.owner_id for o in report.owners if o.left}
    assert leavers == {"bob@example.com"}  # owns the loans table, reached from its column
    # before the deployment, nothing served the decision point
    early = check_changes(
        store, [Change(column(v.raw, "income").id, "drop")], at="2026-03-01T07:00:00Z"
    )
    assert early.decisions == []


def test_proposed_schema_against_the_graph(store: GraphStore, value_chain: ValueChain) -> None:
    v = value_chain
    found = schema_changes(
        store, v.raw, [("loan_id", None), ("amount", "DECIMAL"), ("segment", None)]
    )
    # income is gone; types the graph does not know are no type change
    assert [(NodeKey.from_id(c.ref), c.kind) for c in found] == [(column(v.raw, "income"), "drop")]

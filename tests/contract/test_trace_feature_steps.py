"""The decision trace's feature steps (issue 19, target 1, session 25: built without `events` and
with an asset's owners sorted once), on both stores: each step's evidence is `events` of its node
and the edge that led to it (a retired edge's retiring event included), and its owners are the
asset-and-ownership model read the long way (test_trace_reads.owners_the_long_way), here with
parts owned both themselves and through their asset."""

from __future__ import annotations

from typing import Any

from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.assets import events
from lineage_kg.queries.decision_trace import decision_lineage
from tests.contract.test_trace_reads import owners_the_long_way

THEN = "2026-12-01T00:00:00Z"  # before the retirement below, after the value chain was built


def _owned_parts_and_a_retired_edge(store: GraphStore, v: Any) -> None:
    """The feature and a column owned themselves (their view and dataset are owned too); the
    feature's FEEDS edge from its column retired after `THEN`."""
    p = Provenance("test", "ev-owned-parts", "2026-06-01T00:00:00Z")
    b = MutationBatch()
    b.edge(v.alice, E.OWNS, v.feature, p, disc="business")
    b.edge(v.finance, E.OWNS, v.col(v.mart, "debt_ratio"), p, disc="business")
    store.apply(b)
    b = MutationBatch()
    retired = Provenance("test", "ev-unfed", "2027-01-01T00:00:00Z")
    b.add(EdgeRetire(v.feature, E.FEEDS, Direction.IN, frozenset(), retired))
    store.apply(b)


def test_feature_steps_evidence_and_owners(store: GraphStore, value_chain: Any) -> None:
    v = value_chain
    _owned_parts_and_a_retired_edge(store, v)
    trace = decision_lineage(store, v.decision.id, as_of=THEN)
    assert trace.features
    assert {s.node.id: s.owners for s in trace.steps} == owners_the_long_way(store, trace)
    # a part's own owner and its asset's, together
    feature = next(s for s in trace.features if s.node.id == v.feature.id)
    assert "alice@example.com" in feature.owners and len(feature.owners) > 1
    retiring = []
    for step in trace.features:
        assert step.edge is not None and step.via is not None
        ways = store.neighbors_each_way(
            [step.node.id], {Direction.IN: [step.edge], Direction.OUT: [step.edge]}, THEN
        )
        led = [e for e, _ in ways if step.via in (e.key.src.id, e.key.dst.id)]
        assert step.evidence in {events(step.node, e) for e in led}, step.node.id
        retiring += [e for e in led if e.retired_by and e.retired_by in step.evidence]
    assert retiring, "a step reached over an edge retired since"

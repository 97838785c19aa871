"""The decision trace's feature steps when the depth cuts the feature chain (issue 19, target 1,
session 27), on both stores: the walk goes one level past the depth (to tell that it cut), and
only the kept steps' path edges are read for their evidence (on Neo4j, their events alone:
graph/neo4j_trace_evidence.py). Each step's evidence is still `events` of its node and the edge
that led to it, read here independently, and no path edge is read whole in a read of its own."""

from __future__ import annotations

from typing import Any

import pytest

from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.neo4j_path_edges import PathEdges
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.assets import events
from lineage_kg.queries.decision_trace import decision_lineage
from tests.contract.test_trace_feature_steps import THEN, _owned_parts_and_a_retired_edge


def test_a_cut_feature_chain_reads_the_kept_edges_alone(
    store: GraphStore, value_chain: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    v = value_chain
    _owned_parts_and_a_retired_edge(store, v)
    whole = decision_lineage(store, v.decision.id, as_of=THEN)
    loads: list[int] = []
    load = PathEdges.load
    monkeypatch.setattr(PathEdges, "load", lambda self: loads.append(1) or load(self))
    # the model version at 1, its features at 2, their views and columns at 3: what is beyond
    # is walked, not kept
    trace = decision_lineage(store, v.decision.id, depth=3, as_of=THEN)
    assert trace.truncated and trace.features
    assert {s.distance for s in trace.features} == {2, 3}
    assert len(trace.features) < len(whole.features)
    assert loads == []  # every evidence came with the trace's reads
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
    # the steps kept are the whole trace's at those distances
    kept = {s.node.id: s for s in whole.features if s.distance <= 3}
    assert {s.node.id: s for s in trace.features} == kept

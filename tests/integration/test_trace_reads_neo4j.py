"""The decision trace's round trips on Neo4j (issue 19, target 1), pinned: the data chain read ahead
(queries/trace_ahead.py: the store's walk statements, then the covered nodes in one read), the
feature chain's walk, and its nodes with the owners, its parts' assets and the walk's path
edges in one read. Each trace is also the level loop's (the trace
with the read-ahead off), and that loop's reads are counted too: the new count must stay below
it, and must not grow with the depth of the chain as the loop's does."""

from __future__ import annotations

import math
from typing import Any

import pytest

from lineage_kg.api.graphql.traversal_budget import RequestBudgetSpent, TraversalBudget, budgeted
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import MutationBatch, Provenance
from lineage_kg.graph.neo4j_walk_statements import REACH_CHUNK
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries import decision_trace
from lineage_kg.queries.decision_trace import DecisionTrace, decision_lineage
from lineage_kg.queries.trace_ahead import chain_hops
from tests.contract.conftest import ValueChain, value_chain_batches

pytestmark = pytest.mark.neo4j


class Counted:
    """The store's round trips while a trace is asked: walk statements (inside `reach` or `walk`)
    apart from the other reads."""

    def __init__(self, store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.walks = self.reads = 0
        self._walking = False
        read, reach, walk = store._read, store.reach, store.walk

        def counted(query: str, **params: Any) -> Any:
            if self._walking:
                self.walks += 1
            else:
                self.reads += 1
            return read(query, **params)

        def walking(inner: Any) -> Any:
            def call(*args: Any, **kwargs: Any) -> Any:
                self._walking = True
                try:
                    return inner(*args, **kwargs)
                finally:
                    self._walking = False

            return call

        monkeypatch.setattr(store, "_read", counted)
        monkeypatch.setattr(store, "reach", walking(reach))
        monkeypatch.setattr(store, "walk", walking(walk))


def _traced(
    store: GraphStore, start: str, monkeypatch: pytest.MonkeyPatch, depth: int = 10
) -> tuple[DecisionTrace, Counted, DecisionTrace, Counted]:
    """The trace and its round trips, and the same with the read-ahead off (the level loop)."""
    with monkeypatch.context() as m:
        m.setattr(decision_trace, "read_ahead", lambda *a: None)
        loop_reads = Counted(store, m)
        loop = decision_lineage(store, start, depth=depth)
    reads = Counted(store, monkeypatch)
    trace = decision_lineage(store, start, depth=depth)
    monkeypatch.undo()
    return trace, reads, loop, loop_reads


def test_the_value_chains_trace_in_four_reads_and_its_walks(
    neo4j_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for batch in value_chain_batches(ValueChain()):
        neo4j_store.apply(batch)
    trace, counted, loop, by_loop = _traced(neo4j_store, "d-1001", monkeypatch)
    assert trace == loop and trace.data and trace.features
    assert any(s.resolution.value == "resolved" for s in trace.data)
    assert any(s.owners for s in trace.data) and any(s.owners for s in trace.features)
    # the decision node; its DECIDED edge; the data chain's nodes (read ahead, whose walk holds
    # the chain, the datasets' versions and the runs' jobs; the version's node, a start, with
    # them); the feature nodes with the owners, the feature chain's parts' assets and the
    # feature walk's path edges
    assert counted.reads == 4, (counted.reads, counted.walks)
    # the walk statements: the chain's (seven hops here: two on Neo4j's five levels a statement)
    # and the feature chain's
    assert 2 <= counted.walks <= math.ceil(7 / REACH_CHUNK) + 1
    assert counted.reads + counted.walks < by_loop.reads + by_loop.walks - 5


def _long_chain(store: GraphStore, levels: int) -> str:
    """A model version trained on a chain of `levels` runs, each reading the version the one
    before wrote (named: nothing to resolve); the model and the jobs owned. Its id."""
    p = Provenance("test", "ev-chain", "2026-01-01T00:00:00Z")
    b = MutationBatch()
    model = NodeKey.of(K.MODEL, registry="mlflow", name="deep")
    mv = NodeKey.of(K.MODEL_VERSION, registry="mlflow", name="deep", version="1")
    b.edge(model, E.HAS_VERSION, mv, p)
    b.edge(NodeKey.of(K.OWNER, owner_id="team:deep"), E.OWNS, model, p)
    reader = mv
    for i in range(levels):
        run = NodeKey.of(K.RUN, run_id=f"r{i}")
        job = NodeKey.of(K.JOB, namespace="etl", name=f"j{i}")
        ds = NodeKey.of(K.DATASET, namespace="db", name=f"t{i}")
        version = NodeKey.of(K.DATASET_VERSION, namespace="db", name=f"t{i}", version="1")
        started = canonical_time(f"2026-01-{28 - i:02d}T00:00:00Z")
        b.node(run, p, state="COMPLETE", started_at=started)
        b.edge(run, E.RUN_OF, job, p)
        b.edge(NodeKey.of(K.OWNER, owner_id=f"team:{i % 3}"), E.OWNS, job, p)
        b.edge(run, E.TRAINED if reader == mv else E.WROTE, reader, p)
        b.edge(ds, E.HAS_VERSION, version, p)
        b.edge(version, E.READ_BY, run, p)
        reader = version
    store.apply(b)
    return mv.id


def test_the_reads_do_not_grow_with_the_depth_of_the_chain(
    neo4j_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    mv = _long_chain(neo4j_store, 20)
    found = {}
    for depth in (4, 10):
        trace, counted, loop, by_loop = _traced(neo4j_store, mv, monkeypatch, depth=depth)
        assert trace == loop
        assert trace.truncated and len(trace.data) == depth  # a step a level, to the depth
        assert any(s.owners for s in trace.data)
        found[depth] = counted, by_loop
    # the version's node; the chain's nodes; the owners — whatever the depth (the parts' asset
    # edges, the runs' jobs and the version's model, are read ahead; no features to read)
    assert found[4][0].reads == found[10][0].reads == 3
    # the walk statements: the chain's to the depth and a few hops more, the feature chain's
    assert found[10][0].walks <= math.ceil(chain_hops(10) / REACH_CHUNK) + 1
    # the level loop reads a round trip more per level
    assert found[10][1].reads - found[4][1].reads >= 6
    assert found[10][0].reads + found[10][0].walks < found[10][1].reads + found[10][1].walks


def test_a_requests_budget_keeps_the_read_ahead_and_still_refuses(
    neo4j_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked through a request's budget (the API's view of the store), the trace still reads
    ahead: the same round trips as the store itself, the same answer; it is charged at least
    what the level loop is charged, and refused where the level loop is."""
    for batch in value_chain_batches(ValueChain()):
        neo4j_store.apply(batch)
    trace, counted, _, _ = _traced(neo4j_store, "d-1001", monkeypatch)

    def through_budget(limit: int, ahead: bool) -> tuple[DecisionTrace, Counted, TraversalBudget]:
        budget = TraversalBudget(limit)
        with monkeypatch.context() as m:
            if not ahead:
                m.setattr(decision_trace, "read_ahead", lambda *a: None)
            reads = Counted(neo4j_store, m)
            return (
                decision_lineage(budgeted(neo4j_store, budget), "d-1001", depth=10),
                reads,
                budget,
            )

    via, reads, spent = through_budget(100_000, ahead=True)
    assert via == trace
    assert (reads.reads, reads.walks) == (counted.reads, counted.walks)
    by_loop, loop_reads, loop_spent = through_budget(100_000, ahead=False)
    assert by_loop == trace and loop_reads.reads > reads.reads
    assert spent.spent >= loop_spent.spent > 0
    for ahead in (True, False):
        with pytest.raises(RequestBudgetSpent):
            through_budget(loop_spent.spent - 1, ahead=ahead)

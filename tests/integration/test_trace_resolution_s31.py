"""A side-table decision's versions with fewer round trips on Neo4j (session 31,
queries/decision_trace.py `_table_versions`):

- naming its version: its DECIDED edges read with the read-ahead's nodes (queries/trace_ahead.py
  `read_ahead`'s `decided`), one round trip fewer;
- naming neither version nor alias: its point's deployments now and at its time (and now again,
  none serving) in one read (`Neo4jStore.neighbors_now_and_at`, `_PointDeployments`), one
  round trip fewer or two.

The oracle is the trace as it was: `_table_versions` before session 31, kept verbatim below
(`resolve_unread` on the store, its own reads), over generated estates: several versions and
points, DECIDED and DEPLOYED_TO edges asserted, retired and asserted again, declared windows
and shadows, the named version absent from the graph now and then. The trace is the old one's
whole, on both stores; on Neo4j it makes the reads fewer, and the edges read together are
`neighbors`' own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lineage_kg.api.graphql.traversal_budget import TraversalBudget, budgeted
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind as E
from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.model import NodeKind as K
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.neo4j_store import Neo4jStore
from lineage_kg.graph.records import StoredNode
from lineage_kg.graph.sides.decisions import DecisionRow
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries import decision_trace
from lineage_kg.queries.assets import events
from lineage_kg.queries.decision_trace import (
    StepKind,
    TraceStep,
    Unread,
    _Pending,
    decision_lineage,
    resolve_unread,
)
from lineage_kg.queries.trace_ahead import ReadAhead, read_ahead
from tests.integration.test_trace_reads_neo4j import Counted

pytestmark = pytest.mark.neo4j

VERSIONS = ["1", "2", "3"]  # "9": named, never in the graph
POINTS = ["approve", "limit", "fraud"]
TIMES = [canonical_time(f"2026-03-0{d}T00:00:00Z") for d in range(1, 8)]  # rows hold this form


def _mv(version: str) -> NodeKey:
    return NodeKey.of(K.MODEL_VERSION, registry="mlflow", name="m", version=version)


def _point(name: str) -> NodeKey:
    return NodeKey.of(K.DECISION_POINT, name=name)


# ---- the oracle: `_table_versions` before session 31, verbatim ----------------------------------


def _table_versions_s30(store: GraphStore, row: DecisionRow, start: StoredNode) -> Any:
    found = resolve_unread(store, row)

    def made(nodes: Mapping[str, StoredNode]) -> list[TraceStep]:
        resolved = found.read(nodes) if isinstance(found, Unread) else found
        return [
            TraceStep(
                StepKind.MODEL_VERSION,
                link.node,
                1,
                start.id,
                link.edge.key.kind if link.edge is not None else E.DECIDED,
                resolved.resolution,
                link.node.first_seen,
                events(link.node, link.edge),
                detail=resolved.detail,
            )
            for link in resolved.versions
        ]

    if isinstance(found, Unread):
        return found.ids, found.ids, made
    return sorted({link.node.id for link in found.versions}), [], made


def _as_before(store: GraphStore, row: DecisionRow, start: StoredNode, _decided: Any) -> _Pending:
    ids, unread, made = _table_versions_s30(store, row, start)
    return ids, unread, lambda nodes, _ahead: made(nodes)


class _Table:
    def __init__(self, row: DecisionRow) -> None:
        self.row = row

    def get(self, decision_id: str) -> DecisionRow | None:
        return self.row if decision_id == self.row.decision_id else None


def estates_base() -> list[MutationBatch]:
    """The model's versions, each trained by a run that read a dataset."""
    batches = []
    model = NodeKey.of(K.MODEL, registry="mlflow", name="m")
    for i, version in enumerate(VERSIONS):
        b, p = MutationBatch(), Provenance("mlflow", f"ev-mv-{version}", TIMES[0])
        b.node(_mv(version), p, created_at=TIMES[0])
        b.edge(model, E.HAS_VERSION, _mv(version), p)
        run = NodeKey.of(K.RUN, run_id=f"train-{i}")
        data = NodeKey.of(K.DATASET, namespace="s3://b", name=f"d{i}")
        b.node(run, p, started_at=TIMES[0])
        b.edge(run, E.TRAINED, _mv(version), p)
        b.edge(data, E.READ_BY, run, p)
        batches.append(b)
    return batches


@st.composite
def estates(draw: st.DrawFn) -> tuple[list[MutationBatch], DecisionRow]:
    """Versions with a training run each (a data chain to read ahead), DECIDED edges between
    versions and points asserted, retired and asserted again; a row naming a version."""
    batches = estates_base()
    for n in range(draw(st.integers(0, 8))):
        version, point = draw(st.sampled_from(VERSIONS)), draw(st.sampled_from(POINTS))
        at = draw(st.sampled_from(TIMES[1:]))
        b, p = MutationBatch(), Provenance("decisions", f"ev-decided-{n}", at)
        if draw(st.integers(0, 3)):
            b.edge(_mv(version), E.DECIDED, _point(point), p)
        else:  # the version's DECIDED edges but to some points retired (valid before, not now)
            keep = draw(st.sets(st.sampled_from(POINTS), max_size=2))
            kept = frozenset(_point(k) for k in keep)
            b.add(EdgeRetire(_mv(version), E.DECIDED, Direction.OUT, kept, p))
        batches.append(b)
    named = draw(st.sampled_from([*VERSIONS, "9"]))
    row = DecisionRow(
        "d-1", draw(st.sampled_from(TIMES)), draw(st.sampled_from(POINTS)), "mlflow", "m", named,
        None, [], "approved", None, 1, "ev-decision",
    )  # fmt: skip
    return batches, row


def _load(store: GraphStore, batches: list[MutationBatch]) -> None:
    store.clear()
    for batch in batches:
        store.apply(batch)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(estates(), st.integers(1, 4), st.sampled_from([None, TIMES[2], TIMES[4]]))
def test_the_decided_edges_read_ahead_are_the_traces_before(
    neo4j_store: Neo4jStore,
    monkeypatch: pytest.MonkeyPatch,
    estate: tuple[list[MutationBatch], DecisionRow],
    depth: int,
    as_of: str | None,
) -> None:
    batches, row = estate
    table: Any = _Table(row)
    embedded = EmbeddedStore()
    _load(embedded, batches)
    _load(neo4j_store, batches)
    with monkeypatch.context() as m:
        m.setattr(decision_trace, "_table_versions", _as_before)
        before_reads = Counted(neo4j_store, m)
        before = decision_lineage(neo4j_store, "d-1", depth=depth, as_of=as_of, decisions=table)
        assert (
            decision_lineage(embedded, "d-1", depth=depth, as_of=as_of, decisions=table) == before
        )
    reads = Counted(neo4j_store, monkeypatch)
    after = decision_lineage(neo4j_store, "d-1", depth=depth, as_of=as_of, decisions=table)
    monkeypatch.undo()
    assert after == before
    assert decision_lineage(embedded, "d-1", depth=depth, as_of=as_of, decisions=table) == before
    # one read fewer: the DECIDED edges come with the read-ahead's nodes (its walk the same)
    assert (reads.reads, reads.walks) == (before_reads.reads - 1, before_reads.walks)
    # the read-ahead's DECIDED edges are `neighbors`' now (by edge id), whatever the trace's time
    version = row.version_key
    assert version is not None
    ahead = read_ahead(neo4j_store, [version.id], depth, as_of, [version.id])
    assert isinstance(ahead, ReadAhead)
    assert ahead.decided == neo4j_store.neighbors([version.id], Direction.OUT, [E.DECIDED])
    # without a read-ahead (a stand-in answering None) the edges are read then: the same trace
    with monkeypatch.context() as m:
        m.setattr(decision_trace, "read_ahead", lambda *a: None)
        assert (
            decision_lineage(neo4j_store, "d-1", depth=depth, as_of=as_of, decisions=table)
            == before
        )


@st.composite
def deployments(draw: st.DrawFn) -> tuple[list[MutationBatch], DecisionRow]:
    """Versions with a training run each, DEPLOYED_TO edges into points in several modes (a
    shadow now and then), with declared windows or not, retired and asserted again; a row
    naming neither version nor alias."""
    batches = estates_base()
    for n in range(draw(st.integers(0, 9))):
        version, point = draw(st.sampled_from(VERSIONS)), draw(st.sampled_from(POINTS))
        at = draw(st.sampled_from(TIMES[1:]))
        b, p = MutationBatch(), Provenance("deployment", f"ev-deploy-{n}", at)
        if draw(st.integers(0, 3)):
            window: dict[str, Any] = {}
            if draw(st.booleans()):
                window["valid_from"] = draw(st.sampled_from(TIMES))
            if draw(st.integers(0, 3)) == 0:
                window["valid_until"] = draw(st.sampled_from(TIMES))
            mode = draw(st.sampled_from(["champion", "canary", "shadow"]))
            b.edge(_mv(version), E.DEPLOYED_TO, _point(point), p, disc=mode, **window)
        else:  # the point's deployments but from some versions retired
            keep = draw(st.sets(st.sampled_from(VERSIONS), max_size=2))
            kept = frozenset(_mv(k) for k in keep)
            b.add(EdgeRetire(_point(point), E.DEPLOYED_TO, Direction.IN, kept, p))
        batches.append(b)
    row = DecisionRow(
        "d-1", draw(st.sampled_from(TIMES)), draw(st.sampled_from(POINTS)), "mlflow", "m", None,
        None, [], "approved", None, 1, "ev-decision",
    )  # fmt: skip
    return batches, row


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(deployments(), st.integers(1, 4))
def test_the_deployments_read_once_are_the_traces_before(
    neo4j_store: Neo4jStore,
    monkeypatch: pytest.MonkeyPatch,
    estate: tuple[list[MutationBatch], DecisionRow],
    depth: int,
) -> None:
    batches, row = estate
    table: Any = _Table(row)
    embedded = EmbeddedStore()
    _load(embedded, batches)
    _load(neo4j_store, batches)
    resolving = Counted(neo4j_store, monkeypatch)
    found = resolve_unread(neo4j_store, row)  # its reads: 2, or 3 when none serves
    monkeypatch.undo()
    event(f"resolution reads: {resolving.reads}, {found.resolution.value}")
    with monkeypatch.context() as m:
        m.setattr(decision_trace, "_table_versions", _as_before)
        before_reads = Counted(neo4j_store, m)
        before = decision_lineage(neo4j_store, "d-1", depth=depth, decisions=table)
        assert decision_lineage(embedded, "d-1", depth=depth, decisions=table) == before
    reads = Counted(neo4j_store, monkeypatch)
    after = decision_lineage(neo4j_store, "d-1", depth=depth, decisions=table)
    monkeypatch.undo()
    assert after == before
    assert decision_lineage(embedded, "d-1", depth=depth, decisions=table) == before
    # the resolution's reads are one
    assert (reads.reads, reads.walks) == (
        before_reads.reads - resolving.reads + 1, before_reads.walks
    )  # fmt: skip
    # through the API's request budget too (api/graphql/traversal_budget.py): the same trace in
    # the same reads, the one read charged as the two it stands for
    budget = TraversalBudget(1_000_000)
    in_api = Counted(neo4j_store, monkeypatch)
    assert decision_lineage(budgeted(neo4j_store, budget), "d-1", depth=depth, decisions=table) == (
        before
    )
    monkeypatch.undo()
    assert (in_api.reads, in_api.walks) == (reads.reads, reads.walks)
    # the edges read together are `neighbors`' now and at the time, by edge id
    point, deployed = [row.point_key.id], [E.DEPLOYED_TO]
    both = neo4j_store.neighbors_now_and_at(point, Direction.IN, deployed, row.timestamp)
    assert both == (
        neo4j_store.neighbors(point, Direction.IN, deployed),
        neo4j_store.neighbors(point, Direction.IN, deployed, row.timestamp),
    )

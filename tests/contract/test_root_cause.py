"""Root cause on both stores, against answers worked out by hand from the value chain in
conftest.py: the decision trace step by step, and the suspects behind a KPI in a time window."""

from __future__ import annotations

from typing import Any

import pytest

from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.queries.decision_trace import DecisionTrace, StepKind, TraceStep, decision_lineage
from lineage_kg.queries.decisions import Resolution
from lineage_kg.queries.suspects import SuspectReason, suspects
from tests.contract.work import WORK_PER_NODE, counted, nodes_in

S, R, E = StepKind, Resolution, EdgeKind
PLATFORM, ML, BOB = ("team:data-platform",), ("team:ml-risk",), ("bob@example.com",)
CATALOG = "2026-02-01T00:00:00.000000Z"


def t(text: str) -> str:
    return canonical_time(text)


def shape(step: TraceStep) -> tuple[Any, ...]:
    return (
        step.kind,
        step.node.id,
        step.distance,
        step.via,
        step.edge,
        step.resolution,
        step.time,
        step.evidence,
        step.owners,
    )


def expected_data(v: Any, shift: int = 0) -> list[tuple[Any, ...]]:
    """train-1 → the version it read → the run that wrote it → that run's two inputs (one resolved
    to loans@v7: loans@v8 was written after etl-1 started; fx has no versions) → ingest-0a."""
    fx_events = ("ev-catalog", "ev-etl-1-start", "ev-etl-2-start")
    return [
        (S.TRAINING_RUN, v.train_1.id, 2 - shift, v.mv4.id, E.TRAINED, R.OBSERVED,
         t("2026-03-01T06:00Z"), ("ev-train-1-complete", "ev-train-1-start"), ML),
        (S.DATASET_VERSION, v.mart_v1.id, 3 - shift, v.train_1.id, E.READ_BY, R.OBSERVED,
         t("2026-03-01T02:10Z"), ("ev-etl-1-complete", "ev-train-1-start"), PLATFORM),
        (S.RUN, v.etl_1.id, 4 - shift, v.mart_v1.id, E.WROTE, R.OBSERVED,
         t("2026-03-01T02:00Z"), ("ev-etl-1-complete", "ev-etl-1-start"), PLATFORM),
        (S.DATASET, v.fx.id, 5 - shift, v.etl_1.id, E.READ_BY, R.UNRESOLVED,
         CATALOG, fx_events, ()),
        (S.DATASET_VERSION, v.raw_v7.id, 5 - shift, v.etl_1.id, E.READ_BY, R.RESOLVED,
         t("2026-03-01T01:30Z"), ("ev-etl-1-start", "ev-ingest-0a-complete"), BOB),
        (S.RUN, v.ingest_0a.id, 6 - shift, v.raw_v7.id, E.WROTE, R.OBSERVED,
         t("2026-03-01T01:00Z"), ("ev-ingest-0a-complete", "ev-ingest-0a-start"), PLATFORM),
    ]  # fmt: skip


def expected_features(v: Any, shift: int = 0) -> list[tuple[Any, ...]]:
    debt_ratio = v.col(v.mart, "debt_ratio")
    return [
        (S.FEATURE, v.feature.id, 2 - shift, v.mv4.id, E.FEEDS, R.OBSERVED, CATALOG,
         ("ev-catalog", "ev-register-v4"), ML),
        (S.COLUMN, debt_ratio.id, 3 - shift, v.feature.id, E.FEEDS, R.OBSERVED, CATALOG,
         ("ev-catalog",), PLATFORM),
        (S.FEATURE_VIEW, v.view.id, 3 - shift, v.feature.id, E.HAS_FEATURE, R.OBSERVED, CATALOG,
         ("ev-catalog",), ML),
        (S.DATASET, v.mart.id, 4 - shift, v.view.id, E.SOURCES, R.OBSERVED, CATALOG,
         ("ev-catalog", "ev-train-1-start"), PLATFORM),
        (S.COLUMN, v.col(v.raw, "amount").id, 4 - shift, debt_ratio.id, E.FEEDS, R.OBSERVED,
         CATALOG, ("ev-catalog",), BOB),
        (S.COLUMN, v.col(v.raw, "income").id, 4 - shift, debt_ratio.id, E.FEEDS, R.OBSERVED,
         CATALOG, ("ev-catalog",), BOB),
    ]  # fmt: skip


def test_decision_trace_step_by_step(store: GraphStore, value_chain: Any) -> None:
    v = value_chain
    trace = decision_lineage(store, v.decision.id)
    assert trace.start.id == v.decision.id
    assert trace.decision is not None
    assert shape(trace.decision) == (
        S.DECISION, v.decision.id, 0, None, None, R.OBSERVED, t("2026-03-02T10:00Z"),
        ("ev-decision-1001",), (),
    )  # fmt: skip
    assert [shape(s) for s in trace.model_versions] == [
        (S.MODEL_VERSION, v.mv4.id, 1, v.decision.id, E.DECIDED, R.OBSERVED,
         t("2026-03-01T06:30Z"), ("ev-decision-1001", "ev-train-1-complete"), ML),
    ]  # fmt: skip
    assert [shape(s) for s in trace.data] == expected_data(v)
    assert [shape(s) for s in trace.features] == expected_features(v)
    assert trace.sources == [v.fx.id, v.ingest_0a.id]
    assert trace.truncated is False
    # the ordered whole: decision, model version, data chain, feature chain
    assert [s.node.id for s in trace.steps] == [
        v.decision.id,
        v.mv4.id,
        *(row[1] for row in expected_data(v)),
        *(row[1] for row in expected_features(v)),
    ]
    resolved = trace.data[4]
    assert "loans without a version" in resolved.detail and "ingest-0a" in resolved.detail
    assert "no version written" in trace.data[3].detail


def test_decision_id_alone_gives_the_same_trace(store: GraphStore, value_chain: Any) -> None:
    by_id = decision_lineage(store, "d-1001")
    by_node = decision_lineage(store, value_chain.decision.id)
    assert [shape(s) for s in by_id.steps] == [shape(s) for s in by_node.steps]


def test_trace_from_a_model_version(store: GraphStore, value_chain: Any) -> None:
    v = value_chain
    trace = decision_lineage(store, v.mv4.id)
    assert trace.decision is None
    assert [shape(s) for s in trace.model_versions] == [
        (S.MODEL_VERSION, v.mv4.id, 0, None, None, R.OBSERVED, t("2026-03-01T06:30Z"),
         ("ev-decision-1001", "ev-train-1-complete"), ML),
    ]  # fmt: skip
    assert [shape(s) for s in trace.data] == expected_data(v, shift=1)
    assert [shape(s) for s in trace.features] == expected_features(v, shift=1)


def test_trace_depth_bound_cuts_and_says_so(store: GraphStore, value_chain: Any) -> None:
    v = value_chain
    trace = decision_lineage(store, v.decision.id, depth=3)
    assert [(s.node.id, s.distance) for s in trace.data] == [(v.train_1.id, 2), (v.mart_v1.id, 3)]
    assert [(s.node.id, s.distance) for s in trace.features] == [
        (v.feature.id, 2),
        (v.col(v.mart, "debt_ratio").id, 3),
        (v.view.id, 3),
    ]
    assert trace.sources == []
    assert trace.truncated is True


def _serving_graph(store: GraphStore) -> dict[str, NodeKey]:
    """mlflow/m@5 served from Jan 1 until retired on Feb 1 by @6; @7 was declared (late, by the
    registry's own valid_from/valid_until) to have served Nov 1 to Dec 15. Each decision names two
    candidate versions; the deployment serving at its time decides."""
    mv = {
        n: NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="m", version=n) for n in "567"
    }
    point = NodeKey.of(NodeKind.DECISION_POINT, name="approve")
    b = MutationBatch()
    p1 = Provenance("test", "deploy-5", "2026-01-01T00:00:00Z")
    b.edge(mv["5"], EdgeKind.DEPLOYED_TO, point, p1)
    store.apply(b)
    b, p2 = MutationBatch(), Provenance("test", "deploy-6", "2026-02-01T00:00:00Z")
    b.edge(mv["6"], EdgeKind.DEPLOYED_TO, point, p2)
    b.add(EdgeRetire(point, EdgeKind.DEPLOYED_TO, Direction.IN, frozenset({mv["6"]}), p2))
    store.apply(b)
    b, p3 = MutationBatch(), Provenance("test", "decisions", "2026-02-20T00:00:00Z")
    b.edge(
        mv["7"],
        EdgeKind.DEPLOYED_TO,
        point,
        p3,
        valid_from="2025-11-01T00:00:00Z",
        valid_until="2025-12-15T00:00:00Z",
    )
    decisions = {}
    for name, at, candidates in (
        ("d-jan", "2026-01-15T00:00:00Z", "56"),
        ("d-feb", "2026-02-10T00:00:00Z", "56"),
        ("d-dec", "2025-12-01T00:00:00Z", "67"),
        ("d-oct", "2025-10-01T00:00:00Z", "56"),
    ):
        key = NodeKey.of(NodeKind.DECISION, decision_id=name)
        b.node(key, p3, decided_at=at)
        for c in candidates:
            b.edge(mv[c], EdgeKind.DECIDED, key, p3)
        decisions[name] = key
    store.apply(b)
    return {**decisions, **{f"mv{n}": k for n, k in mv.items()}}


def test_several_deciding_versions_resolved_by_the_deployment_serving_then(
    store: GraphStore,
) -> None:
    keys = _serving_graph(store)

    def chosen(name: str) -> tuple[Resolution, list[str]]:
        trace = decision_lineage(store, keys[name].id)
        resolutions = {s.resolution for s in trace.model_versions}
        assert len(resolutions) == 1
        return resolutions.pop(), [s.node.id for s in trace.model_versions]

    # retired on Feb 1 by @6, but serving on Jan 15: seen through the store's own history
    assert chosen("d-jan") == (R.RESOLVED, [keys["mv5"].id])
    assert chosen("d-feb") == (R.RESOLVED, [keys["mv6"].id])
    # the registry's own window, though the graph learned of it only in February
    assert chosen("d-dec") == (R.RESOLVED, [keys["mv7"].id])
    # nothing serving then: both candidates, marked unresolved
    assert chosen("d-oct") == (R.UNRESOLVED, [keys["mv5"].id, keys["mv6"].id])


def suspect_rows(found: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (s.node.id, s.reason, s.asset.id, s.distance, s.score, s.time, s.evidence) for s in found
    ]


def test_suspects_behind_a_kpi_ranked(store: GraphStore, value_chain: Any) -> None:
    v = value_chain
    found = suspects(store, v.volume.id, since="2026-03-01T00:00:00Z", until="2026-03-03T00:00:00Z")
    # distances are those of the asset each finding belongs to: the mart is 1 away (its amount
    # column feeds the KPI), the loans and fx tables 2 (their columns feed that column), the
    # model 2 (through the decision point), the ETL job 3 (it produces the mart)
    assert suspect_rows(found) == [
        (v.mart_v1.id, SuspectReason.FAILED_QUALITY, v.mart.id, 1, 0.45,
         t("2026-03-01T06:00Z"), ("ev-etl-1-complete", "ev-train-1-start")),
        (v.etl_2.id, SuspectReason.FAILED_RUN, v.etl.id, 3, 0.25,
         t("2026-03-02T02:05Z"), ("ev-etl-2-fail", "ev-etl-2-start")),
        (v.mv4.id, SuspectReason.ALIAS_MOVED, v.model.id, 2, 0.2,
         t("2026-03-01T08:00Z"), ("ev-deploy-v4",)),
        (v.col(v.raw, "legacy_flag").id, SuspectReason.SCHEMA_CHANGE, v.raw.id, 2, 0.166667,
         t("2026-03-02T00:30Z"), ("ev-catalog", "ev-raw-schema")),
        (v.col(v.raw, "segment").id, SuspectReason.SCHEMA_CHANGE, v.raw.id, 2, 0.166667,
         t("2026-03-02T00:30Z"), ("ev-raw-schema",)),
        (v.mv4.id, SuspectReason.NEW_MODEL_VERSION, v.model.id, 2, 0.133333,
         t("2026-03-01T07:00Z"), ("ev-register-v4",)),
        (v.fx.id, SuspectReason.OWNERSHIP_GAP, v.fx.id, 2, 0.066667,
         None, ("ev-catalog", "ev-etl-2-start")),
        (v.raw.id, SuspectReason.OWNERSHIP_GAP, v.raw.id, 2, 0.066667,
         None, ("ev-catalog", "ev-etl-2-start", "ev-hr-bob-left")),
    ]  # fmt: skip
    assert "division by zero" in found[1].detail
    assert "removed" in found[3].detail and "added" in found[4].detail
    assert "bob@example.com" in found[7].detail


def test_suspects_window_keeps_only_what_happened_in_it(
    store: GraphStore, value_chain: Any
) -> None:
    v = value_chain
    found = suspects(store, v.volume.id, since="2026-03-02T01:00:00Z", until="2026-03-02T02:30:00Z")
    # the failed run, and the standing ownership gaps; nothing else happened in that half hour
    assert [(s.node.id, s.reason, s.score) for s in found] == [
        (v.etl_2.id, SuspectReason.FAILED_RUN, 0.25),
        (v.fx.id, SuspectReason.OWNERSHIP_GAP, 0.066667),
        (v.raw.id, SuspectReason.OWNERSHIP_GAP, 0.066667),
    ]


def test_suspects_of_a_dataset_start_at_its_own_checks(store: GraphStore, value_chain: Any) -> None:
    v = value_chain
    found = suspects(store, v.mart.id, since="2026-03-01T00:00:00Z", until="2026-03-03T00:00:00Z")
    assert [(s.node.id, s.reason, s.distance, s.score) for s in found[:2]] == [
        (v.mart_v1.id, SuspectReason.FAILED_QUALITY, 0, 0.9),
        (v.etl_2.id, SuspectReason.FAILED_RUN, 1, 0.5),
    ]
    # through the mart's own columns, the loans table is one hop up
    assert {(s.node.id, s.distance) for s in found if s.asset.id == v.raw.id} == {
        (v.col(v.raw, "legacy_flag").id, 1),
        (v.col(v.raw, "segment").id, 1),
        (v.raw.id, 1),
    }


def test_unknown_nodes_and_bad_arguments(store: GraphStore, value_chain: Any) -> None:
    v = value_chain
    window = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-03T00:00:00Z"}
    with pytest.raises(NotFound):
        decision_lineage(store, "d-9999")
    with pytest.raises(NotFound):
        suspects(store, NodeKey.of(NodeKind.KPI, name="nope").id, **window)
    with pytest.raises(InvalidArgument, match="depth"):
        decision_lineage(store, v.decision.id, depth=0)
    with pytest.raises(InvalidArgument, match="depth"):
        suspects(store, v.volume.id, depth=26, **window)
    with pytest.raises(InvalidArgument, match="decision"):
        decision_lineage(store, v.mart.id)
    with pytest.raises(InvalidArgument, match="decision"):
        decision_lineage(store, "[not json")
    with pytest.raises(InvalidArgument, match="since"):
        suspects(store, v.volume.id, since="last tuesday", until="2026-03-03T00:00:00Z")
    with pytest.raises(InvalidArgument, match="since"):
        suspects(store, v.volume.id, since="2026-03-04T00:00:00Z", until="2026-03-03T00:00:00Z")


def lattice_to_kpi(layers: int) -> tuple[MutationBatch, NodeKey, list[NodeKey]]:
    """Datasets t0 … t{layers-1} of two columns each; every column feeds both columns of the
    next layer, the last layer feeds a KPI: 2**layers paths from the KPI down to t0."""
    p = Provenance("test", "lattice", "2026-01-01T00:00:00Z")
    b = MutationBatch()
    kpi = NodeKey.of(NodeKind.KPI, name="lattice-kpi")
    tables = [
        NodeKey.of(NodeKind.DATASET, namespace="lat", name=f"t{i:02d}") for i in range(layers)
    ]

    def col(i: int, c: int) -> NodeKey:
        return NodeKey.of(NodeKind.COLUMN, namespace="lat", name=f"t{i:02d}", field=f"c{c}")

    for i, table in enumerate(tables):
        for c in range(2):
            b.edge(table, EdgeKind.HAS_COLUMN, col(i, c), p)
            nexts = [col(i + 1, d) for d in range(2)] if i + 1 < layers else [kpi]
            for nxt in nexts:
                b.edge(col(i, c), EdgeKind.FEEDS, nxt, p)
    b.edge(NodeKey.of(NodeKind.OWNER, owner_id="team:lat"), EdgeKind.OWNS, kpi, p, disc="business")
    return b, kpi, tables


def test_diamond_lattice_upstream_of_a_kpi(store: GraphStore) -> None:
    batch, kpi, tables = lattice_to_kpi(20)
    store.apply(batch)
    counting = counted(store)
    found = suspects(
        counting.store, kpi.id, since="2026-02-01T00:00:00Z", until="2026-12-31T00:00:00Z", depth=25
    )
    # nothing happened in the window (the lattice is older); every table is unowned, and as
    # close as its columns: t19 at 1, …, t00 at 20
    assert [(s.node.id, s.distance) for s in found] == [
        (tables[i].id, 20 - i) for i in reversed(range(20))
    ]
    # work, not time: each node's neighbours read a few times at most (2**20 paths otherwise)
    print(f"lattice suspects read {counting.ids_read} ids for {nodes_in(store)} nodes")
    assert counting.ids_read <= WORK_PER_NODE * nodes_in(store)


def test_trace_of_a_model_trained_on_a_lattice(store: GraphStore) -> None:
    """A model version whose feature is fed through a column lattice: each column once."""
    batch, _, _ = lattice_to_kpi(20)
    p = Provenance("test", "lattice", "2026-01-01T00:00:00Z")
    mv = NodeKey.of(NodeKind.MODEL_VERSION, registry="r", name="m", version="1")
    feature = NodeKey.of(NodeKind.FEATURE, project="p", view="v", name="f")
    for c in range(2):
        batch.edge(
            NodeKey.of(NodeKind.COLUMN, namespace="lat", name="t19", field=f"c{c}"),
            EdgeKind.FEEDS,
            feature,
            p,
        )
    batch.edge(feature, EdgeKind.FEEDS, mv, p)
    store.apply(batch)
    trace: DecisionTrace = decision_lineage(store, mv.id, depth=25)
    columns = [s for s in trace.features if s.kind is S.COLUMN]
    assert len(columns) == 40 == len({s.node.id for s in columns})
    assert sorted({s.distance for s in columns}) == list(range(2, 22))


def test_trace_resolves_the_writer_of_a_version_no_run_wrote(
    store: GraphStore, value_chain: Any
) -> None:
    """A training run read a version of the mart named by another system (an MLflow dataset
    digest): no OpenLineage run wrote it. The trace does not stop there as a "source": the writer
    is resolved by time — the newest successful run that wrote the mart before training started
    (etl-1; etl-2 failed) — and the chain goes on upstream through etl-1's inputs."""
    v = value_chain
    digest = NodeKey.of(
        NodeKind.DATASET_VERSION, namespace=v.mart.parts[0], name=v.mart.parts[1], version="9f2c"
    )
    train_2 = NodeKey.of(NodeKind.RUN, run_id="train-2")
    mv7 = NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="credit-risk", version="7")
    b = MutationBatch()
    p = Provenance("mlflow", "ev-train-2", "2026-03-03T09:00:00Z")
    b.node(train_2, p, state="COMPLETE", started_at=t("2026-03-03T08:00:00Z"))
    b.edge(v.mart, E.HAS_VERSION, digest, p)
    b.edge(digest, E.READ_BY, train_2, p)
    b.edge(train_2, E.TRAINED, mv7, p)
    b.edge(v.model, E.HAS_VERSION, mv7, p)
    store.apply(b)

    trace = decision_lineage(store, mv7.id)
    steps = {s.node.id: s for s in trace.data}
    assert [(s.kind, s.node.id) for s in trace.data[:3]] == [
        (S.TRAINING_RUN, train_2.id),
        (S.DATASET_VERSION, digest.id),
        (S.RUN, v.etl_1.id),
    ]
    writer = steps[v.etl_1.id]
    assert (writer.via, writer.edge, writer.resolution) == (digest.id, E.WROTE, R.RESOLVED)
    assert "newest successful run that wrote" in writer.detail
    assert "etl-1" in writer.detail and "etl-2" not in writer.detail  # etl-2 failed
    # and on upstream to the sources, as from the version etl-1 wrote itself
    assert {v.raw_v7.id, v.fx.id, v.ingest_0a.id} <= set(steps)
    assert trace.sources == [v.fx.id, v.ingest_0a.id]
    assert digest.id not in trace.sources
    # the owners along the whole chain: bob owns the raw loans table upstream
    assert steps[v.raw_v7.id].owners == BOB


def test_trace_keeps_a_version_as_source_when_no_write_came_before_the_read(
    store: GraphStore, value_chain: Any
) -> None:
    """Resolved by time means at or before the read: a read earlier than every known write of
    the dataset has no writer to resolve to, and the version stays where the chain ends."""
    v = value_chain
    early = NodeKey.of(
        NodeKind.DATASET_VERSION, namespace=v.mart.parts[0], name=v.mart.parts[1], version="0"
    )
    train_0 = NodeKey.of(NodeKind.RUN, run_id="train-0")
    mv1 = NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="credit-risk", version="1")
    b = MutationBatch()
    p = Provenance("mlflow", "ev-train-0", "2026-02-01T09:00:00Z")
    b.node(train_0, p, state="COMPLETE", started_at=t("2026-02-01T08:00:00Z"))
    b.edge(v.mart, E.HAS_VERSION, early, p)
    b.edge(early, E.READ_BY, train_0, p)
    b.edge(train_0, E.TRAINED, mv1, p)
    store.apply(b)

    trace = decision_lineage(store, mv1.id)
    assert [(s.kind, s.node.id) for s in trace.data] == [
        (S.TRAINING_RUN, train_0.id),
        (S.DATASET_VERSION, early.id),
    ]
    assert trace.sources == [early.id]

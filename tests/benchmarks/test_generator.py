"""The synthetic estate generator (benchmarks/synthetic/): one seeded call writes OpenLineage
events and every other source's files; appended through the real intake and syncs and projected
on both stores, they make one graph in which the four questions have answers end to end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from benchmarks.synthetic import write
from benchmarks.synthetic.load import load_sources
from benchmarks.synthetic.plan import FEATURE_STORE, make_plan
from benchmarks.synthetic.src_models import FEAST_PROJECT, make_estate, view_name
from lineage_kg.cli.app import app
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.naming import dataset_key
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.decisions.projection import DecisionProjection
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.files import read_events
from lineage_kg.ingest.intake import accept_many
from lineage_kg.ingest.mlflow.client import MlflowApiError, NotFound
from lineage_kg.ingest.mlflow.dump import MlflowDumpClient
from lineage_kg.ingest.projector import Projector
from lineage_kg.ingest.source_sync import SyncReport
from lineage_kg.ingest.sources import default_mappers
from lineage_kg.queries.accountability import accountability
from lineage_kg.queries.decision_trace import StepKind, decision_lineage
from lineage_kg.queries.impact import impact

NODES = 3_000  # small enough for both stores in seconds: 3 pipelines, 1 lattice
SEED = 7
DOWNSTREAM_OF_DATA = {NodeKind.MODEL_VERSION, NodeKind.DECISION_POINT, NodeKind.KPI}


@dataclass(frozen=True)
class Loaded:
    out: Path
    log: EventLog
    manifest: dict[str, Any]
    reports: dict[str, SyncReport]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """The estate generated, its events appended as `lkg ingest` does, its sources synced."""
    work = tmp_path_factory.mktemp("estate")
    manifest = write.generate(work / "out", NODES, SEED)
    log = EventLog(work / "events.sqlite3")
    events = [(i, event) for i, (_, event) in enumerate(read_events(work / "out" / write.EVENTS))]
    intake = accept_many(log, events)
    assert intake.rejected == [], intake.rejected[:3]
    assert intake.accepted == manifest["files"][write.EVENTS]["events"]
    reports = load_sources(work / "out", log)
    yield Loaded(work / "out", log, manifest, reports)
    log.close()


def test_same_arguments_write_the_same_bytes(tmp_path: Path) -> None:
    first = write.generate(tmp_path / "a", 2_000, 11)
    again = write.generate(tmp_path / "b", 2_000, 11)
    other = write.generate(tmp_path / "c", 2_000, 12)
    assert first == again
    names = [*first["files"], write.MANIFEST]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    changed = (tmp_path / "c" / write.EVENTS).read_bytes()
    assert (tmp_path / "a" / write.EVENTS).read_bytes() != changed
    assert other["seed"] == 12


def test_every_source_file_is_taken_without_a_skip(loaded: Loaded) -> None:
    files = loaded.manifest["files"]
    for source, report in loaded.reports.items():
        assert report.skipped == [], (source, report.skipped[:3])
        assert report.appended > 0, source
    assert loaded.reports["feast"].counts["feature views"] == files[write.FEAST]["feature_views"]
    mlflow = loaded.reports["mlflow"].counts
    assert mlflow["training runs read"] == files[write.MLFLOW]["runs"]
    assert loaded.reports["decisions"].counts["decisions"] == files[write.DECISIONS]["decisions"]


def _project(log: EventLog, store: GraphStore, side_dir: Path) -> DecisionProjection:
    side = DecisionProjection.at(side_dir)
    status = Projector(log, store, default_mappers(), side=[side]).catch_up(timeout=300)
    assert status.lag == 0
    assert status.parked == 0, log.parked()[:3]
    assert side.counts.parked == 0
    assert side.counts.stored == loaded_decisions(log)
    return side


def loaded_decisions(log: EventLog) -> int:
    return sum(len(e.body["decisions"]) for e in log.read(0, 10_000, source="decisions"))


def test_the_estate_answers_the_four_questions(
    loaded: Loaded, store: GraphStore, tmp_path: Path
) -> None:
    side = _project(loaded.log, store, tmp_path)
    stats = store.stats()
    nodes = sum(stats.nodes.values())
    assert 0.8 * NODES <= nodes <= 1.2 * NODES, stats.nodes

    # one node per features table: OpenLineage wrote it, Feast sources a view from it, the
    # champion's training run read exactly the version OpenLineage wrote
    estate = make_estate(make_plan(NODES, SEED))
    model = estate.models[0]
    table, version = model.features[0], model.data_versions[0]
    dataset = dataset_key(FEATURE_STORE, table.name)
    view = NodeKey.of(NodeKind.FEATURE_VIEW, project=FEAST_PROJECT, name=view_name(table))
    sourced = store.neighbors([dataset.id], Direction.OUT, [EdgeKind.SOURCES])
    assert [e.key.dst.id for e in sourced] == [view.id]
    dv = NodeKey.of(NodeKind.DATASET_VERSION, namespace=FEATURE_STORE, name=table.name,
                    version=version)  # fmt: skip
    writers = store.neighbors([dv.id], Direction.IN, [EdgeKind.WROTE])
    readers = {e.key.dst.id for e in store.neighbors([dv.id], Direction.OUT, [EdgeKind.READ_BY])}
    assert len(writers) == 1  # the OpenLineage run of the features job
    champion_run = NodeKey.of(NodeKind.RUN, run_id=model.champion.run_id).id
    assert champion_run in readers

    # impact: a raw column reaches models, decision points or KPIs
    samples = loaded.manifest["samples"]
    for column in samples["impact_raw_columns"][:3]:
        kinds = {item.node.key.kind for item in impact(store, column).items}
        assert kinds & DOWNSTREAM_OF_DATA, (column, kinds)

    # root cause: a decision → the champion → its training run → the versions it read → … raw
    decision = samples["root_cause_decisions"][0]
    trace = decision_lineage(store, decision, decisions=side.table)
    steps = {(s.kind, s.node.id) for s in trace.data}
    assert any(k is StepKind.TRAINING_RUN for k, _ in steps), steps
    assert any(k is StepKind.DATASET_VERSION for k, _ in steps), steps
    raw = [
        s.node.key.parts[1]
        for s in trace.data
        if s.kind in (StepKind.DATASET_VERSION, StepKind.DATASET) and ".raw." in s.node.key.parts[1]
    ]
    assert raw, sorted(s.node.key.display for s in trace.data)

    # accountability: the largest team answers for datasets, jobs and models
    answer = accountability(store, samples["accountability_owner"])
    owned = {o.node.key.kind for o in answer.owned}
    assert {NodeKind.DATASET, NodeKind.JOB, NodeKind.MODEL} <= owned, owned
    assert answer.kpis


def test_the_decision_trace_names_the_exact_training_run_and_data(
    loaded: Loaded, tmp_path: Path
) -> None:
    from lineage_kg.graph.embedded import EmbeddedStore

    store = EmbeddedStore()
    side = _project(loaded.log, store, tmp_path)
    estate = make_estate(make_plan(NODES, SEED))
    model = estate.models[0]
    # decisions with an even index name the champion's version; odd ones go by the deployment
    for decision in ("d-p00000-0000", "d-p00000-0001"):
        trace = decision_lineage(store, decision, decisions=side.table)
        assert [s.node.key.parts for s in trace.model_versions] == [
            ("mlflow", model.name, model.champion.version)
        ]
        runs = [s.node.key.parts[0] for s in trace.data if s.kind is StepKind.TRAINING_RUN]
        assert runs == [model.champion.run_id]
        read = {s.node.key.parts for s in trace.data if s.kind is StepKind.DATASET_VERSION}
        for table, version in zip(model.features, model.data_versions, strict=True):
            assert (FEATURE_STORE, table.name, version) in read


def test_mlflow_dump_client_reads_like_the_rest_client(loaded: Loaded, tmp_path: Path) -> None:
    export = loaded.out / write.MLFLOW
    with MlflowDumpClient(export) as client:
        models = list(client.registered_models())
        versions = list(client.model_versions())
        assert len(models) == loaded.manifest["files"][write.MLFLOW]["registered_models"]
        run = client.run(versions[0].run_id or "")
        assert run.inputs.dataset_inputs
        assert client.experiment(run.info.experiment_id).name.startswith("/models/")
        assert client.logged_model(versions[0].logged_model_id or "").info.source_run_id
        assert client.requests == 5
        for read in (client.run, client.experiment, client.logged_model):
            with pytest.raises(NotFound):
                read("missing")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"runs": [], "registered_models": []}))
    with pytest.raises(MlflowApiError, match="runs"):
        MlflowDumpClient(bad)


def _lkg(args: list[str], data_dir: Path) -> Any:
    env = {"LKG_DATA_DIR": str(data_dir), "NEO4J_URI": "", "MLFLOW_TRACKING_URI": None}
    return CliRunner().invoke(app, args, env=env)


def test_lkg_generate_then_sync_the_dumps(tmp_path: Path) -> None:
    out, data = tmp_path / "estate", tmp_path / "data"
    result = _lkg(["generate", str(out), "--nodes", "1000", "--seed", "3"], data)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / write.MANIFEST).read_text())
    assert manifest["seed"] == 3
    assert manifest["target_nodes"] == 1_000
    assert write.EVENTS in result.output
    assert (out / write.EVENTS).stat().st_size == manifest["files"][write.EVENTS]["bytes"]

    feast = _lkg(["sync", "feast", "--dump", str(out / write.FEAST)], data)
    assert feast.exit_code == 0, feast.output
    mlflow = _lkg(["sync", "mlflow", "--dump", str(out / write.MLFLOW)], data)
    assert mlflow.exit_code == 0, mlflow.output
    log = EventLog(data / "events.sqlite3")
    try:
        by_source = {s: len(log.read(0, 100_000, source=s)) for s in ("feast", "mlflow")}
    finally:
        log.close()
    views = manifest["files"][write.FEAST]["feature_views"]
    assert by_source["feast"] == 1 + views + manifest["files"][write.FEAST]["feature_services"]
    assert by_source["mlflow"] > manifest["files"][write.MLFLOW]["model_versions"]

    both = _lkg(
        ["sync", "mlflow", "--dump", str(out / write.MLFLOW), "--tracking-uri", "http://x"], data
    )
    assert both.exit_code == 2
    assert "--dump" in both.output
    neither = _lkg(["sync", "mlflow"], data)
    assert neither.exit_code == 2
    assert "--tracking-uri" in neither.output

"""The MLflow sync end to end: a real `mlflow server`, seeded by MLflow's own client
(tests/sources/seed_mlflow.py on the sources venv), read over REST into a real event log,
projected onto each store; then an alias move, an idle sync, and `lkg sync mlflow` on bad data.

The server is started and seeded once for the module (it is the slow part); each store replays
the very records the syncs logged, in two steps (before and after the alias move).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sources.real_sources import MlflowServer, mlflow_server, run_source_python

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.naming import column_key, dataset_key
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.eventlog import EventLog, NewEvent
from lineage_kg.ingest.identity import metastore_table
from lineage_kg.ingest.mlflow.client import MlflowApiError, MlflowRestClient, NotFound
from lineage_kg.ingest.mlflow.mapping import model_key, version_key
from lineage_kg.ingest.mlflow.sync import sync_mlflow
from lineage_kg.ingest.projector import Projector
from lineage_kg.ingest.source_sync import SyncReport
from lineage_kg.ingest.sources import default_mappers
from lineage_kg.queries.audit import EntryType, audit_trail

SEED = Path(__file__).resolve().parents[1] / "sources" / "seed_mlflow.py"
LKG = Path(sys.executable).with_name("lkg")
PAGE = 1  # one item per page: every listing pages

MODEL = model_key("mlflow", "credit-risk")
V1, V2 = version_key("mlflow", "credit-risk", "1"), version_key("mlflow", "credit-risk", "2")
ORDERS = dataset_key("s3://lake", "analytics/orders")
FEATURES = metastore_table("analytics.features.customer_features")
JOB = NodeKey.of(NodeKind.JOB, namespace="mlflow", name="credit-risk-training")
SERVICE = NodeKey.of(NodeKind.FEATURE_SERVICE, project="credit_scoring", name="credit_risk_v1")
OWNER = NodeKey.of(NodeKind.OWNER, owner_id="risk-team@example.com")

# the module's MLflow start and seeding count in the first test's time: 137 s of the default
# 300 at load 8-20 (ci32). A bound on a hang, not a speed check.
pytestmark = pytest.mark.timeout(900)


@dataclass
class Scenario:
    server: MlflowServer
    log: EventLog
    seeded: dict[str, list[str]]
    reports: list[SyncReport]  # first sync, after the alias move, idle, idle with --full
    seqs: list[int]  # the log's last seq after each sync


def seed(server: MlflowServer, step: str) -> dict[str, list[str]]:
    done = run_source_python(SEED, server.url, step)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def move_alias(server: MlflowServer, alias: str, version: str) -> None:
    """The REST call `MlflowClient.set_registered_model_alias` makes (no extra Python process)."""
    response = httpx.post(
        f"{server.url}/api/2.0/mlflow/registered-models/alias",
        json={"name": "credit-risk", "alias": alias, "version": version},
        timeout=30,
    )
    response.raise_for_status()


def sync(server: MlflowServer, log: EventLog, *, full: bool = False) -> SyncReport:
    with MlflowRestClient(server.url, page_size=PAGE) as client:
        return sync_mlflow(client, log, full=full)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    work = tmp_path_factory.mktemp("mlflow")
    with mlflow_server(work / "server") as server:
        seeded = seed(server, "seed")
        log = EventLog(work / "events.sqlite3")
        reports, seqs = [sync(server, log)], [log.last_seq()]
        move_alias(server, "champion", "2")
        for full in (False, False, True):
            reports.append(sync(server, log, full=full))
            seqs.append(log.last_seq())
        yield Scenario(server, log, seeded, reports, seqs)
        log.close()


def test_syncs_append_only_what_changed_and_idle_syncs_only_list(scenario: Scenario) -> None:
    first, moved, idle, full = scenario.reports
    assert (first.skipped, moved.skipped, idle.skipped) == ([], [], [])
    # 1 registered model, 2 versions, 2 runs, 1 alias snapshot
    assert (first.appended, first.duplicates) == (6, 0)
    assert first.counts["training runs read"] == 2
    # the move: the alias snapshot only (MLflow does not touch the model's update time)
    assert (moved.appended, moved.duplicates, moved.counts["alias changes"]) == (1, 1, 1)
    assert (idle.appended, idle.duplicates) == (0, 1)
    # listing only: one page per model and per version (the last full page has no next token)
    listing = 1 + 2
    assert moved.counts["requests"] == idle.counts["requests"] == listing
    # the first sync also read 2 runs, 1 experiment (cached) and 2 logged models
    assert first.counts["requests"] == listing + 5
    assert "model versions changed" not in idle.counts
    # --full reads every version again, and finds every record already logged
    assert (full.appended, full.duplicates, full.counts["model versions changed"]) == (0, 5, 2)
    assert full.counts["requests"] == first.counts["requests"]


def project(scenario: Scenario, store: GraphStore, log: EventLog, upto: int) -> None:
    """Copy the scenario's records up to `upto` into `log` (same ids) and project them."""
    entries = scenario.log.read(log.last_seq(), 10_000, upto=upto)
    log.append([NewEvent(e.source, e.kind, e.event_time, e.body) for e in entries])
    status = Projector(log, store, default_mappers()).catch_up()
    assert (status.parked, status.lag) == (0, 0)


def out(store: GraphStore, node: NodeKey, kind: EdgeKind, as_of: str | None = None) -> list:
    return store.neighbors([node.id], Direction.OUT, [kind], as_of=as_of)


def into(store: GraphStore, node: NodeKey, kind: EdgeKind) -> list:
    return store.neighbors([node.id], Direction.IN, [kind])


def test_the_graph_before_and_after_the_alias_move(
    scenario: Scenario, store: GraphStore, tmp_path: Path
) -> None:
    log = EventLog(tmp_path / "events.sqlite3")
    run1, run2 = (NodeKey.of(NodeKind.RUN, run_id=r) for r in scenario.seeded["runs"])
    project(scenario, store, log, scenario.seqs[0])

    assert {e.key.dst for e in out(store, MODEL, EdgeKind.HAS_VERSION)} == {V1, V2}
    assert [(e.key.disc, e.key.dst) for e in out(store, MODEL, EdgeKind.ALIAS)] == [
        ("champion", V1)
    ]
    model = store.get_node(MODEL.id)
    assert model is not None
    assert model.props["tag_domain"] == "credit"
    assert model.props["description"].startswith("Probability of default")
    assert [(e.key.src, e.key.disc) for e in into(store, MODEL, EdgeKind.OWNS)] == [
        (OWNER, "technical")
    ]
    v2 = store.get_node(V2.id)
    assert v2 is not None
    assert (v2.props["status"], v2.props["description"]) == ("READY", "tuned C logistic regression")
    assert v2.props["logged_model_id"] == scenario.seeded["models"][1]
    assert v2.props["tag_feast_feature_service"] == "credit_scoring/credit_risk_v1"
    assert {e.key.dst for e in out(store, SERVICE, EdgeKind.FEEDS)} == {V1, V2}
    assert [e.key.src for e in into(store, V1, EdgeKind.TRAINED)] == [run1]
    assert [e.key.src for e in into(store, V2, EdgeKind.TRAINED)] == [run2]

    run = store.get_node(run2.id)
    assert run is not None
    p = run.props
    assert (p["state"], p["run_name"], p["param_C"], p["metric_val_auc"]) == (
        "COMPLETE", "tuned", "0.5", pytest.approx(0.815)
    )  # fmt: skip
    assert p["started_at"] < p["ended_at"]
    assert p["unlinked_inputs"] == [
        "holdout: code (the dataset came from the training code itself)"
    ]
    assert [e.key.dst for e in out(store, run2, EdgeKind.RUN_OF)] == [JOB]
    read = {e.key.src: e.props.get("context") for e in into(store, run2, EdgeKind.READ_BY)}
    features_v3 = NodeKey.of(NodeKind.DATASET_VERSION, namespace="metastore",
                             name=FEATURES.parts[1], version="3")  # fmt: skip
    orders_versions = [e.key.dst for e in out(store, ORDERS, EdgeKind.HAS_VERSION)]
    assert len(orders_versions) == 1  # both runs read the same data (one digest)
    assert read == {features_v3: "training", orders_versions[0]: "training"}
    assert {e.key.dst for e in out(store, FEATURES, EdgeKind.HAS_COLUMN)} == {
        column_key(FEATURES, "income"), column_key(FEATURES, "debt_ratio")
    }  # fmt: skip

    # after the move: champion on v2, the v1 edge retired at the move, both in the audit trail
    project(scenario, store, log, scenario.seqs[2])
    assert [(e.key.disc, e.key.dst) for e in out(store, MODEL, EdgeKind.ALIAS)] == [
        ("champion", V2)
    ]
    old = [e for e in store.iter_edges() if e.key.kind is EdgeKind.ALIAS and e.key.dst == V1]
    assert len(old) == 1
    assert old[0].valid_to is not None
    assert [e.key.dst for e in out(store, MODEL, EdgeKind.ALIAS, as_of=old[0].first_seen)] == [V1]
    trail = audit_trail(log, store, MODEL.id, types=[EntryType.ALIAS]).entries
    assert [entry.other_node_id for entry in trail] == [V1.id, V2.id]
    log.close()


def test_lkg_sync_mlflow_reports_bad_data_by_name_and_syncs_the_rest(
    scenario: Scenario, tmp_path: Path
) -> None:
    bad = seed(scenario.server, "add-bad")
    env = {**os.environ, "LKG_DATA_DIR": str(tmp_path), "NEO4J_URI": ""}
    done = subprocess.run(
        [str(LKG), "sync", "mlflow", "--tracking-uri", scenario.server.url, "--project"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a hang, not a measurement
        check=False,
    )
    output = " ".join(done.stdout.split())  # rich wraps long lines
    assert done.returncode == 2, output + done.stderr
    assert "skipped model scorecard version 1: run_id 0123456789abcdef0123456789abcdef: " \
        "source run not found" in output  # fmt: skip
    assert f"skipped model scorecard version 2: run {bad['run']} dataset input 'bureau' " \
        "source: source is not JSON" in output  # fmt: skip
    assert "records appended │ 10" in output
    assert "(0 parked)" in output  # 2 models, 4 versions, 3 runs, 1 alias snapshot
    # everything else synced: the good input of the run with the bad one is in the log
    log = EventLog(tmp_path / "events.sqlite3")
    runs = [e.body for e in log.read(0, 100) if e.kind == "training_run"]
    scorecard = next(r for r in runs if r["run_id"] == bad["run"])
    assert [i["name"] for i in scorecard["inputs"]] == ["applicants"]
    log.close()


# ---- the client against a flaky server (a real HTTP server answering from a script) -----------
class _Scripted(BaseHTTPRequestHandler):
    """Answers each GET with the next (status, body) of `self.server.script`."""

    def do_GET(self) -> None:
        server: Any = self.server
        server.seen.append(self.path)
        status, body = server.script.pop(0)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    server.script, server.seen = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_client_retries_transient_failures_and_follows_pages(scripted: Any) -> None:
    model = {"name": "m", "creation_timestamp": 1, "last_updated_timestamp": 2}
    scripted.script = [
        (503, {"error_code": "TEMPORARILY_UNAVAILABLE"}),
        (200, {"registered_models": [model], "next_page_token": "p2"}),
        (200, {"registered_models": [{**model, "name": "n"}]}),
        (404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run 'x' not found"}),
        (400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "bad"}),
    ]
    url = f"http://127.0.0.1:{scripted.server_address[1]}"
    with MlflowRestClient(url, page_size=1) as client:
        assert [m.name for m in client.registered_models()] == ["m", "n"]
        assert client.requests == 3  # the 503 was retried
        assert "page_token=p2" in scripted.seen[2]
        with pytest.raises(NotFound, match="Run 'x' not found"):
            client.run("x")
        with pytest.raises(MlflowApiError, match="400"):
            client.experiment("1")
        assert client.requests == 5  # neither a missing object nor a bad request is retried

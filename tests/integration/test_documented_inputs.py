"""The examples of docs/sources/decisions.md and docs/sources/monitoring.md, executed (issue 16
§6): each fenced block is read out of the markdown, run through the real `lkg` command (a
subprocess) or the real validation, projection and questions, and what the doc says about it is
checked — so the docs cannot drift from what the code does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineage_kg.api.app import create_app
from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.decisions.projection import DecisionProjection
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.projector import Projector
from lineage_kg.ingest.sources import default_mappers
from lineage_kg.queries.decisions import resolve
from lineage_kg.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DECISIONS_DOC = ROOT / "docs" / "sources" / "decisions.md"
MONITORING_DOC = ROOT / "docs" / "sources" / "monitoring.md"
KPIS = ROOT / "examples" / "catalog" / "kpis.yaml"  # defines the decision point loan-approval
LKG = Path(sys.executable).with_name("lkg")


def _after(doc: Path, name: str) -> str:
    marker = f"<!-- example: {name} -->"
    text = doc.read_text(encoding="utf-8")
    assert marker in text, f"{doc.name} lost its example {name}"
    return text.split(marker, 1)[1]


def block(doc: Path, name: str) -> str:
    """The fenced block right after `<!-- example: name -->`."""
    found = re.match(r"\s*```[a-z]*\n(.*?)\n```", _after(doc, name), re.DOTALL)
    assert found, f"no fenced block after example {name} in {doc.name}"
    return found[1] + "\n"


def table(doc: Path, name: str) -> list[list[str]]:
    """The rows of the markdown table right after `<!-- example: name -->`, header dropped."""
    lines = []
    for line in _after(doc, name).strip().splitlines():
        if not line.startswith("|"):
            break
        lines.append([cell.strip() for cell in line.strip("|").split("|")])
    assert len(lines) > 2, f"no table after example {name} in {doc.name}"
    return lines[2:]


def lkg(data: Path, cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LKG_DATA_DIR": str(data), "NEO4J_URI": "", "COLUMNS": "200"}
    return subprocess.run(
        [str(LKG), *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def summary_count(output: str, what: str) -> int:
    """A count from the summary table the commands print."""
    found = re.search(rf"│ {re.escape(what)}\s+│ (\d+)", output)
    assert found, output
    return int(found[1])


def expect_output(doc: Path, name: str, done: subprocess.CompletedProcess[str]) -> None:
    """Each line of the doc's output block: `<count name> <n>` from the summary table, or a line
    the command prints (`rejected …`, `skipped …`)."""
    out = done.stdout
    for line in block(doc, name).strip().splitlines():
        if counted := re.fullmatch(r"(.+?) (\d+)", line):
            assert summary_count(out, counted[1]) == int(counted[2]), (line, out)
        else:
            assert line in out, (line, out)


def project(data: Path, store: GraphStore, side: list[DecisionProjection] | None = None) -> None:
    log = EventLog(data / "events.sqlite3")
    try:
        status = Projector(log, store, default_mappers(), side=side or []).catch_up(timeout=60)
        assert status.lag == 0 and status.parked == 0, status
    finally:
        log.close()


# ---- decisions ---------------------------------------------------------------------------------


def test_the_decision_file_example_through_lkg_ingest_decisions(tmp_path: Path) -> None:
    (tmp_path / "decisions.ndjson").write_text(block(DECISIONS_DOC, "decisions-ndjson"))
    done = lkg(tmp_path / "data", tmp_path, "ingest-decisions", "decisions.ndjson")
    assert done.returncode == 2, done.stdout + done.stderr  # "exits 2"
    expect_output(DECISIONS_DOC, "decisions-cli", done)


def model_version(version: str) -> NodeKey:
    return NodeKey.of(
        NodeKind.MODEL_VERSION, registry="mlflow", name="credit-risk", version=version
    )


def registry_as_documented(store: GraphStore) -> None:
    """The registry timeline of decisions.md, as `lkg sync mlflow` records it: versions with the
    registry's creation time, the champion alias's first assignment and its dated move."""
    model = NodeKey.of(NodeKind.MODEL, registry="mlflow", name="credit-risk")
    for version, at in (("3", "2026-01-02T00:00:00Z"), ("4", "2026-01-20T00:00:00Z")):
        b, p = MutationBatch(), Provenance("mlflow", f"ev-register-{version}", at)
        b.node(model_version(version), p, created_at=canonical_time(at))
        b.edge(model, EdgeKind.HAS_VERSION, model_version(version), p)
        store.apply(b)
    for version, at in (("3", "2026-01-05T06:00:00Z"), ("4", "2026-02-01T00:00:00Z")):
        b, p = MutationBatch(), Provenance("mlflow", f"ev-champion-{version}", at)
        b.edge(model, EdgeKind.ALIAS, model_version(version), p, disc="champion")
        keep = frozenset({model_version(version)})
        b.add(EdgeRetire(model, EdgeKind.ALIAS, Direction.OUT, keep, p, disc="champion"))
        store.apply(b)


def test_which_version_made_each_documented_decision(store: GraphStore, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (tmp_path / "deployments.yaml").write_text(block(DECISIONS_DOC, "decisions-deployments"))
    (tmp_path / "decisions.ndjson").write_text(block(DECISIONS_DOC, "decisions-ndjson"))
    assert lkg(data, tmp_path, "sync", "catalog", KPIS).returncode == 0
    assert lkg(data, tmp_path, "sync", "deployments", "deployments.yaml").returncode == 0
    assert lkg(data, tmp_path, "ingest-decisions", "decisions.ndjson").returncode == 2
    registry_as_documented(store)
    projection = DecisionProjection.at(tmp_path)
    try:
        project(data, store, [projection])
        expected = table(DECISIONS_DOC, "decisions-resolved")
        assert len(expected) == 5
        for decision_id, _rule, resolution, versions in expected:
            row = projection.table.get(decision_id)
            assert row is not None, decision_id
            found = resolve(store, row)
            assert found.resolution.value == resolution, (decision_id, found.detail)
            made_by = [link.node.key.fields["version"] for link in found.versions]
            assert made_by == versions.split(", "), (decision_id, found.detail)
    finally:
        projection.close()


# ---- monitoring --------------------------------------------------------------------------------


@pytest.fixture
def monitored(tmp_path: Path) -> Iterator[Path]:
    """A data dir after `lkg sync catalog`, the deployments and the CSV of monitoring.md."""
    data = tmp_path / "data"
    (tmp_path / "checks.csv").write_text(block(MONITORING_DOC, "monitoring-csv"))
    (tmp_path / "deployments.yaml").write_text(block(MONITORING_DOC, "monitoring-deployments"))
    assert lkg(data, tmp_path, "sync", "catalog", KPIS).returncode == 0
    assert lkg(data, tmp_path, "sync", "deployments", "deployments.yaml").returncode == 0
    done = lkg(data, tmp_path, "sync", "monitoring", "checks.csv")
    assert done.returncode == 2, done.stdout + done.stderr  # "exits 2"
    expect_output(MONITORING_DOC, "monitoring-csv-output", done)
    yield data


def test_root_cause_reads_the_graph_as_it_was_at_until(monitored: Path, store: GraphStore) -> None:
    project(monitored, store)
    query = block(MONITORING_DOC, "monitoring-root-cause")
    answers = table(MONITORING_DOC, "monitoring-root-cause-answers")
    assert len(answers) == 2
    with TestClient(create_app(Settings(data_dir=monitored), store=store)) as client:
        for until, suspects in answers:
            body = client.post("/graphql", json={"query": query, "variables": {"until": until}})
            assert body.status_code == 200, body.text
            found = body.json()
            assert "errors" not in found, found
            said = [f"{s['reason']}: {s['node']['display']}" for s in found["data"]["rootCause"]]
            assert said == suspects.split("; "), (until, found)


def test_a_later_result_is_what_the_check_node_shows(monitored: Path, tmp_path: Path) -> None:
    (tmp_path / "checks.yaml").write_text(block(MONITORING_DOC, "monitoring-yaml"))
    done = lkg(monitored, tmp_path, "sync", "monitoring", "checks.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary_count(done.stdout, "records appended") == 3
    store = EmbeddedStore()
    project(monitored, store)
    check = NodeKey.of(NodeKind.CHECK, subject=model_version("3").display, name="psi_drift")
    assert check.display == "mlflow/credit-risk@3/psi_drift"  # as the doc names it
    node = store.get_node(check.id)
    assert node is not None
    for line in block(MONITORING_DOC, "monitoring-latest").strip().splitlines():
        prop, value = line.split(" ", 1)
        assert str(node.props[prop]) == value, (prop, node.props)

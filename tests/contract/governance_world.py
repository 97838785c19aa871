"""A small estate for the governance tests, built through the real ingest path: OpenLineage
events (ingest/openlineage), MLflow, catalog, deployment and monitoring records (their mappers,
from log entries), decisions through the log and their projection.

    pg/raw (ann) ─INPUT_TO→ etl/mart ─PRODUCES→ pg/mart@v1 (ann) ─READ_BY→ train run
    train run ─TRAINED→ credit-risk@1 ─DEPLOYED_TO(champion, from 03-01)→ loan-approval (ann)
    loan-approval ─DRIVES→ approval-rate (ann, business)

Clean as built: no rule is broken. Each test adds what breaks one rule, then what fixes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.sides.decisions import DecisionTable
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.catalog import mapping as catalog
from lineage_kg.ingest.decisions.mapping import map_entry as decisions_map
from lineage_kg.ingest.decisions.projection import DecisionProjection
from lineage_kg.ingest.decisions.records import decision_event, validate_items
from lineage_kg.ingest.eventlog import EventLog, LogEntry
from lineage_kg.ingest.mlflow import mapping as mlflow
from lineage_kg.ingest.openlineage.mapping import map_event

PG = "pg"
AS_OF = "2026-03-10T00:00:00Z"
ETL_RUN = "00000000-0000-4000-8000-000000000001"
TRAIN_RUN = "00000000-0000-4000-8000-000000000002"


def dataset(name: str) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace=PG, name=name)


def mv(version: str) -> NodeKey:
    return NodeKey.of(
        NodeKind.MODEL_VERSION, registry="mlflow", name="credit-risk", version=version
    )


POINT = NodeKey.of(NodeKind.DECISION_POINT, name="loan-approval")
KPI = NodeKey.of(NodeKind.KPI, name="approval-rate")
MART_V1 = NodeKey.of(NodeKind.DATASET_VERSION, namespace=PG, name="mart", version="v1")


def ms(text: str) -> int:
    return int(canonical_to_epoch(text) * 1000)


def canonical_to_epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(canonical_time(text).replace("Z", "+00:00")).timestamp()


class World:
    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.seq = 0
        self.deployed = ""  # the event deploying credit-risk@1

    def _entry(self, source: str, kind: str, at: str, body: dict[str, Any]) -> LogEntry:
        self.seq += 1
        return LogEntry(self.seq, f"{source}-{kind}-{self.seq:04d}", source, kind, at, at, body)

    def ol(self, job: str, run: str, at: str, inputs: list[Any], outputs: list[Any]) -> str:
        self.seq += 1
        event_id = f"ol-{self.seq:04d}"
        event = {
            "eventType": "COMPLETE",
            "eventTime": at,
            "run": {"runId": run},
            "job": {"namespace": "etl", "name": job},
            "inputs": inputs,
            "outputs": outputs,
            "producer": "https://example.com/governance-test",
        }
        self.store.apply(map_event(event, event_id))
        return event_id

    def catalog(self, kind: str, body: dict[str, Any], at: str = "2026-02-01T00:00:00Z") -> str:
        entry = self._entry("catalog", kind, at, body)
        self.store.apply(catalog.map_entry(entry))
        return entry.event_id

    def deploy(self, version: str, at: str, **extra: Any) -> str:
        body = {"model": "credit-risk", "version": version, "decision_point": "loan-approval",
                "valid_from": at, **extra}  # fmt: skip
        entry = self._entry("deployment", "deployment", extra.get("valid_until") or at, body)
        self.store.apply(catalog.map_entry(entry))
        return entry.event_id

    def check(self, subject: dict[str, Any], name: str, status: str, at: str) -> str:
        body = {"subject": subject, "check": name, "status": status, "checked_at": at}
        entry = self._entry("monitoring", "check_result", at, body)
        self.store.apply(catalog.map_entry(entry))
        return entry.event_id

    def owns(self, asset: NodeKey, *owners: str, kind: str = "technical") -> str:
        body = {"asset": asset.id, "owners": list(owners), "type": kind, "pattern": "*"}
        return self.catalog("ownership", body)

    def person(self, email: str, **extra: Any) -> str:
        return self.catalog("person", {"id": email, **extra})

    def mart_event(self, at: str, passed: bool, inputs: tuple[str, ...] = ("raw",)) -> str:
        assertions = [{"assertion": "not_null", "success": True},
                      {"assertion": "unique", "success": passed}]  # fmt: skip
        mart = {"namespace": PG, "name": "mart", "facets": {
            "version": {"datasetVersion": "v1"},
            "dataQualityAssertions": {"assertions": assertions}}}  # fmt: skip
        return self.ol("mart", ETL_RUN, at, [{"namespace": PG, "name": n} for n in inputs], [mart])


def build(store: GraphStore) -> World:
    """The clean estate (module docstring)."""
    w = World(store)
    w.person("ann@x.com")
    w.mart_event("2026-03-01T01:00:00Z", passed=True)
    mart_v1 = {"namespace": PG, "name": "mart", "facets": {"version": {"datasetVersion": "v1"}}}
    w.ol("train", TRAIN_RUN, "2026-03-01T02:00:00Z", [mart_v1], [])
    registered = "2026-03-01T03:00:00Z"
    body = {"name": "credit-risk", "version": "1", "run_id": TRAIN_RUN,
            "created_ms": ms(registered), "updated_ms": ms(registered)}  # fmt: skip
    store.apply(mlflow.map_entry(w._entry("mlflow", "model_version", registered, body)))
    w.catalog("kpi", {"name": "approval-rate", "owner": "ann@x.com"})
    body = {"name": "loan-approval", "owner": "ann@x.com", "drives": ["approval-rate"]}
    w.catalog("decision_point", body)
    for name in ("raw", "mart"):
        w.owns(dataset(name), "ann@x.com")
    w.deployed = w.deploy("1", "2026-03-01T08:00:00Z")
    return w


def decide(store: GraphStore, tmp_path: Path, rows: list[dict[str, Any]]) -> DecisionTable:
    """The decisions through the log, the mapper and the side table's projection."""
    checked = validate_items([(i, f"[{i}]", r) for i, r in enumerate(rows)])
    assert not checked.rejected, checked.rejected
    log = EventLog(tmp_path / "events.sqlite3")
    log.append([decision_event(checked.decisions)])
    for entry in log.read(0, 10):
        store.apply(decisions_map(entry))
    projection = DecisionProjection.at(tmp_path)
    projection.catch_up(log, store, log.last_seq())
    log.close()
    return projection.table

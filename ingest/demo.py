"""A small demo estate spanning the value chain — a table, a job, a mart, a feature, a model
version, the decision point it serves, the KPIs they move and the owners of each step — as the
data its sources would send, appended to the event log like any other data.

`lkg serve --demo` appends it at start (service/runtime.py), so the projector builds the graph
from the log: every node has its evidence (`GET /api/v1/events/{id}`), an audit trail, and the
CLI answers on the same data dir as the service. Each part takes its source's own road:

- OpenLineage: the job `airflow/marts.daily_revenue` reading `shop.public.orders` and writing
  `analytics.marts.daily_revenue`, with schemas, column lineage, descriptions and ownership facets
  (ingest/intake.py, validated as if POSTed);
- the catalog: people, teams, KPIs, the decision point and who owns the training job
  (ingest/catalog/);
- Feast: the feature view `risk/customer_spend` and the service `risk/credit_risk` selecting its
  feature (ingest/feast/);
- MLflow: the model `credit-risk`, version 3 (champion) and the training run that read one
  version of the orders table (ingest/mlflow/);
- a deployment of version 3 at `loan-approval`, and one logged decision, `loan-42`
  (ingest/catalog/deployments, ingest/decisions/).

Every record is fixed (times included), and an event's id is the hash of its content, so
appending the demo again writes nothing: `load_demo` is idempotent across restarts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.ingest.catalog.kpis import catalog_kpis
from lineage_kg.ingest.catalog.mapping import (
    DECISION_POINT,
    DEPLOYMENT_KIND,
    KPI,
    OWNERSHIP,
    PERSON,
    TEAM,
)
from lineage_kg.ingest.catalog.owners import catalog_owners
from lineage_kg.ingest.catalog.records import Deployment, OwnershipRecord
from lineage_kg.ingest.decisions.records import Decision, decision_event, validate_items
from lineage_kg.ingest.eventlog import EventLog, LogEntry, NewEvent
from lineage_kg.ingest.feast.records import FeatureServiceRecord, FeatureViewRecord
from lineage_kg.ingest.intake import accept_many, to_new_event
from lineage_kg.ingest.mlflow.records import (
    AliasSnapshot,
    ModelVersionRecord,
    RegisteredModelRecord,
    TrainingRunRecord,
)
from lineage_kg.ingest.source_sync import SourceRecord, SyncReport, append_records, record_time
from lineage_kg.ingest.sources import CATALOG, DEPLOYMENT, FEAST, MLFLOW, default_mappers

PG = "postgres://warehouse:5432"
ORDERS, REVENUE = "shop.public.orders", "analytics.marts.daily_revenue"
JOB_NAMESPACE, JOB = "airflow", "marts.daily_revenue"
PLATFORM, ML = "team:data-platform", "team:ml-risk"
ALICE = "alice@example.com"
PROJECT, VIEW, FEATURE, SERVICE = "risk", "customer_spend", "total_spend", "credit_risk"
MODEL, VERSION, TRAINING_RUN = "credit-risk", "3", "train-credit-risk-3"
EXPERIMENT = "credit-risk-training"  # MLflow's experiment: the training runs' Job
DECISION_POINT_NAME, DECISION_ID = "loan-approval", "loan-42"

RUN_AT = "2026-01-05T06:00:00Z"  # the mart's nightly run
CATALOG_AT = "2026-01-05T06:00:00Z"
TRAINED_MS = 1_767_564_000_000  # 2026-01-04T22:00:00Z
REGISTERED_MS = 1_767_592_800_000  # 2026-01-05T06:00:00Z
PRODUCER = "https://github.com/lineage-kg/lineage-kg/demo"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_URL = "https://openlineage.io/spec/facets/1-0-0/"


# ---- OpenLineage --------------------------------------------------------------------------------


def _facet(name: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACET_URL}{name}.json", **fields}


def _owned_by(owner: str) -> dict[str, Any]:
    return _facet("OwnershipDatasetFacet", owners=[{"name": owner, "type": "technical"}])


def _schema(fields: dict[str, str]) -> dict[str, Any]:
    return _facet("SchemaDatasetFacet", fields=[{"name": n, "type": t} for n, t in fields.items()])


def _from_orders(field: str, subtype: str) -> dict[str, Any]:
    transformation = {"type": "DIRECT", "subtype": subtype}
    source = {"namespace": PG, "name": ORDERS, "field": field, "transformations": [transformation]}
    return {"inputFields": [source]}


def openlineage_events() -> list[dict[str, Any]]:
    """The mart's nightly run, as Airflow's OpenLineage integration would send it."""
    orders = {
        "namespace": PG,
        "name": ORDERS,
        "facets": {
            "schema": _schema(
                dict.fromkeys(("order_id", "customer_id", "amount", "created_at"), "string")
            ),
            "documentation": _facet("DocumentationDatasetFacet", description="Every order placed"),
            "ownership": _owned_by(PLATFORM),
        },
    }
    revenue = {
        "namespace": PG,
        "name": REVENUE,
        "facets": {
            "schema": _schema({"day": "date", "revenue": "decimal"}),
            "documentation": _facet("DocumentationDatasetFacet", description="Revenue per day"),
            "ownership": _owned_by(PLATFORM),
            "columnLineage": _facet(
                "ColumnLineageDatasetFacet",
                fields={
                    "revenue": _from_orders("amount", "AGGREGATION"),
                    "day": _from_orders("created_at", "TRANSFORMATION"),
                },
            ),
        },
    }
    run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{PRODUCER}/{JOB}/{RUN_AT}"))
    return [
        {
            "eventType": "COMPLETE",
            "eventTime": RUN_AT,
            "producer": PRODUCER,
            "schemaURL": SCHEMA_URL,
            "run": {"runId": run_id},
            "job": {
                "namespace": JOB_NAMESPACE,
                "name": JOB,
                "facets": {
                    "ownership": _facet(
                        "OwnershipJobFacet", owners=[{"name": PLATFORM, "type": "technical"}]
                    )
                },
            },
            "inputs": [orders],
            "outputs": [revenue],
        }
    ]


# ---- the other sources, as the records their syncs append ---------------------------------------


def catalog_records(report: SyncReport) -> list[SourceRecord]:
    """People, teams, KPIs and the decision point, as `lkg sync catalog` logs a catalog file."""
    people = [("demo people[0]", {"id": ALICE, "name": "Alice", "teams": [PLATFORM]})]
    teams = [
        ("demo teams[0]", {"id": PLATFORM, "name": "Data Platform"}),
        ("demo teams[1]", {"id": ML, "name": "ML Risk"}),
    ]
    kpis = [
        ("demo kpis[0]", {"name": "approval-rate", "unit": "%", "owner": ML}),
        (
            "demo kpis[1]",
            {"name": "daily-revenue", "unit": "EUR", "fed_by": [f"{PG}/{REVENUE}#revenue"]},
        ),
    ]
    point = {"name": DECISION_POINT_NAME, "drives": ["approval-rate"]}
    points = [("demo decision_points[0]", point)]
    owners, people_bodies, team_bodies = catalog_owners(people, teams, report)
    kpi_bodies, point_bodies = catalog_kpis(kpis, points, owners.aliases, report)
    # `assign: [{pattern: "mlflow/credit-risk-*", kinds: [Job], owners: [team:ml-risk]}]` as
    # the sync logs it once the pattern matches the training job (ingest/catalog/patterns.py)
    training = NodeKey.of(NodeKind.JOB, namespace="mlflow", name=EXPERIMENT)
    owned = OwnershipRecord(
        asset=training.id, owners=[ML], type="technical", pattern="mlflow/credit-risk-*"
    ).model_dump(mode="json")
    return [
        SourceRecord(kind, CATALOG_AT, body)
        for kind, bodies in (
            (PERSON, people_bodies),
            (TEAM, team_bodies),
            (KPI, kpi_bodies),
            (DECISION_POINT, point_bodies),
            (OWNERSHIP, [owned]),
        )
        for body in bodies
    ]


def deployment_records() -> list[SourceRecord]:
    """Version 3 decides at loan-approval, as `lkg sync deployments` logs it."""
    deployment = Deployment(
        model=MODEL,
        version=VERSION,
        decision_point=DECISION_POINT_NAME,
        mode="champion",
        traffic=1.0,
        valid_from=CATALOG_AT,
    )
    body = deployment.model_dump(mode="json", exclude_none=True)
    return [SourceRecord(DEPLOYMENT_KIND, deployment.event_time, body)]


def feast_records() -> list[SourceRecord]:
    """The feature view over the orders table and the service the model reads, as `lkg sync
    feast` logs a registry."""
    view = FeatureViewRecord(
        project=PROJECT,
        name=VIEW,
        owner=ML,
        entities=["customer"],
        ttl_seconds=86_400,
        online=True,
        features=[
            {
                "name": FEATURE,
                "dtype": "FLOAT64",
                "columns": [{"namespace": PG, "name": ORDERS, "field": "amount"}],
            }
        ],
        sources=[
            {
                "name": "orders",
                "type": "postgres",
                "datasets": [{"namespace": PG, "name": ORDERS}],
            }
        ],
    )
    service = FeatureServiceRecord(
        project=PROJECT,
        name=SERVICE,
        owner=ML,
        views=[{"view": VIEW, "features": [FEATURE]}],
    )
    return [
        SourceRecord("feature_view", CATALOG_AT, view.model_dump(mode="json")),
        SourceRecord("feature_service", CATALOG_AT, service.model_dump(mode="json")),
    ]


def mlflow_records() -> list[SourceRecord]:
    """The model, its version 3 (trained by one run on one version of the orders table, fed by
    the feature service) and its champion alias, as `lkg sync mlflow` logs them."""
    model = RegisteredModelRecord(
        name=MODEL, tags={"owner": ML}, created_ms=TRAINED_MS, updated_ms=REGISTERED_MS
    )
    run = TrainingRunRecord(
        run_id=TRAINING_RUN,
        run_name=TRAINING_RUN,
        experiment_id="1",
        experiment_name=EXPERIMENT,
        status="FINISHED",
        start_ms=TRAINED_MS,
        end_ms=TRAINED_MS + 1_800_000,
        inputs=[
            {
                "name": "orders",
                "digest": "2026-01-04",  # the table's snapshot of that day
                "source_type": "postgres",
                "source": f'{{"uri": "{PG}/{ORDERS}"}}',
                "context": "training",
            }
        ],
    )
    version = ModelVersionRecord(
        name=MODEL,
        version=VERSION,
        status="READY",
        run_id=TRAINING_RUN,
        tags={"feast.feature_service": f"{PROJECT}/{SERVICE}"},
        created_ms=REGISTERED_MS,
        updated_ms=REGISTERED_MS,
    )
    aliases = AliasSnapshot(model=MODEL, aliases={"champion": VERSION}, observed_ms=REGISTERED_MS)
    return [
        SourceRecord("registered_model", model.created_ms, model.body()),
        SourceRecord("training_run", TRAINED_MS, run.body()),
        SourceRecord("model_version", version.created_ms, version.body()),
        SourceRecord("aliases", aliases.observed_ms, aliases.body()),
    ]


def decisions() -> list[dict[str, Any]]:
    """One logged decision, as a decision service POSTs it to /api/v1/decisions."""
    return [
        {
            "decision_id": DECISION_ID,
            "timestamp": "2026-01-05T09:30:00Z",
            "decision_point": DECISION_POINT_NAME,
            "model": MODEL,
            "version": VERSION,
            "features": [f"{PROJECT}/{VIEW}:{FEATURE}"],
            "outcome": "approved",
        }
    ]


# ---- the demo, appended ---------------------------------------------------------------------


def source_records() -> list[tuple[str, list[SourceRecord]]]:
    """(the log's source name, its records), in the order the sync commands would run."""
    return [
        (CATALOG, catalog_records(SyncReport(CATALOG))),
        (FEAST, feast_records()),
        (MLFLOW, mlflow_records()),
        (DEPLOYMENT, deployment_records()),
    ]


def demo_decisions() -> list[Decision]:
    checked = validate_items((i, f"[{i}]", d) for i, d in enumerate(decisions()))
    if checked.rejected:
        raise ValueError(f"demo decisions refused: {checked.rejected}")
    return checked.decisions


@dataclass(slots=True)
class DemoLoad:
    appended: int = 0
    duplicates: int = 0  # already in the log (a restart): nothing written

    @property
    def counts(self) -> tuple[int, int]:
        return self.appended, self.duplicates


def load_demo(log: EventLog) -> DemoLoad:
    """Append the demo to `log` through each source's own path (OpenLineage intake, the sync
    runner, the decisions' batch event); appending it again writes nothing. ValueError if a
    part is refused (a bug in this module, not bad user data)."""
    result = DemoLoad()
    intake = accept_many(log, enumerate(openlineage_events()))
    if intake.rejected:
        raise ValueError(f"demo OpenLineage event refused: {intake.rejected}")
    result.appended += intake.accepted
    result.duplicates += intake.duplicates
    for source, records in source_records():
        report = append_records(log, source, records)
        result.appended += report.appended
        result.duplicates += report.duplicates
    (appended,) = log.append([decision_event(demo_decisions())])
    result.duplicates += appended.duplicate
    result.appended += not appended.duplicate
    return result


def demo_events() -> list[NewEvent]:
    """The events `load_demo` appends, as the log stores them (same sources, kinds, times and
    bodies, so the same ids)."""
    events = [to_new_event(e) for e in openlineage_events()]
    for source, records in source_records():
        events += [NewEvent(source, r.kind, record_time(r.event_time), r.body) for r in records]
    return [*events, decision_event(demo_decisions())]


def demo_batch() -> MutationBatch:
    """The demo's graph without a log: each event mapped by its source's mapper, in order (the
    decisions' aggregated edges, written by their side projection, are not in it)."""
    mappers = default_mappers()
    batch = MutationBatch()
    for seq, event in enumerate(demo_events(), start=1):
        entry = LogEntry(seq, event.event_id, event.source, event.kind, event.event_time,
                         event.event_time, event.body)  # fmt: skip
        batch.extend(mappers[event.source](entry).mutations)
    return batch

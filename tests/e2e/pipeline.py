"""The OpenLineage side of the value-chain world: a two-job pipeline on the warehouse
`postgres://db:5432`, emitted by the real openlineage-python client over HTTP.

raw.orders ─etl.load_orders→ public.orders@2026-11-20 ─etl.customer_features→
features.customer_spend@2026-11-20, with schemas, column lineage, dataset versions and the load
job's owner spelled the way its producer spells it ("ASmith@Corp.com").
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    dataset_version_dataset,
    ownership_job,
    schema_dataset,
)
from openlineage.client.transport.http import HttpConfig, HttpTransport

WAREHOUSE = "postgres://db:5432"
SNAPSHOT = "2026-11-20"
RAW_ORDERS = "analytics.raw.orders"
ORDERS = "analytics.public.orders"
CUSTOMER_SPEND = "analytics.features.customer_spend"
ORDER_FIELDS = ("order_id", "customer_id", "amount", "status", "created_at")
SPEND_FIELDS = ("customer_id", "total_spend", "order_count", "event_timestamp")
PRODUCER = "https://github.com/lineage-kg/tests/e2e"


def _schema(
    fields: tuple[str, ...], types: dict[str, str] | None = None
) -> schema_dataset.SchemaDatasetFacet:
    typed = types or {}
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name=f, type=typed.get(f, "varchar"))
            for f in fields
        ]
    )


def _lineage(
    source: str, flows: dict[str, list[str]]
) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            out: column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(WAREHOUSE, source, field) for field in ins
                ]
            )
            for out, ins in flows.items()
        }
    )


def _run(
    job: Job, run_id: str, times: tuple[str, str], inputs: list[InputDataset], output: OutputDataset
) -> list[RunEvent]:
    start, end = times
    common = {"run": Run(runId=run_id), "job": job, "inputs": inputs, "producer": PRODUCER}
    return [
        RunEvent(eventType=RunState.START, eventTime=start, **common),
        RunEvent(eventType=RunState.COMPLETE, eventTime=end, outputs=[output], **common),
    ]


def pipeline_events(retype: tuple[str, str] | None = None) -> list[RunEvent]:
    """The pipeline's two runs; with `retype` (column, type), only a run of the feature job now,
    whose output gives that column of the training table another type."""
    owner = ownership_job.OwnershipJobFacet(
        owners=[ownership_job.Owner(name="ASmith@Corp.com", type="technical")]
    )
    load = Job(namespace="airflow", name="etl.load_orders", facets={"ownership": owner})
    features = Job(namespace="airflow", name="etl.customer_features")
    version = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=SNAPSHOT)
    raw = InputDataset(WAREHOUSE, RAW_ORDERS, facets={"schema": _schema(ORDER_FIELDS)})
    orders_out = OutputDataset(
        WAREHOUSE,
        ORDERS,
        facets={
            "schema": _schema(ORDER_FIELDS),
            "version": version,
            "columnLineage": _lineage(RAW_ORDERS, {f: [f] for f in ORDER_FIELDS}),
        },
    )
    orders_in = InputDataset(
        WAREHOUSE, ORDERS, facets={"schema": _schema(ORDER_FIELDS), "version": version}
    )
    spend = OutputDataset(
        WAREHOUSE,
        CUSTOMER_SPEND,
        facets={
            "schema": _schema(SPEND_FIELDS, dict([retype]) if retype else None),
            "version": version,
            "columnLineage": _lineage(
                ORDERS,
                {
                    "customer_id": ["customer_id"],
                    "total_spend": ["amount"],
                    "order_count": ["order_id"],
                    "event_timestamp": ["created_at"],
                },
            ),
        },
    )
    run_ids = uuid.uuid5(uuid.NAMESPACE_URL, "load"), uuid.uuid5(uuid.NAMESPACE_URL, "features")
    if retype:
        later = str(uuid.uuid5(uuid.NAMESPACE_URL, f"features-{retype}"))
        # after the syncs, which stamp what they read with the time they ran: a change is news
        # only if it is newer than what the graph holds (an older event arriving late is not)
        now = datetime.now(UTC)
        times = ((now - timedelta(minutes=1)).isoformat(), now.isoformat())
        return _run(features, later, times, [orders_in], spend)
    return [
        *_run(
            load,
            str(run_ids[0]),
            ("2026-11-20T02:00:00Z", "2026-11-20T02:10:00Z"),
            [raw],
            orders_out,
        ),
        *_run(
            features,
            str(run_ids[1]),
            ("2026-11-20T03:00:00Z", "2026-11-20T03:05:00Z"),
            [orders_in],
            spend,
        ),
    ]


def emit_pipeline(url: str, retype: tuple[str, str] | None = None) -> int:
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(url=url)))
    events = pipeline_events(retype)
    for event in events:
        client.emit(event)  # raises on anything but 2xx
    return len(events)

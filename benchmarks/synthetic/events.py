"""A plan's job runs as OpenLineage 2-0-2 RunEvents, the shape Airflow's and Spark's integrations
send on COMPLETE: job type and ownership facets; every dataset with its schema; outputs with
column lineage (1-3 input fields each, DIRECT transformations), a dataset version and row counts;
inputs with the version they read. Event times follow the layers, so a reader's input version
was written before it ran.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.synthetic.plan import Job, Plan, Table

PRODUCER = "https://github.com/lineage-kg/lineage-kg/tree/main/benchmarks/synthetic"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACETS = "https://openlineage.io/spec/facets/1-0-1/"
START = datetime(2026, 1, 1, tzinfo=UTC)
LAYER_ORDER = {"raw": 0, "staging": 1, "marts": 2, "lattice": 3, "features": 4}


def _facet(name: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACETS}{name}.json", **body}


def _schema(table: Table) -> dict[str, Any]:
    return _facet(
        "SchemaDatasetFacet",
        fields=[
            {"name": c, "type": "BIGINT" if c.endswith("0") else "VARCHAR"} for c in table.columns
        ],
    )


def version_of(table: Table, run: int) -> str:
    """The version a run's write of `table` creates (stable, like a snapshot id)."""
    return hashlib.sha1(f"{table.qualified}@{run}".encode()).hexdigest()[:16]


def event_time(job: Job, run: int) -> datetime:
    # a pipeline every 10 minutes, its layers an hour apart in order, re-runs a day later;
    # lattice layers inside their hour, in order
    layer = LAYER_ORDER[job.layer]
    offset = timedelta(minutes=10 * job.pipeline, hours=layer, days=run)
    if job.layer == "lattice":
        offset += timedelta(minutes=int(job.name.rsplit("_", 2)[-2]))
    return START + offset


def _input(table: Table, version: str | None) -> dict[str, Any]:
    facets: dict[str, Any] = {"schema": _schema(table)}
    if version:
        facets["version"] = _facet("DatasetVersionDatasetFacet", datasetVersion=version)
    return {"namespace": table.namespace, "name": table.name, "facets": facets}


def _output(job: Job, table: Table, run: int, rng: random.Random) -> dict[str, Any]:
    fields = {
        col: {
            "inputFields": [
                {
                    "namespace": src.namespace,
                    "name": src.name,
                    "field": src_col,
                    "transformations": [
                        {
                            "type": "DIRECT",
                            "subtype": "IDENTITY" if len(srcs) == 1 else "TRANSFORMATION",
                        }
                    ],
                }
                for src, src_col in srcs
            ]
        }
        for (out_name, col), srcs in job.column_lineage.items()
        if out_name == table.name
    }
    return {
        "namespace": table.namespace,
        "name": table.name,
        "facets": {
            "schema": _schema(table),
            "columnLineage": _facet("ColumnLineageDatasetFacet", fields=fields),
            "version": _facet("DatasetVersionDatasetFacet", datasetVersion=version_of(table, run)),
            "ownership": _facet(
                "OwnershipDatasetFacet", owners=[{"name": table.team, "type": "MAINTAINER"}]
            ),
        },
        "outputFacets": {
            "outputStatistics": _facet(
                "OutputStatisticsOutputDatasetFacet", rowCount=rng.randint(1_000, 10_000_000)
            )
        },
    }


def run_events(plan: Plan) -> Iterator[dict[str, Any]]:
    """Every job run's COMPLETE event, in event-time order within the plan's job order."""
    rng = random.Random(plan.seed + 1)
    last_run: dict[str, int] = {}  # table -> the run index of its latest write
    ordered = sorted(
        (
            (event_time(job, r), i, job, r)
            for i, job in enumerate(plan.jobs)
            for r in range(job.runs)
        ),
        key=lambda t: (t[0], t[1], t[3]),
    )
    for at, _, job, run in ordered:
        inputs = [
            _input(t, version_of(t, last_run[t.qualified]) if t.qualified in last_run else None)
            for t in job.inputs
        ]
        outputs = [_output(job, t, run, rng) for t in job.outputs]
        for t in job.outputs:
            last_run[t.qualified] = run
        yield {
            "eventType": "COMPLETE",
            "eventTime": at.isoformat().replace("+00:00", "Z"),
            "producer": PRODUCER,
            "schemaURL": SCHEMA_URL,
            "run": {"runId": str(uuid.UUID(int=rng.getrandbits(128), version=4))},
            "job": {
                "namespace": job.namespace,
                "name": job.name,
                "facets": {
                    "jobType": _facet(
                        "JobTypeJobFacet",
                        processingType="BATCH",
                        integration="AIRFLOW",
                        jobType="TASK",
                    ),
                    "ownership": _facet(
                        "OwnershipJobFacet", owners=[{"name": job.team, "type": "MAINTAINER"}]
                    ),
                },
            },
            "inputs": inputs,
            "outputs": outputs,
        }

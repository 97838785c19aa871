"""MLflow records → graph mutations (a pure function of the log entry).

Model(registry, name) -HAS_VERSION-> ModelVersion(registry, name, version); Model -ALIAS(disc=
alias)-> ModelVersion, the previous target retired when an alias moves; Run(run_id) -TRAINED->
ModelVersion; Run -RUN_OF-> Job("mlflow", experiment name); Dataset -HAS_VERSION->
DatasetVersion -READ_BY-> Run for each placeable dataset input, Dataset -HAS_COLUMN-> Column for
its schema's named columns; FeatureService -FEEDS-> ModelVersion from the `feast.*` version
tags; Owner -OWNS(technical)-> Model from the `owner` tag. Tags, params and metrics become
`tag_<key>`, `param_<key>`, `metric_<key>` props (key sanitised to [A-Za-z0-9_]).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.naming import column_key, owner_id
from lineage_kg.ingest.eventlog import LogEntry
from lineage_kg.ingest.identity import dataset_from_spark_path, dataset_from_uri, metastore_table
from lineage_kg.ingest.mlflow.records import (
    AliasSnapshot,
    DatasetInputRecord,
    ModelVersionRecord,
    RegisteredModelRecord,
    TrainingRunRecord,
)
from lineage_kg.ingest.source_sync import record_time
from lineage_kg.ingest.sources import MLFLOW

JOB_NAMESPACE = "mlflow"
OWNER_TAG = "owner"
FEATURE_SERVICE_TAG = "feast.feature_service"  # "<project>/<service>", or "<service>" with:
FEAST_PROJECT_TAG = "feast.project"
# MLflow run status → the run `state` the queries read (OpenLineage's run states)
RUN_STATES = {
    "FINISHED": "COMPLETE",
    "FAILED": "FAIL",
    "KILLED": "ABORT",
    "RUNNING": "RUNNING",
    "SCHEDULED": "START",
}
# run tags that are bulky or restate other fields
SKIPPED_RUN_TAGS = frozenset({"mlflow.log-model.history", "mlflow.runName"})
FILE_SOURCE_TYPES = frozenset(
    {"local", "s3", "gs", "gcs", "hdfs", "dbfs", "wasbs", "abfss", "uc_volume", "artifact"}
)


def map_entry(entry: LogEntry) -> MutationBatch:
    prov = Provenance(MLFLOW, entry.event_id, entry.event_time)
    body = entry.body
    batch = MutationBatch()
    match entry.kind:
        case "registered_model":
            _registered_model(batch, prov, RegisteredModelRecord.model_validate(body))
        case "model_version":
            _model_version(batch, prov, ModelVersionRecord.model_validate(body))
        case "training_run":
            _training_run(batch, prov, TrainingRunRecord.model_validate(body))
        case "aliases":
            _aliases(batch, prov, AliasSnapshot.model_validate(body))
        case _:
            raise ValueError(f"unknown MLflow record kind {entry.kind!r}")
    return batch


def prop_key(prefix: str, key: str) -> str:
    """`tag_`, `param_`, `metric_` + the key with anything but [A-Za-z0-9_] made `_`."""
    return prefix + re.sub(r"[^0-9A-Za-z_]", "_", key)


def _props(**values: Any) -> dict[str, Any]:
    """Props without the missing ones (stores take no nulls) and without empty strings."""
    return {k: v for k, v in values.items() if v is not None and v != ""}


def _time(ms: int | None) -> str | None:
    return record_time(ms) if ms is not None else None


def model_key(registry: str, name: str) -> NodeKey:
    return NodeKey.of(NodeKind.MODEL, registry=registry, name=name)


def version_key(registry: str, name: str, version: str) -> NodeKey:
    return NodeKey.of(NodeKind.MODEL_VERSION, registry=registry, name=name, version=version)


def _registered_model(batch: MutationBatch, prov: Provenance, rec: RegisteredModelRecord) -> None:
    model = model_key(rec.registry, rec.name)
    tags = {prop_key("tag_", k): v for k, v in rec.tags.items()}
    batch.node(
        model,
        prov,
        **_props(
            description=rec.description,
            created_at=_time(rec.created_ms),
            updated_at=_time(rec.updated_ms),
        ),
        **tags,
    )
    # owners come only from the `owner` tag (comma-separated); the creator is not an owner
    for name in (rec.tags.get(OWNER_TAG) or "").split(","):
        if oid := owner_id(name):
            owner = batch.node(NodeKey.of(NodeKind.OWNER, owner_id=oid), prov)
            batch.edge(owner, EdgeKind.OWNS, model, prov, disc="technical")


def feature_service_of(tags: dict[str, str]) -> NodeKey | None:
    """`feast.feature_service` = "<project>/<service>", or "<service>" with `feast.project`."""
    value = (tags.get(FEATURE_SERVICE_TAG) or "").strip()
    if not value:
        return None
    project, _, service = value.rpartition("/")
    project = project.strip() or (tags.get(FEAST_PROJECT_TAG) or "").strip()
    if not project or not service.strip():
        return None
    return NodeKey.of(NodeKind.FEATURE_SERVICE, project=project, name=service.strip())


def _model_version(batch: MutationBatch, prov: Provenance, rec: ModelVersionRecord) -> None:
    model = batch.node(model_key(rec.registry, rec.name), prov)
    version = version_key(rec.registry, rec.name, rec.version)
    logged = rec.logged_model
    storage = rec.storage_location or (logged.artifact_uri if logged else None)
    batch.node(
        version,
        prov,
        **_props(
            status=rec.status,
            stage=rec.stage if rec.stage != "None" else None,
            description=rec.description,
            source_uri=rec.source,
            storage_uri=storage,
            source_run_id=rec.run_id,
            created_at=_time(rec.created_ms),
            updated_at=_time(rec.updated_ms),
        ),
        **(_logged_model_props(rec) if logged else {}),
        **{prop_key("tag_", k): v for k, v in rec.tags.items()},
    )
    batch.edge(model, EdgeKind.HAS_VERSION, version, prov)
    if rec.run_id and rec.run_found:
        run = batch.node(NodeKey.of(NodeKind.RUN, run_id=rec.run_id), prov)
        batch.edge(run, EdgeKind.TRAINED, version, prov)
    if (service := feature_service_of(rec.tags)) is not None:
        batch.node(service, prov)
        batch.edge(service, EdgeKind.FEEDS, version, prov)


def _logged_model_props(rec: ModelVersionRecord) -> dict[str, Any]:
    logged = rec.logged_model
    assert logged is not None
    return _props(
        logged_model_id=logged.model_id,
        logged_model_name=logged.name,
        logged_model_status=logged.status,
        logged_model_type=logged.model_type,
        logged_model_uri=logged.artifact_uri,
        logged_model_created_at=_time(logged.created_ms),
    )


def _aliases(batch: MutationBatch, prov: Provenance, rec: AliasSnapshot) -> None:
    model = batch.node(model_key(rec.registry, rec.model), prov)
    out = Direction.OUT
    for alias, version in sorted(rec.aliases.items()):
        target = version_key(rec.registry, rec.model, version)
        batch.edge(model, EdgeKind.ALIAS, target, prov, disc=alias)
        # the alias's edge to any other version stops being current now (dated history)
        batch.add(EdgeRetire(model, EdgeKind.ALIAS, out, frozenset({target}), prov, disc=alias))
    for alias in sorted(set(rec.removed) - set(rec.aliases)):
        batch.add(EdgeRetire(model, EdgeKind.ALIAS, out, frozenset(), prov, disc=alias))


# ---- training runs and their dataset inputs ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an MLflow dataset input lives in the graph; `dataset` None: nowhere (`why`)."""

    dataset: NodeKey | None
    version: str | None = None
    why: str = ""


def place_input(source_type: str, source: str) -> Placement:
    """The Dataset an MLflow dataset source names (ingest/identity.py rules).

    ValueError when the source is malformed (not JSON, a file source without a URI): bad data.
    A source naming no table (code, a SQL query, a type we do not know) is placed nowhere.
    """
    try:
        spec = json.loads(source)
    except ValueError as exc:
        raise ValueError(f"source is not JSON: {exc}") from exc
    if not isinstance(spec, dict):
        raise ValueError("source is not a JSON object")  # noqa: TRY004 - bad data, not a bug
    kind = source_type.lower()
    if kind == "code":
        return Placement(None, why="code (the dataset came from the training code itself)")
    if kind == "delta_table" or "delta_table_name" in spec:
        version = spec.get("delta_table_version")
        version = str(version) if version is not None else None
        if spec.get("delta_table_name"):
            return Placement(metastore_table(str(spec["delta_table_name"])), version)
        if spec.get("path"):
            return Placement(dataset_from_spark_path(str(spec["path"])), version)
        raise ValueError("delta_table source has neither delta_table_name nor path")
    if kind == "spark":
        if spec.get("table"):
            return Placement(metastore_table(str(spec["table"])))
        if spec.get("path"):
            return Placement(dataset_from_spark_path(str(spec["path"])))
        return Placement(None, why="spark SQL query (names no single table)")
    if kind in ("http", "https") or "url" in spec:
        return Placement(dataset_from_uri(_text(spec, "url", kind)))
    if kind in FILE_SOURCE_TYPES or "uri" in spec:
        return Placement(dataset_from_uri(_text(spec, "uri", kind)))
    return Placement(None, why=f"source type {source_type!r} names no dataset we can place")


def _text(spec: dict[str, Any], field: str, kind: str) -> str:
    value = spec.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{kind} source has no {field!r}")
    return value


def schema_columns(schema: str | None) -> list[tuple[str, str | None]]:
    """(name, type) of each named column of an MLflow schema (`{"mlflow_colspec": [...]}`);
    tensor specs and unnamed columns have no columns to give."""
    if not schema:
        return []
    try:
        parsed = json.loads(schema)
    except ValueError:
        return []
    specs = parsed.get("mlflow_colspec") if isinstance(parsed, dict) else None
    found = []
    for spec in specs if isinstance(specs, list) else []:
        if isinstance(spec, dict) and isinstance(spec.get("name"), str) and spec["name"]:
            kind = spec.get("type")
            found.append((spec["name"], kind if isinstance(kind, str) else None))
    return found


def _training_run(batch: MutationBatch, prov: Provenance, rec: TrainingRunRecord) -> None:
    job = batch.node(NodeKey.of(NodeKind.JOB, namespace=JOB_NAMESPACE, name=rec.experiment_name),
                     prov, experiment_id=rec.experiment_id)  # fmt: skip
    run = NodeKey.of(NodeKind.RUN, run_id=rec.run_id)
    params = {prop_key("param_", k): v for k, v in rec.params.items()}
    metrics = {prop_key("metric_", k): v for k, v in rec.metrics.items() if math.isfinite(v)}
    tags = {prop_key("tag_", k): v for k, v in rec.tags.items() if k not in SKIPPED_RUN_TAGS}
    unlinked: list[str] = []
    for item in sorted(rec.inputs, key=lambda i: (i.name, i.digest, i.context or "")):
        if (why := _map_input(batch, prov, run, item)) is not None:
            unlinked.append(f"{item.name}: {why}")
    batch.node(
        run,
        prov,
        **_props(
            job=job.display,
            run_name=rec.run_name,
            state=RUN_STATES.get(rec.status or ""),
            mlflow_status=rec.status,
            lifecycle_stage=rec.lifecycle_stage,
            started_at=_time(rec.start_ms),
            ended_at=_time(rec.end_ms),
            unlinked_inputs=unlinked or None,
        ),
        **params,
        **metrics,
        **tags,
    )
    batch.edge(run, EdgeKind.RUN_OF, job, prov)


def _map_input(
    batch: MutationBatch, prov: Provenance, run: NodeKey, item: DatasetInputRecord
) -> str | None:
    """Link one dataset input to the run; the reason it was not linked, if it was not."""
    try:
        placed = place_input(item.source_type, item.source)
    except ValueError as exc:
        return str(exc)
    if placed.dataset is None:
        return placed.why
    dataset = batch.node(placed.dataset, prov)
    ns, name = placed.dataset.parts
    version = NodeKey.of(
        NodeKind.DATASET_VERSION, namespace=ns, name=name, version=placed.version or item.digest
    )
    batch.node(version, prov, **_props(mlflow_dataset=item.name, mlflow_digest=item.digest,
                                       mlflow_source_type=item.source_type))  # fmt: skip
    batch.edge(dataset, EdgeKind.HAS_VERSION, version, prov)
    batch.edge(version, EdgeKind.READ_BY, run, prov, **_props(context=item.context))
    # a reader's schema is not authoritative: columns are added, never retired from here
    for column, kind in schema_columns(item.schema_):
        batch.node(column_key(dataset, column), prov, **_props(type=kind))
        batch.edge(dataset, EdgeKind.HAS_COLUMN, column_key(dataset, column), prov)
    return None

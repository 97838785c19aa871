"""The MLflow registry of an estate as an export file (ingest/mlflow/dump.py): every object in the
shape MLflow's REST API answers. Each model has 2-3 versions, each an MLflow 3 logged model from
its own training run; a run's dataset inputs are the model's features tables as MLflow's s3
dataset source writes them (`{"uri": ...}`, digest = the version the run read), so they land on
the OpenLineage Dataset and DatasetVersion nodes. Aliases: champion (latest), challenger."""

from __future__ import annotations

import json
import random
from typing import Any

from benchmarks.synthetic.plan import Table
from benchmarks.synthetic.src_models import (
    FEAST_PROJECT,
    Estate,
    ModelPlan,
    ModelVersionPlan,
    ms,
)

ARTIFACTS = "s3://mlflow-artifacts"
TRAINING_SECONDS = 20 * 60


def _tags(items: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def _colspec(table: Table) -> str:
    spec = [
        {"type": "long" if c.endswith("0") else "string", "name": c, "required": True}
        for c in table.columns
    ]
    return json.dumps({"mlflow_colspec": spec})


def _dataset_input(table: Table, digest: str) -> dict[str, Any]:
    return {
        "tags": _tags({"mlflow.data.context": "training"}),
        "dataset": {
            "name": table.name.rsplit("/", 1)[-1].removesuffix(".parquet"),
            "digest": digest,
            "source_type": "s3",
            "source": json.dumps({"uri": table.qualified}),
            "schema": _colspec(table),
            "profile": json.dumps({"num_rows": 100_000}),
        },
    }


def _run(model: ModelPlan, v: ModelVersionPlan, rng: random.Random) -> dict[str, Any]:
    start = ms(v.trained_at)
    return {
        "info": {
            "run_id": v.run_id,
            "run_uuid": v.run_id,
            "experiment_id": model.experiment_id,
            "run_name": f"{model.name}-train-{v.version}",
            "user_id": model.owner,
            "status": "FINISHED",
            "start_time": start,
            "end_time": start + TRAINING_SECONDS * 1000,
            "artifact_uri": f"{ARTIFACTS}/{model.experiment_id}/{v.run_id}/artifacts",
            "lifecycle_stage": "active",
        },
        "data": {
            "metrics": [
                {"key": k, "value": round(rng.uniform(0.6, 0.95), 4), "timestamp": start, "step": 0}
                for k in ("auc", "precision", "recall")
            ],
            "params": _tags(
                {"max_depth": str(rng.randint(3, 10)), "n_estimators": str(rng.choice((100, 300)))}
            ),
            "tags": _tags(
                {
                    "mlflow.runName": f"{model.name}-train-{v.version}",
                    "mlflow.source.type": "JOB",
                    "mlflow.user": model.owner,
                }
            ),
        },
        "inputs": {
            "dataset_inputs": [
                _dataset_input(table, digest)
                for table, digest in zip(model.features, model.data_versions, strict=True)
            ]
        },
    }


def _logged_model(model: ModelPlan, v: ModelVersionPlan) -> dict[str, Any]:
    return {
        "info": {
            "model_id": v.model_id,
            "experiment_id": model.experiment_id,
            "name": "model",
            "artifact_uri": f"{ARTIFACTS}/{model.experiment_id}/models/{v.model_id}/artifacts",
            "creation_timestamp_ms": ms(v.trained_at) + TRAINING_SECONDS * 1000,
            "last_updated_timestamp_ms": ms(v.registered_at),
            "status": "LOGGED_MODEL_READY",
            "source_run_id": v.run_id,
            "model_type": "sklearn",
        }
    }


def _version(model: ModelPlan, v: ModelVersionPlan) -> dict[str, Any]:
    aliases = [a for a, mv in (("champion", model.champion), ("challenger", model.challenger))
               if mv is v]  # fmt: skip
    return {
        "name": model.name,
        "version": v.version,
        "creation_timestamp": ms(v.registered_at),
        "last_updated_timestamp": ms(v.registered_at),
        "current_stage": "None",
        "description": "",
        "source": f"models:/{v.model_id}",
        "run_id": v.run_id,
        "status": "READY",
        "tags": _tags({"feast.feature_service": f"{FEAST_PROJECT}/{model.feature_service}"}),
        "aliases": aliases,
        "model_id": v.model_id,
    }


def mlflow_export(estate: Estate) -> dict[str, Any]:
    rng = random.Random(estate.plan.seed + 3)
    models, versions = [], []
    runs: dict[str, Any] = {}
    experiments: dict[str, Any] = {}
    logged: dict[str, Any] = {}
    for model in estate.models:
        models.append(
            {
                "name": model.name,
                "creation_timestamp": ms(model.versions[0].registered_at),
                "last_updated_timestamp": ms(model.champion.registered_at),
                "description": f"Decides at {model.decision_point}.",
                "tags": _tags({"owner": model.team}),
                "aliases": [
                    {"alias": "champion", "version": model.champion.version},
                    {"alias": "challenger", "version": model.challenger.version},
                ],
            }
        )
        experiments[model.experiment_id] = {
            "experiment_id": model.experiment_id,
            "name": model.experiment,
            "artifact_location": f"{ARTIFACTS}/{model.experiment_id}",
            "lifecycle_stage": "active",
            "creation_time": ms(model.versions[0].trained_at),
            "last_update_time": ms(model.champion.trained_at),
        }
        for v in model.versions:
            versions.append(_version(model, v))
            runs[v.run_id] = _run(model, v, rng)
            logged[v.model_id] = _logged_model(model, v)
    return {
        "exported_ms": ms(estate.exported_at),
        "registered_models": models,
        "model_versions": versions,
        "runs": runs,
        "experiments": experiments,
        "logged_models": logged,
    }

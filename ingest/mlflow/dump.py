"""An MLflow registry read from a JSON export file instead of a tracking server.

The file holds the objects exactly as MLflow's REST API answers them, so they are validated by
the same `Api*` models as the REST client's and the sync cannot tell the two apart:

    {"exported_ms": 1767225600000,                         # optional: when it was exported
     "registered_models": [<registered-models/search item>, ...],
     "model_versions": [<model-versions/search item>, ...],
     "runs": {"<run_id>": <runs/get "run">},
     "experiments": {"<experiment_id>": <experiments/get "experiment">},
     "logged_models": {"<model_id>": <logged-models/{id} "model">}}

A missing run, experiment or logged model is `NotFound`, as a server's 404 would be.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from lineage_kg.ingest.mlflow.client import MlflowApiError, NotFound
from lineage_kg.ingest.mlflow.records import (
    ApiExperiment,
    ApiLoggedModel,
    ApiModelVersion,
    ApiRegisteredModel,
    ApiRun,
)


class MlflowDump(BaseModel):
    """The file's top level; each object is validated when it is read, as from the server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exported_ms: int | None = None
    registered_models: list[dict[str, Any]] = []
    model_versions: list[dict[str, Any]] = []
    runs: dict[str, dict[str, Any]] = {}
    experiments: dict[str, dict[str, Any]] = {}
    logged_models: dict[str, dict[str, Any]] = {}


class MlflowDumpClient:
    """The reads of `MlflowRestClient` over an export file; `requests` counts reads made."""

    def __init__(self, path: Path) -> None:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            self.dump = MlflowDump.model_validate(raw)
        except (OSError, ValueError) as exc:  # ValidationError is a ValueError
            raise MlflowApiError(f"{path}: {_reason(exc)}") from exc
        self.path = path
        self.requests = 0

    @property
    def exported_ms(self) -> int | None:
        return self.dump.exported_ms

    def _one(self, table: dict[str, dict[str, Any]], what: str, key: str) -> dict[str, Any]:
        self.requests += 1
        if key not in table:
            raise NotFound(f"{self.path}: {what} {key} not found")
        return table[key]

    def registered_models(self) -> Iterator[ApiRegisteredModel]:
        self.requests += 1
        for item in self.dump.registered_models:
            yield ApiRegisteredModel.model_validate(item)

    def model_versions(self) -> Iterator[ApiModelVersion]:
        self.requests += 1
        for item in self.dump.model_versions:
            yield ApiModelVersion.model_validate(item)

    def run(self, run_id: str) -> ApiRun:
        return ApiRun.model_validate(self._one(self.dump.runs, "run", run_id))

    def experiment(self, experiment_id: str) -> ApiExperiment:
        found = self._one(self.dump.experiments, "experiment", experiment_id)
        return ApiExperiment.model_validate(found)

    def logged_model(self, model_id: str) -> ApiLoggedModel:
        found = self._one(self.dump.logged_models, "logged model", model_id)
        return ApiLoggedModel.model_validate(found)

    def close(self) -> None:
        """Nothing held open: the file is read once, when the client is made."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
    return str(exc)

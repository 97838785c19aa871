"""What MLflow's REST API answers (`Api*`, validated on the way in) and the records the sync logs.

Record bodies are deterministic (tags as sorted maps, inputs sorted, no read time except where the
source has none: `AliasSnapshot.observed_ms`), so an unchanged object synced again is a duplicate.
Epoch times stay epoch milliseconds, as MLflow gives them; the mapper makes them canonical.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# ---- the REST API's shapes (only the fields we read; unknown fields ignored) ------------------


class _Api(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class KeyValue(_Api):
    key: str
    value: str = ""


def tag_map(items: list[KeyValue]) -> dict[str, str]:
    return {item.key: item.value for item in sorted(items, key=lambda i: i.key)}


class ApiAlias(_Api):
    alias: str
    version: str


class ApiRegisteredModel(_Api):
    name: str
    description: str = ""
    creation_timestamp: int
    last_updated_timestamp: int
    tags: list[KeyValue] = []
    aliases: list[ApiAlias] = []


class ApiModelVersion(_Api):
    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: str | None = None
    description: str = ""
    source: str | None = None
    storage_location: str | None = None
    run_id: str | None = None
    status: str | None = None
    tags: list[KeyValue] = []
    model_id: str | None = None  # MLflow 3: the logged model registered

    @field_validator("run_id", "source", "storage_location", "model_id", "current_stage")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def logged_model_id(self) -> str | None:
        """MLflow 3 names the logged model in `model_id`, or only in `source` (`models:/m-…`)."""
        if self.model_id:
            return self.model_id
        if self.source and self.source.startswith("models:/m-"):
            return self.source.removeprefix("models:/").split("/", 1)[0]
        return None


class ApiRunInfo(_Api):
    run_id: str
    experiment_id: str
    run_name: str | None = None
    status: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    lifecycle_stage: str | None = None


class ApiMetric(_Api):
    key: str
    value: float | str  # MLflow writes NaN/Infinity as strings
    timestamp: int | None = None
    step: int = 0


class ApiRunData(_Api):
    metrics: list[ApiMetric] = []
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class ApiDataset(_Api):
    name: str
    digest: str
    source_type: str
    source: str
    schema_: str | None = Field(None, alias="schema")


class ApiDatasetInput(_Api):
    tags: list[KeyValue] = []
    dataset: ApiDataset


class ApiRunInputs(_Api):
    dataset_inputs: list[ApiDatasetInput] = []


class ApiRun(_Api):
    info: ApiRunInfo
    data: ApiRunData = ApiRunData()
    inputs: ApiRunInputs = ApiRunInputs()


class ApiExperiment(_Api):
    experiment_id: str
    name: str


class ApiLoggedModelInfo(_Api):
    model_id: str
    name: str | None = None
    status: str | None = None
    artifact_uri: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    creation_timestamp_ms: int | None = None


class ApiLoggedModel(_Api):
    info: ApiLoggedModelInfo


# ---- the records logged (source "mlflow") -----------------------------------------------------


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class RegisteredModelRecord(_Record):
    kind: Literal["registered_model"] = "registered_model"
    registry: str = "mlflow"  # the graph's name of this MLflow registry (`--registry`)
    name: str
    description: str = ""
    tags: dict[str, str] = {}
    created_ms: int
    updated_ms: int


class LoggedModel(_Record):
    """An MLflow 3 logged model, without its volatile tags (`mlflow.modelVersions` grows with
    every registration) and update time, so an unchanged version stays a duplicate."""

    model_id: str
    name: str | None = None
    status: str | None = None
    artifact_uri: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    created_ms: int | None = None


class ModelVersionRecord(_Record):
    kind: Literal["model_version"] = "model_version"
    registry: str = "mlflow"  # the graph's name of this MLflow registry (`--registry`)
    name: str
    version: str
    status: str | None = None
    stage: str | None = None
    description: str = ""
    tags: dict[str, str] = {}
    source: str | None = None
    storage_location: str | None = None
    run_id: str | None = None
    # False when the source run could not be read (gone): the version is kept, the run not linked
    run_found: bool = True
    logged_model: LoggedModel | None = None
    created_ms: int
    updated_ms: int


class DatasetInputRecord(_Record):
    name: str
    digest: str
    source_type: str
    source: str  # MLflow's source JSON, as given
    schema_: str | None = Field(None, alias="schema")  # MLflow's schema JSON (mlflow_colspec)
    context: str | None = None  # the `mlflow.data.context` tag: training, validation, …

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class TrainingRunRecord(_Record):
    kind: Literal["training_run"] = "training_run"
    run_id: str
    run_name: str | None = None
    experiment_id: str
    experiment_name: str
    status: str | None = None
    lifecycle_stage: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    params: dict[str, str] = {}
    metrics: dict[str, float] = {}  # the latest value of each
    tags: dict[str, str] = {}
    inputs: list[DatasetInputRecord] = []

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class AliasSnapshot(_Record):
    """A model's aliases as seen by one sync. MLflow keeps no time for an alias change, so the
    snapshot carries when it was observed; it is logged only when the aliases differ from the
    last snapshot logged (kept in the sync state)."""

    kind: Literal["aliases"] = "aliases"
    registry: str = "mlflow"  # the graph's name of this MLflow registry (`--registry`)
    model: str
    aliases: dict[str, str] = {}  # alias → version
    removed: list[str] = []  # aliases the previous snapshot had and this one has not
    observed_ms: int

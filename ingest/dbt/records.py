"""The parts of dbt's artifacts the sync reads (manifest v11/v12, run_results v5/v6), validated.

Everything else dbt writes is allowed and ignored (`extra="allow"`), so newer dbt versions that
add fields still load. Each node is validated on its own by the sync, so one bad node is reported
by its unique_id and the field at fault, and the rest of the manifest still syncs.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ManifestMetadata(_Open):
    generated_at: str
    adapter_type: str | None = None
    project_name: str | None = None
    invocation_id: str | None = None
    dbt_schema_version: str | None = None


class Manifest(_Open):
    """The manifest's top level; its entries stay raw dicts until validated one by one."""

    metadata: ManifestMetadata
    nodes: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, Any]] = {}
    metrics: dict[str, dict[str, Any]] = {}
    semantic_models: dict[str, dict[str, Any]] = {}
    exposures: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Any]] = {}


class DependsOn(_Open):
    nodes: list[str] = []


class ColumnInfo(_Open):
    name: str
    description: str | None = None
    data_type: str | None = None


class NodeConfig(_Open):
    materialized: str | None = None
    meta: dict[str, Any] = {}
    group: str | None = None
    severity: str | None = None


class RelationNode(_Open):
    """A model, seed, snapshot or source: something that is a table or view in the warehouse."""

    unique_id: str
    resource_type: str
    name: str
    database: str = Field(min_length=1)
    schema_: str = Field(alias="schema", min_length=1)
    alias: str | None = None  # models, seeds, snapshots
    identifier: str | None = None  # sources
    description: str | None = None
    tags: list[str] = []
    meta: dict[str, Any] = {}
    config: NodeConfig = NodeConfig()
    columns: dict[str, ColumnInfo] = {}
    depends_on: DependsOn = DependsOn()
    compiled_code: str | None = None
    group: str | None = None

    @property
    def table(self) -> str:
        return self.identifier or self.alias or self.name


class TestMetadata(_Open):
    name: str
    kwargs: dict[str, Any] = {}


class TestNode(_Open):
    unique_id: str
    name: str
    attached_node: str | None = None  # generic tests; singular tests only have depends_on
    column_name: str | None = None
    test_metadata: TestMetadata | None = None
    depends_on: DependsOn = DependsOn()
    config: NodeConfig = NodeConfig()


class Measure(_Open):
    name: str
    agg: str | None = None
    expr: str | None = None
    description: str | None = None


class NamedExpr(_Open):
    """An entity or dimension: a column when `expr` is absent."""

    name: str
    expr: str | None = None


class NodeRelation(_Open):
    alias: str = Field(min_length=1)
    schema_name: str = Field(min_length=1)
    database: str = Field(min_length=1)


class SemanticModel(_Open):
    unique_id: str
    name: str
    description: str | None = None
    node_relation: NodeRelation
    measures: list[Measure] = []
    dimensions: list[NamedExpr] = []
    entities: list[NamedExpr] = []
    depends_on: DependsOn = DependsOn()


class InputRef(_Open):
    name: str


class ConversionParams(_Open):
    base_measure: InputRef | None = None
    conversion_measure: InputRef | None = None


class MetricTypeParams(_Open):
    measure: InputRef | None = None  # simple and cumulative metrics
    numerator: InputRef | None = None  # ratio metrics
    denominator: InputRef | None = None
    metrics: list[InputRef] | None = None  # derived metrics
    expr: str | None = None
    conversion_type_params: ConversionParams | None = None


class Metric(_Open):
    unique_id: str
    name: str
    type: str
    label: str | None = None
    description: str | None = None
    type_params: MetricTypeParams = MetricTypeParams()
    meta: dict[str, Any] = {}
    config: NodeConfig = NodeConfig()


class OwnerInfo(_Open):
    name: str | None = None
    email: str | None = None


class Exposure(_Open):
    unique_id: str
    name: str
    type: str
    label: str | None = None
    description: str | None = None
    url: str | None = None
    maturity: str | None = None
    owner: OwnerInfo = OwnerInfo()
    depends_on: DependsOn = DependsOn()
    tags: list[str] = []


class Group(_Open):
    unique_id: str
    name: str
    description: str | None = None
    owner: OwnerInfo = OwnerInfo()


class Timing(_Open):
    name: str
    started_at: str | None = None
    completed_at: str | None = None


class RunResult(_Open):
    unique_id: str
    status: str
    timing: list[Timing] = []
    failures: int | None = None
    message: str | None = None


class RunResultsMetadata(_Open):
    generated_at: str
    invocation_id: str | None = None


class RunResults(_Open):
    metadata: RunResultsMetadata
    results: list[dict[str, Any]] = []

"""The two shapes of Feast metadata here: what `feast registry-dump` prints, and what we log.

The dump is the registry's protobuf messages as JSON (camelCase, empty fields left out); only
the fields this ingestor uses are declared, anything else is allowed and ignored. The records
(`*Record`) are self-contained: datasets and source columns are already named (ingest/identity
rules) when they are logged, so the mapper needs nothing but the record.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


# ---- the registry dump ---------------------------------------------------------------------
class DumpModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class Meta(DumpModel):
    last_updated_timestamp: str | None = None


class FeastField(DumpModel):
    name: str
    value_type: str = "INVALID"


class FileOptions(DumpModel):
    uri: str = ""


class TableOptions(DumpModel):
    """bigqueryOptions, snowflakeOptions, redshiftOptions, trinoOptions, athenaOptions, …"""

    table: str = ""
    query: str = ""
    path: str = ""  # sparkOptions
    database: str = ""
    schema_: str = Field("", alias="schema")


class KafkaOptions(DumpModel):
    kafka_bootstrap_servers: str = ""
    topic: str = ""


class CustomOptions(DumpModel):
    # base64 of the source class's own JSON (PostgreSQLSource: name, table, query)
    configuration: str = ""

    def decoded(self) -> dict[str, Any]:
        if not self.configuration:
            return {}
        value = json.loads(base64.b64decode(self.configuration))
        if not isinstance(value, dict):
            raise ValueError("customOptions.configuration: not a JSON object")  # noqa: TRY004
        return value


class DataSource(DumpModel):
    name: str
    type: str = "INVALID"
    data_source_class_type: str = ""
    field_mapping: dict[str, str] = {}
    file_options: FileOptions | None = None
    bigquery_options: TableOptions | None = None
    snowflake_options: TableOptions | None = None
    redshift_options: TableOptions | None = None
    trino_options: TableOptions | None = None
    athena_options: TableOptions | None = None
    spark_options: TableOptions | None = None
    kafka_options: KafkaOptions | None = None
    custom_options: CustomOptions | None = None
    batch_source: DataSource | None = None  # push and stream sources wrap a batch source
    request_data_options: dict[str, Any] | None = None
    meta: Meta = Meta()


class EntitySpec(DumpModel):
    name: str
    join_key: str = ""
    value_type: str = "INVALID"
    description: str = ""
    owner: str = ""
    tags: dict[str, str] = {}


class FeatureViewSpec(DumpModel):
    name: str
    entities: list[str] = []
    features: list[FeastField] = []
    description: str = ""
    owner: str = ""
    tags: dict[str, str] = {}
    ttl: str = "0s"  # a protobuf Duration: "86400s"
    online: bool = False
    batch_source: DataSource | None = None
    stream_source: DataSource | None = None


class Projection(DumpModel):
    """A view as used by a feature service or an on-demand view: maybe a subset of its features."""

    feature_view_name: str
    feature_view_name_alias: str = ""
    feature_columns: list[FeastField] = []


class OdfvSource(DumpModel):
    feature_view: dict[str, Any] | None = None  # older registries: the whole view
    feature_view_projection: Projection | None = None
    request_data_source: DataSource | None = None


class OdfvSpec(DumpModel):
    name: str
    features: list[FeastField] = []
    sources: dict[str, OdfvSource] = {}
    description: str = ""
    owner: str = ""
    tags: dict[str, str] = {}
    mode: str = ""


class FeatureServiceSpec(DumpModel):
    name: str
    features: list[Projection] = []
    description: str = ""
    owner: str = ""
    tags: dict[str, str] = {}


class Entity(DumpModel):
    spec: EntitySpec
    meta: Meta = Meta()


class FeatureView(DumpModel):
    spec: FeatureViewSpec
    meta: Meta = Meta()


class OnDemandFeatureView(DumpModel):
    spec: OdfvSpec
    meta: Meta = Meta()


class FeatureService(DumpModel):
    spec: FeatureServiceSpec
    meta: Meta = Meta()


class RegistryDump(DumpModel):
    """The top level only: each object is validated on its own, so one bad one is skipped alone."""

    project: str = ""
    entities: list[dict[str, Any]] = []
    feature_views: list[dict[str, Any]] = []
    stream_feature_views: list[dict[str, Any]] = []
    on_demand_feature_views: list[dict[str, Any]] = []
    feature_services: list[dict[str, Any]] = []


# ---- feature_store.yaml ----------------------------------------------------------------------
class ConfigModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class OfflineStoreConfig(ConfigModel):
    """The offline store's connection: it names the server that sources' tables live on."""

    type: str = "dask"
    host: str = ""
    port: int | None = None
    database: str = ""
    db_schema: str = "public"
    project_id: str = ""  # bigquery
    account: str = ""  # snowflake
    schema_: str = Field("", alias="schema")  # snowflake
    cluster_id: str = ""  # redshift
    workgroup: str = ""  # redshift serverless
    region: str = ""  # redshift


class RepoConfig(ConfigModel):
    project: str
    offline_store: OfflineStoreConfig = OfflineStoreConfig()


# ---- the records we log (source "feast") ---------------------------------------------------
class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetRef(Record):
    namespace: str
    name: str


class ColumnRef(Record):
    namespace: str
    name: str
    field: str


class SourceRef(Record):
    name: str
    type: str  # file, postgres, bigquery, snowflake, redshift, kafka, request, push, …
    datasets: list[DatasetRef] = []  # the tables or files it reads (several for a query)
    query: str = ""


class FeatureRecord(Record):
    name: str
    dtype: str
    columns: list[ColumnRef] = []  # the source columns it is read from, where known


class Described(Record):
    project: str
    name: str
    description: str = ""
    owner: str = ""
    tags: dict[str, str] = {}


class EntityRecord(Described):
    join_keys: list[str]
    value_type: str


class FeatureViewRecord(Described):
    entities: list[str] = []
    ttl_seconds: int = 0
    online: bool = False
    stream: bool = False
    features: list[FeatureRecord] = []
    sources: list[SourceRef] = []  # the batch source, and the stream source if any


class OdfvInput(Record):
    view: str
    features: list[str]


class RequestInput(Record):
    name: str
    fields: list[str]


class OnDemandFeatureViewRecord(Described):
    mode: str = ""
    features: list[FeatureRecord] = []
    inputs: list[OdfvInput] = []
    request_sources: list[RequestInput] = []


class ServiceSelection(Record):
    view: str
    alias: str = ""
    features: list[str]


class FeatureServiceRecord(Described):
    views: list[ServiceSelection] = []


RECORD_MODELS: dict[str, type[Described]] = {
    "entity": EntityRecord,
    "feature_view": FeatureViewRecord,
    "on_demand_feature_view": OnDemandFeatureViewRecord,
    "feature_service": FeatureServiceRecord,
}

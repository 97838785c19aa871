"""A Feast registry → SourceRecords (source "feast"): entities, views, on-demand views, services.

Data sources are named here, where the repo is known (its directory for relative file paths, its
offline store for the server a table lives on), by the cross-source rules of ingest/identity.py,
so that a Feast source over `analytics.public.orders` is the node OpenLineage and dbt call
that. A feature's source column is the source field of the same name unless the source's
field_mapping renames it; for a query source, only what openlineage-sql's column lineage shows.

A record's time is the object's `meta.lastUpdatedTimestamp` (Feast bumps it on every change),
else the sync's time. Bodies hold no times, so an unchanged repo synced again is all duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.naming import dataset_key
from lineage_kg.graph.timefmt import now
from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.feast.read import FeastRepo
from lineage_kg.ingest.feast.records import (
    ColumnRef,
    DatasetRef,
    DataSource,
    Entity,
    EntityRecord,
    FeatureRecord,
    FeatureService,
    FeatureServiceRecord,
    FeatureView,
    FeatureViewRecord,
    OdfvInput,
    OfflineStoreConfig,
    OnDemandFeatureView,
    OnDemandFeatureViewRecord,
    RequestInput,
    ServiceSelection,
    SourceRef,
)
from lineage_kg.ingest.identity import dataset_from_spark_path, dataset_from_uri, table_dataset
from lineage_kg.ingest.source_sync import SourceRecord, SourceState, SyncReport, run_source
from lineage_kg.ingest.sources import FEAST
from lineage_kg.ingest.sql_lineage import parse_sql

# the entity Feast adds to views without one; not the user's
DUMMY_ENTITY = "__dummy"
# Feast's proto value types → the SDK type names users write in their repos
DTYPES = {
    "BYTES": "Bytes",
    "STRING": "String",
    "INT32": "Int32",
    "INT64": "Int64",
    "DOUBLE": "Float64",
    "FLOAT": "Float32",
    "BOOL": "Bool",
    "UNIX_TIMESTAMP": "UnixTimestamp",
}

M = TypeVar("M", bound=BaseModel)


class SourceProblem(ValueError):
    """A data source whose table or file cannot be named; the message names the field."""


def dtype_name(value_type: str) -> str:
    if value_type.endswith("_LIST") and (inner := DTYPES.get(value_type[: -len("_LIST")])):
        return f"Array({inner})"
    if value_type.endswith("_SET") and (inner := DTYPES.get(value_type[: -len("_SET")])):
        return f"Set({inner})"
    return DTYPES.get(value_type, value_type)


def _ref(key: NodeKey) -> DatasetRef:
    namespace, name = key.parts
    return DatasetRef(namespace=namespace, name=name)


@dataclass(slots=True)
class ResolvedSource:
    """A data source with its datasets named, and how to find a feature's source column."""

    ref: SourceRef
    table: DatasetRef | None = None  # one table or file: every field is a column of it
    query_columns: dict[str, list[ColumnRef]] = field(default_factory=dict)  # output → inputs

    def columns_of(self, source_field: str) -> list[ColumnRef]:
        if self.table is not None:
            return [ColumnRef(**self.table.model_dump(), field=source_field)]
        return self.query_columns.get(source_field.lower(), [])


class SourceResolver:
    """Names data sources' datasets from the repo's config; each problem reported once."""

    def __init__(self, repo: FeastRepo, report: SyncReport) -> None:
        self.repo, self.report = repo, report
        self.offline = repo.config.offline_store if repo.config else None
        self._reported: set[str] = set()

    def resolve(self, source: DataSource, where: str) -> ResolvedSource:
        kind = self._kind(source)
        try:
            return self._resolve(source, kind)
        except ValueError as exc:  # SourceProblem, or a name identity.py cannot place
            if source.name not in self._reported:
                self._reported.add(source.name)
                self.report.skip(f"data source {source.name} ({where})", f"{exc} (not linked)")
            return ResolvedSource(SourceRef(name=source.name, type=kind))

    @staticmethod
    def _kind(source: DataSource) -> str:
        if source.type == "CUSTOM_SOURCE":
            cls = source.data_source_class_type.rsplit(".", 1)[-1]
            return "postgres" if cls == "PostgreSQLSource" else cls or "custom"
        return (
            source.type.lower()
            .removeprefix("batch_")
            .removeprefix("stream_")
            .removesuffix("_source")
        )

    def _resolve(self, source: DataSource, kind: str) -> ResolvedSource:
        ref = SourceRef(name=source.name, type=kind)
        match kind:
            case "file" if source.file_options is not None:
                return self._file(ref, source.file_options.uri, "fileOptions.uri")
            case "spark" if source.spark_options is not None and source.spark_options.path:
                return self._file(
                    ref, source.spark_options.path, "sparkOptions.path", dataset_from_spark_path
                )
            case "postgres" if source.custom_options is not None:
                options = source.custom_options.decoded()
                return self._sql_source(
                    ref,
                    "postgres",
                    options.get("table") or "",
                    options.get("query") or "",
                    self._postgres_namer(),
                )
            case "bigquery" if source.bigquery_options is not None:
                opts = source.bigquery_options
                return self._sql_source(ref, "bigquery", opts.table, opts.query, self._bq_namer())
            case "snowflake" if source.snowflake_options is not None:
                opts = source.snowflake_options
                namer = self._snowflake_namer(opts.database, opts.schema_)
                return self._sql_source(ref, "snowflake", opts.table, opts.query, namer)
            case "redshift" if source.redshift_options is not None:
                opts = source.redshift_options
                namer = self._redshift_namer(opts.database, opts.schema_)
                return self._sql_source(ref, "redshift", opts.table, opts.query, namer)
            case "kafka" if source.kafka_options is not None:
                opts = source.kafka_options
                server = opts.kafka_bootstrap_servers.split(",")[0].strip()
                if not server or not opts.topic:
                    raise SourceProblem("kafkaOptions: bootstrap servers and topic needed")
                ref.datasets = [_ref(dataset_key(f"kafka://{server}", opts.topic))]
                return ResolvedSource(ref)
        # request and push sources carry no stored data; others are not named (yet)
        return ResolvedSource(ref)

    def _file(
        self,
        ref: SourceRef,
        uri: str,
        field_name: str,
        named: Callable[..., NodeKey] = dataset_from_uri,
    ) -> ResolvedSource:
        """A file source; `named`: how its reader names the location (a Spark source: as
        Spark's OpenLineage events do, dataset_from_spark_path)."""
        if not uri:
            raise SourceProblem(f"{field_name}: missing")
        base = str(self.repo.repo_dir) if self.repo.repo_dir else None
        try:
            table = _ref(named(uri, base_dir=base))
        except ValueError as exc:
            raise SourceProblem(f"{field_name}: {exc}") from exc
        ref.datasets = [table]
        return ResolvedSource(ref, table=table)

    def _sql_source(
        self, ref: SourceRef, dialect: str, table: str, query: str, namer: Callable[[str], NodeKey]
    ) -> ResolvedSource:
        if table:
            named = _ref(namer(table))
            ref.datasets = [named]
            return ResolvedSource(ref, table=named)
        if not query:
            raise SourceProblem("table or query: missing")
        ref.query = query
        meta = parse_sql(query, dialect)
        if meta is None:
            raise SourceProblem("query: not parsed by openlineage-sql")
        tables = {t.qualified_name.lower() for t in meta.in_tables}
        read = sorted({namer(t.qualified_name) for t in meta.in_tables})
        ref.datasets = [_ref(key) for key in read]
        columns: dict[str, list[ColumnRef]] = {}
        for lineage in meta.column_lineage:
            found = set()
            for origin in lineage.lineage:
                table_meta = origin.origin
                # CTE and subquery aliases are not read tables: unqualified and not in in_tables
                if table_meta is None or not (
                    table_meta.qualified_name.lower() in tables
                    or table_meta.schema
                    or table_meta.database
                ):
                    continue
                ds = namer(table_meta.qualified_name)
                found.add((*ds.parts, origin.name))
            columns[lineage.descendant.name.lower()] = [
                ColumnRef(namespace=ns, name=name, field=col) for ns, name, col in sorted(found)
            ]
        return ResolvedSource(ref, query_columns=columns)

    # ---- the server a table lives on: the offline store's connection ------------------------
    def _store(self, wanted: str) -> OfflineStoreConfig:
        store = self.offline
        if store is None:
            raise SourceProblem(
                "offline_store: unknown (a saved dump without its repo); give --repo"
            )
        if wanted not in store.type.lower():
            raise SourceProblem(f"offline_store.type: {store.type!r} is not a {wanted} store")
        return store

    def _postgres_namer(self) -> Callable[[str], NodeKey]:
        store = self._store("postgres")
        if not store.host or not store.database:
            raise SourceProblem("offline_store.host and .database: needed to name its tables")

        def name(table: str) -> NodeKey:
            return table_dataset(
                "postgres",
                host=store.host,
                port=store.port,
                database=store.database,
                # Feast sets search_path to db_schema (then public): an unqualified name is there
                schema=store.db_schema or "public",
                table=table,
            )

        return name

    def _bq_namer(self) -> Callable[[str], NodeKey]:
        project = self.offline.project_id if self.offline else ""

        def name(table: str) -> NodeKey:
            table = table.replace(":", ".").strip("`")  # legacy `project:dataset.table`
            key = table_dataset("bigquery", database=project or None, table=table)
            if key.parts[1].count(".") != 2:
                raise SourceProblem(f"bigqueryOptions.table: {table!r} needs a project")
            return key

        return name

    def _snowflake_namer(self, database: str, schema: str) -> Callable[[str], NodeKey]:
        store = self._store("snowflake")
        if not store.account:
            raise SourceProblem("offline_store.account: needed to name Snowflake tables")

        def name(table: str) -> NodeKey:
            return table_dataset(
                "snowflake",
                host=store.account,
                database=database or store.database or None,
                schema=schema or store.schema_ or "PUBLIC",
                table=table,
            )

        return name

    def _redshift_namer(self, database: str, schema: str) -> Callable[[str], NodeKey]:
        store = self._store("redshift")
        if not store.cluster_id or not store.region:
            raise SourceProblem("offline_store.cluster_id and .region: needed to name tables")

        def name(table: str) -> NodeKey:
            return table_dataset(
                "redshift",
                host=f"{store.cluster_id}.{store.region}",
                database=database or store.database or None,
                schema=schema or "public",
                table=table,
            )

        return name


def _validate(model: type[M], item: dict[str, Any], what: str, report: SyncReport) -> M | None:
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        spec = item.get("spec") if isinstance(item.get("spec"), dict) else {}
        name = spec.get("name", "?") if isinstance(spec, dict) else "?"
        why = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        report.skip(f"{what} {name}", why)
        return None


def _seconds(duration: str) -> int:
    """A protobuf Duration in JSON: "86400s", "1.5s"."""
    try:
        return int(float(duration.removesuffix("s")))
    except ValueError as exc:
        raise SourceProblem(f"ttl: {duration!r} is not a duration") from exc


class RecordBuilder:
    def __init__(self, repo: FeastRepo, report: SyncReport, sync_time: str) -> None:
        self.project, self.report, self.sync_time = repo.dump.project, report, sync_time
        self.sources = SourceResolver(repo, report)

    def _time(self, updated: str | None) -> str:
        return updated or self.sync_time

    def entity(self, entity: Entity) -> SourceRecord | None:
        spec = entity.spec
        if spec.name == DUMMY_ENTITY:
            return None
        body = EntityRecord(
            project=self.project,
            name=spec.name,
            description=spec.description,
            owner=spec.owner,
            tags=spec.tags,
            join_keys=[spec.join_key] if spec.join_key else [],
            value_type=dtype_name(spec.value_type),
        )
        return SourceRecord("entity", self._time(entity.meta.last_updated_timestamp), _body(body))

    def feature_view(self, view: FeatureView, *, stream: bool = False) -> SourceRecord:
        spec = view.spec
        where = f"feature view {spec.name}"
        batch = self.sources.resolve(spec.batch_source, where) if spec.batch_source else None
        sources = [batch.ref] if batch else []
        if spec.stream_source is not None:
            sources.append(self.sources.resolve(spec.stream_source, where).ref)
        renamed = (
            {feature: column for column, feature in spec.batch_source.field_mapping.items()}
            if spec.batch_source
            else {}
        )
        features = [
            FeatureRecord(
                name=f.name,
                dtype=dtype_name(f.value_type),
                columns=batch.columns_of(renamed.get(f.name, f.name)) if batch else [],
            )
            for f in spec.features
        ]
        body = FeatureViewRecord(
            project=self.project,
            name=spec.name,
            description=spec.description,
            owner=spec.owner,
            tags=spec.tags,
            entities=[e for e in spec.entities if e != DUMMY_ENTITY],
            ttl_seconds=_seconds(spec.ttl),
            online=spec.online,
            stream=stream,
            features=features,
            sources=sources,
        )
        time = self._time(view.meta.last_updated_timestamp)
        return SourceRecord("feature_view", time, _body(body))

    def on_demand_view(self, view: OnDemandFeatureView) -> SourceRecord:
        spec = view.spec
        inputs: list[OdfvInput] = []
        requests: list[RequestInput] = []
        for key, source in sorted(spec.sources.items()):
            if source.feature_view_projection is not None:
                projection = source.feature_view_projection
                names = [c.name for c in projection.feature_columns]
                inputs.append(OdfvInput(view=projection.feature_view_name, features=names))
            elif source.feature_view is not None:  # older registries: the whole view
                inner = FeatureView.model_validate(source.feature_view).spec
                inputs.append(OdfvInput(view=inner.name, features=[f.name for f in inner.features]))
            elif source.request_data_source is not None:
                schema = (source.request_data_source.request_data_options or {}).get("schema", [])
                fields = [f["name"] for f in schema if isinstance(f, dict) and f.get("name")]
                requests.append(RequestInput(name=source.request_data_source.name, fields=fields))
            else:
                self.report.skip(f"on-demand feature view {spec.name}", f"sources.{key}: unknown")
        body = OnDemandFeatureViewRecord(
            project=self.project,
            name=spec.name,
            description=spec.description,
            owner=spec.owner,
            tags=spec.tags,
            mode=spec.mode,
            features=[
                FeatureRecord(name=f.name, dtype=dtype_name(f.value_type)) for f in spec.features
            ],
            inputs=inputs,
            request_sources=requests,
        )
        time = self._time(view.meta.last_updated_timestamp)
        return SourceRecord("on_demand_feature_view", time, _body(body))

    def feature_service(self, service: FeatureService) -> SourceRecord:
        spec = service.spec
        views = [
            ServiceSelection(
                view=p.feature_view_name,
                alias=p.feature_view_name_alias,
                features=[c.name for c in p.feature_columns],
            )
            for p in spec.features
        ]
        body = FeatureServiceRecord(
            project=self.project,
            name=spec.name,
            description=spec.description,
            owner=spec.owner,
            tags=spec.tags,
            views=views,
        )
        time = self._time(service.meta.last_updated_timestamp)
        return SourceRecord("feature_service", time, _body(body))


def _body(record: BaseModel) -> dict[str, Any]:
    return record.model_dump(mode="json")


def feast_records(
    repo: FeastRepo, report: SyncReport, sync_time: str | None = None
) -> Iterator[SourceRecord]:
    """Every object of the registry as a record; bad ones reported by name and left out."""
    build = RecordBuilder(repo, report, sync_time or now())
    dump = repo.dump
    steps: list[tuple[str, str, list[dict[str, Any]], Callable[[Any], SourceRecord | None], type]]
    steps = [
        ("entity", "entities", dump.entities, build.entity, Entity),
        ("feature view", "feature views", dump.feature_views, build.feature_view, FeatureView),
        (
            "stream feature view",
            "stream feature views",
            dump.stream_feature_views,
            lambda v: build.feature_view(v, stream=True),
            FeatureView,
        ),
        (
            "on-demand feature view",
            "on-demand feature views",
            dump.on_demand_feature_views,
            build.on_demand_view,
            OnDemandFeatureView,
        ),
        (
            "feature service",
            "feature services",
            dump.feature_services,
            build.feature_service,
            FeatureService,
        ),
    ]
    for what, counted, items, make, model in steps:
        for item in items:
            parsed = _validate(model, item, what, report)
            if parsed is None:
                continue
            try:
                record = make(parsed)
            except (SourceProblem, ValidationError) as exc:
                report.skip(f"{what} {parsed.spec.name}", str(exc))
                continue
            if record is not None:
                report.count(counted)
                yield record


@dataclass(slots=True)
class FeastSource:
    """A Feast registry as a source (ingest/source_sync.py): every object a record."""

    repo: FeastRepo
    sync_time: str | None = None
    name: str = FEAST
    batch: int = 500

    def records(self, report: SyncReport, state: SourceState) -> Iterator[SourceRecord]:
        return feast_records(self.repo, report, self.sync_time)

    def committed(self, report: SyncReport, state: SourceState) -> None:
        return None


def sync_feast(log: EventLog, repo: FeastRepo, report: SyncReport | None = None) -> SyncReport:
    """Append the registry's records to the log (unchanged ones are duplicates)."""
    return run_source(log, FeastSource(repo), report)

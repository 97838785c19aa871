"""Dataset facets: props of the Dataset node, its columns, owners, renames, versions, quality."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lineage_kg.graph.model import EdgeKind, NodeKey
from lineage_kg.graph.naming import column_key
from lineage_kg.ingest.facets import facet, facets_of, json_text, scalar, schema_columns, text
from lineage_kg.ingest.openlineage.builder import EventGraph, tag_strings
from lineage_kg.ingest.openlineage.columns import map_column_lineage, map_schema
from lineage_kg.ingest.openlineage.identity import AliasTable, dataset_aliases, other_names
from lineage_kg.ingest.openlineage.owners import map_ownership

Handler = Callable[[EventGraph, NodeKey, dict[str, Any], AliasTable], None]


def _data_source(g: EventGraph, ds: NodeKey, f: dict[str, Any], _: AliasTable) -> None:
    g.node(ds, datasource_name=text(f.get("name")), datasource_uri=text(f.get("uri")))


def _documentation(g: EventGraph, ds: NodeKey, f: dict[str, Any], _: AliasTable) -> None:
    g.node(ds, description=text(f.get("description")))


def _storage(g: EventGraph, ds: NodeKey, f: dict[str, Any], _: AliasTable) -> None:
    g.node(ds, storage_layer=text(f.get("storageLayer")), file_format=text(f.get("fileFormat")))


def _tags(g: EventGraph, ds: NodeKey, f: dict[str, Any], _: AliasTable) -> None:
    tags = f.get("tags") or []
    if not isinstance(tags, list):
        raise TypeError("tags must be a list")
    # a tag naming a field belongs to that column, not to the whole dataset
    by_field: dict[str | None, list[dict[str, Any]]] = {}
    for tag in tags:
        by_field.setdefault(text(tag.get("field")), []).append(tag)
    for field_name, field_tags in by_field.items():
        target = ds
        if field_name:
            target = column_key(ds, field_name)
            g.edge(ds, EdgeKind.HAS_COLUMN, target)
        g.node(target, tags=tag_strings(field_tags))


def _lifecycle(g: EventGraph, ds: NodeKey, f: dict[str, Any], aliases: AliasTable) -> None:
    state = text(f.get("lifecycleStateChange"))
    g.node(ds, lifecycle_state=state, lifecycle_changed_at=g.prov.event_time if state else None)
    previous = f.get("previousIdentifier")
    if state == "RENAME" and isinstance(previous, dict):
        old = aliases.resolve(previous.get("namespace"), previous.get("name"))
        if old != ds:
            g.edge(old, EdgeKind.RENAMED_TO, ds)


def _ownership(g: EventGraph, ds: NodeKey, f: dict[str, Any], _: AliasTable) -> None:
    map_ownership(g, ds, f)


def _column_lineage(g: EventGraph, ds: NodeKey, f: dict[str, Any], aliases: AliasTable) -> None:
    map_column_lineage(g, ds, f, aliases)


# `symlinks` is read by identity.py, `version` and the quality facets by the callers below
DATASET_FACETS: dict[str, Handler] = {
    "dataSource": _data_source,
    "documentation": _documentation,
    "storage": _storage,
    "tags": _tags,
    "lifecycleStateChange": _lifecycle,
    "ownership": _ownership,
    "columnLineage": _column_lineage,
}


def map_dataset_facets(
    g: EventGraph, key: NodeKey, ds: dict[str, Any], aliases: AliasTable, *, writer: bool = True
) -> None:
    """The Dataset node `key` (canonical) with the facets of the event's dataset `ds`.

    `writer`: the event describes the dataset as its producer (an output, a DatasetEvent).
    A reader's schema may be partial — dbt-ol lists only documented columns of its inputs —
    so only the writer's schema retires columns it does not list.
    """
    g.node(key, aliases=dataset_aliases(ds, key) or None)
    for other in other_names(ds, key):
        g.link(other, key)  # the store joins the names across events (graph/merge.py)
    facets = facets_of(ds)
    g.note_facets(key, facets)
    # the schema's columns read once: for its HAS_COLUMN edges, and for the event's column
    # lineage to spell them as it does (AliasTable.field), before the lineage is read
    schema, columns = facet(facets, "schema"), None
    if schema is not None:
        try:
            columns = schema_columns(schema.get("fields"))
        except TypeError:
            columns = None  # reported when the schema is mapped, below
        else:
            aliases.note_schema(schema, [path for path, _ in columns])
    for name, handler in DATASET_FACETS.items():
        if (found := facet(facets, name)) is not None:
            with g.isolated(f"dataset facet {name} of {key.display}"):
                handler(g, key, found, aliases)
    if schema is not None:
        with g.isolated(f"dataset facet schema of {key.display}"):
            map_schema(g, key, schema, complete=writer, columns=columns)


def dataset_version(ds: dict[str, Any]) -> str | None:
    """The `version` facet's datasetVersion (Delta/Iceberg snapshot, …), if the event gives one."""
    found = facet(facets_of(ds), "version")
    return text(found.get("datasetVersion")) if found else None


def statistics(found: dict[str, Any] | None) -> dict[str, Any]:
    """outputStatistics / inputStatistics as edge props."""
    if not found:
        return {}
    return {
        "row_count": scalar(found.get("rowCount")),
        "size": scalar(found.get("size")),
        "file_count": scalar(found.get("fileCount")),
    }


def map_quality(g: EventGraph, target: NodeKey, ds: dict[str, Any], io_facets: str | None) -> None:
    """Data quality facets onto `target`: the DatasetVersion read or written (the Dataset when no
    version is known). The input/output facet wins over a dataset facet of the same name."""
    own, io = facets_of(ds), facets_of(ds, io_facets) if io_facets else {}
    assertions = facet(io, "dataQualityAssertions") or facet(own, "dataQualityAssertions")
    if assertions is not None:
        with g.isolated(f"dataQualityAssertions of {target.display}"):
            listed = assertions.get("assertions") or []
            if not isinstance(listed, list):
                raise TypeError("assertions must be a list")
            g.node(
                target,
                quality_assertions=json_text(listed),
                quality_passed=sum(1 for a in listed if a.get("success") is True),
                quality_failed=sum(1 for a in listed if a.get("success") is False),
            )
    metrics = facet(io, "dataQualityMetrics") or facet(own, "dataQualityMetrics")
    if metrics is not None:
        with g.isolated(f"dataQualityMetrics of {target.display}"):
            columns = metrics.get("columnMetrics")
            g.node(
                target,
                quality_row_count=scalar(metrics.get("rowCount")),
                quality_bytes=scalar(metrics.get("bytes")),
                quality_file_count=scalar(metrics.get("fileCount")),
                quality_column_metrics=json_text(columns) if columns else None,
            )

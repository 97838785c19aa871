"""The Feast registry of an estate as `feast registry-dump` prints it (protobuf JSON, camelCase):
one entity, one feature view per features-layer table (a FileSource over the table's Parquet
file, so `lkg sync feast --dump` names it without a repo config; features = its columns) and one
feature service per model selecting all of its views' features."""

from __future__ import annotations

from typing import Any

from benchmarks.synthetic.plan import Table
from benchmarks.synthetic.src_models import ENTITY, FEAST_PROJECT, JOIN_KEY, Estate, iso, view_name

FILE_SOURCE = "feast.infra.offline_stores.file_source.FileSource"


def value_type(column: str) -> str:
    """The Feast type of a column, as the OpenLineage schema types it (BIGINT / VARCHAR)."""
    return "INT64" if column.endswith("0") else "STRING"


def _features(table: Table) -> list[dict[str, str]]:
    return [{"name": c, "valueType": value_type(c)} for c in table.columns]


def registry_dump(estate: Estate) -> dict[str, Any]:
    at = iso(estate.catalog_as_of)
    meta = {"createdTimestamp": at, "lastUpdatedTimestamp": at}
    views, services, sources = [], [], []
    for model in estate.models:
        for table in model.features:
            source = {
                "type": "BATCH_FILE",
                "name": f"{view_name(table)}_source",
                "fileOptions": {"uri": table.qualified},
                "timestampField": "event_timestamp",
                "dataSourceClassType": FILE_SOURCE,
                "meta": meta,
            }
            sources.append(source)
            views.append(
                {
                    "spec": {
                        "name": view_name(table),
                        "entities": [ENTITY],
                        "entityColumns": [{"name": JOIN_KEY, "valueType": "INT64"}],
                        "features": _features(table),
                        "ttl": "86400s",
                        "online": True,
                        "owner": model.owner,
                        "tags": {"team": model.team},
                        "batchSource": source,
                    },
                    "meta": meta,
                }
            )
        services.append(
            {
                "spec": {
                    "name": model.feature_service,
                    "features": [
                        {"featureViewName": view_name(t), "featureColumns": _features(t)}
                        for t in model.features
                    ],
                    "owner": model.owner,
                    "tags": {"team": model.team},
                },
                "meta": meta,
            }
        )
    entity = {
        "spec": {
            "name": ENTITY,
            "joinKey": JOIN_KEY,
            "valueType": "INT64",
            "description": "A customer, by id",
        },
        "meta": meta,
    }
    return {
        "project": FEAST_PROJECT,
        "entities": [entity],
        "dataSources": sources,
        "featureViews": views,
        "onDemandFeatureViews": [],
        "featureServices": services,
    }

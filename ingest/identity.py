"""One table, one node: the cross-source naming rules live in graph/identity.py, below ingest, so
that lookups apply exactly the same ones. Re-exported for ingest's modules."""

from lineage_kg.graph.identity import (
    FILE_SCHEMES,
    TABLE_SCHEMES,
    column_from_display,
    dataset_from_display,
    dataset_from_spark_path,
    dataset_from_uri,
    metastore_table,
    namespace_of,
    table_dataset,
    unquote_identifier,
)

__all__ = [
    "FILE_SCHEMES",
    "TABLE_SCHEMES",
    "column_from_display",
    "dataset_from_display",
    "dataset_from_spark_path",
    "dataset_from_uri",
    "metastore_table",
    "namespace_of",
    "table_dataset",
    "unquote_identifier",
]

"""Cross-source dataset identity (ingest/identity.py): one table seen by OpenLineage, dbt, MLflow
and Feast must be one node. Realistic names from each tool, and what must stay apart."""

from __future__ import annotations

import pytest

from lineage_kg.graph.model import NodeKey
from lineage_kg.graph.naming import dataset_key, normalise_namespace
from lineage_kg.ingest.identity import (
    dataset_from_uri,
    namespace_of,
    table_dataset,
    unquote_identifier,
)

ORDERS = dataset_key("postgres://db:5432", "analytics.public.orders")


@pytest.mark.parametrize(
    ("who", "key"),
    [
        # OpenLineage producers (Spark JDBC, Airflow's Postgres operator, dbt-ol on postgres)
        ("openlineage", dataset_key("postgres://db:5432", "analytics.public.orders")),
        ("openlineage, no port", dataset_key("postgres://DB", "analytics.public.orders")),
        (
            "openlineage, postgresql scheme",
            dataset_key("postgresql://db:5432/", "analytics.public.orders"),
        ),
        # dbt: a relation on a profile (quoted, as dbt renders relation_name)
        (
            "dbt relation",
            table_dataset("postgres", host="db", port=5432, table='"analytics"."public"."orders"'),
        ),
        (
            "dbt parts",
            table_dataset(
                "postgres", host="db", database="analytics", schema="public", table="orders"
            ),
        ),
        # MLflow dataset sources
        (
            "mlflow sqlalchemy url",
            dataset_from_uri("postgresql+psycopg2://ml:secret@db/analytics?table=public.orders"),
        ),
        ("mlflow uri path", dataset_from_uri("postgres://db:5432/analytics/public/orders")),
        ("mlflow uri dotted", dataset_from_uri("postgres://db:5432/analytics.public.orders")),
        # Feast PostgreSQLSource(table="public.orders") over an offline store config
        (
            "feast table",
            table_dataset(
                "postgresql", host="DB", port="5432", database="analytics", table="public.orders"
            ),
        ),
    ],
)
def test_one_orders_table_whoever_names_it(who: str, key: NodeKey) -> None:
    assert key == ORDERS, who


@pytest.mark.parametrize(
    ("uri", "namespace", "name"),
    [
        ("s3a://lake/raw/orders/", "s3://lake", "raw/orders"),
        ("s3://Lake/raw/Orders.parquet", "s3://lake", "raw/Orders.parquet"),  # keys keep case
        ("gs://bucket/features/customers.parquet", "gs://bucket", "features/customers.parquet"),
        # the spec's `{path}` (URI = hdfs://{namenode host}:{namenode port}{path}), as Spark's
        # events (the Java client's generic extractor) write it: the leading "/" kept
        ("hdfs://namenode:8020/warehouse/t1", "hdfs://namenode:8020", "/warehouse/t1"),
        ("hdfs://namenode:8020/warehouse/t1/", "hdfs://namenode:8020", "/warehouse/t1"),
        ("dbfs://workspace/mnt/x", "dbfs://workspace", "/mnt/x"),
        ("https://example.com/data/x.csv", "https://example.com", "data/x.csv"),  # no spec: key
        ("/data/feast/driver_stats.parquet", "file", "/data/feast/driver_stats.parquet"),
        (
            "file:///data/x/../feast/driver_stats.parquet",
            "file",
            "/data/feast/driver_stats.parquet",
        ),
        ("bigquery://my-project/sales/orders", "bigquery", "my-project.sales.orders"),
        ("mysql://shop-db/shop/orders", "mysql://shop-db:3306", "shop.orders"),
    ],
)
def test_uris_follow_the_openlineage_naming_spec(uri: str, namespace: str, name: str) -> None:
    assert dataset_from_uri(uri) == dataset_key(namespace, name)


def test_relative_paths_need_a_base_and_resolve_against_it() -> None:
    with pytest.raises(ValueError, match="base directory"):
        dataset_from_uri("data/driver_stats.parquet")
    key = dataset_from_uri("data/driver_stats.parquet", base_dir="/repo/feast")
    assert key == dataset_key("file", "/repo/feast/data/driver_stats.parquet")


@pytest.mark.parametrize(
    "uri", ["", "postgres://db:5432", "postgres://db:5432/", "s3://bucket", "s3://bucket/"]
)
def test_a_server_or_bucket_is_not_a_dataset(uri: str) -> None:
    with pytest.raises(ValueError, match=r"empty|names a"):
        dataset_from_uri(uri)


def test_what_must_stay_apart() -> None:
    # another port is another server; another database another table; identifiers keep case
    assert dataset_from_uri("postgres://db:5433/analytics.public.orders") != ORDERS
    assert dataset_from_uri("postgres://db/warehouse.public.orders") != ORDERS
    assert table_dataset("postgres", host="db", table='"analytics"."public"."Orders"') != ORDERS


def test_quoted_identifiers() -> None:
    assert unquote_identifier('"analytics"."public"."orders"') == "analytics.public.orders"
    assert unquote_identifier("`shop`.`orders`") == "shop.orders"
    assert unquote_identifier("[dw].[dbo].[orders]") == "dw.dbo.orders"
    assert unquote_identifier('"we""ird"."t"') == 'we"ird.t'


def test_namespaces() -> None:
    assert namespace_of("postgresql", "DB") == "postgres://db:5432"
    assert namespace_of("bigquery") == "bigquery"
    assert normalise_namespace("s3a://Bucket/") == "s3://bucket"
    assert normalise_namespace("postgres://user:pw@DB") == "postgres://db:5432"
    # unknown schemes get no invented port; kafka keeps what it was given
    assert normalise_namespace("kafka://Broker:9092") == "kafka://broker:9092"
    assert normalise_namespace("custom://host") == "custom://host"
    with pytest.raises(ValueError, match="needs a host"):
        namespace_of("postgres")

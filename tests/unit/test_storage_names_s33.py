"""Storage locations named as Spark's OpenLineage names them and as MLflow's sources write them
are one dataset; two Azure containers are two (session 33 red team).

The oracle, `spark_names`, is the OpenLineage Java client's `FilesystemDatasetUtils.fromLocation`
(which Spark and Flink use) read from its source and its tests (client/java/.../filesystem:
ObjectStorageDatasetExtractor for s3*, gs, wasbs, abfss — abfs folded into abfss —, the local
extractor for file, the generic one for the rest), written here apart from graph/identity.py:

- object stores: namespace `scheme://authority` (Azure's `container@account` kept whole), name
  the object key without its first and last "/";
- local files: namespace `file`, name the absolute path;
- anything else (HDFS, DBFS): namespace `scheme://authority`, or `scheme` alone when the URI has
  no authority (`dbfs:/mnt/x`), name the path with its leading "/" and without a trailing one.

Wrong answers found: `abfss://raw@acct…` and `abfss://curated@acct…` were one namespace (the
container was dropped as if it were a user name), so two containers' `orders` were one dataset;
`dbfs:/mnt/x` from an MLflow source was (`dbfs://`, `mnt/x`), not Spark's (`dbfs`, `/mnt/x`);
`abfs://` was another namespace than `abfss://`; an MLflow or Feast Spark source on HDFS was
`data/x` where Spark's events write `/data/x` (then dataset_from_spark_path); any other HDFS URI
with a namenode (an MLflow file source, a Feast file source) gave `data/x` (session 34:
`dataset_from_uri` names file systems by their absolute path, as the spec's `{path}` does).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.graph.naming import column_key, dataset_key
from lineage_kg.ingest.eventlog import event_id_of
from lineage_kg.ingest.mlflow.mapping import place_input
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.queries.impact import impact

OBJECT_STORES = ("s3", "gs", "wasbs", "abfss")


def spark_names(uri: str) -> tuple[str, str]:
    """(namespace, name) as the OpenLineage Java client names a storage location."""
    scheme, _, rest = uri.partition(":")
    scheme = scheme.lower()
    if scheme.startswith("s3"):  # ObjectStorageDatasetExtractor("s3"): s3a, s3n are s3
        scheme = "s3"
    if scheme == "abfs":
        scheme = "abfss"
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        path = slash + path
    else:
        authority, path = "", rest
    if scheme == "file":
        return "file", "/" + path.strip("/")
    if scheme in OBJECT_STORES:
        return f"{scheme}://{authority}", path.strip("/")
    return (f"{scheme}://{authority}" if authority else scheme), "/" + path.strip("/")


def mlflow_node(uri: str) -> NodeKey | None:
    """The Dataset MLflow's Spark dataset source at `uri` is placed on (ingest/mlflow)."""
    return place_input("spark", json.dumps({"path": uri})).dataset


segment = st.text(alphabet="abcxyz019_-", min_size=1, max_size=6)
paths = st.lists(segment, min_size=1, max_size=3).map("/".join)
container = st.sampled_from(["raw", "curated", "landing"])
account = st.sampled_from(["acct", "lake01"])


@st.composite
def locations(draw: st.DrawFn, *, namenode: bool = False, path: str | None = None) -> str:
    """A storage URI as a user writes it in Spark or MLflow: case, a trailing "/" or not."""
    path = (path or draw(paths)) + draw(st.sampled_from(["", "/"]))
    if namenode:
        return f"{draw(st.sampled_from(['hdfs', 'HDFS']))}://namenode:8020/{path}"
    kind = draw(st.sampled_from(["s3", "gs", "azure", "dbfs", "file", "hdfs-default"]))
    if kind == "s3":
        return f"{draw(st.sampled_from(['s3', 's3a', 'S3']))}://lake/{path}"
    if kind == "gs":
        return f"gs://bucket/{path}"
    if kind == "azure":
        scheme = draw(st.sampled_from(["abfss", "abfs", "wasbs"]))
        host = "dfs" if scheme.startswith("abfs") else "blob"
        return f"{scheme}://{draw(container)}@{draw(account)}.{host}.core.windows.net/{path}"
    if kind == "dbfs":
        return f"dbfs:{draw(st.sampled_from(['/', '///']))}{path}"
    if kind == "file":
        return f"file:/{path}"
    return f"hdfs:///{path}"  # the cluster's default file system


@settings(max_examples=300)
@given(locations())
def test_an_mlflow_source_is_the_dataset_spark_names(uri: str) -> None:
    assert mlflow_node(uri) == dataset_key(*spark_names(uri)), uri


@settings(max_examples=50)
@given(locations(namenode=True))
def test_an_hdfs_spark_source_with_its_namenode_is_the_dataset_spark_names(uri: str) -> None:
    """MLflow's Spark dataset source on HDFS (and Feast's Spark source): `/data/x`, as Spark's
    events name it (dataset_from_spark_path)."""
    assert mlflow_node(uri) == dataset_key(*spark_names(uri)), uri


@settings(max_examples=20)
@given(locations(namenode=True))
def test_an_hdfs_file_source_with_its_namenode_is_the_dataset_spark_names(uri: str) -> None:
    placed = place_input("hdfs", json.dumps({"uri": uri})).dataset
    assert placed == dataset_key(*spark_names(uri)), uri


@st.composite
def location_pairs(draw: st.DrawFn) -> tuple[str, str]:
    """Two locations, most often of one path (in another container, bucket, store, spelling)."""
    path = draw(paths)
    other = draw(st.sampled_from([path, "x"]))
    return draw(locations(path=path)), draw(locations(path=other))


@settings(max_examples=300)
@given(location_pairs())
def test_two_locations_are_one_dataset_only_if_spark_names_them_alike(
    pair: tuple[str, str],
) -> None:
    a, b = pair
    # the namespaces compared as the spec reads them: a scheme and a host are case-blind
    (ns_a, name_a), (ns_b, name_b) = spark_names(a), spark_names(b)
    same_for_spark = (ns_a.lower(), name_a) == (ns_b.lower(), name_b)
    assert (mlflow_node(a) == mlflow_node(b)) == same_for_spark, (a, b)


# ---- end to end: Spark on ADLS, one path in two containers --------------------------------------
ACCOUNT = "acct.dfs.core.windows.net"


def spark_event(n: int, container_in: str, out: str) -> dict[str, Any]:
    """Spark's event for a job reading `orders` in one container and writing `out`."""
    fields = {"fields": [{"name": "id", "type": "long"}, {"name": "amount", "type": "double"}]}
    source = {"namespace": f"abfss://{container_in}@{ACCOUNT}", "name": "sales/orders"}
    lineage = {
        "fields": {
            f: {"inputFields": [{**source, "field": f, "transformations": [{"type": "DIRECT"}]}]}
            for f in ("id", "amount")
        }
    }
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2026-05-01T10:0{n}:00.000Z",
        "run": {"runId": f"00000000-0000-4000-8000-00000000000{n}"},
        "job": {"namespace": "spark", "name": f"orders_app.execute_insert.{out}"},
        "inputs": [{**source, "facets": {"schema": fields}}],
        "outputs": [
            {
                "namespace": f"abfss://curated@{ACCOUNT}",
                "name": f"marts/{out}",
                "facets": {"schema": fields, "columnLineage": lineage},
            }
        ],
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.30.1/integration/spark",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def test_the_same_path_in_two_containers_is_two_datasets() -> None:
    store = EmbeddedStore()
    for event in (spark_event(1, "raw", "from_raw"), spark_event(2, "landing", "from_landing")):
        batch = MutationBatch()
        batch.extend(map_event(event, event_id_of("openlineage", event)).mutations)
        store.apply(batch)
    # the column as the event names it (the graph's own normalisation: the start is not the test)
    amount = column_key(dataset_key(f"abfss://raw@{ACCOUNT}", "sales/orders"), "amount")
    reached = {i.node.key for i in impact(store, amount.id).items}
    datasets = {k.parts[:2] for k in reached if k.kind is NodeKind.DATASET}
    assert datasets == {
        (f"abfss://raw@{ACCOUNT}", "sales/orders"),
        (f"abfss://curated@{ACCOUNT}", "marts/from_raw"),
    }


# ---- BigQuery: `bigquery` as Spark, Airflow and dbt-ol write it, `bigquery://` as the spec's
# naming table (website/docs/spec/naming.md) writes it -----------------------------------------
def test_bigquery_as_the_spec_writes_it_is_bigquery_as_producers_write_it() -> None:
    """A Spark BigQuery connector job writes `bigquery`/`proj.sales.orders`; a producer that
    follows the spec's table reads `bigquery://`/`proj.sales.orders`: one table, so impact from
    the Spark job's input column reaches the reader's output."""
    cols = {"fields": [{"name": "amount", "type": "NUMERIC"}]}

    def event(n: int, source: tuple[str, str], target: tuple[str, str]) -> dict[str, Any]:
        src = {"namespace": source[0], "name": source[1]}
        lineage = {"fields": {"amount": {"inputFields": [{**src, "field": "amount"}]}}}
        return {
            "eventType": "COMPLETE",
            "eventTime": f"2026-05-01T10:0{n}:00.000Z",
            "run": {"runId": f"00000000-0000-4000-8000-00000000001{n}"},
            "job": {"namespace": "etl", "name": f"job_{n}"},
            "inputs": [{**src, "facets": {"schema": cols}}],
            "outputs": [
                {
                    "namespace": target[0],
                    "name": target[1],
                    "facets": {"schema": cols, "columnLineage": lineage},
                }
            ],
        }

    spark = event(1, ("bigquery", "proj.raw.orders"), ("bigquery", "proj.sales.orders"))
    other = event(2, ("bigquery://", "proj.sales.orders"), ("bigquery://", "proj.marts.revenue"))
    store = EmbeddedStore()
    for e in (spark, other):
        batch = MutationBatch()
        batch.extend(map_event(e, event_id_of("openlineage", e)).mutations)
        store.apply(batch)
    start = column_key(dataset_key("bigquery", "proj.raw.orders"), "amount")
    columns = {
        i.node.key.parts[1:]
        for i in impact(store, start.id).items
        if i.node.key.kind is NodeKind.COLUMN
    }
    assert columns == {("proj.sales.orders", "amount"), ("proj.marts.revenue", "amount")}

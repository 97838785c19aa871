"""One HDFS location, one Dataset node, whoever names it (session 34).

A Spark job writes `hdfs://nn:8020/data/x`; its OpenLineage event names that (`hdfs://nn:8020`,
`/data/x`) — the spec's `{path}`, the Java client's generic extractor. An MLflow training run
reads the same location as an `hdfs` file source (`{"uri": ...}`) or a Spark source
(`{"path": ...}`), and a Feast feature view's source is a file or Spark source on it. Each must
land on the Dataset Spark's event made (before: `dataset_from_uri` named it `data/x`, so an
MLflow or Feast file source on HDFS was a second node that no lineage reached).

The oracle, `spark_name`, is the spec's HDFS row written here apart from graph/identity.py:
namespace `hdfs://{namenode host}:{namenode port}` (scheme and host lowercased), name the path
with its leading "/" and without a trailing one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.graph.naming import dataset_key
from lineage_kg.ingest.eventlog import LogEntry, event_id_of
from lineage_kg.ingest.feast.read import FeastRepo
from lineage_kg.ingest.feast.records import DataSource, RegistryDump, RepoConfig
from lineage_kg.ingest.feast.sync import SourceResolver
from lineage_kg.ingest.mlflow.mapping import map_entry as map_mlflow
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.ingest.source_sync import SyncReport, record_time
from lineage_kg.ingest.sources import FEAST, MLFLOW


def spark_name(uri: str) -> tuple[str, str]:
    """(namespace, name) of an `hdfs://host:port/path` URI by the spec's naming table."""
    scheme, _, rest = uri.partition("://")
    authority, _, path = rest.partition("/")
    return f"{scheme.lower()}://{authority.lower()}", "/" + path.strip("/")


def spark_event(namespace: str, name: str) -> dict[str, Any]:
    """Spark's COMPLETE for a job writing the location, as its integration names it."""
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-05-01T10:00:00.000Z",
        "run": {"runId": "00000000-0000-4000-8000-000000000341"},
        "job": {"namespace": "spark", "name": "etl_app.execute_insert_into_hadoop_fs_relation"},
        "inputs": [],
        "outputs": [{"namespace": namespace, "name": name}],
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.30.1/integration/spark",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def mlflow_run(sources: list[tuple[str, dict[str, Any]]]) -> LogEntry:
    body = {
        "kind": "training_run",
        "run_id": "c0ffee00c0ffee00c0ffee00c0ffee34",
        "experiment_id": "1",
        "experiment_name": "churn",
        "status": "FINISHED",
        "start_ms": 1_767_225_600_000,
        "end_ms": 1_767_225_660_000,
        "params": {},
        "metrics": {},
        "inputs": [
            {"name": f"x{i}", "digest": "d", "source_type": kind, "source": json.dumps(spec)}
            for i, (kind, spec) in enumerate(sources)
        ],
    }
    at = record_time(1_767_225_660_000)
    return LogEntry(1, event_id_of(MLFLOW, body), MLFLOW, "training_run", at, "now", body)


def feast_dataset(source: dict[str, Any]) -> NodeKey:
    """The dataset Feast's source resolves to (ingest/feast/sync.py)."""
    config = RepoConfig.model_validate({"project": "p", "offline_store": {"type": "file"}})
    repo = FeastRepo(RegistryDump(project="p"), config, Path("/srv/feast/shop"))
    report = SyncReport(FEAST)
    resolved = SourceResolver(repo, report).resolve(DataSource.model_validate(source), "test")
    assert report.skipped == []
    (ref,) = resolved.ref.datasets
    return dataset_key(ref.namespace, ref.name)


segment = st.text(alphabet="abcxyz019_-", min_size=1, max_size=6)


@st.composite
def spellings(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A path, and the URIs users write for it: scheme and host case, a trailing "/"."""
    path = "/".join(draw(st.lists(segment, min_size=1, max_size=3)))
    uris = [
        f"{draw(st.sampled_from(['hdfs', 'HDFS']))}://{draw(st.sampled_from(['nn', 'NN']))}:8020/"
        f"{path}{draw(st.sampled_from(['', '/']))}"
        for _ in range(4)
    ]
    return path, uris


@settings(max_examples=25, deadline=None)
@given(spellings())
def test_spark_mlflow_and_feast_on_one_hdfs_path_are_one_dataset(
    case: tuple[str, list[str]],
) -> None:
    path, (by_mlflow_file, by_mlflow_spark, by_feast_file, by_feast_spark) = case
    spark_ns, spark_path = spark_name(f"hdfs://nn:8020/{path}")
    store = EmbeddedStore()
    batch = MutationBatch()
    event = spark_event(spark_ns, spark_path)
    batch.extend(map_event(event, event_id_of("openlineage", event)).mutations)
    store.apply(batch)
    store.apply(
        map_mlflow(
            mlflow_run([("hdfs", {"uri": by_mlflow_file}), ("spark", {"path": by_mlflow_spark})])
        )
    )
    datasets = [n.key for n in store.iter_nodes() if n.key.kind is NodeKind.DATASET]
    assert datasets == [dataset_key(spark_ns, spark_path)], (path, datasets)
    for uri, source in (
        (by_mlflow_file, None),
        (by_feast_file, {"name": "s", "type": "BATCH_FILE", "fileOptions": {"uri": by_feast_file}}),
        (
            by_feast_spark,
            {"name": "s", "type": "BATCH_SPARK", "sparkOptions": {"path": by_feast_spark}},
        ),
    ):
        if source is not None:
            assert feast_dataset(source) == datasets[0], uri
        assert dataset_key(*spark_name(uri)) == datasets[0], uri

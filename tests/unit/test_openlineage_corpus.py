"""map_event on every real event of the shared OpenLineage corpus (see its MANIFEST.md).

Every file is mapped and applied to an EmbeddedStore; chosen files are checked against numbers
read off the files themselves. Integration-test matchers are partial events: where one lacks
what identifies it, THIS TEST ONLY fills in a synthetic eventTime (also for template
placeholders such as "{{ is_datetime(result) }}", which are not times), runId and job name —
the mapping itself refuses such events. Every other placeholder ("{{ any(result) }}" as a runId,
"${json-unit.any-string}" …) is kept: it is just a string.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.openlineage.mapping import map_event

# ../shared sits beside the checkout, here and in CI; a missing corpus is a failure, not a skip
_DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "openlineage"
CORPUS = Path(os.environ.get("LKG_OPENLINEAGE_CORPUS", _DEFAULT))
FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*/*.json"))
assert FILES, f"no OpenLineage corpus at {CORPUS}"

SYNTHETIC_START = "2000-01-01T00:00:00Z"


def _manifest_event_counts() -> dict[str, int]:
    """File -> number of events, from the corpus MANIFEST's table (column #ev)."""
    counts = {}
    for line in (CORPUS / "MANIFEST.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 7 and re.fullmatch(r"\d+", cells[1]):
            counts[cells[2].strip("`")] = int(cells[7])
    return counts


def _is_time(value: Any) -> bool:
    try:
        canonical_time(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def _complete_matcher(event: dict[str, Any], file: str, index: int) -> dict[str, Any]:
    """Fill in only the identity a partial matcher leaves out (test-only; see module doc)."""
    event = dict(event)
    if not _is_time(event.get("eventTime")):
        # in file order, so a file's START still comes before its COMPLETE
        event["eventTime"] = f"2000-01-01T00:00:{index:02d}Z"
    schema_url = str(event.get("schemaURL", ""))
    if "run" not in event and "dataset" not in event and not schema_url.endswith("JobEvent"):
        event["run"] = {}  # a RunEvent matcher without its run object
    if isinstance(event.get("job"), dict) and not event["job"].get("name"):
        event["job"] = {**event["job"], "name": f"synthetic-job-{Path(file).stem}"}
    if "run" in event and not event["run"].get("runId"):
        # one run per job within a file: a matcher's START and COMPLETE are one run
        job = json.dumps(event.get("job", {}).get("name"))
        event["run"] = {**event["run"], "runId": str(uuid.uuid5(uuid.NAMESPACE_URL, file + job))}
    return event


def events_of(file: str) -> list[dict[str, Any]]:
    data = json.loads((CORPUS / file).read_text())
    raw = data if isinstance(data, list) else [data]
    return [_complete_matcher(e, file, i) for i, e in enumerate(raw)]


def load(file: str) -> EmbeddedStore:
    store = EmbeddedStore()
    for i, event in enumerate(events_of(file)):
        store.apply(map_event(event, f"{Path(file).stem}#{i}"))
    return store


def ds(namespace: str, name: str) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace=namespace, name=name)


def col(namespace: str, name: str, field: str) -> NodeKey:
    return NodeKey.of(NodeKind.COLUMN, namespace=namespace, name=name, field=field)


def node_props(store: EmbeddedStore, key: NodeKey) -> dict[str, Any]:
    node = store.get_node(key.id)
    assert node is not None, f"missing {key.display}"
    return node.props


def all_edges(store: EmbeddedStore, kind: EdgeKind) -> Iterator[StoredEdge]:
    return (e for e in store.iter_edges() if e.key.kind is kind)


def feeds(store: EmbeddedStore) -> dict[tuple[str, str], dict[str, Any]]:
    """FEEDS edges as {(source display, target display): props}."""
    return {
        (e.key.src.display, e.key.dst.display): e.props for e in all_edges(store, EdgeKind.FEEDS)
    }


# ---- every file ----------------------------------------------------------------------------


def test_the_corpus_is_what_its_manifest_lists() -> None:
    counts = _manifest_event_counts()
    assert sorted(counts) == FILES
    for file in FILES:
        data = json.loads((CORPUS / file).read_text())
        assert (len(data) if isinstance(data, list) else 1) == counts[file], file


@pytest.mark.parametrize("file", FILES)
def test_every_event_maps_and_applies_and_replays_as_a_no_op(file: str) -> None:
    store = EmbeddedStore()
    batches = [map_event(e, f"{file}#{i}") for i, e in enumerate(events_of(file))]
    for batch in batches:
        store.apply(batch)
    assert store.stats().node_count > 0
    for batch in batches:
        again = store.apply(batch)
        assert (again.nodes_written, again.edges_written) == (0, 0)


# ---- chosen files, checked against the files' own contents --------------------------------

HIVE = "hive://localhost:9083"


def test_hive_indirect_filter_becomes_a_dataset_level_feed() -> None:
    store = load(
        "OpenLineage/integration__hive__hive-openlineage-hook__integrations__container__"
        "cllSimpleQueryIndirectComplete.json"
    )
    # CREATE TABLE xxx AS SELECT a FROM t1 WHERE b > 1
    assert feeds(store) == {
        (f"{HIVE}/test.t1#a", f"{HIVE}/test.xxx#a"): {
            "transformation_types": ["DIRECT"],
            "transformation_subtypes": ["IDENTITY"],
            "masking": False,
        },
        (f"{HIVE}/test.t1#b", f"{HIVE}/test.xxx"): {
            "transformation_types": ["INDIRECT"],
            "transformation_subtypes": ["FILTER"],
            "masking": False,
        },
    }
    assert node_props(store, ds(HIVE, "test.t1"))["aliases"] == [
        "file//opt/hive/data/warehouse/test.db/t1"  # the LOCATION symlink
    ]
    job = NodeKey.of(NodeKind.JOB, namespace="default", name="createtable_as_select.test.xxx")
    assert {k: v for k, v in node_props(store, job).items() if k != "facets"} == {
        "processing_type": "BATCH",
        "integration": "HIVE",
        "job_type": "QUERY",
        "sql": "CREATE TABLE xxx AS SELECT a FROM t1 WHERE b > 1",
        "sql_dialect": "hive",
    }
    assert store.stats().nodes == {
        "Column": 3,
        "Dataset": 2,
        "DatasetVersion": 1,
        "Job": 1,
        "Run": 1,
    }


def test_hive_masking_is_kept_per_column_pair() -> None:
    store = load(
        "OpenLineage/integration__hive__hive-openlineage-hook__integrations__container__"
        "cllSimpleQueryMaskingComplete.json"
    )
    masked = {pair: p["masking"] for pair, p in feeds(store).items()}
    t1, xxx = f"{HIVE}/test.t1", f"{HIVE}/test.xxx"
    assert masked == {
        (f"{t1}#a", f"{xxx}#i"): False,
        (f"{t1}#a", f"{xxx}#t"): False,
        (f"{t1}#a", f"{xxx}#mt"): True,  # sha1(string(a + 1))
        (f"{t1}#b", f"{xxx}#a"): False,
        (f"{t1}#b", f"{xxx}#ma"): True,  # sha1(string(sum(b)))
        (f"{t1}#a", xxx): False,  # GROUP BY a
    }


def test_spark_column_lineage_with_transformations_on_the_hive_table_identity() -> None:
    store = load("OpenLineage/integration__spark__app__integrations__container__pysparkCLLEnd.json")
    src1, src2 = "file//tmp/cll_test/cll_source1", "file//tmp/cll_test/cll_source2"
    out = "file:/tmp/cll_test/default.tbl1"  # the TABLE symlink, not the path written
    kinds = {
        pair: (p["transformation_types"], p["transformation_subtypes"])
        for pair, p in feeds(store).items()
    }
    assert kinds == {
        (f"{src1}#b", f"{out}#ident"): (["INDIRECT"], ["GROUP_BY"]),
        (f"{src2}#a", f"{out}#ident"): (["INDIRECT"], ["FILTER", "JOIN"]),
        (f"{src1}#a", f"{out}#ident"): (
            ["DIRECT", "INDIRECT"],
            ["FILTER", "GROUP_BY", "IDENTITY", "JOIN"],
        ),
        (f"{src1}#b", f"{out}#trans"): (["DIRECT", "INDIRECT"], ["GROUP_BY", "TRANSFORMATION"]),
        (f"{src2}#a", f"{out}#trans"): (["INDIRECT"], ["FILTER", "JOIN"]),
        (f"{src1}#a", f"{out}#trans"): (["INDIRECT"], ["FILTER", "GROUP_BY", "JOIN"]),
        (f"{src1}#b", f"{out}#agg"): (["INDIRECT"], ["GROUP_BY"]),
        (f"{src2}#c", f"{out}#agg"): (["DIRECT"], ["AGGREGATION"]),
        (f"{src2}#a", f"{out}#agg"): (["INDIRECT"], ["FILTER", "JOIN"]),
        (f"{src1}#a", f"{out}#agg"): (["INDIRECT"], ["FILTER", "GROUP_BY", "JOIN"]),
        # an INDIRECT input (filter, join, grouping) under any field reaches the whole output:
        # one FEEDS into the dataset, carrying only the INDIRECT transformations (issue 15 §4)
        (f"{src1}#a", out): (["INDIRECT"], ["FILTER", "GROUP_BY", "JOIN"]),
        (f"{src1}#b", out): (["INDIRECT"], ["GROUP_BY"]),
        (f"{src2}#a", out): (["INDIRECT"], ["FILTER", "JOIN"]),
    }
    assert feeds(store)[(f"{src1}#a", f"{out}#ident")]["description"] == (
        "t1.a AS ident; GROUP BY t1.a, t1.b; INNER JOIN ON (t1.a = t2.a); "
        "WHERE ((t1.a > 1) AND (t1.a IS NOT NULL))"
    )
    tbl1 = ds("file:/tmp/cll_test", "default.tbl1")
    assert node_props(store, tbl1)["aliases"] == ["file//tmp/cll_test/tbl1"]
    assert store.get_node(ds("file", "/tmp/cll_test/tbl1").id) is None
    # 2 + 2 input columns, 3 output columns
    assert store.stats().nodes["Column"] == 7


def test_spark_merge_into_reads_its_own_target_through_the_symlink() -> None:
    store = load(
        "OpenLineage/integration__spark__app__integrations__container__"
        "pysparkV2MergeIntoTableCowCompleteEvent.json"
    )
    cow = "file:/tmp/iceberg/default.events_cow"
    assert set(feeds(store)) == {
        (f"{cow}#event_id", f"{cow}#event_id"),  # MERGE reads the table it rewrites
        ("file//tmp/iceberg/default/updates_cow#event_id", f"{cow}#event_id"),
        ("file//tmp/iceberg/default/updates_cow#updated_at", f"{cow}#last_updated_at"),
    }


def test_delta_version_storage_and_drop_lifecycle() -> None:
    store = load(
        "OpenLineage/integration__spark__app__integrations__container__"
        "pysparkWriteDeltaTableVersionEnd.json"
    )
    table = ds("file:/tmp/delta", "default.versioned_table")
    assert node_props(store, table)["storage_layer"] == "delta"
    assert node_props(store, table)["file_format"] == "parquet"
    [version] = store.neighbors([table.id], Direction.OUT, [EdgeKind.HAS_VERSION])
    assert version.key.dst.parts == ("file:/tmp/delta", "default.versioned_table", "2")

    dropped = load(
        "OpenLineage/integration__spark__app__integrations__container__pysparkDropTableEvent.json"
    )
    props = node_props(dropped, ds("file:/tmp/drop_test", "default.drop_table_test"))
    assert props["lifecycle_state"] == "DROP"


def test_marquez_seed_data_counts() -> None:
    """26 events, 13 jobs each run once (START lists datasets, COMPLETE none).

    Datasets: the 13 public.* tables named as inputs/outputs, plus `public.menu_item_id`, which
    only the delivery_7_days column lineage names (a typo in the seed data, kept as given).
    Columns: 91 from the 13 output schema facets (4+4+5+6+7+8+7+11+10+14+7+5+3) plus 2 that
    only column lineage names (restaurants.menu_item_id, menu_item_id.category_id).
    FEEDS: 10 + 16 + 8 + 3 + 2 input fields in the five columnLineage facets.
    READ_BY: 4 + 5 + 1 + 2 + 2 listed inputs; INPUT_TO: those 14, plus public.menu_item_id,
    which etl_delivery_7_days' lineage reads without listing it. One written version per output.
    """
    for file in ("marquez/docker__metadata.json", "marquez/docker__metadata.template.json"):
        store = load(file)
        stats = store.stats()
        assert stats.nodes == {
            "Column": 93,
            "Dataset": 14,
            "DatasetVersion": 13,
            "Job": 13,
            "Run": 13,
        }, file
        assert stats.edges == {
            "FEEDS": 39,
            "HAS_COLUMN": 93,
            "HAS_VERSION": 13,
            "INPUT_TO": 15,
            "PRODUCES": 13,
            "READ_BY": 14,
            "RUN_OF": 13,
            "WROTE": 13,
        }, file
        runs = [n for n in store.iter_nodes() if n.key.kind is NodeKind.RUN]
        assert {n.props["state"] for n in runs} == {"COMPLETE"}
        # no input was listed by a COMPLETE, so nothing was retired
        assert all(e.current for e in store.iter_edges())
    store = load("marquez/docker__metadata.json")
    derived = [e for e in all_edges(store, EdgeKind.INPUT_TO) if e.props]
    assert [(e.key.src.display, e.key.dst.display, e.props) for e in derived] == [
        (
            "food_delivery/public.menu_item_id",
            "food_delivery/etl_delivery_7_days",
            {"derived": "columnLineage"},
        )
    ]
    # the output's dataset facet dataQualityAssertions: on the version that run wrote
    written = NodeKey.of(
        NodeKind.DATASET_VERSION,
        namespace="food_delivery",
        name="public.delivery_7_days",
        version="run:d5a2a4c4-fc78-428d-ae85-08c942ed8371",
    )
    props = node_props(store, written)
    assert (props["quality_passed"], props["quality_failed"]) == (1, 1)
    assert json.loads(props["quality_assertions"]) == [
        {"assertion": "not_null", "success": False, "column": "driver_id"},
        {"assertion": "is_string", "success": True, "column": "customer_address"},
    ]


def test_full_client_event_quality_statistics_parent_and_tags() -> None:
    store = load("OpenLineage/client__python__tests__example_full_event.json")
    table = ds("my-datasource-namespace", "instance.schema.table")
    props = node_props(store, table)
    # input without a version facet: the assertions land on the Dataset itself
    assert (props["quality_passed"], props["quality_failed"]) == (2, 0)
    assert [a["assertion"] for a in json.loads(props["quality_assertions"])] == [
        "row_count_equal_to",
        "no_null_values",
    ]
    run = NodeKey.of(NodeKind.RUN, run_id="ea041791-68bc-4ae1-bd89-4c8106a157e4")
    [wrote] = store.neighbors([run.id], Direction.OUT, [EdgeKind.WROTE])
    assert wrote.key.dst.parts[2] == "run:ea041791-68bc-4ae1-bd89-4c8106a157e4"
    assert wrote.props == {"facets": ["outputStatistics"], "row_count": 2000, "size": 2097152}
    assert node_props(store, run) == {
        "job": "my-scheduler-namespace/myjob.mytask",
        "state": "COMPLETE",
        "ended_at": "2020-12-28T19:51:01.641000Z",
        "nominal_start": "2020-12-17T03:00:00.001000Z",
        "nominal_end": "2020-12-17T04:00:00.001000Z",
        "tags": ["openlineage_client_version:1.30.0"],
        "facets": ["nominalTime", "parent", "tags"],
    }
    [parent] = store.neighbors([run.id], Direction.IN, [EdgeKind.PARENT_OF])
    assert parent.key.src.parts == ("3f5e83fa-3480-44ff-99c5-ff943904e5e8",)


def test_spec_full_event_is_a_run_event_despite_its_stray_dataset() -> None:
    store = load("OpenLineage/spec__tests__example_full_event.json")
    job = NodeKey.of(NodeKind.JOB, namespace="food_delivery", name="dbt")
    assert node_props(store, job) == {"sql": "SELECT 1", "facets": ["sql"]}
    assert store.stats().nodes == {"Job": 1, "Run": 1}


def test_fluentd_full_event_lists_custom_facets_where_they_were_attached() -> None:
    store = load("OpenLineage/proxy__fluentd__events__event_full.json")
    custom = ["additionalProp1", "additionalProp2", "additionalProp3"]
    job = NodeKey.of(NodeKind.JOB, namespace="my-scheduler-namespace", name="myjob.mytask")
    run = NodeKey.of(NodeKind.RUN, run_id="ea041791-68bc-4ae1-bd89-4c8106a157e4")
    table = ds("my-datasource-namespace", "instance.schema.table")
    assert node_props(store, job)["facets"] == [
        *custom,
        "documentation",
        "sourceCodeLocation",
        "sql",
    ]
    assert node_props(store, run)["facets"] == [*custom, "nominalTime", "parent"]
    props = node_props(store, table)
    assert props["facets"] == [*custom, "dataSource", "documentation", "schema"]
    assert (props["quality_row_count"], props["quality_bytes"], props["quality_file_count"]) == (
        1000,
        1048576,
        5,
    )
    [read] = store.neighbors([table.id], Direction.OUT, [EdgeKind.READ_BY])
    assert read.props == {"facets": ["dataQualityAssertions", "dataQualityMetrics"]}
    assert node_props(store, job)["source_code_url"] == "http://example.com"


def test_spark_serde_event_error_root_and_column_metrics() -> None:
    store = load(
        "OpenLineage/integration__spark__app__src__test__resources__test_data__serde__"
        "openlineage-event.json"
    )
    run = NodeKey.of(NodeKind.RUN, run_id="5f24c93c-2ce9-49dc-82e7-95ab4915242f")
    props = node_props(store, run)
    assert (props["error_message"], props["error_language"], props["error_stack"]) == (
        "failed",
        "JAVA",
        "<stack_trace>",
    )
    assert (props["root_run_id"], props["root_job"]) == (
        "5f24c93c-1a1a-49dc-82e7-95ab4915242f",
        "root-namespace/root-job-name",
    )
    # its parent job is the job itself: no self-loop
    assert store.stats().edges.get("PARENT_OF") is None
    metrics = json.loads(node_props(store, ds("ins", "input"))["quality_column_metrics"])
    assert metrics["mycol"]["nullCount"] == 1


def test_jdbc_matcher_datasets_without_namespace_are_not_guessed() -> None:
    store = load(
        "OpenLineage/integration__spark__app__integrations__container__"
        "columnLineageJDBCComplete.json"
    )
    assert store.stats().nodes == {"Job": 1, "Run": 1}


def test_flink_kafka_topic_takes_its_table_identity() -> None:
    store = load(
        "OpenLineage/integration__flink__flink2__src__test__resources__events__"
        "expected_sql_kafka.json"
    )
    kafka = "kafka://kafka-cluster-prod:9092"
    table = ds(kafka, "default_catalog.default_database.kafka_input")
    assert node_props(store, table)["aliases"] == [f"{kafka}/io.openlineage.flink.kafka.input1"]
    assert len(store.neighbors([table.id], Direction.OUT, [EdgeKind.HAS_COLUMN])) == 5


def test_dataset_and_job_events_from_marquez() -> None:
    store = load("marquez/api__src__test__resources__open_lineage__event_dataset_event.json")
    [column] = store.neighbors(
        [ds("my-dataset-namespace", "my-dataset-name").id], Direction.OUT, [EdgeKind.HAS_COLUMN]
    )
    assert (column.key.dst.parts[2], column.props) == (
        "col_a",
        {"type": "VARCHAR", "description": "string", "ordinal": 0},
    )
    store = load("marquez/api__src__test__resources__open_lineage__event_job_event.json")
    assert store.stats().nodes == {"Dataset": 2, "Job": 1}
    assert store.stats().edges == {"INPUT_TO": 1, "PRODUCES": 1}


def test_owners_of_datasets_and_jobs() -> None:
    store = load("OpenLineage/integration__common__tests__dbt__small__result.json")
    [owns] = all_edges(store, EdgeKind.OWNS)
    assert (owns.key.src.parts, owns.key.dst.display, owns.key.disc) == (
        ("data_team",),
        "bigquery/random-gcp-project.dbt_test1.test_model",
        "owner",
    )
    store = load("OpenLineage/integration__airflow__tests__integration__requests__postgres.json")
    [owns] = all_edges(store, EdgeKind.OWNS)
    assert (owns.key.src.parts, owns.key.dst.display) == (
        ("datascience",),
        "food_delivery/postgres_orders_popular_day_of_week.postgres_if_not_exists",
    )

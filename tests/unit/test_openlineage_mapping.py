"""map_event on small hand-made events, one concern each, checked on a real EmbeddedStore."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.naming import normalise_namespace
from lineage_kg.graph.records import StoredEdge
from lineage_kg.ingest.openlineage.identity import canonical_dataset
from lineage_kg.ingest.openlineage.mapping import UnmappableEvent, map_event

PG = "postgres://db:5432"
T1, T2, T3 = "2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z", "2024-05-01T12:00:00Z"
C1, C2, C3 = (f"2024-05-01T{h}:00:00.000000Z" for h in (10, 11, 12))
RUN_ID = "3f5e83fa-3480-44ff-99c5-ff943904e5e8"
JOB = NodeKey.of(NodeKind.JOB, namespace="airflow", name="etl.orders")
RUN = NodeKey.of(NodeKind.RUN, run_id=RUN_ID)


def ds(name: str, namespace: str = PG) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace=namespace, name=name)


def col(name: str, field: str, namespace: str = PG) -> NodeKey:
    return NodeKey.of(NodeKind.COLUMN, namespace=namespace, name=name, field=field)


def dv(name: str, version: str, namespace: str = PG) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET_VERSION, namespace=namespace, name=name, version=version)


def dataset(name: str, namespace: str = PG, **facets: Any) -> dict[str, Any]:
    return {"namespace": namespace, "name": name, "facets": facets}


def run_event(
    event_type: str | None = "COMPLETE",
    time: str = T1,
    *,
    run_id: str = RUN_ID,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventTime": time,
        "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": run_facets or {}},
        "job": {"namespace": "airflow", "name": "etl.orders", "facets": job_facets or {}},
    }
    if event_type is not None:
        event["eventType"] = event_type
    if inputs is not None:
        event["inputs"] = inputs
    if outputs is not None:
        event["outputs"] = outputs
    return event


def apply(*events: dict[str, Any]) -> EmbeddedStore:
    store = EmbeddedStore()
    for n, event in enumerate(events):
        store.apply(map_event(event, f"ev-{n}"))
    return store


def props(store: EmbeddedStore, key: NodeKey) -> dict[str, Any]:
    node = store.get_node(key.id)
    assert node is not None, f"missing node {key.display}"
    return node.props


def edges(
    store: EmbeddedStore,
    key: NodeKey,
    direction: Direction,
    kind: EdgeKind,
    as_of: str | None = None,
) -> list[StoredEdge]:
    return store.neighbors([key.id], direction, [kind], as_of=as_of)


def far(edge_list: list[StoredEdge], direction: Direction) -> set[NodeKey]:
    return {e.key.dst if direction is Direction.OUT else e.key.src for e in edge_list}


def edge(store: EmbeddedStore, src: NodeKey, kind: EdgeKind, dst: NodeKey) -> StoredEdge:
    found = [e for e in edges(store, src, Direction.OUT, kind) if e.key.dst == dst]
    assert len(found) == 1, f"expected one {kind} {src.display} -> {dst.display}, got {found}"
    return found[0]


# ---- jobs and runs -------------------------------------------------------------------------


def test_job_facets_become_props_owners_and_facet_names() -> None:
    store = apply(
        run_event(
            job_facets={
                "jobType": {"processingType": "BATCH", "integration": "AIRFLOW", "jobType": "TASK"},
                "documentation": {"description": "Loads orders"},
                "sql": {"query": "SELECT 1", "dialect": "postgres"},
                "sourceCodeLocation": {"type": "git", "url": "https://git.example/etl.py"},
                "tags": {"tags": [{"key": "tier", "value": "gold"}, {"key": "pii", "value": ""}]},
                "ownership": {"owners": [{"name": " Ada@Example.COM ", "type": "MAINTAINER"}]},
                "myCompany_cost": {"centre": {"id": 7}},
            }
        )
    )
    assert props(store, JOB) == {
        "processing_type": "BATCH",
        "integration": "AIRFLOW",
        "job_type": "TASK",
        "description": "Loads orders",
        "sql": "SELECT 1",
        "sql_dialect": "postgres",
        "source_code_url": "https://git.example/etl.py",
        "tags": ["pii", "tier:gold"],
        "facets": [
            "documentation",
            "jobType",
            "myCompany_cost",
            "ownership",
            "sourceCodeLocation",
            "sql",
            "tags",
        ],
    }
    owner = NodeKey.of(NodeKind.OWNER, owner_id="ada@example.com")
    [owns] = edges(store, owner, Direction.OUT, EdgeKind.OWNS)
    assert (owns.key.dst, owns.key.disc) == (JOB, "MAINTAINER")


def test_out_of_order_start_and_complete_leave_the_run_complete() -> None:
    complete, start = run_event("COMPLETE", T2), run_event("START", T1)
    store = apply(complete, start)  # the START arrives late
    assert props(store, RUN) == {
        "job": "airflow/etl.orders",
        "state": "COMPLETE",
        "started_at": C1,
        "ended_at": C2,
    }
    assert far(edges(store, RUN, Direction.OUT, EdgeKind.RUN_OF), Direction.OUT) == {JOB}


def test_event_type_is_optional_and_other_is_not_a_state() -> None:
    store = apply(run_event(None, T1), run_event("OTHER", T2))
    assert props(store, RUN) == {"job": "airflow/etl.orders"}


def test_run_facets_error_nominal_time_parent_and_root() -> None:
    store = apply(
        run_event(
            "FAIL",
            run_facets={
                "errorMessage": {
                    "message": "boom",
                    "programmingLanguage": "PYTHON",
                    "stackTrace": "Traceback ...",
                },
                "nominalTime": {"nominalStartTime": "2024-05-01T00:00:00+02:00"},
                "parent": {
                    "run": {"runId": "parent-run"},
                    "job": {"namespace": "airflow", "name": "etl"},
                    "root": {
                        "run": {"runId": "root-run"},
                        "job": {"namespace": "airflow", "name": "nightly"},
                    },
                },
                "spark_unknown": {},
            },
        )
    )
    assert props(store, RUN) == {
        "job": "airflow/etl.orders",
        "state": "FAIL",
        "ended_at": C1,
        "error_message": "boom",
        "error_language": "PYTHON",
        "error_stack": "Traceback ...",
        "nominal_start": "2024-04-30T22:00:00.000000Z",
        "root_run_id": "root-run",
        "root_job": "airflow/nightly",
        "facets": ["errorMessage", "nominalTime", "parent", "spark_unknown"],
    }
    parent_run = NodeKey.of(NodeKind.RUN, run_id="parent-run")
    parent_job = NodeKey.of(NodeKind.JOB, namespace="airflow", name="etl")
    assert far(edges(store, RUN, Direction.IN, EdgeKind.PARENT_OF), Direction.IN) == {parent_run}
    assert far(edges(store, JOB, Direction.IN, EdgeKind.PARENT_OF), Direction.IN) == {parent_job}
    assert far(edges(store, parent_run, Direction.OUT, EdgeKind.RUN_OF), Direction.OUT) == {
        parent_job
    }
    assert props(store, parent_run) == {"job": "airflow/etl"}
    # root is a prop, not an edge: it may be several levels up
    assert store.stats().nodes == {"Job": 2, "Run": 2}


def test_a_parent_equal_to_the_child_makes_no_self_loop() -> None:
    parent = {"run": {"runId": RUN_ID}, "job": {"namespace": "airflow", "name": "etl.orders"}}
    store = apply(run_event(run_facets={"parent": parent}))
    assert store.stats().edges == {"RUN_OF": 1}


# ---- datasets, versions, retirement -------------------------------------------------------


def test_inputs_outputs_and_the_versions_a_run_reads_and_writes() -> None:
    store = apply(
        run_event(
            inputs=[
                dataset("shop.public.orders"),
                dataset("lake.events", "s3://lake", version={"datasetVersion": "v7"}),
            ],
            outputs=[
                {
                    **dataset("marts.daily"),
                    "outputFacets": {
                        "outputStatistics": {"rowCount": 10, "size": 2048, "fileCount": 2}
                    },
                },
                dataset("marts.snap", version={"datasetVersion": "42"}),
            ],
        )
    )
    orders, events = ds("shop.public.orders"), ds("lake.events", "s3://lake")
    daily, snap = ds("marts.daily"), ds("marts.snap")
    assert far(edges(store, JOB, Direction.IN, EdgeKind.INPUT_TO), Direction.IN) == {orders, events}
    assert far(edges(store, JOB, Direction.OUT, EdgeKind.PRODUCES), Direction.OUT) == {daily, snap}
    # the version read is unknown for orders: READ_BY leaves the Dataset itself
    assert far(edges(store, RUN, Direction.IN, EdgeKind.READ_BY), Direction.IN) == {
        orders,
        dv("lake.events", "v7", "s3://lake"),
    }
    written = {e.key.dst: e.props for e in edges(store, RUN, Direction.OUT, EdgeKind.WROTE)}
    assert written == {
        dv("marts.daily", f"run:{RUN_ID}"): {
            "facets": ["outputStatistics"],
            "row_count": 10,
            "size": 2048,
            "file_count": 2,
        },
        dv("marts.snap", "42"): {},
    }
    assert far(edges(store, snap, Direction.OUT, EdgeKind.HAS_VERSION), Direction.OUT) == {
        dv("marts.snap", "42")
    }
    assert store.stats().nodes == {"Dataset": 4, "DatasetVersion": 3, "Job": 1, "Run": 1}
    assert store.stats().edges == {
        "HAS_VERSION": 3,
        "INPUT_TO": 2,
        "PRODUCES": 2,
        "READ_BY": 2,
        "RUN_OF": 1,
        "WROTE": 2,
    }


def test_complete_retires_inputs_and_outputs_it_no_longer_lists() -> None:
    first = run_event("COMPLETE", T1, inputs=[dataset("a"), dataset("b")], outputs=[dataset("x")])
    second = run_event(
        "COMPLETE", T2, run_id="run-2", inputs=[dataset("a")], outputs=[dataset("y")]
    )
    store = apply(first, second)
    assert far(edges(store, JOB, Direction.IN, EdgeKind.INPUT_TO), Direction.IN) == {ds("a")}
    assert far(edges(store, JOB, Direction.OUT, EdgeKind.PRODUCES), Direction.OUT) == {ds("y")}
    # history is kept: as of the first run both inputs were current
    then = edges(store, JOB, Direction.IN, EdgeKind.INPUT_TO, as_of=C1)
    assert far(then, Direction.IN) == {ds("a"), ds("b")}
    [gone] = [e for e in then if e.key.src == ds("b")]
    assert (gone.valid_to, gone.retired_by) == (C2, "ev-1")


def test_inputs_sent_only_on_start_survive_an_input_less_complete() -> None:
    start = run_event("START", T1, inputs=[dataset("a")], outputs=[dataset("x")])
    complete = run_event("COMPLETE", T2)
    store = apply(start, complete)
    assert far(edges(store, JOB, Direction.IN, EdgeKind.INPUT_TO), Direction.IN) == {ds("a")}
    assert far(edges(store, JOB, Direction.OUT, EdgeKind.PRODUCES), Direction.OUT) == {ds("x")}


def test_unidentifiable_dataset_is_skipped_and_then_nothing_is_retired() -> None:
    first = run_event("COMPLETE", T1, inputs=[dataset("a")])
    second = run_event("COMPLETE", T2, inputs=[dataset("b"), {"name": "no.namespace"}])
    store = apply(first, second)
    assert far(edges(store, JOB, Direction.IN, EdgeKind.INPUT_TO), Direction.IN) == {
        ds("a"),
        ds("b"),
    }


def test_job_event_is_static_lineage_and_retires_like_a_complete() -> None:
    def job_event(time: str, inputs: list[str], outputs: list[str]) -> dict[str, Any]:
        return {
            "eventTime": time,
            "job": {"namespace": "airflow", "name": "etl.orders"},
            "inputs": [dataset(n) for n in inputs],
            "outputs": [dataset(n) for n in outputs],
        }

    store = apply(job_event(T1, ["a", "b"], ["x"]), job_event(T2, ["b"], ["x"]))
    assert far(edges(store, JOB, Direction.IN, EdgeKind.INPUT_TO), Direction.IN) == {ds("b")}
    assert far(edges(store, JOB, Direction.OUT, EdgeKind.PRODUCES), Direction.OUT) == {ds("x")}
    assert store.stats().nodes == {"Dataset": 3, "Job": 1}  # no run, so no versions


def test_dataset_event_maps_the_dataset_and_its_version() -> None:
    event = {
        "eventTime": T1,
        "dataset": dataset(
            "shop.public.orders",
            schema={"fields": [{"name": "id", "type": "int"}]},
            version={"datasetVersion": "17"},
            dataQualityAssertions={"assertions": [{"assertion": "not_null", "success": False}]},
        ),
    }
    store = apply(event)
    orders = ds("shop.public.orders")
    assert props(store, orders) == {"facets": ["dataQualityAssertions", "schema", "version"]}
    assert props(store, dv("shop.public.orders", "17")) == {
        "quality_assertions": '[{"assertion":"not_null","success":false}]',
        "quality_passed": 0,
        "quality_failed": 1,
    }
    assert store.stats().edges == {"HAS_COLUMN": 1, "HAS_VERSION": 1}


# ---- dataset facets -----------------------------------------------------------------------


def test_a_readers_partial_schema_retires_nothing() -> None:
    """dbt-ol lists only documented columns of its inputs: that is not a schema change."""
    full = dataset("crm.customers", schema={"fields": [{"name": "id"}, {"name": "email"}]})
    partial = dataset("crm.customers", schema={"fields": [{"name": "id"}]})
    store = apply(run_event("START", T1, outputs=[full]), run_event("START", T2, inputs=[partial]))
    now = edges(store, ds("crm.customers"), Direction.OUT, EdgeKind.HAS_COLUMN)
    assert sorted(e.key.dst.parts[2] for e in now) == ["email", "id"]


def test_schema_nested_fields_and_dropped_columns_stop_being_current() -> None:
    v1 = dataset(
        "crm.customers",
        schema={
            "fields": [
                {"name": "id", "type": "int", "description": "key"},
                {
                    "name": "address",
                    "type": "struct",
                    "fields": [{"name": "city", "type": "string"}, {"name": "zip"}],
                },
                {"name": "legacy_flag", "type": "boolean"},
            ]
        },
    )
    v2 = dataset("crm.customers", schema={"fields": [{"name": "id", "type": "int"}]})
    store = apply(run_event("START", T1, outputs=[v1]), run_event("START", T2, outputs=[v2]))
    customers = ds("crm.customers")
    then = {
        e.key.dst.parts[2]: e.props
        for e in edges(store, customers, Direction.OUT, EdgeKind.HAS_COLUMN, as_of=C1)
    }
    assert then == {
        "id": {"type": "int", "description": "key", "ordinal": 0},
        "address": {"type": "struct", "ordinal": 1},
        "address.city": {"type": "string", "ordinal": 2},
        "address.zip": {"ordinal": 3},
        "legacy_flag": {"type": "boolean", "ordinal": 4},
    }
    now = edges(store, customers, Direction.OUT, EdgeKind.HAS_COLUMN)
    assert [(e.key.dst.parts[2], e.props) for e in now] == [
        ("id", {"type": "int", "description": "key", "ordinal": 0})
    ]


def test_a_malformed_facet_is_skipped_alone() -> None:
    broken = dataset(
        "shop.public.orders",
        schema={"fields": "id INT, amount DECIMAL"},
        dataSource={"name": "warehouse", "uri": "postgres://db:5432/shop"},
        ownership={"owners": "team-data"},
    )
    store = apply(
        run_event(
            inputs=[broken],
            job_facets={"jobType": ["not", "an", "object"], "documentation": {"description": "ok"}},
        )
    )
    assert props(store, ds("shop.public.orders")) == {
        "datasource_name": "warehouse",
        "datasource_uri": "postgres://db:5432/shop",
        "facets": ["dataSource", "ownership", "schema"],
    }
    assert props(store, JOB)["description"] == "ok"
    assert store.stats().nodes == {"Dataset": 1, "Job": 1, "Run": 1}
    assert store.stats().edges == {"INPUT_TO": 1, "READ_BY": 1, "RUN_OF": 1}


def test_nested_values_in_props_become_json_text() -> None:
    field = {"name": "payload", "type": {"kind": "struct", "of": ["a", "b"]}}
    store = apply(run_event(inputs=[dataset("t", schema={"fields": [field]})]))
    [has] = edges(store, ds("t"), Direction.OUT, EdgeKind.HAS_COLUMN)
    assert has.props == {"type": '{"kind":"struct","of":["a","b"]}', "ordinal": 0}


def test_descriptive_dataset_facets() -> None:
    orders = dataset(
        "shop.public.orders",
        dataSource={"name": "shop", "uri": "postgres://db:5432/shop"},
        documentation={"description": "All orders"},
        storage={"storageLayer": "iceberg", "fileFormat": "parquet"},
        tags={
            "tags": [
                {"key": "domain", "value": "sales", "source": "CATALOG"},
                {"key": "pii", "value": "true", "field": "email"},
            ]
        },
        lifecycleStateChange={"lifecycleStateChange": "OVERWRITE"},
        ownership={"owners": [{"name": "team:sales"}, {"name": "Bob@Shop.io", "type": "STEWARD"}]},
    )
    store = apply(run_event(outputs=[orders]))
    key = ds("shop.public.orders")
    assert props(store, key) == {
        "datasource_name": "shop",
        "datasource_uri": "postgres://db:5432/shop",
        "description": "All orders",
        "storage_layer": "iceberg",
        "file_format": "parquet",
        "tags": ["domain:sales"],
        "lifecycle_state": "OVERWRITE",
        "lifecycle_changed_at": C1,
        "facets": [
            "dataSource",
            "documentation",
            "lifecycleStateChange",
            "ownership",
            "storage",
            "tags",
        ],
    }
    assert props(store, col("shop.public.orders", "email")) == {"tags": ["pii:true"]}
    owners = {
        (e.key.src.parts[0], e.key.disc) for e in edges(store, key, Direction.IN, EdgeKind.OWNS)
    }
    assert owners == {("team:sales", "owner"), ("bob@shop.io", "STEWARD")}


def test_rename_links_the_old_name_to_the_new() -> None:
    renamed = dataset(
        "shop.public.orders_v2",
        lifecycleStateChange={
            "lifecycleStateChange": "RENAME",
            "previousIdentifier": {
                "namespace": "Postgres://DB:5432/",
                "name": "shop.public.orders",
            },
        },
    )
    store = apply(run_event(outputs=[renamed]))
    new = ds("shop.public.orders_v2")
    assert far(edges(store, new, Direction.IN, EdgeKind.RENAMED_TO), Direction.IN) == {
        ds("shop.public.orders")  # namespace normalised like any other
    }
    assert props(store, new)["lifecycle_state"] == "RENAME"


# ---- identity ------------------------------------------------------------------------------


SPARK_TABLE = dataset(
    "/warehouse/sales.db/orders",
    "file",
    symlinks={
        "identifiers": [
            {"namespace": "hive://metastore:9083", "name": "sales.orders", "type": "TABLE"},
            {"namespace": "s3://bucket", "name": "/copies/orders", "type": "LOCATION"},
        ]
    },
)


def test_a_table_symlink_is_the_canonical_dataset_and_other_names_are_aliases() -> None:
    assert canonical_dataset(SPARK_TABLE) == ds("sales.orders", "hive://metastore:9083")
    assert canonical_dataset(dataset("x", "Kafka://Broker:9092/")) == ds("x", "kafka://broker:9092")
    out = {
        **dataset("sales.summary", "hive://metastore:9083"),
        "facets": {
            "columnLineage": {
                "fields": {
                    "total": {
                        "inputFields": [
                            # named by storage path: resolved through the event's symlinks
                            {
                                "namespace": "file",
                                "name": "/warehouse/sales.db/orders",
                                "field": "amount",
                            }
                        ]
                    }
                }
            }
        },
    }
    spark = run_event(inputs=[SPARK_TABLE], outputs=[out])
    hive = run_event(
        "COMPLETE", T2, run_id="hive-run", inputs=[dataset("sales.orders", "hive://metastore:9083")]
    )
    store = apply(spark, hive)
    orders = ds("sales.orders", "hive://metastore:9083")
    assert props(store, orders) == {
        "aliases": ["file//warehouse/sales.db/orders", "s3://bucket//copies/orders"],
        "facets": ["symlinks"],
    }
    amount = col("sales.orders", "amount", "hive://metastore:9083")
    total = col("sales.summary", "total", "hive://metastore:9083")
    assert edge(store, amount, EdgeKind.FEEDS, total).props == {}
    # both tools' runs read the same node
    assert far(edges(store, orders, Direction.OUT, EdgeKind.READ_BY), Direction.OUT) == {
        RUN,
        NodeKey.of(NodeKind.RUN, run_id="hive-run"),
    }
    assert store.get_node(ds("/warehouse/sales.db/orders", "file").id) is None


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Postgres://DB.Example.com:5432", "postgres://db.example.com:5432"),
        ("s3://My-Bucket/", "s3://my-bucket"),
        ("s3://bucket/Path/", "s3://bucket/Path"),
        # who connects is not part of the identity of the server
        ("hdfs://User@NameNode:8020/Data", "hdfs://namenode:8020/Data"),
        ("File:/tmp/Warehouse", "file:/tmp/Warehouse"),
        ("file:///", "file:///"),
        ("bigquery", "bigquery"),
        ("My-Namespace", "My-Namespace"),
        (" kafka://Broker:9092 ", "kafka://broker:9092"),
    ],
)
def test_namespace_normalisation_touches_only_scheme_host_and_one_trailing_slash(
    raw: str, normal: str
) -> None:
    assert normalise_namespace(raw) == normal


# ---- column lineage ------------------------------------------------------------------------


def test_column_lineage_with_transformations_and_dataset_level_inputs() -> None:
    lineage = {
        "fields": {
            "total": {
                "inputFields": [
                    {
                        "namespace": PG,
                        "name": "orders",
                        "field": "amount",
                        "transformations": [
                            {
                                "type": "DIRECT",
                                "subtype": "AGGREGATION",
                                "description": "sum(amount)",
                            },
                            {"type": "INDIRECT", "subtype": "GROUP_BY", "masking": False},
                        ],
                    },
                    {
                        "namespace": PG,
                        "name": "orders",
                        "field": "email",
                        "transformations": [
                            {"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}
                        ],
                    },
                ]
            }
        },
        "dataset": [
            {
                "namespace": PG,
                "name": "orders",
                "field": "status",
                "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}],
            }
        ],
    }
    store = apply(
        run_event(inputs=[dataset("orders")], outputs=[dataset("summary", columnLineage=lineage)])
    )
    total = col("summary", "total")
    assert edge(store, col("orders", "amount"), EdgeKind.FEEDS, total).props == {
        "transformation_types": ["DIRECT", "INDIRECT"],
        "transformation_subtypes": ["AGGREGATION", "GROUP_BY"],
        "masking": False,
        "description": "sum(amount)",
    }
    assert edge(store, col("orders", "email"), EdgeKind.FEEDS, total).props == {
        "transformation_types": ["DIRECT"],
        "transformation_subtypes": ["TRANSFORMATION"],
        "masking": True,
    }
    assert edge(store, col("orders", "status"), EdgeKind.FEEDS, ds("summary")).props == {
        "transformation_types": ["INDIRECT"],
        "transformation_subtypes": ["FILTER"],
    }
    # lineage names columns no schema facet listed: they still hang off their datasets
    assert far(edges(store, ds("orders"), Direction.OUT, EdgeKind.HAS_COLUMN), Direction.OUT) == {
        col("orders", "amount"),
        col("orders", "email"),
        col("orders", "status"),
    }
    # amount's GROUP_BY (INDIRECT) decides which rows summary holds: it reaches the whole output
    assert edge(store, col("orders", "amount"), EdgeKind.FEEDS, ds("summary")).props == {
        "transformation_types": ["INDIRECT"],
        "transformation_subtypes": ["GROUP_BY"],
        "masking": False,
    }
    assert far(edges(store, ds("summary"), Direction.OUT, EdgeKind.HAS_COLUMN), Direction.OUT) == {
        total
    }
    assert store.stats().edges["FEEDS"] == 4


def test_datasets_only_the_column_lineage_names_become_derived_inputs() -> None:
    """dbt-ol lists no inputs for a model built from seeds; its column lineage names them."""
    lineage = {
        "fields": {
            "id": {"inputFields": [{"namespace": PG, "name": "raw_orders", "field": "id"}]},
            "n": {"inputFields": [{"namespace": PG, "name": "stg_orders", "field": "n"}]},
        }
    }
    first = run_event(
        "COMPLETE",
        T1,
        inputs=[dataset("old_source")],
        outputs=[dataset("stg_orders", columnLineage=lineage)],
    )
    second = run_event(
        "COMPLETE",
        T2,
        run_id="run-2",
        inputs=[dataset("calendar")],
        outputs=[dataset("stg_orders", columnLineage=lineage)],
    )
    store = apply(first, second)
    inputs = {
        (e.key.src, e.key.disc): e.props for e in edges(store, JOB, Direction.IN, EdgeKind.INPUT_TO)
    }
    # the output's own columns feeding it (a MERGE) make no INPUT_TO: no dataset-level cycle;
    # old_source, listed by the first run only, is retired by the second
    assert inputs == {
        (ds("calendar"), ""): {},
        (ds("raw_orders"), "columnLineage"): {"derived": "columnLineage"},
    }


def test_legacy_column_lineage_form() -> None:
    lineage = {
        "fields": {
            "day": {
                "inputFields": [
                    {"namespace": PG, "name": "orders", "field": "placed_on"},
                    {"namespace": PG, "name": "orders", "field": "placed_on"},  # said twice
                ],
                "transformationType": "IDENTITY",
                "transformationDescription": "date(placed_on)",
            },
            "n": {"inputFields": [{"namespace": PG, "name": "orders", "field": "id"}]},
            "skipped": {"inputFields": [{"name": "orders", "field": "id"}]},  # no namespace
        }
    }
    store = apply(run_event(outputs=[dataset("daily", columnLineage=lineage)]))
    assert edge(store, col("orders", "placed_on"), EdgeKind.FEEDS, col("daily", "day")).props == {
        "transformation_types": ["IDENTITY"],
        "description": "date(placed_on)",
    }
    assert edge(store, col("orders", "id"), EdgeKind.FEEDS, col("daily", "n")).props == {}
    assert store.stats().edges["FEEDS"] == 2


def test_sql_gives_column_lineage_when_no_output_has_a_column_lineage_facet() -> None:
    sql = {
        "query": "INSERT INTO analytics.daily SELECT o.placed_on AS day, sum(o.amount) AS Total "
        "FROM public.orders o JOIN public.tmp_rates r ON r.id = o.rate_id GROUP BY 1",
        "dialect": "postgres",
    }
    daily = dataset("warehouse.analytics.daily", schema={"fields": [{"name": "total"}]})
    event = run_event(
        job_facets={"sql": sql},
        inputs=[dataset("warehouse.public.orders")],  # tmp_rates is not an input: skipped
        outputs=[daily],
    )
    store = apply(event)
    out = "warehouse.analytics.daily"
    derived = {
        (e.key.src.parts[2], e.key.dst.parts[2], e.key.disc): e.props
        for e in edges(store, ds("warehouse.public.orders"), Direction.OUT, EdgeKind.HAS_COLUMN)
        for e in edges(store, e.key.dst, Direction.OUT, EdgeKind.FEEDS)
    }
    assert derived == {
        ("placed_on", "day", "sql"): {"derived": "sql"},
        ("amount", "total", "sql"): {"derived": "sql"},  # spelled as the schema spells it
    }
    assert far(edges(store, ds(out), Direction.OUT, EdgeKind.HAS_COLUMN), Direction.OUT) == {
        col(out, "day"),
        col(out, "total"),
    }


def test_a_bare_select_with_ctes_feeds_the_one_output_like_a_dbt_model() -> None:
    sql = (
        "with totals as (\n"
        "  select customer_id, sum(amount) as revenue\n"
        '  from "shop"."public"."stg_orders" group by 1\n'
        ")\n"
        "select customer_id, revenue from totals"
    )
    event = run_event(
        job_facets={"sql": {"query": sql}},
        inputs=[dataset("shop.public.stg_orders")],
        outputs=[dataset("shop.public.customer_revenue")],
    )
    store = apply(event)
    pairs = {
        (e.key.src.parts[2], e.key.dst.parts[2], e.props["derived"])
        for e in store.iter_edges()
        if e.key.kind is EdgeKind.FEEDS
    }
    assert pairs == {("customer_id", "customer_id", "sql"), ("amount", "revenue", "sql")}


@pytest.mark.parametrize(
    "case",
    ["observed lineage present", "insert column list", "no datasets in the event"],
)
def test_sql_lineage_is_not_derived_when_it_cannot_be_trusted(case: str) -> None:
    query = "INSERT INTO analytics.daily SELECT placed_on AS day FROM public.orders"
    outputs = [dataset("warehouse.analytics.daily")]
    inputs = [dataset("warehouse.public.orders")]
    if case == "observed lineage present":
        lineage = {"fields": {"x": {"inputFields": [{"namespace": PG, "name": "y", "field": "z"}]}}}
        outputs = [dataset("other", columnLineage=lineage), *outputs]
    elif case == "insert column list":
        # mapped by position onto the list (tests/unit/test_sql_lineage.py), unless its width
        # differs from the select list's
        query = "INSERT INTO analytics.daily (day, n) SELECT placed_on AS day FROM public.orders"
    else:
        inputs, outputs = [], []
    store = apply(run_event(job_facets={"sql": {"query": query}}, inputs=inputs, outputs=outputs))
    feeds = [e for e in store.iter_edges() if e.key.kind is EdgeKind.FEEDS]
    assert all(e.key.disc != "sql" for e in feeds)
    assert len(feeds) == (1 if case == "observed lineage present" else 0)


# ---- quality and custom facets -------------------------------------------------------------


def test_quality_facets_land_on_the_version_read_or_the_dataset() -> None:
    assertions = {
        "assertions": [
            {"assertion": "row_count_equal_to", "success": True},
            {"assertion": "not_null", "success": False, "column": "id"},
        ]
    }
    metrics = {"rowCount": 10, "bytes": 20, "columnMetrics": {"id": {"nullCount": 1}}}
    unversioned = {
        **dataset("orders"),
        "inputFacets": {"dataQualityAssertions": assertions, "dataQualityMetrics": metrics},
    }
    versioned = {
        **dataset("customers", version={"datasetVersion": "3"}),
        "inputFacets": {"dataQualityAssertions": assertions},
    }
    store = apply(run_event(inputs=[unversioned, versioned]))
    expected = {
        "quality_assertions": json.dumps(
            assertions["assertions"], sort_keys=True, separators=(",", ":")
        ),
        "quality_passed": 1,
        "quality_failed": 1,
    }
    assert props(store, ds("orders")) == {
        **expected,
        "quality_row_count": 10,
        "quality_bytes": 20,
        "quality_column_metrics": '{"id":{"nullCount":1}}',
    }
    assert props(store, dv("customers", "3")) == expected
    assert "quality_passed" not in props(store, ds("customers"))
    [read] = edges(store, ds("orders"), Direction.OUT, EdgeKind.READ_BY)
    assert read.props == {"facets": ["dataQualityAssertions", "dataQualityMetrics"]}


# ---- identity of the event itself ----------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"eventTime": None}, "eventTime"),
        ({"eventTime": "{{ is_datetime(result) }}"}, "ISO-8601"),
        ({"run": {"facets": {}}}, "runId"),
        ({"job": {"namespace": "airflow"}}, "job needs a namespace and a name"),
    ],
)
def test_an_event_without_its_identity_is_unmappable(change: dict[str, Any], message: str) -> None:
    with pytest.raises(UnmappableEvent, match=message):
        map_event({**run_event(), **change}, "ev")


def test_dataset_event_without_a_namespace_is_unmappable() -> None:
    with pytest.raises(UnmappableEvent, match="DatasetEvent"):
        map_event({"eventTime": T1, "dataset": {"name": "x"}}, "ev")


def test_mapping_is_pure_and_replay_writes_nothing() -> None:
    event = run_event(
        inputs=[SPARK_TABLE],
        outputs=[dataset("out", schema={"fields": [{"name": "a"}]})],
        job_facets={"sql": {"query": "SELECT 1"}},
    )
    snapshot = json.dumps(event, sort_keys=True)
    store = EmbeddedStore()
    first = store.apply(map_event(event, "ev"))
    again = store.apply(map_event(event, "ev"))
    assert first.nodes_written > 0
    assert (again.nodes_written, again.edges_written) == (0, 0)
    assert json.dumps(event, sort_keys=True) == snapshot


# ---- no facet shape crashes the mapping -----------------------------------------------------

# the names the mapping reads, so that generated facets reach deep into it
_KEYS = [
    "fields",
    "name",
    "type",
    "description",
    "inputFields",
    "transformations",
    "dataset",
    "identifiers",
    "namespace",
    "owners",
    "tags",
    "key",
    "value",
    "field",
    "assertions",
    "success",
    "datasetVersion",
    "run",
    "job",
    "runId",
    "root",
    "query",
    "dialect",
    "previousIdentifier",
    "lifecycleStateChange",
    "masking",
    "subtype",
    "url",
    "message",
]
_FACETS = [
    "schema",
    "columnLineage",
    "symlinks",
    "ownership",
    "tags",
    "lifecycleStateChange",
    "version",
    "dataSource",
    "documentation",
    "storage",
    "dataQualityAssertions",
    "dataQualityMetrics",
    "outputStatistics",
    "inputStatistics",
    "parent",
    "errorMessage",
    "nominalTime",
    "jobType",
    "sql",
    "sourceCodeLocation",
    "x",
]
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=12,
)
_facets = st.dictionaries(st.sampled_from(_FACETS), _json, max_size=5)
_dataset = st.fixed_dictionaries(
    {"namespace": st.just(PG), "name": st.sampled_from(["a", "b"]), "facets": _facets},
    optional={"inputFacets": _facets, "outputFacets": _facets},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    job_facets=_facets,
    run_facets=_facets,
    inputs=st.lists(_dataset, max_size=2),
    outputs=st.lists(_dataset, max_size=2),
    event_type=st.sampled_from([None, "START", "COMPLETE", "OTHER"]),
)
def test_no_facet_shape_makes_the_mapping_or_the_store_fail(
    job_facets: dict[str, Any],
    run_facets: dict[str, Any],
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    event_type: str | None,
) -> None:
    event = run_event(
        event_type, job_facets=job_facets, run_facets=run_facets, inputs=inputs, outputs=outputs
    )
    store = apply(event)
    assert store.get_node(RUN.id) is not None and store.get_node(JOB.id) is not None

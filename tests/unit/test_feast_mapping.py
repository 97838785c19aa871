"""Feast registry dump → records → graph, without the Feast CLI.

The dump is a real `feast registry-dump` of tests/fixtures/feast_repo (see its README); the
sources of other warehouses are hand-written edge cases.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.ingest.eventlog import EventLog, LogEntry
from lineage_kg.ingest.feast.mapping import UnknownFeastRecord, map_entry
from lineage_kg.ingest.feast.read import FeastRepo, read_config
from lineage_kg.ingest.feast.records import DataSource, RegistryDump, RepoConfig
from lineage_kg.ingest.feast.sync import SourceResolver, dtype_name, feast_records, sync_feast
from lineage_kg.ingest.identity import table_dataset
from lineage_kg.ingest.projector import Projector
from lineage_kg.ingest.source_sync import SourceRecord, SyncReport
from lineage_kg.ingest.sources import FEAST, default_mappers

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DUMP = json.loads((FIXTURES / "feast_dump" / "registry_dump.json").read_text())
REPO_DIR = Path("/srv/feast/shop")
CONFIG = read_config(FIXTURES / "feast_repo")


def repo_of(dump: dict[str, Any], config: RepoConfig | None = CONFIG) -> FeastRepo:
    return FeastRepo(RegistryDump.model_validate(dump), config, REPO_DIR if config else None)


def records_of(dump: dict[str, Any], **kw: Any) -> tuple[dict[str, SourceRecord], SyncReport]:
    report = SyncReport(FEAST)
    records = list(feast_records(repo_of(dump, **kw), report, "2030-01-01T00:00:00Z"))
    return {f"{r.kind}:{r.body['name']}": r for r in records}, report


def project(tmp_path: Path, *dumps: dict[str, Any]) -> EmbeddedStore:
    """Sync each dump in turn into one log, then project the log."""
    log = EventLog(tmp_path / "events.sqlite3")
    for dump in dumps:
        sync_feast(log, repo_of(dump))
    store = EmbeddedStore()
    status = Projector(log, store, default_mappers()).catch_up()
    assert status.parked == 0, log.parked()
    log.close()
    return store


def current(store: EmbeddedStore) -> set[tuple[str, str, str]]:
    return {
        (e.key.src.display, e.key.kind.value, e.key.dst.display)
        for e in store.iter_edges()
        if e.current
    }


ORDERS_PG = table_dataset(
    "postgres", host="db", database="analytics", schema="public", table="orders"
)
ORDERS_FILE = "file//srv/feast/shop/data/orders.parquet"


def test_records_from_a_real_dump() -> None:
    records, report = records_of(DUMP)
    assert report.skipped == []
    assert sorted(records) == [
        "entity:customer",  # Feast's own __dummy entity is left out
        "feature_service:scoring",
        "feature_view:customer_spend",
        "feature_view:customer_stats",
        "feature_view:order_amounts",
        "on_demand_feature_view:discounted",
    ]
    entity = records["entity:customer"]
    assert entity.body["join_keys"] == ["customer_id"]
    assert entity.body["value_type"] == "Int64"
    assert entity.event_time == "2026-11-23T14:30:52.965521Z"  # meta.lastUpdatedTimestamp
    stats = records["feature_view:customer_stats"].body
    assert stats["ttl_seconds"] == 86400
    assert stats["entities"] == ["customer"]
    features = {f["name"]: f for f in stats["features"]}
    assert features["avg_amount"]["dtype"] == "Float32"
    # field_mapping renames the file's amount_avg to the feature avg_amount
    assert [c["field"] for c in features["avg_amount"]["columns"]] == ["amount_avg"]
    assert features["total_orders"]["columns"] == [
        {
            "namespace": "file",
            "name": "/srv/feast/shop/data/orders.parquet",
            "field": "total_orders",
        }
    ]
    odfv = records["on_demand_feature_view:discounted"].body
    assert odfv["inputs"] == [
        {"view": "customer_stats", "features": ["total_orders", "avg_amount", "max_amount"]}
    ]
    assert odfv["request_sources"] == [{"name": "checkout", "fields": ["discount"]}]
    service = records["feature_service:scoring"].body
    assert {v["view"]: v["features"] for v in service["views"]} == {
        "customer_stats": ["total_orders", "max_amount"],
        "discounted": ["discounted_avg"],
        "customer_spend": ["spend"],
    }


def test_postgres_sources_are_the_tables_other_sources_name() -> None:
    records, _ = records_of(DUMP)
    table_source = records["feature_view:order_amounts"].body["sources"][0]
    assert table_source["type"] == "postgres"
    assert table_source["datasets"] == [
        {"namespace": "postgres://db:5432", "name": "analytics.public.orders"}
    ]
    assert NodeKey.of(NodeKind.DATASET, **table_source["datasets"][0]) == ORDERS_PG
    # a query source: the tables it reads, and its columns as far as column lineage shows
    spend = records["feature_view:customer_spend"].body
    assert spend["sources"][0]["datasets"] == table_source["datasets"]
    assert spend["features"][0]["columns"] == [
        {"namespace": "postgres://db:5432", "name": "analytics.public.orders", "field": "amount"}
    ]


def test_bodies_are_deterministic() -> None:
    first, _ = records_of(DUMP)
    report = SyncReport(FEAST)
    again = list(feast_records(repo_of(copy.deepcopy(DUMP)), report, "2031-05-05T00:00:00Z"))
    assert [r.body for r in again] == [r.body for r in first.values()]


def test_a_saved_dump_without_its_repo_links_what_it_can() -> None:
    records, report = records_of(DUMP, config=None)
    assert len(records) == 6  # nothing lost
    skipped = {s.where: s.why for s in report.skipped}
    assert "relative path" in skipped["data source orders_file (feature view customer_stats)"]
    assert "offline_store" in skipped["data source orders_table (feature view order_amounts)"]
    assert records["feature_view:customer_stats"].body["sources"][0]["datasets"] == []


def test_a_bad_object_is_skipped_alone_by_name() -> None:
    dump = copy.deepcopy(DUMP)
    view = next(v for v in dump["featureViews"] if v["spec"]["name"] == "customer_stats")
    del view["spec"]["features"][0]["name"]
    records, report = records_of(dump)
    assert "feature_view:customer_stats" not in records
    assert len(records) == 5
    [skipped] = report.skipped
    assert skipped.where == "feature view customer_stats"
    assert "spec.features.0.name" in skipped.why


def test_graph_of_the_dump(tmp_path: Path) -> None:
    store = project(tmp_path, DUMP)
    edges = current(store)
    assert {
        (ORDERS_FILE, "SOURCES", "shop/customer_stats"),
        (ORDERS_PG.display, "SOURCES", "shop/order_amounts"),
        (ORDERS_PG.display, "SOURCES", "shop/customer_spend"),
        ("shop/customer_stats", "HAS_FEATURE", "shop/customer_stats:max_amount"),
        (f"{ORDERS_FILE}#amount_avg", "FEEDS", "shop/customer_stats:avg_amount"),
        (f"{ORDERS_PG.display}#amount", "FEEDS", "shop/customer_spend:spend"),
        (f"{ORDERS_PG.display}#amount", "FEEDS", "shop/order_amounts:amount"),
        ("shop/customer_stats:avg_amount", "FEEDS", "shop/discounted:discounted_avg"),
        ("shop/customer_stats", "SERVES_FEATURES", "shop/scoring"),
        ("shop/customer_stats:total_orders", "SERVES_FEATURES", "shop/scoring"),
        ("shop/discounted:discounted_avg", "SERVES_FEATURES", "shop/scoring"),
        ("data-team@example.com", "OWNS", "shop/customer"),
        ("growth", "OWNS", "shop/customer_stats"),
        ("bob@example.com", "OWNS", "shop/scoring"),
    } <= edges
    # the service selects two of customer_stats' three features
    assert ("shop/customer_stats:avg_amount", "SERVES_FEATURES", "shop/scoring") not in edges
    feature = store.get_node(
        NodeKey.of(NodeKind.FEATURE, project="shop", view="customer_stats", name="avg_amount").id
    )
    assert feature is not None
    assert feature.props["dtype"] == "Float32"
    odfv = store.get_node(NodeKey.of(NodeKind.FEATURE_VIEW, project="shop", name="discounted").id)
    assert odfv is not None
    assert odfv.props["on_demand"] is True
    assert odfv.props["request_fields"] == ["checkout.discount"]


def _renamed(dump: dict[str, Any], old: str, new: str, time: str) -> dict[str, Any]:
    """The dump after `old` was renamed `new` in the repo and applied at `time`."""
    text = json.dumps(dump).replace(old, new)
    changed = json.loads(text)
    for group in ("featureViews", "onDemandFeatureViews", "featureServices"):
        for item in changed[group]:
            if new in json.dumps(item):
                item["meta"]["lastUpdatedTimestamp"] = time
    return changed


def test_a_dropped_feature_is_retired(tmp_path: Path) -> None:
    v2 = _renamed(DUMP, "max_amount", "last_amount", "2027-01-01T00:00:00Z")
    store = project(tmp_path, DUMP, v2)
    edges = current(store)
    gone = {
        ("shop/customer_stats", "HAS_FEATURE", "shop/customer_stats:max_amount"),
        ("shop/customer_stats:max_amount", "SERVES_FEATURES", "shop/scoring"),
        ("shop/customer_stats:max_amount", "FEEDS", "shop/discounted:discounted_avg"),
    }
    assert not gone & edges
    assert {
        ("shop/customer_stats", "HAS_FEATURE", "shop/customer_stats:last_amount"),
        ("shop/customer_stats:last_amount", "SERVES_FEATURES", "shop/scoring"),
        ("shop/customer_stats:last_amount", "FEEDS", "shop/discounted:discounted_avg"),
        ("shop/customer_stats", "HAS_FEATURE", "shop/customer_stats:total_orders"),
    } <= edges
    retired = [e for e in store.iter_edges() if not e.current]
    assert {(e.key.src.display, e.key.kind.value, e.key.dst.display) for e in retired} == gone
    assert {e.valid_to for e in retired} == {"2027-01-01T00:00:00.000000Z"}


@pytest.mark.parametrize(
    ("source", "offline", "expected"),
    [
        (
            {
                "name": "s",
                "type": "BATCH_BIGQUERY",
                "bigqueryOptions": {"table": "p1:sales.orders"},
            },
            {"type": "bigquery"},
            ("bigquery", "p1.sales.orders"),
        ),
        (
            {"name": "s", "type": "BATCH_BIGQUERY", "bigqueryOptions": {"table": "sales.orders"}},
            {"type": "bigquery", "project_id": "p1"},
            ("bigquery", "p1.sales.orders"),
        ),
        (
            {
                "name": "s",
                "type": "BATCH_SNOWFLAKE",
                "snowflakeOptions": {"table": "ORDERS", "database": "DW", "schema": "SALES"},
            },
            {"type": "snowflake.offline", "account": "ACME-EU1", "database": "OTHER"},
            ("snowflake://acme-eu1", "DW.SALES.ORDERS"),
        ),
        (
            {"name": "s", "type": "BATCH_REDSHIFT", "redshiftOptions": {"table": "orders"}},
            {"type": "redshift", "cluster_id": "c1", "region": "eu-west-1", "database": "dev"},
            ("redshift://c1.eu-west-1:5439", "dev.public.orders"),
        ),
        (
            {"name": "s", "type": "BATCH_FILE", "fileOptions": {"uri": "s3a://lake/orders/"}},
            {"type": "file"},
            ("s3://lake", "orders"),
        ),
        (
            {
                "name": "s",
                "type": "STREAM_KAFKA",
                "kafkaOptions": {"kafkaBootstrapServers": "Broker:9092,b2:9092", "topic": "orders"},
            },
            {"type": "file"},
            ("kafka://broker:9092", "orders"),
        ),
    ],
)
def test_warehouse_sources_are_named_by_identity_rules(
    source: dict[str, Any], offline: dict[str, Any], expected: tuple[str, str]
) -> None:
    config = RepoConfig.model_validate({"project": "p", "offline_store": offline})
    report = SyncReport(FEAST)
    resolver = SourceResolver(FeastRepo(RegistryDump(project="p"), config, REPO_DIR), report)
    resolved = resolver.resolve(DataSource.model_validate(source), "test")
    assert report.skipped == []
    assert [(d.namespace, d.name) for d in resolved.ref.datasets] == [expected]


def test_request_sources_have_no_dataset() -> None:
    report = SyncReport(FEAST)
    resolver = SourceResolver(repo_of(DUMP), report)
    source = DataSource.model_validate({"name": "checkout", "type": "REQUEST_SOURCE"})
    resolved = resolver.resolve(source, "test")
    assert (resolved.ref.type, resolved.ref.datasets, report.skipped) == ("request", [], [])


def test_dtype_names() -> None:
    assert [dtype_name(t) for t in ("INT64", "FLOAT", "DOUBLE_LIST", "STRING_SET", "PDF")] == [
        "Int64",
        "Float32",
        "Array(Float64)",
        "Set(String)",
        "PDF",
    ]


def test_unknown_record_kind_is_refused() -> None:
    entry = LogEntry(1, "e1", FEAST, "saved_dataset", "2030-01-01T00:00:00.000000Z", "", {})
    with pytest.raises(UnknownFeastRecord):
        map_entry(entry)

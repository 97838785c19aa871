"""The dbt sync and mapper on small hand-written manifest snippets (postgres-named), one concern
each; the real manifest of a real `dbt build` is in tests/integration/test_dbt_sync.py."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.ingest.dbt.mapping import map_entry
from lineage_kg.ingest.dbt.profiles import ProfileError, profile_namespace, target_namespace
from lineage_kg.ingest.dbt.sync import column_of, dbt_records
from lineage_kg.ingest.eventlog import LogEntry, event_id_of
from lineage_kg.ingest.identity import table_dataset
from lineage_kg.ingest.source_sync import SourceRecord, SyncReport, record_time

NS = "postgres://db:5432"
GENERATED = "2024-05-01T10:00:00.000000Z"
E = EdgeKind


def model(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "unique_id": f"model.shop.{name}",
        "resource_type": "model",
        "name": name,
        "database": "analytics",
        "schema": "public",
        "alias": name,
        "config": {"materialized": "table", "meta": {}},
        "depends_on": {"nodes": []},
        **extra,
    }


def manifest(**parts: Any) -> dict[str, Any]:
    return {
        "metadata": {"generated_at": GENERATED, "adapter_type": "postgres", "project_name": "shop"},
        "nodes": {},
        "sources": {},
        **parts,
    }


def nodes(*items: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["unique_id"]: n for n in items}


def ds(name: str) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace=NS, name=f"analytics.public.{name}")


def col(name: str, field: str) -> NodeKey:
    return NodeKey.of(NodeKind.COLUMN, namespace=NS, name=f"analytics.public.{name}", field=field)


def records(
    m: dict[str, Any], run_results: dict | None = None
) -> tuple[list[SourceRecord], SyncReport]:
    report = SyncReport("dbt")
    return dbt_records(m, run_results, NS, report), report


def projected(recs: list[SourceRecord]) -> EmbeddedStore:
    store = EmbeddedStore()
    for seq, r in enumerate(recs, 1):
        entry = LogEntry(
            seq, event_id_of("dbt", r.body), "dbt", r.kind, record_time(r.event_time), "", r.body
        )
        store.apply(map_entry(entry), seq)
    return store


def ends(store: EmbeddedStore, node: NodeKey, direction: Direction, kind: EdgeKind) -> set:
    return {
        (e.key.src if direction is Direction.IN else e.key.dst)
        for e in store.neighbors([node.id], direction, [kind])
    }


def test_a_postgres_model_is_the_table_openlineage_names() -> None:
    recs, report = records(manifest(nodes=nodes(model("orders"))))
    assert not report.skipped
    store = projected(recs)
    key = table_dataset(
        "postgres", host="db", database="analytics", schema="public", table="orders"
    )
    assert key == ds("orders")
    assert store.get_node(key.id).props["dbt_unique_id"] == "model.shop.orders"


def test_quoted_names_keep_their_case_and_sources_use_their_identifier() -> None:
    source = {
        "unique_id": "source.shop.crm.Customers",
        "resource_type": "source",
        "name": "customers",
        "identifier": '"Customers"',
        "database": '"Analytics"',
        "schema": "crm",
    }
    recs, _ = records(manifest(sources=nodes(source)))
    assert recs[0].body["dataset"] == {"namespace": NS, "name": "Analytics.crm.Customers"}


def test_upstream_columns_owners_meta_and_job() -> None:
    stg = model(
        "stg_orders",
        columns={"amount": {"name": "amount", "description": "EUR", "data_type": "numeric"}},
    )
    mart = model(
        "revenue",
        depends_on={"nodes": ["model.shop.stg_orders"]},
        meta={"owner": ["Ann@Example.com", "ops"], "tier": "gold", "nested": {"a": 1}},
        compiled_code='select sum(amount) as total from "analytics"."public"."stg_orders"',
    )
    store = projected(records(manifest(nodes=nodes(stg, mart)))[0])
    job = NodeKey.of(NodeKind.JOB, namespace="shop", name="model.shop.revenue")
    assert ends(store, job, Direction.IN, E.INPUT_TO) == {ds("stg_orders")}
    assert ends(store, job, Direction.OUT, E.PRODUCES) == {ds("revenue")}
    props = store.get_node(ds("revenue").id).props
    assert props["meta_tier"] == "gold"
    assert "meta_nested" not in props and "meta_owner" not in props  # scalars only; owner: edges
    owners = {
        e.key.src.parts[0]: e.key.disc
        for e in store.neighbors([ds("revenue").id], Direction.IN, [E.OWNS])
    }
    assert owners == {"ann@example.com": "technical", "ops": "technical"}
    assert store.get_node(col("stg_orders", "amount").id).props == {
        "description": "EUR",
        "data_type": "numeric",
    }
    assert ends(store, col("revenue", "total"), Direction.IN, E.FEEDS) == {
        col("stg_orders", "amount")
    }


def test_bad_nodes_are_skipped_by_name_and_field_the_rest_syncs() -> None:
    no_schema = model("broken")
    no_schema["schema"] = None
    recs, report = records(manifest(nodes=nodes(no_schema, model("orders"))))
    assert [r.body["unique_id"] for r in recs] == ["model.shop.orders"]
    assert [(s.where, s.why.split(":")[0]) for s in report.skipped] == [
        ("model.shop.broken", "schema")
    ]


SEMANTIC = {
    "unique_id": "semantic_model.shop.orders",
    "name": "orders",
    "node_relation": {"alias": "orders", "schema_name": "public", "database": "analytics"},
    "measures": [
        {"name": "order_total", "agg": "sum", "expr": "amount"},
        {"name": "orders", "agg": "count", "expr": "1"},
    ],
    "entities": [{"name": "order_id", "type": "primary"}],
    "dimensions": [{"name": "is_big", "type": "categorical", "expr": "amount > 100"}],
}


def metric(name: str, kind: str, **params: Any) -> dict[str, Any]:
    return {"unique_id": f"metric.shop.{name}", "name": name, "type": kind, "type_params": params}


def test_metrics_become_kpis_and_an_unknown_measure_is_skipped() -> None:
    m = manifest(
        nodes=nodes(model("orders")),
        semantic_models={SEMANTIC["unique_id"]: SEMANTIC},
        metrics=nodes(
            metric("revenue", "simple", measure={"name": "order_total"})
            | {"meta": {"unit": "EUR"}},
            metric("order_count", "simple", measure={"name": "orders"}),
            metric(
                "aov",
                "derived",
                expr="revenue / order_count",
                metrics=[{"name": "revenue"}, {"name": "order_count"}],
            ),
            metric("ghost", "simple", measure={"name": "nope"}),
            metric("orphan", "ratio", numerator={"name": "revenue"}, denominator={"name": "gone"}),
        ),
    )
    recs, report = records(m)
    assert sorted((s.where, s.why) for s in report.skipped) == [
        ("metric.shop.ghost", "type_params.measure: unknown measure 'nope'"),
        ("metric.shop.orphan", "type_params.denominator: unknown metric 'gone'"),
    ]
    store = projected(recs)
    kpi = lambda n: NodeKey.of(NodeKind.KPI, name=n)  # noqa: E731
    assert store.get_node(kpi("revenue").id).props["unit"] == "EUR"
    assert ends(store, kpi("revenue"), Direction.IN, E.FEEDS) == {col("orders", "amount")}
    assert ends(store, kpi("order_count"), Direction.IN, E.CONSUMED_BY) == {ds("orders")}
    assert ends(store, kpi("aov"), Direction.IN, E.FEEDS) == {kpi("revenue"), kpi("order_count")}
    # the semantic model's plain-column entities and measures are columns of its model
    assert {c.parts[2] for c in ends(store, ds("orders"), Direction.OUT, E.HAS_COLUMN)} == {
        "amount",
        "order_id",
    }


def test_test_results_are_quality_on_dataset_and_column() -> None:
    tests = [
        {
            "unique_id": "test.shop.not_null_orders_id",
            "resource_type": "test",
            "name": "not_null_orders_id",
            "attached_node": "model.shop.orders",
            "test_metadata": {"name": "not_null", "kwargs": {"column_name": "id"}},
            "config": {"severity": "ERROR"},
        },
        {  # a singular test: no attached_node, the one model it depends on
            "unique_id": "test.shop.no_negative",
            "resource_type": "test",
            "name": "no_negative",
            "depends_on": {"nodes": ["model.shop.orders"]},
        },
    ]
    run_results = {
        "metadata": {"generated_at": "2024-05-01T10:05:00Z", "invocation_id": "inv-1"},
        "results": [
            {"unique_id": "test.shop.not_null_orders_id", "status": "pass", "failures": 0,
             "timing": [{"name": "execute", "completed_at": "2024-05-01T10:04:00Z"}]},
            {"unique_id": "test.shop.no_negative", "status": "fail", "failures": 3},
            {"unique_id": "test.shop.unknown", "status": "pass"},
            {"unique_id": "model.shop.orders", "status": "success"},
        ],
    }  # fmt: skip
    recs, report = records(manifest(nodes=nodes(model("orders"), *tests)), run_results)
    assert [(s.where, s.why) for s in report.skipped] == [
        ("test.shop.unknown", "unique_id: test not in the manifest")
    ]
    [result] = [r for r in recs if r.kind == "dbt_test_results"]
    assert record_time(result.event_time) == "2024-05-01T10:04:00.000000Z"
    store = projected(recs)
    props = store.get_node(ds("orders").id).props
    assert (props["quality_passed"], props["quality_failed"]) == (1, 1)
    column = store.get_node(col("orders", "id").id).props
    assert (column["quality_passed"], column["quality_failed"]) == (1, 0)
    # another run with the same outcome is another observation
    again = copy.deepcopy(run_results)
    again["metadata"]["invocation_id"] = "inv-2"
    recs2, _ = records(manifest(nodes=nodes(model("orders"), *tests)), again)
    assert recs2[-1].body != result.body


def test_exposures_and_groups() -> None:
    exposure = {
        "unique_id": "exposure.shop.board",
        "name": "board",
        "type": "dashboard",
        "maturity": "high",
        "owner": {"name": "Carol", "email": "Carol@Example.com"},
        "depends_on": {"nodes": ["model.shop.orders"]},
    }
    group = {"unique_id": "group.shop.fin", "name": "fin", "owner": {"name": "Fin Team"}}
    grouped = model("orders", group="fin")
    store = projected(
        records(manifest(nodes=nodes(grouped), exposures=nodes(exposure), groups=nodes(group)))[0]
    )
    board = NodeKey.of(NodeKind.EXPOSURE, namespace="shop", name="board")
    assert ends(store, board, Direction.IN, E.CONSUMED_BY) == {ds("orders")}
    [owns] = store.neighbors([board.id], Direction.IN, [E.OWNS])
    assert (owns.key.src.parts[0], owns.key.disc) == ("carol@example.com", "business")
    team = NodeKey.of(NodeKind.OWNER, owner_id="team:fin")
    assert {
        e.key.src.parts[0] for e in store.neighbors([ds("orders").id], Direction.IN, [E.OWNS])
    } == {
        "team:fin",
        "Fin Team",
    }
    assert ends(
        store, NodeKey.of(NodeKind.OWNER, owner_id="Fin Team"), Direction.OUT, E.MEMBER_OF
    ) == {team}


def test_records_are_deterministic() -> None:
    m = manifest(nodes=nodes(model("b"), model("a")))
    first, _ = records(m)
    reordered = manifest(nodes=dict(reversed(list(m["nodes"].items()))))
    second, _ = records(reordered)
    assert first == second


def test_unknown_record_kind_is_refused() -> None:
    entry = LogEntry(1, "x", "dbt", "dbt_unheard_of", GENERATED, "", {})
    with pytest.raises(KeyError, match="dbt_unheard_of"):
        map_entry(entry)


@pytest.mark.parametrize(
    ("expr", "name", "column"),
    [(None, "amount", "amount"), ("amount", "x", "amount"), ('"Amount"', "x", "Amount"),
     ("1", "x", None), ("amount * 2", "x", None)],
)  # fmt: skip
def test_column_of(expr: str | None, name: str, column: str | None) -> None:
    assert column_of(expr, name) == column


@pytest.mark.parametrize(
    ("output", "namespace"),
    [
        ({"type": "postgres", "host": "DB", "port": 5432}, "postgres://db:5432"),
        ({"type": "postgres", "host": "db"}, "postgres://db:5432"),
        (
            {"type": "redshift", "host": "rs.example.com", "port": 5439},
            "redshift://rs.example.com:5439",
        ),
        ({"type": "snowflake", "account": "xy12345"}, "snowflake://xy12345.us-west-1.aws"),
        ({"type": "snowflake", "account": "myorg-acct"}, "snowflake://myorg-acct"),
        ({"type": "bigquery", "project": "p"}, "bigquery"),
        ({"type": "duckdb", "path": "target/shop.duckdb"}, "duckdb://target/shop.duckdb"),
    ],
)
def test_target_namespace_as_dbt_ol_derives_it(output: dict, namespace: str) -> None:
    assert target_namespace(output) == namespace


def test_profile_namespace_renders_env_vars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "profiles.yml").write_text(
        "shop:\n  target: prod\n  outputs:\n    prod:\n      type: postgres\n"
        "      host: \"{{ env_var('PGHOST_TEST', 'fallback') }}\"\n      port: 6432\n"
    )
    monkeypatch.setenv("PGHOST_TEST", "warehouse")
    assert profile_namespace(tmp_path, None, None) == "postgres://warehouse:6432"
    with pytest.raises(ProfileError, match="no target 'dev'"):
        profile_namespace(tmp_path, None, "dev")
    with pytest.raises(ProfileError, match="spark"):
        target_namespace({"type": "spark", "host": "h"})

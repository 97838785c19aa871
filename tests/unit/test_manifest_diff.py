"""ingest/dbt/manifest_diff.py on hand-made manifest pairs: drops, renames (and when a pair is
not taken for one), type changes, removed models, relation renames, SQL changes, and the names
being the dbt sync's own (the same keys `lkg sync dbt` gives the model's dataset and columns)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.ingest.dbt.manifest_diff import diff_manifests, renames
from lineage_kg.ingest.dbt.records import ColumnInfo
from lineage_kg.ingest.dbt.sync import dbt_records
from lineage_kg.ingest.source_sync import SyncReport

NS = "duckdb://target/shop.duckdb"
UID = "model.shop.orders"


def column(name: str, data_type: str | None = None) -> dict[str, Any]:
    return {"name": name, "description": "", "data_type": data_type}


def model(
    name: str, columns: list[dict[str, Any]], sql: str = "select 1", alias: str | None = None
) -> dict[str, Any]:
    return {
        "unique_id": f"model.shop.{name}",
        "resource_type": "model",
        "name": name,
        "alias": alias or name,
        "database": "shop",
        "schema": "main",
        "columns": {c["name"]: c for c in columns},
        "compiled_code": sql,
        "raw_code": sql,
        "depends_on": {"nodes": []},
    }


def manifest(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"generated_at": "2026-12-01T00:00:00Z", "project_name": "shop"},
        "nodes": {n["unique_id"]: n for n in nodes},
    }


def col_key(table: str, field: str) -> NodeKey:
    return NodeKey.of(NodeKind.COLUMN, namespace=NS, name=f"shop.main.{table}", field=field)


def ds_key(table: str) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace=NS, name=f"shop.main.{table}")


def changes(base: dict[str, Any], proposed: dict[str, Any]) -> dict[NodeKey, str]:
    found = diff_manifests(base, proposed, NS).changes
    assert len({c.node for c in found}) == len(found), "one change per node"
    return {c.node: c.kind for c in found}


BASE = model("orders", [column("id", "integer"), column("amount", "decimal(10,2)")])


def test_nothing_changed_is_no_change() -> None:
    assert changes(manifest(BASE), manifest(copy.deepcopy(BASE))) == {}


def test_dropped_column_is_a_drop() -> None:
    new = model("orders", [column("id", "integer")])
    assert changes(manifest(BASE), manifest(new)) == {col_key("orders", "amount"): "drop"}


def test_one_dropped_and_one_added_of_the_same_type_is_a_rename() -> None:
    new = model("orders", [column("id", "integer"), column("total", "DECIMAL(10, 2)")])
    # types compare lowercased with runs of blanks collapsed (not removed): "(10, 2)" is not
    # "(10,2)", so this pair is no rename
    assert changes(manifest(BASE), manifest(new)) == {col_key("orders", "amount"): "drop"}
    new = model("orders", [column("id", "integer"), column("total", "Decimal(10,2)")])
    assert changes(manifest(BASE), manifest(new)) == {col_key("orders", "amount"): "rename:total"}


def test_two_candidates_of_one_type_stay_drops() -> None:
    base = model("orders", [column("a", "int"), column("b", "int")])
    new = model("orders", [column("c", "int"), column("d", "int")])
    assert changes(manifest(base), manifest(new)) == {
        col_key("orders", "a"): "drop",
        col_key("orders", "b"): "drop",
    }


def test_untyped_columns_pair_only_when_alone() -> None:
    base = model("orders", [column("a"), column("keep")])
    assert changes(manifest(base), manifest(model("orders", [column("b"), column("keep")]))) == {
        col_key("orders", "a"): "rename:b"
    }
    base = model("orders", [column("a"), column("x", "int")])
    new = model("orders", [column("b"), column("y", "text")])
    # two dropped, two added: the untyped pair is not alone, and the typed ones differ in type
    assert changes(manifest(base), manifest(new)) == {
        col_key("orders", "a"): "drop",
        col_key("orders", "x"): "drop",
    }


def test_type_change_needs_both_types_declared() -> None:
    new = model("orders", [column("id", "bigint"), column("amount")])
    assert changes(manifest(BASE), manifest(new)) == {col_key("orders", "id"): "type:bigint"}


def test_removed_model_drops_its_dataset() -> None:
    other = model("customers", [column("id")])
    assert changes(manifest(BASE, other), manifest(other)) == {ds_key("orders"): "drop"}


def test_alias_change_renames_the_dataset() -> None:
    new = copy.deepcopy(BASE) | {"alias": "orders_v2"}
    renamed = {ds_key("orders"): "rename:shop.main.orders_v2"}
    assert changes(manifest(BASE), manifest(new)) == renamed


def test_sql_change_marks_the_kept_columns_semantics() -> None:
    new = model("orders", [column("id", "bigint")], sql="select id from somewhere_else")
    assert changes(manifest(BASE), manifest(new)) == {
        col_key("orders", "amount"): "drop",
        col_key("orders", "id"): "type:bigint",  # a type change says more than semantics
    }
    new = model("orders", [column("id", "integer"), column("amount", "decimal(10,2)")], "select 2")
    assert changes(manifest(BASE), manifest(new)) == {
        col_key("orders", "id"): "semantics",
        col_key("orders", "amount"): "semantics",
    }


def test_sql_reformatted_is_no_change() -> None:
    new = copy.deepcopy(BASE) | {"compiled_code": "select\n   1  ", "raw_code": "select  1"}
    assert changes(manifest(BASE), manifest(new)) == {}


def test_sql_change_without_documented_columns_marks_the_dataset() -> None:
    base, new = model("orders", [], "select 1"), model("orders", [], "select 2")
    assert changes(manifest(base), manifest(new)) == {ds_key("orders"): "semantics"}


def test_raw_code_counts_when_not_compiled() -> None:
    base = copy.deepcopy(BASE) | {"compiled_code": None}
    new = copy.deepcopy(base) | {"raw_code": "select 3"}
    assert changes(manifest(base), manifest(new)) == {
        col_key("orders", "id"): "semantics",
        col_key("orders", "amount"): "semantics",
    }


def test_a_broken_node_is_reported_not_fatal() -> None:
    broken = model("broken", [column("x")]) | {"database": ""}
    diff = diff_manifests(manifest(BASE, broken), manifest(BASE), NS)
    assert diff.changes == []
    assert any("model.shop.broken" in s and "database" in s for s in diff.skipped)


def test_names_are_the_dbt_syncs_own() -> None:
    """The changed columns are nodes the dbt sync of the base manifest names (one naming)."""
    base = manifest(BASE)
    records = dbt_records(base, None, NS, SyncReport("dbt"))
    body = next(r.body for r in records if r.body.get("unique_id") == UID)
    synced = {col_key_from(body["dataset"], c["name"]) for c in body["columns"]}
    found = {c.node for c in diff_manifests(base, manifest(model("orders", [])), NS).changes}
    assert found == synced


def col_key_from(ds: dict[str, str], field: str) -> NodeKey:
    from lineage_kg.graph.naming import column_key, dataset_key

    return column_key(dataset_key(ds["namespace"], ds["name"]), field)


TYPES = st.sampled_from(["int", "text", None])
NAMES = st.text("abcdef", min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(NAMES, TYPES, max_size=5),
    st.dictionaries(NAMES.map(lambda n: n + "z"), TYPES, max_size=5),
)
def test_renames_against_a_counting_oracle(
    dropped: dict[str, str | None], added: dict[str, str | None]
) -> None:
    """A rename pairs one dropped and one added column of one type, each used once, and only
    where that type has exactly one of each (untyped: only when both sides are singletons)."""
    found = renames(
        {n: ColumnInfo(name=n, data_type=t) for n, t in dropped.items()},
        {n: ColumnInfo(name=n, data_type=t) for n, t in added.items()},
    )
    assert len(set(found.values())) == len(found)
    for t in {*dropped.values(), *added.values()}:
        olds = [n for n, x in dropped.items() if x == t]
        news = [n for n, x in added.items() if x == t]
        unique = len(olds) == 1 and len(news) == 1
        alone = t is not None or (len(dropped) == 1 and len(added) == 1)
        expected = {olds[0]: news[0]} if unique and alone else {}
        assert {o: n for o, n in found.items() if o in olds} == expected


@pytest.mark.parametrize("bad", [{}, {"metadata": {}}, {"nodes": {}}])
def test_not_a_manifest_is_refused(bad: dict[str, Any]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        diff_manifests(bad, manifest(BASE), NS)

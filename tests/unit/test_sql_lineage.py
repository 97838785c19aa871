"""Column lineage derived from a job's SQL agrees with the target's schema (issue 16 §5): items
are mapped by position, never named `_0`, `_1`; and the producer's own column lineage supersedes
what SQL gave an output."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.ingest.sql_lineage import parse_sql, sql_column_flows
from lineage_kg.ingest.sql_select import Statement, positional_query, select_list
from tests.openlineage_sql_events import (
    COLUMN_LINEAGE,
    COMPLETE_AT,
    DAILY,
    DAILY_SCHEMA,
    SQL_FEEDS,
    START_AT,
    dataset,
    hive_event,
)

PG = "postgres://db:5432"


def ds(name: str) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace=PG, name=name)


def col(name: str, field: str) -> NodeKey:
    return NodeKey.of(NodeKind.COLUMN, namespace=PG, name=name, field=field)


SRC, OTHER, OUT = ds("shop.public.src"), ds("shop.public.other"), ds("shop.public.out")
CANDIDATES_IN = [(SRC, ("shop.public.src",)), (OTHER, ("shop.public.other",))]
CANDIDATES_OUT = [(OUT, ("shop.public.out",))]


def flows(query: str, schema: list[str] | None = None) -> set[tuple[str, str, str]]:
    found = sql_column_flows(
        query,
        "postgres",
        CANDIDATES_IN,
        CANDIDATES_OUT,
        {OUT: schema} if schema else {},
        schemas={OUT: schema} if schema else None,
    )
    return {(src.parts[1].rsplit(".", 1)[1], src.parts[2], dst.parts[2]) for src, dst in found}


# ---- the select list, by position --------------------------------------------------------------


def test_the_select_list_gives_each_item_its_position_and_its_own_name() -> None:
    query = (
        "INSERT INTO out SELECT a, DATE(b), c + 1 AS d, s.e f, x::date, NULL, "
        '"Q"."g", count(*) cnt FROM src s GROUP BY 1'
    )
    found = select_list(query)
    assert found is not None
    assert found.statement is Statement.INSERT and found.insert_columns is None
    assert [i.name for i in found.items] == ["a", None, "d", "f", None, None, "g", "cnt"]
    assert positional_query(query, found) == (
        "INSERT INTO out SELECT a AS lkg__p0, DATE(b) AS lkg__p1, c + 1 AS lkg__p2, "
        's.e AS lkg__p3, x::date AS lkg__p4, NULL AS lkg__p5, "Q"."g" AS lkg__p6, '
        "count(*) AS lkg__p7 FROM src s GROUP BY 1"
    )


def test_ctes_an_insert_column_list_and_union_branches_are_followed() -> None:
    query = (
        "INSERT INTO out (x, y) WITH w AS (SELECT a, DATE(b) AS bb FROM src) "
        "SELECT a, UPPER(bb) FROM w UNION ALL SELECT k, v FROM other"
    )
    found = select_list(query)
    assert found is not None
    assert found.insert_columns == ("x", "y")
    assert [[i.name for i in branch] for branch in found.branches] == [["a", None], ["k", "v"]]


@pytest.mark.parametrize(
    "query",
    [
        "INSERT INTO out SELECT * FROM src",
        "INSERT INTO out SELECT s.*, 1 FROM src s",
        "INSERT INTO out SELECT a FROM src UNION SELECT a, b FROM other",
        "(SELECT a FROM src) UNION (SELECT a FROM other)",
        "INSERT INTO out VALUES (1, 2)",
        "INSERT INTO out SELECT a FROM src; SELECT 1",
        "INSERT INTO out SELECT f(a FROM src",
        "INSERT INTO out SELECT a) FROM src",
        "INSERT INTO out (x, f(y)) SELECT a, b FROM src",
    ],
)
def test_what_the_select_list_reader_does_not_follow_gives_none(query: str) -> None:
    assert select_list(query) is None


@pytest.mark.parametrize(
    ("query", "names"),
    [
        (
            "SELECT date, type t, CASE WHEN a THEN 1 END status, x IS NULL AS missing, NULL n "
            "FROM src",
            ["date", "t", "status", "missing", "n"],
        ),
        ("SELECT DISTINCT ON (a) a, b /* note */ FROM src -- trailing", ["a", "b"]),
        ("CREATE OR REPLACE VIEW v AS WITH w AS (SELECT 1 x) SELECT x, x + 1 FROM w", ["x", None]),
        ("INSERT OVERWRITE TABLE t PARTITION (dt='1') SELECT a, -b FROM src", ["a", None]),
        (
            """SELECT date '2020-01-01' d, a COLLATE "C", NOT a, $1 FROM src""",
            ["d", None, None, None],
        ),
    ],
)
def test_keyword_columns_comments_and_aliases_sqlparse_leaves_apart_are_followed(
    query: str, names: list[str | None]
) -> None:
    found = select_list(query)
    assert found is not None and found.insert_columns is None
    assert [i.name for i in found.items] == names
    rewritten = positional_query(query, found)
    assert re.findall(r" AS lkg__p(\d+)", rewritten) == [str(n) for n in range(len(names))]
    dialect = "hive" if "PARTITION" in query else "postgres"
    assert parse_sql(rewritten, dialect).errors == []  # the rewrite is still SQL


# ---- output columns ----------------------------------------------------------------------------


def test_an_insert_maps_by_position_onto_the_target_schema_not_onto_parser_names() -> None:
    query = "INSERT INTO public.out SELECT a, DATE(b), c + d AS total FROM public.src"
    assert flows(query, ["id", "day", "amount"]) == {
        ("src", "a", "id"),
        ("src", "b", "day"),
        ("src", "c", "amount"),  # positions decide an INSERT, not aliases
        ("src", "d", "amount"),
    }


def test_without_a_schema_an_unaliased_expression_stays_dataset_level() -> None:
    query = "INSERT INTO public.out SELECT a, DATE(b), c + d AS total FROM public.src"
    assert flows(query) == {("src", "a", "a"), ("src", "c", "total"), ("src", "d", "total")}


def test_a_schema_of_another_width_is_not_used_for_positions() -> None:
    query = "INSERT INTO public.out SELECT a, DATE(b) FROM public.src"
    assert flows(query, ["a", "b", "loaded_at"]) == {("src", "a", "a")}


def test_an_insert_column_list_maps_by_position_onto_the_list() -> None:
    query = "INSERT INTO public.out (b, a, day) SELECT x AS a, y AS b, DATE(z) FROM public.src"
    assert flows(query) == {("src", "x", "b"), ("src", "y", "a"), ("src", "z", "day")}
    # a list of another width than the select list: nothing is known per column
    assert flows("INSERT INTO public.out (a, b) SELECT x FROM public.src") == set()


def test_a_bare_select_takes_schema_names_for_expressions_only_if_the_schema_agrees() -> None:
    query = "SELECT id, lower(email), amount AS total FROM public.src"
    assert flows(query, ["id", "email", "total"]) == {
        ("src", "id", "id"),
        ("src", "email", "email"),
        ("src", "amount", "total"),
    }
    # dbt lists documented columns in any order: the names disagree, so no position is trusted
    assert flows(query, ["total", "email", "id"]) == {
        ("src", "id", "id"),
        ("src", "amount", "total"),
    }
    # and a subset of the columns is no schema to count positions in
    assert flows(query, ["id"]) == {("src", "id", "id"), ("src", "amount", "total")}


def test_union_branches_feed_the_same_positions() -> None:
    query = (
        "INSERT INTO public.out SELECT a, DATE(b) FROM public.src "
        "UNION ALL SELECT k, v FROM public.other"
    )
    assert flows(query, ["key", "day"]) == {
        ("src", "a", "key"),
        ("src", "b", "day"),
        ("other", "k", "key"),
        ("other", "v", "day"),
    }


def test_when_positions_are_unknown_the_parsers_made_up_names_feed_nothing() -> None:
    query = "INSERT INTO public.out SELECT a, DATE(b), s.* FROM public.src s"
    assert flows(query, ["a", "b_day", "c"]) == {("src", "a", "a")}


# ---- on the graph --------------------------------------------------------------------------


def apply(*events: dict[str, Any]) -> EmbeddedStore:
    store = EmbeddedStore()
    for n, event in enumerate(events):
        store.apply(map_event(event, f"ev-{n}"))
    return store


def feeds(store: EmbeddedStore, as_of: str | None = None) -> set[tuple[NodeKey, NodeKey, str]]:
    columns = [e.key.dst for e in store.neighbors([dataset(DAILY).id], Direction.OUT)]
    return {
        (e.key.src, e.key.dst, e.key.disc)
        for e in store.neighbors([c.id for c in columns], Direction.IN, [EdgeKind.FEEDS], as_of)
    }


def test_a_hive_insert_feeds_the_schemas_columns_and_makes_up_none() -> None:
    store = apply(hive_event("START", START_AT))
    assert feeds(store) == {(src, dst, "sql") for src, dst in SQL_FEEDS}
    has = store.neighbors([dataset(DAILY).id], Direction.OUT, [EdgeKind.HAS_COLUMN])
    assert {e.key.dst.parts[2] for e in has} == {f["name"] for f in DAILY_SCHEMA["fields"]}


def test_the_producers_column_lineage_supersedes_sql_lineage_and_as_of_still_sees_it() -> None:
    store = apply(
        hive_event("START", START_AT),
        hive_event("COMPLETE", COMPLETE_AT, lineage=COLUMN_LINEAGE),
    )
    observed = {(src, dst, "") for src, dst in SQL_FEEDS}  # the producer agrees with the SQL
    assert feeds(store) == observed  # … and its own edges are the current ones
    assert feeds(store, as_of=canonical_time(START_AT)) == {(s, d, "sql") for s, d, _ in observed}
    retired = [
        e for e in store.iter_edges() if e.key.kind is EdgeKind.FEEDS and e.key.disc == "sql"
    ]
    assert {e.valid_to for e in retired} == {canonical_time(COMPLETE_AT)}


def test_a_column_lineage_facet_naming_no_output_column_supersedes_nothing() -> None:
    whole_only = {"dataset": COLUMN_LINEAGE["dataset"]}
    store = apply(
        hive_event("START", START_AT),
        hive_event("RUNNING", COMPLETE_AT, lineage=whole_only),
    )
    assert {(s, d) for s, d, disc in feeds(store) if disc == "sql"} == SQL_FEEDS

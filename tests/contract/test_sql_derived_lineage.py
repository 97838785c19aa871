"""SQL-derived column lineage on both stores (issue 16 §5): a Hive-style INSERT whose items are
expressions without alias feeds the columns of the output's schema by position; the COMPLETE
that brings the producer's own column lineage retires the SQL-derived edges, which `asOf` still
sees."""

from __future__ import annotations

from lineage_kg.graph.model import EdgeKind, NodeKey
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.openlineage.mapping import map_event
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


def feeds_into_daily(
    store: GraphStore, as_of: str | None = None
) -> set[tuple[NodeKey, NodeKey, str]]:
    has = store.neighbors([dataset(DAILY).id], Direction.OUT, [EdgeKind.HAS_COLUMN], as_of)
    into = store.neighbors([e.key.dst.id for e in has], Direction.IN, [EdgeKind.FEEDS], as_of)
    return {(e.key.src, e.key.dst, e.key.disc) for e in into}


def test_sql_lineage_follows_the_schema_and_yields_to_the_producers(store: GraphStore) -> None:
    store.apply(map_event(hive_event("START", START_AT), "hive-start"))

    assert feeds_into_daily(store) == {(src, dst, "sql") for src, dst in SQL_FEEDS}
    columns = store.neighbors([dataset(DAILY).id], Direction.OUT, [EdgeKind.HAS_COLUMN])
    assert sorted(e.key.dst.parts[2] for e in columns) == sorted(
        f["name"] for f in DAILY_SCHEMA["fields"]
    )  # no `_0`, `_1`, `_2`, and no `id`: the INSERT's positions, not the parser's names

    complete = hive_event("COMPLETE", COMPLETE_AT, lineage=COLUMN_LINEAGE)
    store.apply(map_event(complete, "hive-complete"))

    assert feeds_into_daily(store) == {(src, dst, "") for src, dst in SQL_FEEDS}
    before = feeds_into_daily(store, as_of=canonical_time(START_AT))
    assert before == {(src, dst, "sql") for src, dst in SQL_FEEDS}
    sql_edges = [e for e in store.iter_edges() if e.key.disc == "sql"]
    assert len(sql_edges) == len(SQL_FEEDS)
    assert {(e.valid_to, e.retired_by) for e in sql_edges} == {
        (canonical_time(COMPLETE_AT), "hive-complete")
    }

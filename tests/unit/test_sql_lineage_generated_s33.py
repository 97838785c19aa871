"""Column lineage derived from a job's SQL (ingest/sql_lineage.py, through the OpenLineage mapping)
against an oracle that knows, by construction, which source columns each output column reads
(session 33 red team).

Generated statements as Airflow's SQL operators send them (a `sql` job facet, no columnLineage,
the inputs with their full schemas): `INSERT INTO public.out (o1, …) SELECT …` over one table or a
join of two, with aliases, functions, arithmetic, CASE, literals, a WHERE, a GROUP BY, and the
select list read through a CTE or a subquery. The oracle: output column i reads every column
the i-th select item names (a CASE's condition too, as openlineage-sql counts it), followed
through CTE and subquery aliases to the tables; the FEEDS edges the mapping derives from SQL must
be exactly those.

Wrong answers found, mended in session 33 (ingest/sql_lineage.py `_holder`, ingest/sql_select.py
`select_list`), each test failing before its mend:
- an unqualified column of a join was put on the wrong table when the parser cannot tell which
  table holds it: `INSERT INTO public.out (o1, o2) SELECT b, d FROM public.s1 x JOIN public.s2 y
  ON x.a = y.a` (s1 has a, b, c; s2 has a, d, e, both in the event's schema facets) derived
  s1.d -> o2, a column s1 does not have, and nothing from s2.d;
- `WITH t AS (SELECT a, b AS bb FROM public.s1) INSERT INTO public.out (o1, o2) SELECT t.bb,
  t.a FROM t` fed made-up columns out.bb and out.a instead of o1 <- s1.b, o2 <- s1.a.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind
from lineage_kg.graph.mutations import Direction, EdgeUpsert, MutationBatch
from lineage_kg.graph.naming import column_key, dataset_key
from lineage_kg.ingest.eventlog import event_id_of
from lineage_kg.ingest.openlineage.mapping import map_event

PG = "postgres://db:5432"
TABLES = {"s1": ("a", "b", "c"), "s2": ("a", "d", "e")}
Column = tuple[str, str]  # (table, column)


def _schema(fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {"fields": [{"name": f, "type": "integer"} for f in fields]}


def derived(sql: str) -> set[tuple[Column, str]]:
    """The SQL-derived FEEDS of an Airflow-shaped event: ((table, column), output column)."""
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-06-01T10:00:00.000Z",
        "run": {"runId": "00000000-0000-4000-8000-000000000001"},
        "job": {"namespace": "airflow", "name": "shop.load_out", "facets": {"sql": {"query": sql}}},
        "inputs": [
            {"namespace": PG, "name": f"shop.public.{t}", "facets": {"schema": _schema(f)}}
            for t, f in TABLES.items()
        ],
        "outputs": [{"namespace": PG, "name": "shop.public.out"}],
        "producer": "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    found = set()
    for m in map_event(event, "e1").mutations:
        if isinstance(m, EdgeUpsert) and m.key.kind is EdgeKind.FEEDS and m.key.disc == "sql":
            src, dst = m.key.src.parts, m.key.dst.parts
            found.add(((src[1].rsplit(".", 1)[1], src[2]), dst[2]))
    return found


# ---- generated statements, each with the columns it reads -----------------------------------
@st.composite
def expressions(draw: st.DrawFn, refs: list[tuple[str, Column]]) -> tuple[str, set[Column]]:
    """A select item over `refs` ((how the SQL names it, the table column it is)) and the
    table columns it reads."""
    kind = draw(st.sampled_from(["ref", "ref", "func", "arith", "case", "literal"]))
    if kind == "literal":
        return draw(st.sampled_from(["1", "'x'", "NULL"])), set()
    a, b = draw(st.sampled_from(refs)), draw(st.sampled_from(refs))
    if kind == "ref":
        return a[0], {a[1]}
    if kind == "func":
        return f"COALESCE({a[0]}, {b[0]})", {a[1], b[1]}
    if kind == "arith":
        return f"{a[0]} + {b[0]} * 2", {a[1], b[1]}
    return f"CASE WHEN {a[0]} > 0 THEN {b[0]} ELSE 0 END", {a[1], b[1]}


@st.composite
def statements(
    draw: st.DrawFn, *, unqualified: bool = False, cte: bool = False
) -> tuple[str, dict[str, set[Column]]]:
    join = draw(st.booleans())
    aliases = {"x": "s1", "y": "s2"} if join else {"x": "s1"}
    refs: list[tuple[str, Column]] = []
    for alias, table in aliases.items():
        for col in TABLES[table]:
            shared = join and any(col in TABLES[t] for t in aliases.values() if t != table)
            name = col if unqualified and not shared else f"{alias}.{col}"
            refs.append((name, (table, col)))
    width = draw(st.integers(1, 3))
    items = [draw(expressions(refs)) for _ in range(width)]
    outs = [f"o{i + 1}" for i in range(width)]
    select = ", ".join(text for text, _ in items)
    source = "public.s1 x JOIN public.s2 y ON x.a = y.a" if join else "public.s1 x"
    where = draw(st.sampled_from(["", " WHERE x.c > 10"]))
    if cte:  # the same select list, read through a CTE that renames every column
        inner = ", ".join(f"{n} AS k{i}" for i, (n, _) in enumerate(refs))
        select = ", ".join(text for text, _ in items)
        for i, (name, _) in reversed(list(enumerate(refs))):
            select = select.replace(name, f"t.k{i}")
        query = (
            f"WITH t AS (SELECT {inner} FROM {source}{where}) "
            f"INSERT INTO public.out ({', '.join(outs)}) SELECT {select} FROM t"
        )
    else:
        query = f"INSERT INTO public.out ({', '.join(outs)}) SELECT {select} FROM {source}{where}"
    return query, {o: cols for o, (_, cols) in zip(outs, items, strict=True)}


def expected(reads: dict[str, set[Column]]) -> set[tuple[Column, str]]:
    return {(col, out) for out, cols in reads.items() for col in cols}


@settings(max_examples=200)
@given(statements())
def test_qualified_columns_feed_their_output_columns(case: tuple[str, Any]) -> None:
    query, reads = case
    assert derived(query) == expected(reads), query


@settings(max_examples=200)
@given(statements(unqualified=True))
def test_unqualified_columns_of_a_join_feed_their_output_columns(case: tuple[str, Any]) -> None:
    query, reads = case
    assert derived(query) == expected(reads), query


@settings(max_examples=100)
@given(statements(cte=True))
def test_a_cte_before_the_insert_feeds_the_insert_column_list(case: tuple[str, Any]) -> None:
    query, reads = case
    assert derived(query) == expected(reads), query


JOIN = "FROM public.s1 x JOIN public.s2 y ON x.a = y.a"


def test_a_qualified_column_stays_where_the_sql_puts_it() -> None:
    # s1's schema lacks d, but the SQL says x.d: the SQL, not the schema, places it
    assert derived(f"INSERT INTO public.out (o1) SELECT x.d {JOIN}") == {(("s1", "d"), "o1")}


def test_a_column_two_read_tables_hold_stays_the_parsers() -> None:
    # `a` is in both schemas: nothing tells which, so the parser's reading stands
    assert derived(f"INSERT INTO public.out (o1) SELECT a {JOIN}") == {(("s1", "a"), "o1")}


def test_a_column_no_schema_lists_stays_the_parsers() -> None:
    # a schema is no evidence against the SQL unless another read table lists the column
    assert derived(f"INSERT INTO public.out (o1) SELECT zz {JOIN}") == {(("s1", "zz"), "o1")}


# ---- the job's SQL changes from run to run ------------------------------------------------------
def _run(n: int, query: str) -> dict[str, Any]:
    """An Airflow SQL operator's COMPLETE for run `n` (minute n) with `query`."""
    event = {
        "eventType": "COMPLETE",
        "eventTime": f"2026-06-01T10:0{n}:00.000Z",
        "run": {"runId": f"00000000-0000-4000-8000-00000000000{n}"},
        "job": {
            "namespace": "airflow",
            "name": "shop.load_out",
            "facets": {"sql": {"query": query}},
        },
        "inputs": [
            {"namespace": PG, "name": f"shop.public.{t}", "facets": {"schema": _schema(f)}}
            for t, f in TABLES.items()
        ],
        "outputs": [{"namespace": PG, "name": "shop.public.out"}],
    }
    return event


@settings(max_examples=100)
@given(statements(), statements(), st.booleans())
def test_a_changed_query_replaces_the_lineage_it_derived(
    first: tuple[str, Any], second: tuple[str, Any], late: bool
) -> None:
    """Run 1's SQL, then run 2's (maybe arriving first): a column run 2's SQL feeds is fed by what
    it reads now; one only run 1 fed keeps run 1's (nothing in run 2 says otherwise)."""
    store = EmbeddedStore()
    events = [_run(1, first[0]), _run(2, second[0])]
    for event in reversed(events) if late else events:
        batch = MutationBatch()
        batch.extend(map_event(event, event_id_of("openlineage", event)).mutations)
        store.apply(batch)
    now = expected(second[1])
    fed_now = {out for _, out in now}
    want = now | {(col, out) for col, out in expected(first[1]) if out not in fed_now}
    out = dataset_key(PG, "shop.public.out")
    columns = [column_key(out, c).id for c in {o for _, o in want} | {"o1", "o2", "o3"}]
    got = {
        ((e.key.src.parts[1].rsplit(".", 1)[1], e.key.src.parts[2]), e.key.dst.parts[2])
        for e in store.neighbors(columns, Direction.IN, [EdgeKind.FEEDS])
        if e.key.disc == "sql"
    }
    assert got == want, (first[0], second[0])

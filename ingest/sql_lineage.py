"""Column lineage parsed from a job's SQL, for producers that send SQL but no columnLineage.

The parser (openlineage-sql, the one OpenLineage's own integrations use) knows table names as
the SQL wrote them (`orders`, `public.orders`), without namespace. They are matched to the event's
own datasets by name suffix, and anything that does not match exactly one dataset is dropped:
a namespace is never guessed. A bare SELECT (dbt sends a model's compiled SELECT) targets the
event's output if there is exactly one. Statements with several target tables are dropped (the
parser's output columns do not say which table they are in).

Output columns by position (sql_select.py finds the select list; the parser's own names for an
expression without alias, `_0`, `_1`, are a counter, not a column of the target):
- INSERT INTO t (x, y) SELECT …: onto that list, by position;
- INSERT INTO t SELECT …: onto the output's schema facet in the same event, by position, when it
  lists as many top-level columns as the select list has items; without one, an item keeps its
  own name (alias, or the column it references) and an expression without alias feeds no column;
- CREATE TABLE … AS SELECT and a bare SELECT: the select list names the columns; an expression
  without alias takes the schema's column at its position only if the schema is as wide as the
  list and agrees with every name the list gives (dbt lists documented columns only, in any
  order), else it feeds no column.
An unaliased expression that gets no column stays dataset-level lineage (INPUT_TO / PRODUCES).
Schema facets otherwise only spell columns as the dataset does: a column missing from one is no
evidence against the SQL.

A producer's own column lineage supersedes SQL's: `supersede` retires the SQL-derived FEEDS
edges into an output that brings a columnLineage facet.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol

from lineage_kg.graph.model import EdgeKind, NodeKey
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.naming import column_key
from lineage_kg.ingest.facets import facet, facets_of, schema_columns, text
from lineage_kg.ingest.sql_guard import refusal, run_parser
from lineage_kg.ingest.sql_select import POSITION, SelectList, Statement, positional_query
from lineage_kg.ingest.sql_select import select_list as find_select_list

try:
    from openlineage_sql import parse as _parse
except ImportError:  # pragma: no cover - the package is a dependency; degrade, do not crash
    _parse = None

log = logging.getLogger(__name__)


class Retiring(Protocol):
    """Where `supersede` retires edges: the mapper's event under construction (the OpenLineage
    mapper's EventGraph), named here by what it does so this module needs no mapper."""

    def retire(
        self,
        anchor: NodeKey,
        kind: EdgeKind,
        direction: Direction,
        keep: set[NodeKey],
        *,
        disc: str | None = None,
    ) -> None: ...


# a dataset to match: its node and the names the SQL may call it by (event name, canonical name)
Candidate = tuple[NodeKey, Sequence[str]]
SQL = "sql"  # the discriminator and `derived` value of FEEDS edges derived from SQL
# the parser's name for an expression without alias: a counter, not a column
_UNNAMED = re.compile(r"^_\d+$")

_INSERT_COLUMN_LIST = re.compile(
    r"\binsert\s+(?:overwrite\s+)?(?:into\s+)?(?:table\s+)?[^\s(]+\s*\(\s*(?!select\b|with\b)",
    re.IGNORECASE,
)
# dialect by dataset namespace scheme (OpenLineage naming spec) or jobType integration
_DIALECTS = {
    "athena": "athena",
    "awsathena": "athena",
    "bigquery": "bigquery",
    "databricks": "databricks",
    "duckdb": "duckdb",
    "hive": "hive",
    "mssql": "mssql",
    "mysql": "mysql",
    "postgres": "postgres",
    "postgresql": "postgres",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "spark": "spark",
    "sqlite": "sqlite",
    "sqlserver": "mssql",
    "trino": "trino",
}


def pick_dialect(
    declared: str | None, integration: str | None, namespaces: Sequence[str]
) -> str | None:
    """The sql facet's dialect if given, else one implied by the integration or a namespace."""
    if declared:
        return declared.lower()
    hints = [integration or "", *(ns.split(":", 1)[0] for ns in namespaces)]
    return next((_DIALECTS[h.lower()] for h in hints if h.lower() in _DIALECTS), None)


def parse_sql(query: str, dialect: str | None) -> Any | None:
    if _parse is None:
        return None
    if (why := refusal(query)) is not None:  # bounds: ingest/sql_guard.py
        log.info("SQL not parsed (%s): %s", dialect, why)
        return None
    try:
        return run_parser(_parse, query, dialect)  # on a deep stack (ingest/sql_guard.py)
    except BaseException as exc:  # the Rust parser may panic (PanicException is a BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        log.info("SQL not parsed (%s): %s", dialect, exc)
        return None


def _match(table: str, candidates: Sequence[Candidate]) -> NodeKey | None:
    wanted = table.lower()
    hits = {
        key
        for key, names in candidates
        for name in names
        if name.lower() == wanted or name.lower().endswith(f".{wanted}")
    }
    return hits.pop() if len(hits) == 1 else None


def _spelled(name: str, known: Collection[str] | None) -> str:
    """The column as the schema spells it (unquoted SQL names are case-insensitive)."""
    return next((k for k in known or () if k.lower() == name.lower()), name)


def _target(meta: Any, outputs: Sequence[Candidate]) -> NodeKey | None:
    if len(meta.out_tables) == 1:
        return _match(meta.out_tables[0].qualified_name, outputs)
    if not meta.out_tables and len(outputs) == 1:
        # a bare SELECT materialised into the job's one output: how dbt sends a model's SQL
        return outputs[0][0]
    return None  # several targets: the parser does not say which column is in which


def _is_table(origin: Any, tables: set[str]) -> bool:
    """Lineage may point at a CTE or subquery alias; those are unqualified and not read tables.
    (The parser leaves `CREATE TABLE t AS (WITH …)` inputs out of in_tables, hence both tests.)"""
    return origin.qualified_name.lower() in tables or bool(origin.schema or origin.database)


def _position_names(select: SelectList, schema: Sequence[str] | None) -> list[str | None]:
    """The target column each select-list position feeds (None: none known)."""
    names = [item.name for item in select.items]
    if select.insert_columns is not None:
        same = len(select.insert_columns) == len(names)
        return list(select.insert_columns) if same else [None] * len(names)
    fits = schema is not None and len(schema) == len(names)
    if select.statement is Statement.INSERT:
        return list(schema) if schema is not None and fits else list(names)
    if schema is not None and fits:
        agree = all(n is None or n.lower() == s.lower() for n, s in zip(names, schema, strict=True))
        if agree:
            return [n or s for n, s in zip(names, schema, strict=True)]
    return list(names)


def _by_position(
    query: str,
    dialect: str | None,
    outputs: Sequence[Candidate],
    schemas: Mapping[NodeKey, Sequence[str]],
) -> tuple[Any, NodeKey, list[str | None]] | None:
    """The parse of the query with its items aliased by position, its target, and the column
    each position feeds; None when the select list or that parse is not understood."""
    select = find_select_list(query)
    if select is None:
        return None
    meta = parse_sql(positional_query(query, select), dialect)
    if meta is None or meta.errors or (target := _target(meta, outputs)) is None:
        return None
    return meta, target, _position_names(select, schemas.get(target))


def _by_name(
    query: str, dialect: str | None, outputs: Sequence[Candidate]
) -> tuple[Any, NodeKey] | None:
    """The parse as it is: output columns as the parser names them."""
    meta = parse_sql(query, dialect)
    if meta is None or _INSERT_COLUMN_LIST.search(query):
        return None  # it names columns by alias, not by their position in the list
    target = _target(meta, outputs)
    return None if target is None else (meta, target)


def _output_name(
    name: str, positions: list[str | None] | None, known: Collection[str] | None
) -> str | None:
    if positions is None:
        # the parser's `_0`, `_1` name no column, unless the target really has one so named
        if _UNNAMED.match(name) and name not in (known or ()):
            return None
        return _spelled(name, known)
    match = POSITION.match(name)
    if match is None or int(match[1]) >= len(positions):
        return None
    found = positions[int(match[1])]
    return None if found is None else _spelled(found, known)


def sql_column_flows(
    query: str,
    dialect: str | None,
    inputs: Sequence[Candidate],
    outputs: Sequence[Candidate],
    known_columns: Mapping[NodeKey, Collection[str]],
    *,
    schemas: Mapping[NodeKey, Sequence[str]] | None = None,
) -> list[tuple[NodeKey, NodeKey]]:
    """(input column, output column) pairs the SQL shows between the event's own datasets.
    `schemas`: the outputs' top-level columns in order (schema_fields), for mapping by position."""
    positions: list[str | None] | None = None
    if refusal(query) is not None:  # sqlparse too is handed only what the bounds allow
        return []
    if (found := _by_position(query, dialect, outputs, schemas or {})) is not None:
        meta, target, positions = found
    elif (parsed := _by_name(query, dialect, outputs)) is not None:
        meta, target = parsed
    else:
        return []
    tables = {t.qualified_name.lower() for t in meta.in_tables}
    read = [key for t in meta.in_tables if (key := _match(t.qualified_name, inputs)) is not None]
    flows = set()
    for lineage in meta.column_lineage:
        name = _output_name(lineage.descendant.name, positions, known_columns.get(target))
        if name is None:
            continue  # dataset-level lineage only
        out_column = column_key(target, name)
        for source in lineage.lineage:
            if source.origin is None or not _is_table(source.origin, tables):
                continue
            if (dataset := _match(source.origin.qualified_name, inputs)) is not None:
                dataset = _holder(dataset, source.name, read, known_columns, query)
                in_field = _spelled(source.name, known_columns.get(dataset))
                flows.add((column_key(dataset, in_field), out_column))
    return sorted(flows)


def _holder(
    parsed: NodeKey,
    column: str,
    read: Sequence[NodeKey],
    known: Mapping[NodeKey, Collection[str]],
    query: str,
) -> NodeKey:
    """The read table that holds `column`. For a column the SQL never qualifies (`SELECT d FROM
    s1 JOIN s2 …`) the parser cannot tell which table it is in and names the first; when the
    schema of that one lists its columns without it and exactly one other table read lists it,
    that one holds it (the SQL would not run otherwise). A qualified column is the parser's."""
    wanted = column.lower()
    if len(read) < 2 or not (have := known.get(parsed)):
        return parsed
    if any(c.lower() == wanted for c in have) or _qualified(column, query):
        return parsed
    holders = {k for k in read if any(c.lower() == wanted for c in known.get(k) or ())}
    return holders.pop() if len(holders) == 1 else parsed


def _qualified(column: str, query: str) -> bool:
    """Whether the query names `column` after a dot anywhere (`x.d`, `s2."d"`)."""
    quoted = rf"""\.\s*[`"\[]?{re.escape(column)}[`"\]]?(?!\w)"""
    return re.search(quoted, query, re.IGNORECASE) is not None


def schema_fields(datasets: Iterable[tuple[Any, NodeKey | None]]) -> dict[NodeKey, list[str]]:
    """Each dataset's top-level schema columns in order, where its schema facet names them all
    (a nameless entry would shift every position after it)."""
    found: dict[NodeKey, list[str]] = {}
    for ds, key in datasets:
        schema = facet(facets_of(ds), "schema")
        fields = schema.get("fields") if schema is not None else None
        if key is None or not isinstance(fields, list) or not fields:
            continue
        names = [text(f.get("name")) if isinstance(f, dict) else None for f in fields]
        if all(names):
            found[key] = [name for name in names if name]
    return found


def _columns_named(ds: Any) -> list[str]:
    """The output columns a dataset's columnLineage facet speaks for, and, if it speaks for
    any, the columns of its schema facet."""
    lineage = facet(facets_of(ds), "columnLineage")
    fields = lineage.get("fields") if lineage is not None else None
    named = [f for f in fields if isinstance(f, str) and f] if isinstance(fields, dict) else []
    schema = facet(facets_of(ds), "schema")
    if named and schema is not None and isinstance(schema.get("fields"), list):
        named.extend(path for path, _ in schema_columns(schema["fields"]))
    return named


def supersede(g: Retiring, output: NodeKey, ds: Any) -> None:
    """The producer's column lineage for `output` replaces what SQL gave it: the SQL-derived FEEDS
    edges into the columns its columnLineage facet names and its schema facet lists stop being
    current (asOf still sees them). A facet that names no output column supersedes nothing."""
    for name in sorted(set(_columns_named(ds))):
        g.retire(column_key(output, name), EdgeKind.FEEDS, Direction.IN, set(), disc=SQL)

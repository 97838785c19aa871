"""Column lineage parsed from a job's SQL, for producers that send SQL but no columnLineage.

The parser (openlineage-sql, the one OpenLineage's own integrations use) knows table names as
the SQL wrote them (`orders`, `public.orders`), without namespace. They are matched to the event's
own datasets by name suffix, and anything that does not match exactly one dataset is dropped:
a namespace is never guessed. A bare SELECT (dbt sends a model's compiled SELECT) targets the
event's output if there is exactly one. What the parser cannot be trusted with is dropped:
- statements with several target tables (its output columns do not say which table they are in);
- INSERT with an explicit column list (it names output columns by SELECT alias, not by the
  position in that list, so `INSERT INTO t (a, b) SELECT x AS b, y AS a` would come out wrong).
Schema facets are used only to spell columns as the dataset does: dbt lists only documented
columns, so a column missing from a schema facet is no evidence against the SQL.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from graph.model import NodeKey
from ingest.openlineage.builder import log
from ingest.openlineage.naming import column_key

try:
    from openlineage_sql import parse as _parse
except ImportError:  # pragma: no cover - the package is a dependency; degrade, do not crash
    _parse = None

# a dataset to match: its node and the names the SQL may call it by (event name, canonical name)
Candidate = tuple[NodeKey, Sequence[str]]

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
    try:
        return _parse([query], dialect=dialect)
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


def sql_column_flows(
    query: str,
    dialect: str | None,
    inputs: Sequence[Candidate],
    outputs: Sequence[Candidate],
    known_columns: Mapping[NodeKey, Collection[str]],
) -> list[tuple[NodeKey, NodeKey]]:
    """(input column, output column) pairs the SQL shows between the event's own datasets."""
    meta = parse_sql(query, dialect)
    if meta is None or _INSERT_COLUMN_LIST.search(query):
        return []
    if (target := _target(meta, outputs)) is None:
        return []
    tables = {t.qualified_name.lower() for t in meta.in_tables}
    flows = set()
    for lineage in meta.column_lineage:
        out_column = column_key(
            target, _spelled(lineage.descendant.name, known_columns.get(target))
        )
        for source in lineage.lineage:
            if source.origin is None or not _is_table(source.origin, tables):
                continue
            if (dataset := _match(source.origin.qualified_name, inputs)) is not None:
                in_field = _spelled(source.name, known_columns.get(dataset))
                flows.add((column_key(dataset, in_field), out_column))
    return sorted(flows)

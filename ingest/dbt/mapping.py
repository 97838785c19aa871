"""dbt records → graph mutations. A pure function of the logged record (see ingest/dbt/sync.py
for the record kinds and docs/sources/dbt.md for the graph they make)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.naming import column_key, dataset_key, owner_id
from lineage_kg.ingest.dbt.sync import EXPOSURE, GROUP, METRIC, NODE, SEMANTIC_MODEL, TEST_RESULTS
from lineage_kg.ingest.eventlog import LogEntry
from lineage_kg.ingest.sources import DBT
from lineage_kg.ingest.sql_lineage import parse_sql, pick_dialect, sql_column_flows

E = EdgeKind
TECHNICAL, BUSINESS = "technical", "business"


def _props(**props: Any) -> dict[str, Any]:
    """Props without blanks: no None, "" or [] (the stores refuse nulls; blanks say nothing)."""
    return {k: v for k, v in props.items() if v is not None and v not in ("", [])}


def _dataset(ref: dict[str, str]) -> NodeKey:
    return dataset_key(ref["namespace"], ref["name"])


def _owner(b: MutationBatch, prov: Provenance, who: dict[str, str] | str) -> NodeKey | None:
    """An Owner node: from a name, or a dbt owner block (the email identifies, else the name)."""
    if isinstance(who, str):
        ident, props = owner_id(who), {}
    else:
        ident = owner_id(who.get("email") or who.get("name") or "")
        props = _props(name=who.get("name"), email=who.get("email"))
    return b.node(NodeKey.of(NodeKind.OWNER, owner_id=ident), prov, **props) if ident else None


def team_key(group: str) -> NodeKey:
    """A dbt group is a team: Owner `team:<group name>` (the catalog's team convention)."""
    return NodeKey.of(NodeKind.OWNER, owner_id=f"team:{group}")


def map_node(body: dict[str, Any], prov: Provenance) -> MutationBatch:
    b = MutationBatch()
    ds = b.node(
        _dataset(body["dataset"]),
        prov,
        **_props(
            description=body["description"],
            materialization=body["materialization"],
            tags=body["tags"],
            dbt_unique_id=body["unique_id"],
            dbt_resource_type=body["resource_type"],
            **body["meta"],
        ),
    )
    # documented columns only: never retire the others (documented is not all)
    for col in body["columns"]:
        c = b.node(
            column_key(ds, col["name"]),
            prov,
            **_props(description=col["description"], data_type=col["data_type"]),
        )
        b.edge(ds, E.HAS_COLUMN, c, prov)
    _map_owners(b, prov, ds, body)
    if body["resource_type"] == "source":
        return b  # sources are read, not built, by the project
    job = b.node(
        NodeKey.of(NodeKind.JOB, namespace=body["project"], name=body["unique_id"]),
        prov,
        **_props(
            description=body["description"],
            materialization=body["materialization"],
            dbt_resource_type=body["resource_type"],
        ),
    )
    upstream = [_dataset(up) for up in body["upstream"]]
    for up in upstream:
        b.node(up, prov)
        b.edge(up, E.INPUT_TO, job, prov)
    b.edge(job, E.PRODUCES, ds, prov)
    # the manifest states the whole dependency list: what it no longer lists is no input
    b.add(EdgeRetire(job, E.INPUT_TO, Direction.IN, frozenset(upstream), prov))
    b.add(EdgeRetire(job, E.PRODUCES, Direction.OUT, frozenset({ds}), prov))
    _map_column_lineage(b, prov, ds, body)
    return b


def _map_owners(b: MutationBatch, prov: Provenance, ds: NodeKey, body: dict[str, Any]) -> None:
    for name in body["owners"]:
        if owner := _owner(b, prov, name):
            b.edge(owner, E.OWNS, ds, prov, disc=TECHNICAL)
    if group := body["group"]:
        team = b.node(team_key(group["name"]), prov)
        b.edge(team, E.OWNS, ds, prov, disc=TECHNICAL)
        if group["owner"] and (owner := _owner(b, prov, group["owner"])):
            b.edge(owner, E.OWNS, ds, prov, disc=TECHNICAL)


def _map_column_lineage(
    b: MutationBatch, prov: Provenance, ds: NodeKey, body: dict[str, Any]
) -> None:
    if not body["compiled_code"]:
        return
    inputs = [(_dataset(up), [up["name"]]) for up in body["upstream"]]
    known = {_dataset(up): up["columns"] for up in body["upstream"]}
    known[ds] = [c["name"] for c in body["columns"]]
    dialect = pick_dialect(None, body["dialect"], [])
    flows = sql_column_flows(
        body["compiled_code"], dialect, inputs, [(ds, [body["dataset"]["name"]])], known
    )
    for src, dst in flows:
        for col in (src, dst):
            b.node(col, prov)
            b.edge(dataset_key(col.parts[0], col.parts[1]), E.HAS_COLUMN, col, prov)
        b.edge(src, E.FEEDS, dst, prov)


def map_test_results(body: dict[str, Any], prov: Provenance) -> MutationBatch:
    """Test outcomes as data quality on the dataset and its tested columns, with the props the
    OpenLineage dataQualityAssertions facet gives (quality_passed, quality_failed, …), so
    accountability and root cause read dbt test failures the same way."""
    b = MutationBatch()
    ds = _dataset(body["dataset"])
    assertions = body["assertions"]
    b.node(ds, prov, **_quality(assertions))
    by_column: dict[str, list[dict[str, Any]]] = {}
    for a in assertions:
        if a["column"]:
            by_column.setdefault(a["column"], []).append(a)
    for name, listed in sorted(by_column.items()):
        col = b.node(column_key(ds, name), prov, **_quality(listed))
        b.edge(ds, E.HAS_COLUMN, col, prov)
    return b


def _quality(assertions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "quality_assertions": json.dumps(assertions, sort_keys=True, separators=(",", ":")),
        "quality_passed": sum(1 for a in assertions if a["success"]),
        "quality_failed": sum(1 for a in assertions if not a["success"]),
    }


def map_semantic_model(body: dict[str, Any], prov: Provenance) -> MutationBatch:
    """The model's columns the semantic model names (entities, dimensions, measure columns)."""
    b = MutationBatch()
    ds = b.node(_dataset(body["dataset"]), prov)
    for name in body["columns"]:
        b.edge(ds, E.HAS_COLUMN, b.node(column_key(ds, name), prov), prov)
    return b


def map_metric(body: dict[str, Any], prov: Provenance) -> MutationBatch:
    b = MutationBatch()
    kpi = b.node(
        NodeKey.of(NodeKind.KPI, name=body["name"]),
        prov,
        **_props(
            label=body["label"],
            description=body["description"],
            type=body["type"],
            unit=body["unit"],
            expr=body["expr"],
            dbt_unique_id=body["unique_id"],
        ),
    )
    for measure in body["measures"]:
        ds = b.node(_dataset(measure["dataset"]), prov)
        columns = (
            [measure["column"]]
            if measure["column"]
            else expression_columns(measure["expr"], body["dialect"])
        )
        if not columns:  # `count(1)` and the like: the whole dataset, possibly
            b.edge(ds, E.CONSUMED_BY, kpi, prov)
        for name in columns:
            col = b.node(column_key(ds, name), prov)
            b.edge(ds, E.HAS_COLUMN, col, prov)
            b.edge(col, E.FEEDS, kpi, prov, measure=measure["name"], agg=measure["agg"])
    for name in body["input_metrics"]:
        b.edge(b.node(NodeKey.of(NodeKind.KPI, name=name), prov), E.FEEDS, kpi, prov)
    return b


def expression_columns(expr: str, dialect: str) -> list[str]:
    """The columns a measure's SQL expression reads (`case when status = … then amount …`)."""
    if not expr.strip():
        return []
    meta = parse_sql(
        f"SELECT {expr} AS measure_value FROM measure_source", pick_dialect(None, dialect, [])
    )
    if meta is None:
        return []
    return sorted(
        {src.name for cl in meta.column_lineage for src in cl.lineage if src.origin is not None}
    )


def map_exposure(body: dict[str, Any], prov: Provenance) -> MutationBatch:
    b = MutationBatch()
    exposure = b.node(
        NodeKey.of(NodeKind.EXPOSURE, namespace=body["project"], name=body["name"]),
        prov,
        **_props(
            label=body["label"],
            type=body["type"],
            url=body["url"],
            maturity=body["maturity"],
            description=body["description"],
            tags=body["tags"],
            dbt_unique_id=body["unique_id"],
        ),
    )
    consumed: set[NodeKey] = set()
    for ref in body["datasets"]:
        consumed.add(b.node(_dataset(ref), prov))
    for name in body["metrics"]:
        consumed.add(b.node(NodeKey.of(NodeKind.KPI, name=name), prov))
    for src in sorted(consumed):
        b.edge(src, E.CONSUMED_BY, exposure, prov)
    b.add(EdgeRetire(exposure, E.CONSUMED_BY, Direction.IN, frozenset(consumed), prov))
    if body["owner"] and (owner := _owner(b, prov, body["owner"])):
        b.edge(owner, E.OWNS, exposure, prov, disc=BUSINESS)
    return b


def map_group(body: dict[str, Any], prov: Provenance) -> MutationBatch:
    """A group is a team (`team:<name>`); its owner is a member of it."""
    b = MutationBatch()
    team = b.node(
        team_key(body["name"]),
        prov,
        **_props(
            name=body["name"], description=body["description"], dbt_unique_id=body["unique_id"]
        ),
    )
    if body["owner"] and (owner := _owner(b, prov, body["owner"])):
        b.edge(owner, E.MEMBER_OF, team, prov)
    return b


MAPPERS: dict[str, Callable[[dict[str, Any], Provenance], MutationBatch]] = {
    NODE: map_node,
    TEST_RESULTS: map_test_results,
    SEMANTIC_MODEL: map_semantic_model,
    METRIC: map_metric,
    EXPOSURE: map_exposure,
    GROUP: map_group,
}


def map_entry(entry: LogEntry) -> MutationBatch:
    """One logged dbt record → its mutations; KeyError for a record kind this code does not know
    (the projector parks it, naming the kind)."""
    mapper = MAPPERS.get(entry.kind)
    if mapper is None:
        raise KeyError(f"unknown dbt record kind {entry.kind!r}")
    return mapper(entry.body, Provenance(DBT, entry.event_id, entry.event_time))

"""OpenLineage events shaped like the Hive hook's (integration/hive in OpenLineage): a query's
START carries the `sql` job facet and the output's schema but no column lineage; its COMPLETE
adds the producer's `columnLineage`. Shared by the unit and contract tests of SQL lineage.
"""

from __future__ import annotations

from typing import Any

from lineage_kg.graph.model import NodeKey, NodeKind

HIVE = "hive://metastore:9083"
ORDERS, FX, DAILY = "sales.orders", "sales.fx_rates", "sales.daily_orders"
START_AT, COMPLETE_AT = "2026-03-02T06:00:00.000Z", "2026-03-02T06:04:31.000Z"
RUN_ID = "0195c1f2-7a3e-7d4b-9a61-3c0f5e2b8d10"

# three of the four items are expressions without alias: the parser calls them _0, _1, _2
INSERT = (
    "INSERT INTO TABLE sales.daily_orders\n"
    "SELECT o.id, to_date(o.placed_at), o.amount * r.rate, upper(o.country)\n"
    "FROM sales.orders o JOIN sales.fx_rates r ON o.currency = r.currency\n"
    "WHERE o.status = 'PAID'"
)
DAILY_SCHEMA = {
    "fields": [
        {"name": "order_id", "type": "bigint"},
        {"name": "order_day", "type": "date"},
        {"name": "amount_eur", "type": "decimal(12,2)"},
        {"name": "country", "type": "string"},
    ]
}


def column(name: str, field: str) -> NodeKey:
    return NodeKey.of(NodeKind.COLUMN, namespace=HIVE, name=name, field=field)


def dataset(name: str) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace=HIVE, name=name)


def _input(name: str, fields: list[str]) -> dict[str, Any]:
    return {
        "namespace": HIVE,
        "name": name,
        "facets": {
            "schema": {"fields": [{"name": f, "type": "string"} for f in fields]},
        },
    }


def _field(name: str, field: str, kind: str = "DIRECT", subtype: str = "IDENTITY") -> dict:
    return {
        "namespace": HIVE,
        "name": name,
        "field": field,
        "transformations": [
            {"type": kind, "subtype": subtype, "description": "", "masking": False}
        ],
    }


# what the Hive hook says on COMPLETE: the real column lineage of INSERT
COLUMN_LINEAGE = {
    "fields": {
        "order_id": {"inputFields": [_field(ORDERS, "id")]},
        "order_day": {"inputFields": [_field(ORDERS, "placed_at", subtype="TRANSFORMATION")]},
        "amount_eur": {
            "inputFields": [
                _field(ORDERS, "amount", subtype="TRANSFORMATION"),
                _field(FX, "rate", subtype="TRANSFORMATION"),
            ]
        },
        "country": {"inputFields": [_field(ORDERS, "country", subtype="TRANSFORMATION")]},
    },
    "dataset": [
        _field(ORDERS, "status", "INDIRECT", "FILTER"),
        _field(ORDERS, "currency", "INDIRECT", "JOIN"),
        _field(FX, "currency", "INDIRECT", "JOIN"),
    ],
}


def hive_event(
    event_type: str,
    at: str,
    *,
    query: str = INSERT,
    lineage: dict[str, Any] | None = None,
    schema: dict[str, Any] | None = DAILY_SCHEMA,
    run_id: str = RUN_ID,
) -> dict[str, Any]:
    output_facets: dict[str, Any] = {}
    if schema is not None:
        output_facets["schema"] = schema
    if lineage is not None:
        output_facets["columnLineage"] = lineage
    return {
        "eventType": event_type,
        "eventTime": at,
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.26.0/integration/hive",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {
            "runId": run_id,
            "facets": {
                "processing_engine": {"version": "3.1.3", "name": "hive"},
                "hive_query": {"queryId": "hive_20260302060000_1", "operationName": "QUERY"},
            },
        },
        "job": {
            "namespace": "default",
            "name": "insert.sales.daily_orders",
            "facets": {
                "jobType": {"processingType": "BATCH", "integration": "HIVE", "jobType": "QUERY"},
                "sql": {"query": query, "dialect": "hive"},
            },
        },
        "inputs": [
            _input(ORDERS, ["id", "placed_at", "amount", "currency", "country", "status"]),
            _input(FX, ["currency", "rate"]),
        ],
        "outputs": [{"namespace": HIVE, "name": DAILY, "facets": output_facets}],
    }


# the SQL-derived lineage of INSERT onto the output's schema, by position
SQL_FEEDS = {
    (column(ORDERS, "id"), column(DAILY, "order_id")),
    (column(ORDERS, "placed_at"), column(DAILY, "order_day")),
    (column(ORDERS, "amount"), column(DAILY, "amount_eur")),
    (column(FX, "rate"), column(DAILY, "amount_eur")),
    (column(ORDERS, "country"), column(DAILY, "country")),
}

"""Session 33's name fixes through the real intake and GraphQL (HTTP), answers checked by hand.

Events shaped as their producers send them, posted one by one to /api/v1/lineage; impact asked
with a NodeRef spelled as some producer spelled the name:
- dbt-ol on Snowflake: the schema from the catalog (`AMOUNT`), the lineage from the SQL
  (`amount`): AMOUNT feeds order_totals.TOTAL, REGION nothing;
- Spark on ADLS Gen2: the same path in two containers is two datasets, and `abfs://` is
  `abfss://`;
- BigQuery named `bigquery` by Spark and `bigquery://` by the spec's table: one table.
"""

from __future__ import annotations

from typing import Any

from lineage_kg.graph.embedded import EmbeddedStore
from tests.oracle.service import Service, service

IMPACT = """
query ($ref: NodeRef!) {
  impact(ref: $ref, depth: 10, first: 200) {
    start { kind key }
    edges { node { certainty node { kind key } } }
  }
}
"""
SF = "snowflake://myorg-myacct"
ADLS = "dfs.core.windows.net"


def _schema(*cols: str) -> dict[str, Any]:
    return {"fields": [{"name": c, "type": "NUMBER"} for c in cols]}


def _event(n: int, job: str, inputs: list[Any], outputs: list[Any]) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2026-06-01T10:{n:02d}:00.000Z",
        "run": {"runId": f"00000000-0000-4000-8000-{n:012d}"},
        "job": {"namespace": "s33", "name": job},
        "inputs": inputs,
        "outputs": outputs,
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.30.1/integration/spark",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def _copy(n: int, source: tuple[str, str], target: tuple[str, str], field: str) -> dict[str, Any]:
    """A job copying column `field` of `source` into `target` (both named as written)."""
    src = {"namespace": source[0], "name": source[1]}
    lineage = {"fields": {field: {"inputFields": [{**src, "field": field}]}}}
    out = {"namespace": target[0], "name": target[1]}
    return _event(
        n,
        f"copy_{n}",
        [{**src, "facets": {"schema": _schema(field)}}],
        [{**out, "facets": {"schema": _schema(field), "columnLineage": lineage}}],
    )


def _columns(running: Service, namespace: str, name: str, field: str) -> set[tuple[str, ...]]:
    ref = {"kind": "Column", "namespace": namespace, "name": name, "field": field}
    body = running.graphql(IMPACT, ref=ref)
    assert "errors" not in body, body["errors"]
    return {
        (e["node"]["node"]["key"]["namespace"], e["node"]["node"]["key"]["name"],
         e["node"]["node"]["key"]["field"], e["node"]["certainty"])
        for e in body["data"]["impact"]["edges"]
        if e["node"]["node"]["kind"] == "Column"
    }  # fmt: skip


def test_dbt_ol_on_snowflake_lineage_reaches_the_catalogs_columns() -> None:
    orders = {"namespace": SF, "name": "analytics.public.orders"}
    lineage = {"fields": {"total": {"inputFields": [{**orders, "field": "amount"}]}}}
    event = _event(
        1,
        "analytics.public.order_totals",
        [{**orders, "facets": {"schema": _schema("ID", "AMOUNT", "REGION")}}],
        [
            {
                "namespace": SF,
                "name": "analytics.public.order_totals",
                "facets": {"schema": _schema("ID", "TOTAL"), "columnLineage": lineage},
            }
        ],
    )
    with service(EmbeddedStore(), [event]) as running:
        # the NodeRef as Snowflake's catalog and another tool spell the account
        for namespace in (SF, "snowflake://MyOrg-MyAcct"):
            assert _columns(running, namespace, "analytics.public.orders", "AMOUNT") == {
                (SF, "analytics.public.order_totals", "TOTAL", "exact")
            }
        assert _columns(running, SF, "analytics.public.orders", "REGION") == set()


def test_two_adls_containers_are_two_datasets_and_abfs_is_abfss() -> None:
    raw, landing = f"abfss://raw@acct.{ADLS}", f"abfss://landing@acct.{ADLS}"
    events = [
        _copy(1, (raw, "sales/orders"), (f"abfss://curated@acct.{ADLS}", "marts/a"), "amount"),
        _copy(2, (landing, "sales/orders"), (f"abfss://curated@acct.{ADLS}", "marts/b"), "amount"),
        _copy(3, (f"abfs://raw@acct.{ADLS}", "sales/orders"), ("s3://lake", "copy/c"), "amount"),
    ]
    with service(EmbeddedStore(), events) as running:
        assert _columns(running, f"ABFSS://raw@ACCT.{ADLS}/", "sales/orders", "amount") == {
            (f"abfss://curated@acct.{ADLS}", "marts/a", "amount", "exact"),
            ("s3://lake", "copy/c", "amount", "exact"),
        }


def test_bigquery_double_slash_is_bigquery() -> None:
    events = [
        _copy(1, ("bigquery", "proj.raw.orders"), ("bigquery", "proj.sales.orders"), "amount"),
        _copy(2, ("bigquery://", "proj.sales.orders"), ("bigquery://", "proj.marts.rev"), "amount"),
    ]
    with service(EmbeddedStore(), events) as running:
        assert _columns(running, "bigquery://", "proj.raw.orders", "amount") == {
            ("bigquery", "proj.sales.orders", "amount", "exact"),
            ("bigquery", "proj.marts.rev", "amount", "exact"),
        }

"""Column lineage that spells a table or a column otherwise than the same event's datasets and
schema facets, but for letter case, names those (session 33 red team).

dbt-ol on Snowflake sends each dataset's schema from the catalog (`ID`, `AMOUNT`: Snowflake stores
unquoted identifiers upper-case) and the column lineage from the compiled SQL (`id`, `amount`);
the case mismatch between the two is a known break of column lineage in every tool that joins
them (OpenMetadata #23891, OpenLineage #1602). Before this fix the lineage's columns were other
nodes than the schema's: impact from `orders.AMOUNT` (the column the catalog and every other tool
name) reached nothing downstream, not even `order_totals` as possible, since the output's column
lineage is authoritative and names no `AMOUNT`.

The oracle here, written apart from ingest/openlineage: a lineage name is the event's name that
equals it ignoring case when exactly one does (two that differ only by case are quoted
identifiers: then the name stays as written). Generated events: Snowflake- and Postgres-shaped
datasets, schemas in one case, the lineage's table and column names each in a random case, some
schemas with two columns equal but for case.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.model import EdgeKind, NodeKind
from lineage_kg.graph.mutations import EdgeUpsert, MutationBatch
from lineage_kg.graph.naming import column_key, dataset_key
from lineage_kg.ingest.eventlog import event_id_of
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.queries.impact import impact

SF = "snowflake://myorg-myacct"


def _recase(draw: st.DrawFn, name: str) -> str:
    how = draw(st.sampled_from(["same", "lower", "upper", "title"]))
    return {"same": name, "lower": name.lower(), "upper": name.upper(), "title": name.title()}[how]


def _oracle_name(written: str, known: list[str]) -> str:
    """What the lineage's `written` name is among the event's `known` spellings."""
    if written in known:
        return written
    same = [k for k in known if k.lower() == written.lower()]
    return same[0] if len(same) == 1 else written


@st.composite
def events(draw: st.DrawFn) -> tuple[dict[str, Any], set[tuple[tuple[str, str], tuple[str, str]]]]:
    """A dbt-ol-shaped event and the FEEDS the oracle expects: ((table, column), (table, col))."""
    upper = draw(st.booleans())  # Snowflake's catalog, or Postgres' lower case
    case = str.upper if upper else str.lower
    inputs = {f"analytics.public.{t}": [case(c) for c in cols] for t, cols in
              [("orders", ["id", "amount", "region"]), ("users", ["id", "tier"])]}  # fmt: skip
    if draw(st.booleans()):  # a quoted column beside the unquoted one: both spellings exist
        inputs["analytics.public.orders"].append("Amount")
    out_name, out_cols = "analytics.public.order_totals", [case(c) for c in ["id", "total", "tier"]]
    names = {n.lower(): n for n in [*inputs, out_name]}
    lineage: dict[str, Any] = {}
    want = set()
    for out_col in out_cols:
        sources = draw(
            st.lists(
                st.sampled_from([(t, c) for t, cols in inputs.items() for c in cols]),
                min_size=1,
                max_size=2,
                unique=True,
            )
        )
        written_out = _recase(draw, out_col)
        fields = []
        for table, col in sources:
            written_table = _recase(draw, table)
            written_col = _recase(draw, col)
            fields.append({"namespace": SF, "name": written_table, "field": written_col})
            real_table = names[written_table.lower()]
            want.add(
                (
                    (real_table, _oracle_name(written_col, inputs[real_table])),
                    (out_name, _oracle_name(written_out, out_cols)),
                )
            )
        lineage.setdefault(written_out, {"inputFields": []})["inputFields"] += fields

    def schema(cols: list[str]) -> dict[str, Any]:
        return {"fields": [{"name": c, "type": "NUMBER"} for c in cols]}

    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-06-01T10:00:00.000Z",
        "run": {"runId": "00000000-0000-4000-8000-000000000001"},
        "job": {"namespace": "dbt-shop", "name": "analytics.public.order_totals"},
        "inputs": [
            {"namespace": SF, "name": t, "facets": {"schema": schema(c)}} for t, c in inputs.items()
        ],
        "outputs": [
            {
                "namespace": SF,
                "name": out_name,
                "facets": {"schema": schema(out_cols), "columnLineage": {"fields": lineage}},
            }
        ],
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.30.1/integration/dbt",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    return event, want


@settings(max_examples=300)
@given(events())
def test_lineage_names_the_events_own_tables_and_columns_whatever_their_case(
    case: tuple[dict[str, Any], set[Any]],
) -> None:
    event, want = case
    edges = [m.key for m in map_event(event, "e1").mutations if isinstance(m, EdgeUpsert)]
    feeds = {
        ((e.src.parts[1], e.src.parts[2]), (e.dst.parts[1], e.dst.parts[2]))
        for e in edges
        if e.kind is EdgeKind.FEEDS
    }
    assert feeds == want
    # and the output has the columns its schema spells, no other (the lineage's retirement too)
    output = event["outputs"][0]
    held = {
        e.dst.parts[2]
        for e in edges
        if e.kind is EdgeKind.HAS_COLUMN and e.src.parts[1] == output["name"]
    }
    assert held == {f["name"] for f in output["facets"]["schema"]["fields"]}


def test_impact_from_the_catalogs_column_reaches_the_output() -> None:
    """By hand: AMOUNT feeds TOTAL; REGION feeds nothing (the lineage is authoritative)."""
    schema = lambda *cols: {"fields": [{"name": c, "type": "NUMBER"} for c in cols]}  # noqa: E731
    source = {"namespace": SF, "name": "analytics.public.orders"}
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-06-01T10:00:00.000Z",
        "run": {"runId": "00000000-0000-4000-8000-000000000002"},
        "job": {"namespace": "dbt-shop", "name": "analytics.public.order_totals"},
        "inputs": [{**source, "facets": {"schema": schema("ID", "AMOUNT", "REGION")}}],
        "outputs": [
            {
                "namespace": SF,
                "name": "analytics.public.order_totals",
                "facets": {
                    "schema": schema("ID", "TOTAL"),
                    "columnLineage": {
                        "fields": {
                            "id": {"inputFields": [{**source, "field": "id"}]},
                            "total": {"inputFields": [{**source, "field": "amount"}]},
                        }
                    },
                },
            }
        ],
    }
    store = EmbeddedStore()
    batch = MutationBatch()
    batch.extend(map_event(event, event_id_of("openlineage", event)).mutations)
    store.apply(batch)
    orders = dataset_key(SF, "analytics.public.orders")

    def reached(field: str) -> set[tuple[str, ...]]:
        items = impact(store, column_key(orders, field).id).items
        return {
            (i.node.key.kind.value, *i.node.key.parts[1:], i.certainty.value)
            for i in items
            if i.node.key.kind in (NodeKind.DATASET, NodeKind.COLUMN)
        }

    assert reached("AMOUNT") == {
        ("Dataset", "analytics.public.orders", "exact"),
        ("Dataset", "analytics.public.order_totals", "exact"),
        ("Column", "analytics.public.order_totals", "TOTAL", "exact"),
    }
    assert reached("REGION") == {("Dataset", "analytics.public.orders", "exact")}

"""history_entries: what one event's mutations did to each node, in the graph's words."""

from __future__ import annotations

import pytest

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, EdgeRetire, MutationBatch, Provenance
from lineage_kg.graph.sides.history import EntryType, HistoryEntry, decode_cursor, history_entries

T = EntryType
PROV = Provenance("openlineage", "ev-1", "2026-03-01T01:00:00+01:00")
JOB = NodeKey.of(NodeKind.JOB, namespace="etl", name="orders_job")
RUN = NodeKey.of(NodeKind.RUN, run_id="r-1")
ORDERS = NodeKey.of(NodeKind.DATASET, namespace="pg://db", name="public.orders")
CUSTOMERS = NodeKey.of(NodeKind.DATASET, namespace="pg://db", name="public.customers")
VERSION = NodeKey.of(NodeKind.DATASET_VERSION, namespace="pg://db", name="public.orders",
                     version="run:r-1")  # fmt: skip


def column(dataset: NodeKey, name: str) -> NodeKey:
    return NodeKey.of(
        NodeKind.COLUMN, namespace=dataset.parts[0], name=dataset.parts[1], field=name
    )


def by_node(entries: list[HistoryEntry]) -> dict[tuple[str, EntryType], HistoryEntry]:
    keyed = {(e.node_id, e.entry_type): e for e in entries}
    assert len(keyed) == len(entries), "one entry per (node, event, entry type)"
    return keyed


def summaries(entries: list[HistoryEntry]) -> dict[tuple[str, EntryType], str]:
    return {key: e.summary for key, e in by_node(entries).items()}


def schema(b: MutationBatch, dataset: NodeKey, *fields: str) -> None:
    for ordinal, name in enumerate(fields):
        b.edge(
            dataset, EdgeKind.HAS_COLUMN, column(dataset, name), PROV, type="int", ordinal=ordinal
        )
    b.add(EdgeRetire(dataset, EdgeKind.HAS_COLUMN, Direction.OUT,
                     frozenset(column(dataset, f) for f in fields), PROV))  # fmt: skip


def test_a_complete_run_writing_a_dataset_with_its_schema() -> None:
    b = MutationBatch()
    b.node(JOB, PROV)
    b.node(RUN, PROV, job="etl/orders_job", state="COMPLETE", ended_at="2026-03-01T00:00:00Z")
    b.edge(RUN, EdgeKind.RUN_OF, JOB, PROV)
    b.node(CUSTOMERS, PROV)
    b.edge(CUSTOMERS, EdgeKind.INPUT_TO, JOB, PROV)
    b.edge(CUSTOMERS, EdgeKind.READ_BY, RUN, PROV)
    b.node(ORDERS, PROV, description="All orders")
    schema(b, ORDERS, "id", "amount")
    b.edge(JOB, EdgeKind.PRODUCES, ORDERS, PROV)
    b.node(VERSION, PROV)
    b.edge(ORDERS, EdgeKind.HAS_VERSION, VERSION, PROV)
    b.edge(RUN, EdgeKind.WROTE, VERSION, PROV, row_count=10)
    b.add(EdgeRetire(JOB, EdgeKind.INPUT_TO, Direction.IN, frozenset({CUSTOMERS}), PROV))
    b.add(EdgeRetire(JOB, EdgeKind.PRODUCES, Direction.OUT, frozenset({ORDERS}), PROV))

    entries = history_entries(7, b)

    assert summaries(entries) == {
        (RUN.id, T.RUN_STATE): "run r-1 COMPLETE",
        (RUN.id, T.READ): "read pg://db/public.customers",
        (RUN.id, T.WROTE): "wrote pg://db/public.orders@run:r-1",
        (JOB.id, T.RUN_STATE): "run r-1 COMPLETE",
        (JOB.id, T.LINEAGE): "inputs: pg://db/public.customers (no others); "
        "outputs: pg://db/public.orders (no others)",
        (CUSTOMERS.id, T.LINEAGE): "input to etl/orders_job",
        (CUSTOMERS.id, T.READ): "read by run r-1",
        (ORDERS.id, T.ASSERTED): "set description",
        (ORDERS.id, T.SCHEMA): "columns: id, amount (no others)",
        (ORDERS.id, T.LINEAGE): "produced by etl/orders_job",
        (ORDERS.id, T.VERSION): "version run:r-1",
        (ORDERS.id, T.WROTE): "written by run r-1",
        (column(ORDERS, "id").id, T.SCHEMA): "column of pg://db/public.orders (type int)",
        (column(ORDERS, "amount").id, T.SCHEMA): "column of pg://db/public.orders (type int)",
        (VERSION.id, T.VERSION): "version of pg://db/public.orders",
        (VERSION.id, T.WROTE): "written by run r-1",
    }
    first = entries[0]
    assert (first.seq, first.event_id, first.source) == (7, "ev-1", "openlineage")
    assert {e.event_time for e in entries} == {"2026-03-01T00:00:00.000000Z"}
    keyed = by_node(entries)
    # the one other node and edge kind, where there is exactly one
    assert keyed[(JOB.id, T.RUN_STATE)].other_node_id == RUN.id
    assert keyed[(JOB.id, T.RUN_STATE)].edge_kind == "RUN_OF"
    assert keyed[(RUN.id, T.RUN_STATE)].other_node_id == JOB.id
    assert keyed[(ORDERS.id, T.WROTE)].other_node_id == RUN.id
    assert keyed[(ORDERS.id, T.SCHEMA)].other_node_id is None  # two columns
    assert keyed[(ORDERS.id, T.SCHEMA)].edge_kind == "HAS_COLUMN"
    assert keyed[(JOB.id, T.LINEAGE)].edge_kind is None  # INPUT_TO and PRODUCES
    assert keyed[(ORDERS.id, T.ASSERTED)].other_node_id is None


def test_a_schema_change_with_a_retired_column() -> None:
    b = MutationBatch()
    b.node(ORDERS, PROV)
    schema(b, ORDERS, "id", "amount")  # "note" is no longer listed
    got = summaries(history_entries(2, b))
    assert got[(ORDERS.id, T.SCHEMA)] == "columns: id, amount (no others)"
    assert (column(ORDERS, "note").id, T.SCHEMA) not in got  # what a retirement closes is unknown

    # a retirement keeping columns this event does not assert names what it keeps
    only_retire = MutationBatch().add(
        EdgeRetire(ORDERS, EdgeKind.HAS_COLUMN, Direction.OUT,
                   frozenset({column(ORDERS, "id"), column(ORDERS, "amount")}), PROV)
    )  # fmt: skip
    assert summaries(history_entries(3, only_retire)) == {
        (ORDERS.id, T.SCHEMA): "columns no longer listed except amount, id"
    }
    nothing_kept = MutationBatch().add(
        EdgeRetire(JOB, EdgeKind.INPUT_TO, Direction.IN, frozenset(), PROV)
    )
    assert summaries(history_entries(4, nothing_kept)) == {
        (JOB.id, T.LINEAGE): "no inputs any more"
    }


def test_twenty_columns_make_one_schema_entry_truncated() -> None:
    b = MutationBatch()
    schema(b, ORDERS, *(f"c{i:02d}" for i in range(20)))
    got = summaries(history_entries(1, b))
    assert got[(ORDERS.id, T.SCHEMA)] == (
        "columns: c00, c01, c02, c03, c04, c05, c06, c07, … (+12 more) (no others)"
    )
    assert len(got) == 21  # the dataset and each column once


def test_an_alias_move() -> None:
    model = NodeKey.of(NodeKind.MODEL, registry="mlflow", name="churn")
    v3, v4 = (NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="churn", version=v)
              for v in ("3", "4"))  # fmt: skip
    b = MutationBatch()
    b.edge(model, EdgeKind.ALIAS, v4, PROV, disc="champion")
    b.edge(model, EdgeKind.ALIAS, v3, PROV, disc="challenger")
    b.add(EdgeRetire(model, EdgeKind.ALIAS, Direction.OUT, frozenset({v3, v4}), PROV))
    entries = history_entries(5, b)
    assert summaries(entries) == {
        (model.id, T.ALIAS): "alias champion → version 4, challenger → version 3 (no others)",
        (v4.id, T.ALIAS): "alias champion",
        (v3.id, T.ALIAS): "alias challenger",
    }
    assert by_node(entries)[(v4.id, T.ALIAS)].other_node_id == model.id
    assert by_node(entries)[(v4.id, T.ALIAS)].edge_kind == "ALIAS"

    # only champion moves, to version 5: the retirement keeps a version the event does not name
    v5 = NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="churn", version="5")
    moved = MutationBatch()
    moved.edge(model, EdgeKind.ALIAS, v5, PROV, disc="champion")
    moved.add(EdgeRetire(model, EdgeKind.ALIAS, Direction.OUT, frozenset({v3, v5}), PROV))
    assert summaries(history_entries(6, moved))[(model.id, T.ALIAS)] == (
        "alias champion → version 5; aliases no longer listed except version 3, version 5"
    )


def test_an_ownership_change() -> None:
    alice = NodeKey.of(NodeKind.OWNER, owner_id="alice@example.com")
    team = NodeKey.of(NodeKind.OWNER, owner_id="data-team")
    b = MutationBatch()
    b.edge(alice, EdgeKind.OWNS, ORDERS, PROV, disc="MAINTAINER")
    b.edge(team, EdgeKind.OWNS, ORDERS, PROV, disc="owner")
    b.add(EdgeRetire(ORDERS, EdgeKind.OWNS, Direction.IN, frozenset({alice, team}), PROV))
    assert summaries(history_entries(8, b)) == {
        (ORDERS.id, T.OWNERSHIP): "owners: alice@example.com (MAINTAINER), data-team (owner) "
        "(no others)",
        (alice.id, T.OWNERSHIP): "owns pg://db/public.orders",
        (team.id, T.OWNERSHIP): "owns pg://db/public.orders",
    }


def test_quality_of_a_version_is_on_its_dataset_too_and_lifecycle_and_failures() -> None:
    b = MutationBatch()
    b.node(VERSION, PROV, quality_passed=3, quality_failed=1, quality_assertions="[]")
    b.node(ORDERS, PROV, lifecycle_state="DROP", lifecycle_changed_at="2026-03-01T00:00:00Z")
    b.node(RUN, PROV, state="FAIL", error_message="division by zero", facets=["errorMessage"])
    b.node(JOB, PROV)  # mentioned and nothing else
    got = summaries(history_entries(9, b))
    assert got == {
        (VERSION.id, T.QUALITY): "quality: 3 passed, 1 failed",
        (ORDERS.id, T.QUALITY): "quality: 3 passed, 1 failed (version run:r-1)",
        (ORDERS.id, T.LIFECYCLE): "lifecycle DROP",
        (RUN.id, T.RUN_STATE): "run r-1 FAIL: division by zero",
        (RUN.id, T.ASSERTED): "set facets",
        (JOB.id, T.ASSERTED): "asserted",
    }


def test_a_rename_and_a_deployment() -> None:
    old = NodeKey.of(NodeKind.DATASET, namespace="pg://db", name="public.orders_old")
    version = NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="churn", version="4")
    point = NodeKey.of(NodeKind.DECISION_POINT, name="loan-approval")
    b = MutationBatch()
    b.edge(old, EdgeKind.RENAMED_TO, ORDERS, PROV)
    b.edge(version, EdgeKind.DEPLOYED_TO, point, PROV)
    assert summaries(history_entries(10, b)) == {
        (old.id, T.LIFECYCLE): "renamed to pg://db/public.orders",
        (ORDERS.id, T.LIFECYCLE): "renamed from pg://db/public.orders_old",
        (version.id, T.DEPLOYMENT): "deployed to loan-approval",
        (point.id, T.DEPLOYMENT): "deployed: mlflow/churn@4",
    }


def test_pure_and_empty() -> None:
    b = MutationBatch()
    b.node(RUN, PROV, state="START")
    b.edge(RUN, EdgeKind.RUN_OF, JOB, PROV)
    assert history_entries(1, b) == history_entries(1, b)
    assert history_entries(1, MutationBatch()) == []


def test_cursor_round_trip_and_garbage() -> None:
    e = HistoryEntry(JOB.id, 12, "ev", "openlineage", "2026-01-01T00:00:00.000000Z", T.SCHEMA, "x")
    assert decode_cursor(e.cursor) == ("2026-01-01T00:00:00.000000Z", 12, "SCHEMA")
    for bad in ("", "nonsense", "W10", e.cursor[:-3]):
        with pytest.raises(ValueError, match="not a history cursor"):
            decode_cursor(bad)

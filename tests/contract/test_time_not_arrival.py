"""Issue 15 §3: time decides what is current, not arrival (docs/openlineage-facets.md).

A job's current lineage is what its newest run (by event time) asserted; an older run's COMPLETE
arriving late is history: it never retires what a newer run said, never re-opens what a newer
run retired, and `as_of` reads see it for its own period. Checked on both stores with a real
producer's event shape (Airflow's postgres operator, from the shared corpus), and as a property:
any arrival order and any split into batches leaves the same graph and the same `as_of` answers.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.records import StoredEdge
from lineage_kg.graph.store import GraphStore
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest.openlineage.mapping import map_event
from lineage_kg.queries.impact import impact

_DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "openlineage"
CORPUS = Path(os.environ.get("LKG_OPENLINEAGE_CORPUS", _DEFAULT))
AIRFLOW = "OpenLineage/integration__airflow__tests__integration__requests__postgres.json"

PG = "postgres://postgres:5432"
JOB = NodeKey.of(
    NodeKind.JOB,
    namespace="food_delivery",
    name="postgres_orders_popular_day_of_week.postgres_insert",
)
OUT = NodeKey.of(
    NodeKind.DATASET, namespace=PG, name="food_delivery.public.popular_orders_day_of_week"
)
OLD_IN = NodeKey.of(NodeKind.DATASET, namespace=PG, name="food_delivery.public.top_delivery_times")
NEW_IN = NodeKey.of(NodeKind.DATASET, namespace=PG, name="food_delivery.public.delivery_7_days")

# run A (older) read top_delivery_times; run B (newer) reads delivery_7_days and no longer
# writes the orders_placed column
A_START, A_END = "2024-05-01T10:00:00Z", "2024-05-01T10:05:00Z"
B_START, B_END = "2024-05-02T10:00:00Z", "2024-05-02T10:05:00Z"
BETWEEN = canonical_time("2024-05-01T12:00:00Z")
AFTER = canonical_time("2024-05-03T00:00:00Z")


def column(dataset: NodeKey, field: str) -> NodeKey:
    ns, name = dataset.parts
    return NodeKey.of(NodeKind.COLUMN, namespace=ns, name=name, field=field)


def airflow_event(
    event_type: str, run_id: str, at: str, table: str, columns: list[str]
) -> dict[str, Any]:
    """The corpus' Airflow postgres_insert COMPLETE, as one run of it would send it: its own run id
    and time, reading `table`, writing `columns` with column lineage from that table."""
    events = json.loads((CORPUS / AIRFLOW).read_text())
    event = copy.deepcopy(
        next(e for e in events if e["job"]["name"] == JOB.parts[1] and e["eventType"] == "COMPLETE")
    )
    event.update(eventType=event_type, eventTime=at, run={"runId": run_id})
    event["inputs"][0]["name"] = f"food_delivery.public.{table}"
    facets = event["outputs"][0]["facets"]
    facets["schema"]["fields"] = [f for f in facets["schema"]["fields"] if f["name"] in columns]
    lineage = facets["columnLineage"]["fields"]
    for name in list(lineage):
        if name not in columns:
            del lineage[name]
        for source in lineage.get(name, {}).get("inputFields", []):
            source["name"] = f"food_delivery.public.{table}"
    return event


ALL = ["order_day_of_week", "order_placed_on", "orders_placed"]
RUN_A = [
    ("a-start", airflow_event("START", "run-a", A_START, "top_delivery_times", ALL)),
    ("a-complete", airflow_event("COMPLETE", "run-a", A_END, "top_delivery_times", ALL)),
]
RUN_B = [
    ("b-start", airflow_event("START", "run-b", B_START, "delivery_7_days", ALL[:2])),
    ("b-complete", airflow_event("COMPLETE", "run-b", B_END, "delivery_7_days", ALL[:2])),
]


def load(store: GraphStore, events: list[tuple[str, dict[str, Any]]]) -> None:
    store.clear()
    for event_id, event in events:
        store.apply(map_event(event, event_id))


def edge(store: GraphStore, src: NodeKey, kind: EdgeKind, dst: NodeKey) -> StoredEdge:
    found = [e for e in store.iter_edges() if e.key.id == (src.id, kind.value, dst.id, "")]
    assert found, f"no {kind} edge {src.display} -> {dst.display}"
    return found[0]


def reached(store: GraphStore, start: NodeKey, as_of: str | None) -> set[str]:
    return {item.node.key.display for item in impact(store, start.id, as_of=as_of).items}


def test_a_late_complete_of_an_older_run_is_history(store: GraphStore) -> None:
    load(store, RUN_B + RUN_A)  # the newer run first: run A's events are late
    b_end = canonical_time(B_END)

    inputs = store.neighbors([JOB.id], Direction.IN, [EdgeKind.INPUT_TO])
    assert [e.key.src for e in inputs] == [NEW_IN]
    old = edge(store, OLD_IN, EdgeKind.INPUT_TO, JOB)
    assert (old.first_seen, old.valid_to, old.retired_by) == (
        canonical_time(A_START),
        b_end,
        "b-complete",
    )
    # the column run B stopped writing (its writer's schema, already on START) stays retired:
    # run A's late schema does not revive it
    dropped = edge(store, OUT, EdgeKind.HAS_COLUMN, column(OUT, "orders_placed"))
    assert (dropped.valid_to, dropped.retired_by) == (canonical_time(B_START), "b-start")
    # run A's column lineage is history too, replaced by run B's
    old_feed = edge(
        store, column(OLD_IN, "order_placed_on"), EdgeKind.FEEDS, column(OUT, "order_placed_on")
    )
    assert old_feed.valid_to == b_end
    new_feed = edge(
        store, column(NEW_IN, "order_placed_on"), EdgeKind.FEEDS, column(OUT, "order_placed_on")
    )
    assert new_feed.current

    # impact: from the old input, the job and its output only while run A was current (the run
    # itself read it, and stays reachable: that is what happened)
    lineage = {JOB.display, OUT.display, column(OUT, "order_placed_on").display}
    assert not lineage & reached(store, OLD_IN, None)
    assert not lineage & reached(store, OLD_IN, AFTER)
    assert lineage <= reached(store, OLD_IN, BETWEEN)
    assert {JOB.display, OUT.display} <= reached(store, NEW_IN, None)


def test_arrival_order_does_not_change_the_graph(store: GraphStore) -> None:
    load(store, RUN_A + RUN_B)
    in_order = list(store.iter_nodes()), list(store.iter_edges())
    answers = {when: reached(store, OLD_IN, when) for when in (None, BETWEEN, AFTER)}
    for late in (RUN_B + RUN_A, [RUN_B[1], RUN_A[1], RUN_B[0], RUN_A[0]]):
        load(store, late)
        assert (list(store.iter_nodes()), list(store.iter_edges())) == in_order
        assert {when: reached(store, OLD_IN, when) for when in answers} == answers


def test_run_state_is_the_latest_by_event_time(store: GraphStore) -> None:
    complete = airflow_event("COMPLETE", "run-c", "2024-05-04T10:05:00Z", "delivery_7_days", ALL)
    failed = airflow_event("FAIL", "run-d", "2024-05-05T10:05:00Z", "delivery_7_days", ALL)
    load(
        store,
        [
            ("c-complete", complete),
            ("c-start", {**complete, "eventType": "START", "eventTime": "2024-05-04T10:00:00Z"}),
            ("d-fail", failed),
            ("d-start", {**failed, "eventType": "START", "eventTime": "2024-05-05T10:00:00Z"}),
        ],
    )
    runs = {n.key.parts[0]: n.props for n in store.iter_nodes() if n.key.kind is NodeKind.RUN}
    assert runs["run-c"]["state"] == "COMPLETE"
    assert runs["run-c"]["started_at"] == canonical_time("2024-05-04T10:00:00Z")
    assert runs["run-d"]["state"] == "FAIL"


@pytest.fixture(autouse=True)
def _corpus_present() -> None:
    assert (CORPUS / AIRFLOW).is_file(), f"no OpenLineage corpus at {CORPUS}"


def test_a_column_the_newer_lineage_gives_no_inputs_loses_its_feeds(store: GraphStore) -> None:
    newer = airflow_event("COMPLETE", "run-b", B_END, "top_delivery_times", ALL)
    lineage = newer["outputs"][0]["facets"]["columnLineage"]["fields"]
    lineage["order_day_of_week"]["inputFields"] = []
    del newer["outputs"][0]["facets"]["schema"]
    load(store, [("b-complete", newer)])
    # the column the lineage names is a column of its dataset, never a loose node
    columns = {n.key for n in store.iter_nodes() if n.key.kind is NodeKind.COLUMN}
    held = store.neighbors([OUT.id, OLD_IN.id], Direction.OUT, [EdgeKind.HAS_COLUMN])
    assert columns == {e.key.dst for e in held}

    load(store, [("b-complete", newer), *RUN_A])
    target = column(OUT, "order_day_of_week")
    feeds = store.neighbors([target.id], Direction.IN, [EdgeKind.FEEDS])
    assert feeds == []
    assert edge(store, OUT, EdgeKind.HAS_COLUMN, target).current
    old = edge(store, column(OLD_IN, "order_placed_on"), EdgeKind.FEEDS, target)
    assert (old.valid_to, old.retired_by) == (canonical_time(B_END), "b-complete")


def test_dataset_wide_lineage_is_replaced_by_the_newer_run(store: GraphStore) -> None:
    def with_filter(event: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        lineage = event["outputs"][0]["facets"]["columnLineage"]
        source = {"namespace": PG, "name": event["inputs"][0]["name"]}
        lineage["dataset"] = [
            {**source, "field": f, "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}]}
            for f in fields
        ]
        return event

    older = with_filter(airflow_event("COMPLETE", "run-a", A_END, "top_delivery_times", ALL), ["x"])
    newer = with_filter(airflow_event("COMPLETE", "run-b", B_END, "top_delivery_times", ALL), [])
    load(store, [("b-complete", newer), ("a-complete", older)])
    wide = edge(store, column(OLD_IN, "x"), EdgeKind.FEEDS, OUT)
    assert (wide.valid_to, wide.retired_by) == (canonical_time(B_END), "b-complete")
    assert store.neighbors([OUT.id], Direction.IN, [EdgeKind.FEEDS]) == []

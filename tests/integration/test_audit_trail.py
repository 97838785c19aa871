"""The audit trail end to end: real OpenLineage events into a real event log, projected onto each
store by the real projector, then read back page by page, filtered, and after a re-projection.

Events: the 14 captured dbt-ol events (tests/fixtures/dbt_shop_events.ndjson), then four
hand-made ones for one job, `audit-test/nightly_orders`, whose second run drops the column `note`
of `public.orders`. The hand-made events are appended after the dbt ones (seq 15-18) but happen
months earlier, so the trail's time order is not the log's order.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from lineage_kg.graph.errors import InvalidArgument, NotFound
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction
from lineage_kg.graph.store import GraphStore
from lineage_kg.ingest.eventlog import EventLog, event_id_of
from lineage_kg.ingest.intake import to_new_event
from lineage_kg.ingest.projector import Projector
from lineage_kg.ingest.sources import default_mappers
from lineage_kg.queries.audit import AuditPage, EntryType, HistoryEntry, audit_trail

T = EntryType
DBT_EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "dbt_shop_events.ndjson"

JOB = NodeKey.of(NodeKind.JOB, namespace="audit-test", name="nightly_orders")
ORDERS = NodeKey.of(NodeKind.DATASET, namespace="postgres://db:5432", name="public.orders")
R1, R2 = "0f1e2d3c-0000-4000-8000-000000000001", "0f1e2d3c-0000-4000-8000-000000000002"
T1, T2 = "2026-03-01T01:00:00.000000Z", "2026-03-01T01:05:00.000000Z"
T3, T4 = "2026-03-02T01:00:00.000000Z", "2026-03-02T01:05:00.000000Z"

DBT_NS = "duckdb://target/shop.duckdb"
REVENUE = NodeKey.of(NodeKind.DATASET, namespace=DBT_NS, name="shop.main.customer_revenue")
REVENUE_RUN = "01a20826-f284-731a-b525-d095bb3468b4"  # customer_revenue.build.run
REVENUE_TEST_RUN = "01a20826-f285-71fa-957f-9765c3e8bfa1"  # customer_revenue.build.test


def run_event(event_type: str, run_id: str, time: str, fields: list[str], **extra: Any) -> dict:
    output: dict[str, Any] = {
        "namespace": ORDERS.parts[0],
        "name": ORDERS.parts[1],
        "facets": {"schema": {"fields": [{"name": f, "type": "INTEGER"} for f in fields]}},
    }
    if owner := extra.get("owner"):
        output["facets"]["ownership"] = {"owners": [{"name": owner, "type": "MAINTAINER"}]}
    if assertions := extra.get("assertions"):
        output["outputFacets"] = {"dataQualityAssertions": {"assertions": assertions}}
    return {
        "eventType": event_type,
        "eventTime": time,
        "producer": "https://example.com/lineage-kg/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id},
        "job": {"namespace": JOB.parts[0], "name": JOB.parts[1]},
        "inputs": extra.get("inputs", []),
        "outputs": [output],
    }


A1 = run_event("START", R1, T1, ["id", "amount", "note"], owner="team-data")
A2 = run_event("COMPLETE", R1, T2, ["id", "amount", "note"])
B1 = run_event("START", R2, T3, ["id", "amount"])
B2 = run_event(
    "COMPLETE",
    R2,
    T4,
    ["id", "amount"],
    inputs=[{"namespace": "postgres://db:5432", "name": "public.customers"}],
    assertions=[
        {"assertion": "not_null", "column": "id", "success": True},
        {"assertion": "unique", "column": "id", "success": False},
    ],
)
HAND_MADE = [A1, A2, B1, B2]


def eid(event: dict) -> str:
    return event_id_of("openlineage", event)


def dbt_events() -> list[dict]:
    return [json.loads(line) for line in DBT_EVENTS.read_text().splitlines() if line.strip()]


@pytest.fixture
def log(tmp_path: Path) -> EventLog:
    log = EventLog(tmp_path / "events.sqlite3")
    appended = log.append([to_new_event(e) for e in [*dbt_events(), *HAND_MADE]])
    assert [a.seq for a in appended] == list(range(1, 19))
    return log


@pytest.fixture
def projected(log: EventLog, store: GraphStore) -> tuple[EventLog, GraphStore]:
    status = Projector(log, store, default_mappers()).catch_up(timeout=60)
    assert (status.projected_seq, status.parked) == (18, 0)
    return log, store


def trail(log: EventLog, store: GraphStore, node: NodeKey, **kw: Any) -> list[HistoryEntry]:
    return audit_trail(log, store, node.id, first=500, **kw).entries


def rows(entries: list[HistoryEntry]) -> list[tuple[str, str, EntryType]]:
    return [(e.event_time, e.event_id, e.entry_type) for e in entries]


def expected_orders() -> list[tuple[str, str, EntryType]]:
    per_event = [
        (T1, A1, [T.ASSERTED, T.LINEAGE, T.OWNERSHIP, T.SCHEMA, T.VERSION, T.WROTE]),
        (T2, A2, [T.ASSERTED, T.LINEAGE, T.SCHEMA, T.VERSION, T.WROTE]),
        (T3, B1, [T.ASSERTED, T.LINEAGE, T.SCHEMA, T.VERSION, T.WROTE]),
        (T4, B2, [T.ASSERTED, T.LINEAGE, T.QUALITY, T.SCHEMA, T.VERSION, T.WROTE]),
    ]
    return [(t, eid(e), kind) for t, e, kinds in per_event for kind in kinds]


def test_dataset_trail_in_time_order_with_its_events(projected) -> None:
    log, store = projected
    entries = trail(log, store, ORDERS)
    assert rows(entries) == expected_orders()
    assert {e.seq for e in entries} == {15, 16, 17, 18}  # logged after dbt's, happened before
    assert {e.source for e in entries} == {"openlineage"}
    by = {(e.event_id, e.entry_type): e for e in entries}
    assert by[(eid(A1), T.SCHEMA)].summary == "columns: id, amount, note (no others)"
    assert by[(eid(B1), T.SCHEMA)].summary == "columns: id, amount (no others)"  # note dropped
    assert by[(eid(A1), T.OWNERSHIP)].summary == "owners: team-data (MAINTAINER) (no others)"
    assert (
        by[(eid(A1), T.OWNERSHIP)].other_node_id
        == NodeKey.of(NodeKind.OWNER, owner_id="team-data").id
    )
    assert by[(eid(A2), T.WROTE)].summary == f"written by run {R1}"
    assert by[(eid(A2), T.WROTE)].other_node_id == NodeKey.of(NodeKind.RUN, run_id=R1).id
    assert by[(eid(B2), T.VERSION)].summary == f"version run:{R2}"
    assert by[(eid(B2), T.QUALITY)].summary == f"quality: 1 passed, 1 failed (version run:{R2})"
    assert by[(eid(B2), T.LINEAGE)].summary == "produced by audit-test/nightly_orders"
    # every entry's event is in the log (what GET /api/v1/events/{eventId} serves)
    assert log.get(eid(B1)).body == B1  # type: ignore[union-attr]
    # the graph agrees: the dropped column's edge is no longer current
    current = store.neighbors([ORDERS.id], Direction.OUT, [EdgeKind.HAS_COLUMN])
    assert {e.key.dst.parts[-1] for e in current} == {"id", "amount"}


def test_job_trail(projected) -> None:
    log, store = projected
    entries = trail(log, store, JOB)
    assert [(e.event_time, e.event_id, e.entry_type, e.summary) for e in entries] == [
        (T1, eid(A1), T.LINEAGE, "outputs: postgres://db:5432/public.orders"),
        (T1, eid(A1), T.RUN_STATE, f"run {R1} START"),
        (T2, eid(A2), T.LINEAGE, "outputs: postgres://db:5432/public.orders (no others)"),
        (T2, eid(A2), T.RUN_STATE, f"run {R1} COMPLETE"),
        (T3, eid(B1), T.LINEAGE, "outputs: postgres://db:5432/public.orders"),
        (T3, eid(B1), T.RUN_STATE, f"run {R2} START"),
        (
            T4,
            eid(B2),
            T.LINEAGE,
            "inputs: postgres://db:5432/public.customers (no others); "
            "outputs: postgres://db:5432/public.orders (no others)",
        ),
        (T4, eid(B2), T.RUN_STATE, f"run {R2} COMPLETE"),
    ]
    run_state = entries[-1]
    assert (run_state.other_node_id, run_state.edge_kind) == (
        NodeKey.of(NodeKind.RUN, run_id=R2).id,
        "RUN_OF",
    )


def test_real_dbt_dataset_trail(projected) -> None:
    """customer_revenue: built (START, COMPLETE) by its model run, then read by its test run."""
    log, store = projected
    events = dbt_events()
    start, complete, test_start, test_complete = (events[i] for i in (3, 9, 4, 10))
    assert (start["run"]["runId"], test_start["run"]["runId"]) == (REVENUE_RUN, REVENUE_TEST_RUN)
    built = [T.ASSERTED, T.LINEAGE, T.OWNERSHIP, T.SCHEMA, T.VERSION, T.WROTE]
    tested = [T.ASSERTED, T.LINEAGE, T.QUALITY, T.READ]
    expected = [
        *(("2026-11-23T11:24:59.364154Z", eid(start), k) for k in built),
        *(("2026-11-23T11:24:59.400015Z", eid(complete), k) for k in built),
        *(("2026-11-23T11:24:59.909261Z", eid(test_start), k) for k in tested),
        *(("2026-11-23T11:24:59.909274Z", eid(test_complete), k) for k in tested),
    ]
    entries = trail(log, store, REVENUE)
    assert rows(entries) == expected
    summaries = {(e.seq, e.entry_type): e.summary for e in entries}
    assert summaries[(11, T.QUALITY)] == "quality: 2 passed, 0 failed"
    assert summaries[(11, T.READ)] == f"read by run {REVENUE_TEST_RUN}"
    assert summaries[(10, T.WROTE)] == f"written by run {REVENUE_RUN}"
    assert summaries[(10, T.OWNERSHIP)] == "owners: analytics@example.com (owner) (no others)"
    assert summaries[(10, T.SCHEMA)] == (
        "columns: customer_id, customer_name, total_amount, order_count (no others)"
    )


def test_paging_returns_the_rest_without_duplicates(projected) -> None:
    log, store = projected
    full = trail(log, store, ORDERS)
    page = audit_trail(log, store, ORDERS.id, first=2)
    assert isinstance(page, AuditPage)
    assert page.node.key == ORDERS
    assert page.entries == full[:2] and page.next_cursor is not None
    seen = list(page.entries)
    pages = 1
    while page.next_cursor is not None:
        page = audit_trail(log, store, ORDERS.id, first=2, after=page.next_cursor)
        seen.extend(page.entries)
        pages += 1
    assert seen == full
    assert pages == 11  # 22 entries, two a page: the last page says there is no next one
    # a page exactly filling the rest has no next cursor either
    assert audit_trail(log, store, ORDERS.id, first=22).next_cursor is None
    assert audit_trail(log, store, ORDERS.id, first=21).next_cursor is not None


def test_time_and_type_filters(projected) -> None:
    log, store = projected
    all_rows = expected_orders()
    between = trail(log, store, ORDERS, since=T2, until=T3)  # both ends inclusive
    assert rows(between) == [r for r in all_rows if T2 <= r[0] <= T3]
    assert {e.event_id for e in between} == {eid(A2), eid(B1)}
    # times in any ISO-8601 form
    later = trail(log, store, ORDERS, since="2026-03-02T02:00:00+01:00")
    assert {e.event_id for e in later} == {eid(B1), eid(B2)}
    schema = trail(log, store, ORDERS, types=[T.SCHEMA, "QUALITY"])
    assert [(e.event_id, e.entry_type) for e in schema] == [
        (eid(A1), T.SCHEMA),
        (eid(A2), T.SCHEMA),
        (eid(B1), T.SCHEMA),
        (eid(B2), T.QUALITY),
        (eid(B2), T.SCHEMA),
    ]
    # filters and paging together
    first = audit_trail(log, store, ORDERS.id, types=[T.SCHEMA], since=T2, first=1)
    rest = audit_trail(log, store, ORDERS.id, types=[T.SCHEMA], since=T2, after=first.next_cursor)
    assert [e.event_id for e in [*first.entries, *rest.entries]] == [eid(A2), eid(B1), eid(B2)]
    assert trail(log, store, ORDERS, until="2026-01-01T00:00:00Z") == []


def test_bad_questions(projected) -> None:
    log, store = projected
    missing = NodeKey.of(NodeKind.DATASET, namespace="postgres://db:5432", name="public.nope")
    with pytest.raises(NotFound):
        audit_trail(log, store, missing.id)
    for first in (0, 501, -1):
        with pytest.raises(InvalidArgument, match="first"):
            audit_trail(log, store, ORDERS.id, first=first)
    with pytest.raises(InvalidArgument, match="since"):
        audit_trail(log, store, ORDERS.id, since=T3, until=T2)
    with pytest.raises(InvalidArgument, match="until"):
        audit_trail(log, store, ORDERS.id, until="yesterday")
    with pytest.raises(InvalidArgument, match="types: unknown BOGUS"):
        audit_trail(log, store, ORDERS.id, types=["SCHEMA", "BOGUS"])
    with pytest.raises(InvalidArgument, match="after"):
        audit_trail(log, store, ORDERS.id, after="not-a-cursor")


def test_history_survives_a_reprojection_unchanged(projected) -> None:
    log, store = projected
    before = {node: trail(log, store, node) for node in (ORDERS, JOB, REVENUE)}
    count = _history_rows(log)
    store.clear()  # as the embedded store at every start, or a wiped Neo4j: all again from seq 1
    status = Projector(log, store, default_mappers()).catch_up(timeout=60)
    assert status.projected_seq == 18
    assert {node: trail(log, store, node) for node in before} == before
    assert _history_rows(log) == count
    # and recording the same entries again directly changes nothing either
    log.record_history(before[ORDERS])
    assert _history_rows(log) == count
    assert trail(log, store, ORDERS) == before[ORDERS]


def test_entries_of_a_parked_event_are_hidden(projected) -> None:
    log, store = projected
    log.park(16, "refused by the store")  # A2
    assert eid(A2) not in {e.event_id for e in trail(log, store, ORDERS)}
    assert len(trail(log, store, ORDERS)) == len(expected_orders()) - 5


def _history_rows(log: EventLog) -> int:
    with sqlite3.connect(log.path) as db:
        return int(db.execute("SELECT count(*) FROM node_history").fetchone()[0])

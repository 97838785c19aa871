"""The decisions side table following the log: stored, duplicate, conflict, parked and retried,
idempotent replays; and the table's reads (by id, keyset pages, counts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.model import EdgeKind, NodeKey, NodeKind
from lineage_kg.graph.mutations import Direction, MutationBatch, Provenance
from lineage_kg.ingest.decisions.mapping import map_entry
from lineage_kg.ingest.decisions.projection import DecisionProjection
from lineage_kg.ingest.decisions.records import decision_event, validate_items
from lineage_kg.ingest.eventlog import EventLog, NewEvent
from lineage_kg.queries.decisions import (
    Selection,
    counts_by_model_version,
    get_decision,
    list_decisions,
)

MODEL = NodeKey.of(NodeKind.MODEL, registry="mlflow", name="credit-risk")
MV4 = NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="credit-risk", version="4")
POINT = NodeKey.of(NodeKind.DECISION_POINT, name="loan-approval")
P = Provenance("catalog", "ev-catalog", "2026-01-01T00:00:00Z")


def item(i: int, **extra: object) -> dict[str, object]:
    return {
        "decision_id": f"d-{i:04d}",
        "timestamp": f"2026-03-02T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
        "decision_point": "loan-approval",
        "model": "credit-risk",
        "version": "4",
        "outcome": {"approved": i % 2 == 0},
        **extra,
    }


def append(log: EventLog, *items: dict[str, object]) -> int:
    checked = validate_items([(i, f"[{i}]", x) for i, x in enumerate(items)])
    assert not checked.rejected
    return log.append([decision_event(checked.decisions)])[0].seq


@pytest.fixture
def world(tmp_path: Path) -> tuple[EventLog, EmbeddedStore, DecisionProjection]:
    store = EmbeddedStore()
    b = MutationBatch()
    b.edge(MODEL, EdgeKind.HAS_VERSION, MV4, P)
    b.node(POINT, P)
    store.apply(b)
    log = EventLog(tmp_path / "events.sqlite3")
    projection = DecisionProjection.at(tmp_path, retry_seconds=3600)
    yield log, store, projection
    projection.close()
    log.close()


def project(log: EventLog, store: EmbeddedStore, projection: DecisionProjection) -> None:
    """What the projector does: the graph first (nothing for decisions), then the side table."""
    for entry in log.read(0, 1000):
        if entry.source == "decisions":
            assert not map_entry(entry).mutations
    projection.catch_up(log, store, log.last_seq())


def test_a_rebuilt_graph_gets_its_decided_edges_back(world, tmp_path: Path) -> None:
    log, store, projection = world
    append(log, item(1), item(2, version=None))
    project(log, store, projection)
    rebuilt = EmbeddedStore()  # what a restart on the embedded store starts from
    b = MutationBatch()
    b.edge(MODEL, EdgeKind.HAS_VERSION, MV4, P)
    b.node(POINT, P)
    rebuilt.apply(b)
    again = DecisionProjection.at(tmp_path, retry_seconds=3600)  # a new process, same table
    again.catch_up(log, rebuilt, log.last_seq())
    (decided,) = rebuilt.neighbors([MV4.id], Direction.OUT, [EdgeKind.DECIDED])
    assert decided.key.dst == POINT
    again.close()


def test_decisions_are_stored_with_their_evidence(world) -> None:
    log, store, projection = world
    seq = append(log, *(item(i) for i in range(50)))
    project(log, store, projection)
    row = get_decision(projection.table, "d-0007")
    assert row is not None
    assert (row.seq, row.event_id) == (seq, log.read(0, 1)[0].event_id)
    assert row.outcome == {"approved": False}
    assert row.version_key == MV4
    stats = projection.table.stats()
    assert (stats.stored, stats.parked, stats.conflicts, stats.checkpoint) == (50, 0, 0, seq)


def test_catch_up_is_idempotent_and_keeps_the_first_of_a_conflict(world) -> None:
    log, store, projection = world
    append(log, item(1), item(2))
    project(log, store, projection)
    project(log, store, projection)  # nothing new: nothing written twice
    append(log, item(2), item(3))  # d-0002 again, same content: a duplicate
    append(log, item(1, outcome="changed"))  # different content: a conflict
    project(log, store, projection)
    assert projection.table.stats().stored == 3
    assert projection.table.stats().conflicts == 1
    assert projection.counts.duplicates == 1
    assert get_decision(projection.table, "d-0001").outcome == {"approved": False}
    # a fresh projection over the same file resumes from its checkpoint, replays nothing
    again = DecisionProjection(projection.table)
    again.catch_up(log, store, log.last_seq())
    assert again.counts.stored == again.counts.duplicates == 0


def test_unknown_references_are_parked_then_retried(world) -> None:
    log, store, projection = world
    append(
        log,
        item(1),
        item(2, decision_point="fraud-check"),
        item(3, version="9"),
        item(4, version=None, model="churn", alias="champion"),
    )
    project(log, store, projection)
    table = projection.table
    assert get_decision(table, "d-0001") is not None
    reasons = {p.decision_id: p.reason for p in table.parked()}
    assert reasons == {
        "d-0002": "decision_point: unknown DecisionPoint fraud-check",
        "d-0003": "version: unknown ModelVersion mlflow/credit-risk@9",
        "d-0004": "model: unknown Model mlflow/churn",
    }
    # unknown references conjure up no nodes; stored decisions naming a version add one
    # aggregated DECIDED edge per (version, decision point), dated by the earliest decision
    assert store.get_node(NodeKey.of(NodeKind.DECISION_POINT, name="fraud-check").id) is None
    assert store.get_node(NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow",
                                     name="credit-risk", version="9").id) is None  # fmt: skip
    (decided,) = store.neighbors([MV4.id], Direction.OUT, [EdgeKind.DECIDED])
    assert decided.key.dst == POINT
    assert decided.first_seen == "2026-03-02T10:00:01.000000Z"
    # the catalog learns about the decision point; the next catch-up retries the parked ones
    b = MutationBatch()
    b.node(NodeKey.of(NodeKind.DECISION_POINT, name="fraud-check"), P)
    store.apply(b)
    log.append([NewEvent("openlineage", "other", "2026-03-03T00:00:00.000000Z", {"n": 1})])
    projection.catch_up(log, store, log.last_seq())
    assert get_decision(table, "d-0002") is not None
    fraud = NodeKey.of(NodeKind.DECISION_POINT, name="fraud-check")
    assert {e.key.dst for e in store.neighbors([MV4.id], Direction.OUT, [EdgeKind.DECIDED])} == {
        POINT,
        fraud,
    }
    assert {p.decision_id for p in table.parked()} == {"d-0003", "d-0004"}
    assert table.get_parked("d-0003").attempts == 2
    assert table.checkpoint() == log.last_seq()


def test_pages_by_model_version_point_and_time(world) -> None:
    log, store, projection = world
    append(log, *(item(i) for i in range(30)), *(item(i, version="3") for i in range(30, 40)))
    b = MutationBatch()
    b.edge(
        MODEL,
        EdgeKind.HAS_VERSION,
        NodeKey.of(NodeKind.MODEL_VERSION, registry="mlflow", name="credit-risk", version="3"),
        P,
    )
    store.apply(b)
    log.append([NewEvent("openlineage", "other", "2026-03-03T00:00:00.000000Z", {"n": 2})])
    project(log, store, projection)
    table, seen, after = projection.table, [], None
    while True:
        page = list_decisions(table, Selection(model_version=MV4), first=7, after=after)
        seen += [r.decision_id for r in page.rows]
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert seen == [f"d-{i:04d}" for i in range(30)]
    window = Selection(
        decision_point="loan-approval", since="2026-03-02T10:00:35Z", until="2026-03-02T10:00:37Z"
    )
    assert [r.decision_id for r in list_decisions(table, window).rows] == [
        "d-0035", "d-0036", "d-0037"
    ]  # fmt: skip
    counts = counts_by_model_version(table, MODEL)
    assert [(c.version, c.alias, c.count) for c in counts] == [("3", None, 10), ("4", None, 30)]
    with pytest.raises(InvalidArgument, match="after"):
        list_decisions(table, Selection(), after="nope")
    with pytest.raises(InvalidArgument, match="since"):
        list_decisions(table, Selection(since="2026-03-03T00:00Z", until="2026-03-02T00:00Z"))

"""The audit trail's own stage (ingest/history_stage.py): written beside the graph, never lost.

The oracle is the derivation itself applied to every logged event one at a time
(`history_entries(seq, mapper(entry))`), with no projector, stage, batching or checkpoint: the
rows in the log must be exactly those, whatever point a crash (a failed history write) hit.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.graph.embedded import EmbeddedStore
from lineage_kg.graph.sides.history import history_entries
from lineage_kg.ingest.eventlog import EventLog, LogUnavailable
from lineage_kg.ingest.intake import to_new_event
from lineage_kg.ingest.projector import Projector
from lineage_kg.ingest.sources import default_mappers

DBT_EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "dbt_shop_events.ndjson"

Row = tuple[str, int, str, str, str, str | None, str | None]


def _events() -> list[dict]:
    return [json.loads(line) for line in DBT_EVENTS.read_text().splitlines() if line.strip()]


def _logged(path: Path) -> EventLog:
    log = EventLog(path / "events.sqlite3")
    log.append([to_new_event(e) for e in _events()])
    return log


def _rows(log: EventLog) -> set[Row]:
    with sqlite3.connect(log.path) as db:
        return set(db.execute("SELECT * FROM node_history").fetchall())


def _oracle(log: EventLog) -> set[Row]:
    mappers = default_mappers()
    return {
        (e.node_id, e.seq, e.entry_type.value, e.event_time, e.summary, e.other_node_id,
         e.edge_kind)
        for entry in log.read(0, 10_000)
        for e in history_entries(entry.seq, mappers[entry.source](entry))
    }  # fmt: skip


class _FailingWrites:
    """Make the log's history writes number `fail_at` on (0-based) fail, as a crash would."""

    def __init__(self, log: EventLog, fail_at: int, failures: int = 1_000) -> None:
        self.calls, self.fail_at, self.failures = 0, fail_at, failures
        self.inner = log.record_history
        log.record_history = self  # type: ignore[method-assign]

    def __call__(self, entries, *, upto=None) -> None:  # type: ignore[no-untyped-def]
        n, self.calls = self.calls, self.calls + 1
        if self.fail_at <= n < self.fail_at + self.failures:
            raise LogUnavailable("disk full (test)")
        self.inner(entries, upto=upto)


def test_the_stage_records_every_event_and_its_position(tmp_path: Path) -> None:
    log = _logged(tmp_path)
    status = Projector(log, EmbeddedStore(), default_mappers(), batch_size=4).catch_up(60)
    assert status.lag == 0
    assert log.history_position() == log.last_seq() == status.history_seq
    assert _rows(log) == _oracle(log)
    assert len(_rows(log)) > len(_events())


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fail_at=st.integers(0, 5), batch_size=st.sampled_from([1, 3, 5, 500]))
def test_history_lost_between_the_graph_commit_and_its_write_comes_back(
    tmp_path_factory: pytest.TempPathFactory, fail_at: int, batch_size: int
) -> None:
    log = _logged(tmp_path_factory.mktemp("crash"))
    fail_at = min(fail_at, -(-log.last_seq() // batch_size) - 1)  # one write per batch
    store = EmbeddedStore()
    _FailingWrites(log, fail_at)  # every history write from `fail_at` on: the process "dies"
    first = Projector(log, store, default_mappers(), batch_size=batch_size)
    with pytest.raises(LogUnavailable):
        first.catch_up(60)
    assert store.checkpoint() == log.last_seq()  # the graph has every event
    assert log.history_position() < log.last_seq()  # the audit trail does not
    first.stop()
    del log.record_history  # the disk has room again; a restart on the same store and log
    second = Projector(log, store, default_mappers(), batch_size=batch_size)
    assert second.status().lag > 0  # history behind counts as not yet projected
    assert second.catch_up(60).lag == 0
    assert _rows(log) == _oracle(log)


def test_a_replay_derives_no_history_again(tmp_path: Path) -> None:
    log = _logged(tmp_path)
    Projector(log, EmbeddedStore(), default_mappers()).catch_up(60)
    before = _rows(log)
    spy = _FailingWrites(log, fail_at=0, failures=0)  # counts, never fails
    replay = Projector(log, EmbeddedStore(), default_mappers())  # the embedded store's start
    assert replay.catch_up(60).lag == 0
    assert spy.calls == 0
    assert _rows(log) == before


def test_unparking_moves_the_position_back_before_the_first_parked(tmp_path: Path) -> None:
    log = _logged(tmp_path)
    Projector(log, EmbeddedStore(), default_mappers()).catch_up(60)
    log.park(7, "refused (test)")
    log.park(11, "refused (test)")
    assert log.history_position() == log.last_seq()
    assert log.unpark_all() == 2
    assert log.history_position() == 6
    # a rebuild derives them again: the same rows, nothing lost
    Projector(log, EmbeddedStore(), default_mappers()).catch_up(60)
    assert log.history_position() == log.last_seq()
    assert _rows(log) == _oracle(log)


def test_a_lagging_stage_holds_a_bounded_queue_and_still_records_everything(
    tmp_path: Path,
) -> None:
    """The worker held back while batches keep coming: the queue stays within MAX_QUEUED
    (the rest become "fill from the log"), and the rows are still exactly the oracle's."""
    from lineage_kg.ingest.history_stage import MAX_QUEUED, HistoryStage

    log = _logged(tmp_path)
    mappers = default_mappers()
    stage = HistoryStage(log, mappers)
    entries = log.read(0, 10_000)
    longest = 0
    stage._running = True  # as if a worker were busy: no thread starts, everything handed waits
    for entry in entries:
        stage.hand([(entry.seq, mappers[entry.source](entry))])
        longest = max(longest, len(stage._work))
    assert len(entries) > MAX_QUEUED + 1
    assert longest <= MAX_QUEUED + 1  # the batches, then one coalesced "fill up to"
    stage._running = False
    assert stage.wait(entries[-1].seq, timeout=120)
    assert _rows(log) == _oracle(log)

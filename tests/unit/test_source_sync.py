"""ingest/source_sync.py: records of a source enter the durable log once per content change."""

from __future__ import annotations

from pathlib import Path

from lineage_kg.ingest.eventlog import EventLog
from lineage_kg.ingest.source_sync import SourceRecord, append_records


def _sync(log: EventLog, body: dict, when: str, identity: str = "model.x") -> tuple[int, int]:
    report = append_records(log, "dbt", [SourceRecord("dbt_node", when, body, identity)])
    return report.appended, report.duplicates


def test_a_definition_changed_back_is_logged_again(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.sqlite3")
    a, b = {"sql": "select 1"}, {"sql": "select 2"}
    assert _sync(log, a, "2026-01-01T00:00:00Z") == (1, 0)
    assert _sync(log, a, "2026-01-02T00:00:00Z") == (0, 1)  # unchanged: nothing new
    assert _sync(log, b, "2026-01-03T00:00:00Z") == (1, 0)
    assert _sync(log, a, "2026-01-04T00:00:00Z") == (1, 0)  # A again is news after B
    bodies = [(e.body["sql"], e.event_time[:10]) for e in log.read(0, 10)]
    assert bodies == [
        ("select 1", "2026-01-01"),
        ("select 2", "2026-01-03"),
        ("select 1", "2026-01-04"),
    ]
    assert len({e.event_id for e in log.read(0, 10)}) == 3


def test_identities_are_tracked_apart_and_without_identity_content_decides(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.sqlite3")
    body = {"sql": "select 1"}
    assert _sync(log, body, "2026-01-01T00:00:00Z", "model.x") == (1, 0)
    assert _sync(log, body, "2026-01-01T00:00:00Z", "model.y") == (1, 0)
    assert _sync(log, body, "2026-01-01T00:00:00Z", "") == (1, 0)
    assert _sync(log, body, "2026-01-05T00:00:00Z", "") == (0, 1)  # same content, same id

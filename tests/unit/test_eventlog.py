from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_kg.ingest.eventlog import EventLog, NewEvent, event_id_of


def event(n: int) -> NewEvent:
    body = {"eventTime": f"2026-01-01T00:00:{n:02d}Z", "n": n}
    return NewEvent("openlineage", "RunEvent", f"2026-01-01T00:00:{n:02d}.000000Z", body)


def test_append_read_and_duplicates(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.sqlite3")
    first = log.append([event(1), event(2)])
    assert [(a.seq, a.duplicate) for a in first] == [(1, False), (2, False)]
    again = log.append([event(2), event(3)])
    assert [(a.seq, a.duplicate) for a in again] == [(2, True), (3, False)]
    assert [e.body["n"] for e in log.read(0, 10)] == [1, 2, 3]
    assert [e.seq for e in log.read(1, 1)] == [2]
    assert (log.last_seq(), log.count()) == (3, 3)


def test_identity_ignores_key_order_but_not_content() -> None:
    assert event_id_of("openlineage", {"a": 1, "b": 2}) == event_id_of(
        "openlineage", {"b": 2, "a": 1}
    )
    assert event_id_of("openlineage", {"a": 1}) != event_id_of("openlineage", {"a": 2})
    assert event_id_of("openlineage", {"a": 1}) != event_id_of("mlflow", {"a": 1})


def test_log_is_durable_settings_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    log = EventLog(path)
    log.append([event(1)])
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    log.close()
    reopened = EventLog(path)
    assert reopened.get(event(1).event_id).body == event(1).body  # type: ignore[union-attr]


def test_parked_events_are_kept_and_listed(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.sqlite3")
    log.append([event(1)])
    log.park(1, "KeyError: 'job'")
    assert log.parked() == [(1, "KeyError: 'job'")]
    assert log.count() == 1


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(held=st.sets(st.integers(0, 1200), max_size=60), asked=st.lists(st.integers(0, 1200)))
def test_seqs_answers_as_get_does(tmp_path: Path, held: set[int], asked: list[int]) -> None:
    """`seqs` (one read per 500 ids, no bodies) against `get` id by id, the oracle."""
    log = EventLog(tmp_path / f"seqs-{len(list(tmp_path.iterdir()))}.sqlite3")
    try:
        log.append([event(n) for n in sorted(held)])
        # 600 ids the log never held first, so that what it holds is asked past one chunk
        ids = [event(n).event_id for n in range(2000, 2600)]
        ids += [event(n).event_id for n in [*asked, *sorted(held)]]
        expected = {i: entry.seq for i in ids if (entry := log.get(i)) is not None}
        assert log.seqs(ids) == expected
    finally:
        log.close()

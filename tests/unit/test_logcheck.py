"""The start-time check of the event log (ingest/logcheck.py) on real SQLite files: it hashes
only what was appended since the last verified head, and catches what the head can show."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from lineage_kg.ingest import chain, logcheck
from lineage_kg.ingest.eventlog import EventLog, NewEvent

TIME = "2026-02-01T00:00:00.000000Z"


def append(path: Path, first: int, count: int) -> None:
    log = EventLog(path)
    bodies = [{"n": i} for i in range(first, first + count)]
    log.append([NewEvent("test", "RunEvent", TIME, body) for body in bodies])
    log.close()


def test_each_start_hashes_only_what_was_appended_since_the_last(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    append(path, 0, 50)
    first = logcheck.check_at_start(path)
    assert first is not None and (first.from_seq, first.entries, first.head_seq) == (0, 50, 50)
    append(path, 50, 7)
    second = logcheck.check_at_start(path)
    assert second is not None and (second.from_seq, second.entries, second.head_seq) == (50, 7, 57)
    third = logcheck.check_at_start(path)
    assert third is not None and (third.from_seq, third.entries) == (57, 0)


@pytest.mark.parametrize("head", ["", "{not json", '{"seq": 3, "hash": "x", "verified_at": ""}'])
def test_an_unreadable_head_means_the_whole_chain_is_walked(tmp_path: Path, head: str) -> None:
    path = tmp_path / "events.sqlite3"
    append(path, 0, 20)
    logcheck.head_path(path).write_text(head)
    checked = logcheck.check_at_start(path)
    assert checked is not None and (checked.from_seq, checked.entries) == (0, 20)


def test_a_chain_rewritten_through_the_verified_head_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    append(path, 0, 10)
    logcheck.check_at_start(path)
    with closing(sqlite3.connect(path)) as db, db:  # edit seq 4 and re-hash every entry after
        db.execute("UPDATE events SET body = '{\"n\":400}' WHERE seq = 4")
        prev = db.execute("SELECT entry_hash FROM events WHERE seq = 3").fetchone()[0]
        for row in db.execute(f"SELECT {chain.HASHED} FROM events WHERE seq >= 4").fetchall():
            digest = chain.entry_hash(prev, row)
            db.execute(
                "UPDATE events SET prev_hash = ?, entry_hash = ? WHERE seq = ?",
                (prev, digest, row[0]),
            )
            prev = digest
    with pytest.raises(logcheck.ChainBroken, match="seq 10 is no longer the one verified"):
        logcheck.check_at_start(path)


def test_the_newest_entries_cut_off_are_caught(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    append(path, 0, 10)
    logcheck.check_at_start(path)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("DELETE FROM events WHERE seq > 6")
        db.execute("UPDATE sqlite_sequence SET seq = 6 WHERE name = 'events'")
    with pytest.raises(logcheck.ChainBroken, match="the last verified entry is gone"):
        logcheck.check_at_start(path)


def test_a_head_of_a_log_no_longer_there_is_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    append(path, 0, 5)
    logcheck.check_at_start(path)
    path.unlink()
    assert logcheck.check_at_start(path) is None
    assert not logcheck.head_path(path).exists()
    append(path, 100, 3)  # a new log: its seq 5 does not exist, and must not be asked for
    checked = logcheck.check_at_start(path)
    assert checked is not None and checked.entries == 3


def test_a_file_that_is_not_sqlite_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    path.write_bytes(b"not a database at all, just text " * 200)
    with pytest.raises(logcheck.LogDamaged, match="no SQLite header") as raised:
        logcheck.check_at_start(path)
    assert raised.value.exit_code == 5

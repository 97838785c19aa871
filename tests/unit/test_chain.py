"""The event log's hash chain: linked on append, backfilled on an old log, and every kind of
tampering (edit, edit with the hash recomputed, deletion in the middle or at the end) caught at
the right entry."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_kg.ingest import chain, eventlog
from lineage_kg.ingest.eventlog import EventLog, NewEvent


def event(n: int) -> NewEvent:
    return NewEvent("openlineage", "RunEvent", f"2026-01-01T00:00:{n:02d}.000000Z", {"n": n})


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "events.sqlite3"
    log = EventLog(path)
    log.append([event(1), event(2), event(3)])
    log.append([event(2), event(4)])  # a duplicate takes no place in the chain
    log.append([event(5)])
    log.close()
    return path


def check(path: Path) -> chain.ChainReport:
    with sqlite3.connect(path) as db:
        return chain.verify(db)


def test_hash_covers_every_field_unambiguously() -> None:
    fields = ("0" * 64, 1, "id", "openlineage", "RunEvent", "t1", "t2", '{"n":1}')
    base = chain.entry_hash(fields[0], fields[1:])  # type: ignore[arg-type]
    assert base == chain.entry_hash(fields[0], fields[1:])  # type: ignore[arg-type]
    for i in range(len(fields)):
        changed = list(fields)
        changed[i] = f"{changed[i]}x" if isinstance(changed[i], str) else 2
        assert chain.entry_hash(changed[0], tuple(changed[1:])) != base, f"field {i} not covered"
    # moving a character from one field to the next is a different entry
    assert chain.entry_hash("a", (1, "bc", "d", "e", "f", "g", "h")) != chain.entry_hash(
        "ab", (1, "c", "d", "e", "f", "g", "h")
    )


def spelled_out(prev_hash: str, fields: tuple[object, ...], namespaces: str | None) -> str:
    """The entry hash as the module's docstring defines it, written here independently."""
    parts = [prev_hash, *map(str, fields), *([] if namespaces is None else [namespaces])]
    text = ",".join(str(len(p)) for p in parts) + "\n" + "".join(parts)
    return hashlib.sha256(text.encode()).hexdigest()


text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)  # what UTF-8 can hold


@settings(max_examples=300)
@given(text, st.integers(1, 2**40), st.lists(text, min_size=6, max_size=6), st.none() | text)
def test_the_hashes_are_the_format_spelled_out(
    prev: str, seq: int, rest: list[str], namespaces: str | None
) -> None:
    """The entry hash and the event id, over any Unicode text, are the format as documented:
    a faster spelling of either must leave logs written before it verifying alike."""
    fields = (seq, *rest)
    expected = spelled_out(prev, fields, namespaces)
    assert chain.entry_hash(prev, fields, namespaces) == expected  # type: ignore[arg-type]
    source, salt, body = rest[1], rest[2], rest[-1]
    # the append's road: the body's UTF-8 encoded once and handed to both hashes
    assert chain.entry_hash(prev, fields, namespaces, body.encode()) == expected  # type: ignore[arg-type]
    salted = f"{salt}\n" if salt else ""
    spelled_id = hashlib.sha256(f"{source}\n{salted}{body}".encode()).hexdigest()
    assert eventlog._event_id(source, body, salt) == spelled_id
    assert eventlog._event_id_utf8(source, body.encode(), salt) == spelled_id


def test_appends_link_each_entry_to_the_one_before(log_path: Path) -> None:
    with sqlite3.connect(log_path) as db:
        rows = db.execute(f"SELECT {chain.HASHED}, prev_hash, entry_hash FROM events").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0][7] == chain.GENESIS
    for before, row in itertools.pairwise(rows):
        assert row[7] == before[8]
    for row in rows:
        assert row[8] == chain.entry_hash(row[7], row[:7])
    report = check(log_path)
    assert (report.intact, report.entries, report.head_seq) == (True, 5, 5)
    assert report.head_hash == rows[-1][8]


def test_edited_body_is_caught_at_its_seq(log_path: Path) -> None:
    with sqlite3.connect(log_path) as db:
        db.execute("UPDATE events SET body = '{\"n\":99}' WHERE seq = 3")
        event_id = db.execute("SELECT event_id FROM events WHERE seq = 3").fetchone()[0]
    report = check(log_path)
    assert report.broken == chain.Break(3, event_id, report.broken.problem)  # type: ignore[union-attr]
    assert "content does not match entry_hash" in report.broken.problem  # type: ignore[union-attr]
    assert report.entries == 2


def test_edit_with_recomputed_hash_is_caught_by_the_next_entry(log_path: Path) -> None:
    with sqlite3.connect(log_path) as db:
        db.execute("UPDATE events SET event_time = '2030-01-01T00:00:00.000000Z' WHERE seq = 3")
        row = db.execute(f"SELECT {chain.HASHED}, prev_hash FROM events WHERE seq = 3").fetchone()
        forged = chain.entry_hash(row[7], row[:7])
        db.execute("UPDATE events SET entry_hash = ? WHERE seq = 3", (forged,))
    broken = check(log_path).broken
    assert broken is not None and broken.seq == 4
    assert "is not the hash of entry seq 3" in broken.problem


def test_deleted_entry_is_a_gap(log_path: Path) -> None:
    with sqlite3.connect(log_path) as db:
        db.execute("DELETE FROM events WHERE seq = 2")
    broken = check(log_path).broken
    assert broken is not None and broken.seq == 3
    assert broken.problem.startswith("entry seq 2 missing before it")


def test_deleted_first_and_last_entries_are_caught(log_path: Path) -> None:
    with sqlite3.connect(log_path) as db:
        db.execute("DELETE FROM events WHERE seq = 1")
    assert check(log_path).broken.problem.startswith("entry seq 1 missing")  # type: ignore[union-attr]
    with sqlite3.connect(log_path) as db:
        db.execute("DELETE FROM events")
    broken = check(log_path).broken
    assert broken is not None
    assert broken.problem == "entries seq 1..5 missing at the end: the log had assigned seq up to 5"


def test_appending_after_a_cut_tail_keeps_the_gap_visible(log_path: Path) -> None:
    with sqlite3.connect(log_path) as db:
        db.execute("DELETE FROM events WHERE seq = 5")
    log = EventLog(log_path)
    (appended,) = log.append([event(6)])
    log.close()
    assert appended.seq == 6  # never reuses seq 5
    broken = check(log_path).broken
    assert broken is not None and broken.seq == 6
    assert broken.problem.startswith("entry seq 5 missing before it")


def test_old_log_without_chain_is_migrated_on_open(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    with sqlite3.connect(path) as db:  # the schema before the chain, with two entries
        db.execute(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL "
            "UNIQUE, source TEXT NOT NULL, kind TEXT NOT NULL, event_time TEXT NOT NULL, "
            "received_at TEXT NOT NULL, body TEXT NOT NULL)"
        )
        db.executemany(
            "INSERT INTO events (event_id, source, kind, event_time, received_at, body) "
            "VALUES (?, 'openlineage', 'RunEvent', 't', 'r', ?)",
            [("a", '{"n":1}'), ("b", '{"n":2}')],
        )
    log = EventLog(path)
    log.append([event(3)])
    log.close()
    EventLog(path).close()  # opening a migrated log again changes nothing
    report = check(path)
    assert (report.intact, report.entries) == (True, 3)
    with sqlite3.connect(path) as db:
        first = db.execute("SELECT prev_hash, entry_hash FROM events WHERE seq = 1").fetchone()
    assert first == (
        chain.GENESIS,
        chain.entry_hash(chain.GENESIS, (1, "a", "openlineage", "RunEvent", "t", "r", '{"n":1}')),
    )


def test_progress_is_reported_per_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chain, "READ_BATCH", 2)
    log = EventLog(tmp_path / "events.sqlite3")
    log.append([event(n) for n in range(1, 6)])
    log.close()
    seen: list[int] = []
    with sqlite3.connect(tmp_path / "events.sqlite3") as db:
        assert chain.verify(db, seen.append).intact
    assert seen == [2, 2, 1]


def confined_log(path: Path) -> None:
    log = EventLog(path)
    log.append([event(1)])
    restricted = NewEvent("openlineage", "RunEvent", "2026-01-01T00:00:02.000000Z", {"n": 2})
    log.append([dataclasses.replace(restricted, namespaces=("team-a", "team-b"))])
    log.append([event(3)])
    log.close()


@pytest.mark.parametrize(
    "tamper",
    [
        'UPDATE confined SET namespaces = \'["team-a","team-b","finance"]\'',  # widened
        "DELETE FROM confined",  # unrestricted: the projection would write anywhere
        "UPDATE confined SET chained = 0",  # passed off as from before the chain held them
    ],
)
def test_a_restricted_keys_namespaces_are_in_the_chain(tmp_path: Path, tamper: str) -> None:
    path = tmp_path / "events.sqlite3"
    confined_log(path)
    assert check(path).intact
    with sqlite3.connect(path) as db:
        db.execute(tamper)
    report = check(path)
    assert report.broken is not None and report.broken.seq == 2, report
    assert "confined" in report.broken.problem


def test_namespaces_confined_before_the_chain_held_them_still_verify(tmp_path: Path) -> None:
    """A log written before: its confined rows (chained 0) were hashed without the namespaces;
    opened now, it verifies as it was written, and new restricted entries are chained."""
    path = tmp_path / "events.sqlite3"
    log = EventLog(path)
    log.append([event(1), event(2)])
    log.close()
    with sqlite3.connect(path) as db:  # as an older service left it: no `chained` column
        db.execute("ALTER TABLE confined DROP COLUMN chained")
        db.execute("INSERT INTO confined (seq, namespaces) VALUES (2, '[\"team-a\"]')")
    log = EventLog(path)  # opening adds the column, the old row marked not chained
    assert check(path).intact
    (entry,) = [e for e in log.read(0, 10) if e.seq == 2]
    assert entry.namespaces == ("team-a",)  # still confined when projected
    restricted = NewEvent("openlineage", "RunEvent", "2026-01-01T00:00:03.000000Z", {"n": 3})
    log.append([dataclasses.replace(restricted, namespaces=("team-a",))])
    log.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE confined SET namespaces = '[]'")  # both rows emptied
    assert check(path).broken is not None and check(path).broken.seq == 3  # the new one holds

"""The event log's WAL checkpoints off the commit (ingest/wal_checkpointer.py): the WAL stays
under its bounds under a sustained writer, whoever does the checkpoint; readers see every row; the
chain is the same; the thread ends with the log. Conditions only, no durations."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from lineage_kg.ingest import chain
from lineage_kg.ingest.eventlog import EventLog, NewEvent

SOFT = 64 * 1024
HARD = 512 * 1024
BATCH = 10  # events per append
FILLER = "x" * 2000  # ~2 KB a body: one append writes ~20 KB of rows, ~10 pages with the indexes
TRANSACTION = 128 * 1024  # more than one append's WAL frames (4 KiB pages + 24-byte headers)


def batch(n: int) -> list[NewEvent]:
    return [
        NewEvent(
            "openlineage",
            "RunEvent",
            "2026-01-01T00:00:00.000000Z",
            {"n": n * BATCH + i, "filler": FILLER},
        )
        for i in range(BATCH)
    ]


def wal_size(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    """A condition the thread makes true; the deadline only bounds a hang."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


@pytest.mark.parametrize("thread", ["stopped", "running"])
def test_the_wal_stays_under_the_hard_bound_under_a_sustained_writer(
    tmp_path: Path, thread: str
) -> None:
    """300 appends back to back (~6 MB of rows, 12x the bound) while another connection keeps
    reading: after every acknowledgement the WAL file is within the hard bound. With the thread
    stopped, the writers alone hold it (a writer faster than the checkpointer)."""
    path = tmp_path / "events.sqlite3"
    log = EventLog(path, wal_soft_bytes=SOFT, wal_hard_bytes=HARD)
    if thread == "stopped":
        log.checkpoints.close()
    reading = threading.Event()
    reads: list[int] = []

    def reader() -> None:  # short read snapshots, as the projector's and the API's are
        with closing(sqlite3.connect(path, isolation_level=None)) as db:
            while not reading.is_set():
                reads.append(db.execute("SELECT count(*) FROM events").fetchone()[0])

    readers = threading.Thread(target=reader)
    readers.start()
    try:
        largest = 0
        for n in range(300):
            log.append(batch(n))
            size = wal_size(path)
            largest = max(largest, size)
            assert size <= HARD, (n, size)
    finally:
        reading.set()
        readers.join()
    assert reads and reads == sorted(reads)  # the reader saw the log grow, never shrink
    assert largest > SOFT  # the WAL did pass the soft bound: the bound was exercised
    if thread == "stopped":
        assert log.checkpoints.forced > 0 and log.checkpoints.passive == 0
    else:
        assert log.checkpoints.passive > 0
    entries = log.read(0, 10_000)
    assert [e.body["n"] for e in entries] == list(range(300 * BATCH))
    log.close()


def test_a_reader_pinning_the_wal_delays_the_bound_not_the_writer(tmp_path: Path) -> None:
    """A read snapshot held open on another connection (a backup, `lkg verify`) keeps any
    checkpoint from copying past it. The writer tries, gives up (a bounded wait inside SQLite),
    and goes on acknowledging; it tries again only after the file grew by a quarter of the
    bound; once the reader is gone, that try brings the file back under the bound."""
    path = tmp_path / "events.sqlite3"
    log = EventLog(path, wal_soft_bytes=SOFT, wal_hard_bytes=HARD)
    log.checkpoints.close()  # the writers' checkpoints only
    log.append(batch(0))
    with closing(sqlite3.connect(path, isolation_level=None)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM events").fetchone()  # the snapshot, held
        n = 1
        while wal_size(path) <= HARD + HARD // 2:
            log.append(batch(n))
            n += 1
        # one try past the bound, then one per quarter of it: not one at every commit
        assert log.checkpoints.forced == 0 and 1 <= log.checkpoints.gave_up <= 3
        tried = log.checkpoints._retry_past
        assert HARD < tried <= wal_size(path) + HARD // 4  # given up, with a next try set
        reader.execute("ROLLBACK")
    while log.checkpoints.forced == 0:  # within a quarter of the bound's growth
        assert wal_size(path) <= tried + TRANSACTION
        log.append(batch(n))
        n += 1
    assert wal_size(path) <= HARD
    assert [e.body["n"] for e in log.read(0, 100_000)] == list(range(n * BATCH))
    log.close()


def test_the_thread_alone_keeps_the_wal_near_the_soft_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a hard bound the writer never reaches, the thread's PASSIVE checkpoints are what
    keep the file small: once it caught up, the next commit starts the WAL over and SQLite cuts
    the file back to the soft bound (journal_size_limit)."""
    path = tmp_path / "events.sqlite3"
    log = EventLog(path, wal_soft_bytes=SOFT, wal_hard_bytes=1 << 40)
    for n in range(100):
        log.append(batch(n))
        wait_for(log.checkpoints.caught_up, "the checkpointer never caught up")
        assert wal_size(path) <= SOFT + TRANSACTION, n
    assert log.checkpoints.passive > 0 and log.checkpoints.forced == 0
    # a burst the thread does not follow (its checkpoints copy nothing): the file grows; once
    # the thread caught up, the next commit cuts it back to the soft bound
    with monkeypatch.context() as held_off:
        held_off.setattr(log.checkpoints, "_passive", lambda: None)
        for n in range(100, 150):
            log.append(batch(n))
    assert wal_size(path) > 10 * (SOFT + TRANSACTION)
    log.append(batch(150))  # past the soft bound: wakes the thread
    wait_for(log.checkpoints.caught_up, "the checkpointer never caught up")
    log.append(batch(151))
    assert wal_size(path) <= SOFT + TRANSACTION
    # readers see every row, whichever file holds it
    assert [e.body["n"] for e in log.read(0, 10_000)] == list(range(152 * BATCH))
    log.close()
    assert not Path(f"{path}-wal").exists()  # the last connection checkpointed and removed it


def test_no_commit_checkpoints_by_itself(tmp_path: Path) -> None:
    """The acknowledgement's COMMIT copies nothing into the main file, on either of the log's
    writing connections: with the thread stopped and no hard bound in reach, the WAL holds every
    frame, past the 1,000 pages (~4 MB) at which SQLite's own automatic checkpoint would have
    copied them and let the file start over."""
    path = tmp_path / "events.sqlite3"
    log = EventLog(path, wal_soft_bytes=SOFT, wal_hard_bytes=1 << 40)
    log.checkpoints.close()
    for n in range(150):
        log.append(batch(n))
        log.record_history([], upto=n)  # the audit trail's connection commits too
    assert wal_size(path) > 6 * 1024 * 1024
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        busy, frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert (busy, frames) == (0, copied) and frames * 4096 > 6 * 1024 * 1024
    log.close()


def test_the_chain_is_the_same_with_checkpoints_off_the_commit(tmp_path: Path) -> None:
    """The same appends into a log checkpointing itself at every commit (TRUNCATE: a bound of
    0) and into one whose thread never gets to run one: the same rows, the same hashes, and
    each chain verifies."""
    tight = EventLog(tmp_path / "tight.sqlite3", wal_soft_bytes=1, wal_hard_bytes=1)
    loose = EventLog(tmp_path / "loose.sqlite3", wal_soft_bytes=1 << 40, wal_hard_bytes=1 << 40)
    for n in range(40):
        events = batch(n)
        events = [NewEvent(e.source, e.kind, e.event_time, e.body, received_at="fixed")
                  for e in events]  # fmt: skip
        tight.append(events)
        loose.append(events)
    assert tight.checkpoints.forced == 40 and loose.checkpoints.forced == 0
    rows = []
    heads = []
    for log in (tight, loose):
        with closing(sqlite3.connect(log.path)) as db:
            rows.append(db.execute("SELECT * FROM events ORDER BY seq").fetchall())
            report = chain.verify(db)
        heads.append(report.head_hash)
        assert report.intact, report
        assert report.entries == 40 * BATCH
    assert rows[0] == rows[1] and heads[0] == heads[1]
    tight.close()
    loose.close()


def test_close_ends_the_thread_and_a_dropped_log_ends_it_too(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "a.sqlite3")
    thread = log.checkpoints._thread
    assert thread.is_alive()
    log.close()
    assert not thread.is_alive()

    dropped = EventLog(tmp_path / "b.sqlite3")
    thread = dropped.checkpoints._thread
    del dropped
    gc.collect()
    thread.join(60)
    assert not thread.is_alive()


def test_close_during_a_checkpoint_ends_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`close` arriving while a round runs (here: during its first checkpoint) still ends the
    thread: the round's clearing of the wake-ups must not swallow the stop."""
    log = EventLog(tmp_path / "events.sqlite3", wal_soft_bytes=SOFT, wal_hard_bytes=1 << 40)
    checkpoints = log.checkpoints
    for n in range(20):
        log.append(batch(n))
    wait_for(checkpoints.caught_up, "the checkpointer never caught up")
    closer = threading.Thread(target=log.close)
    began = threading.Event()
    first = checkpoints._passive

    def closed_meanwhile() -> None:
        first()
        if began.is_set():  # the round's second checkpoint
            return
        closer.start()
        began.set()
        wait_for(checkpoints._wake.is_set, "close never asked the thread to stop")

    monkeypatch.setattr(checkpoints, "_passive", closed_meanwhile)
    checkpoints._wake.set()  # a round, as a commit past the soft bound asks; no commit after
    assert began.wait(60), "no round began"
    closer.join(60)
    assert not closer.is_alive() and not checkpoints._thread.is_alive()


def test_bounds_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="soft"):
        EventLog(tmp_path / "a.sqlite3", wal_soft_bytes=2, wal_hard_bytes=1)

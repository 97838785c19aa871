"""kill -9 of a process appending to the event log while its WAL checkpoints run off the commit
(ingest/wal_checkpointer.py): every acknowledged event survives, the chain holds, the file is
sound, and the log takes appends again after each crash.

The child appends back to back with small WAL bounds, so its checkpointer thread and its own
forced checkpoints have both run (and the WAL has started over) many times before the kill; it
prints a batch's ids only after `append` returned, which is when intake answers 2xx.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from lineage_kg.ingest import chain
from lineage_kg.ingest.eventlog import EventLog

CHILD = """
import json, sys
from pathlib import Path
from lineage_kg.ingest.eventlog import EventLog, NewEvent

log = EventLog(Path(sys.argv[1]), wal_soft_bytes=64 * 1024, wal_hard_bytes=512 * 1024)
n = int(sys.argv[2])
while True:
    events = [
        NewEvent("openlineage", "RunEvent", "2026-01-01T00:00:00.000000Z",
                 {"n": n * 10 + i, "filler": "x" * 2000})
        for i in range(10)
    ]
    ids = [a.event_id for a in log.append(events)]
    print(json.dumps([ids, log.checkpoints.passive, log.checkpoints.forced]), flush=True)
    n += 1
"""


def kill_mid_stream(path: Path, first: int) -> tuple[set[str], int]:
    """Start a writer at batch `first`, kill -9 it once both kinds of checkpoint have run a few
    times; the ids it acknowledged, and the batches it reported."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(first)],
        stdout=subprocess.PIPE,
        text=True,
    )
    acknowledged: set[str] = set()
    batches = 0
    assert child.stdout is not None
    for line in child.stdout:
        ids, passive, forced = json.loads(line)
        acknowledged.update(ids)
        batches += 1
        if batches >= 100 and passive >= 3 and forced >= 3:
            child.send_signal(signal.SIGKILL)
            break
    else:
        raise AssertionError(f"the writer ended by itself: {child.wait()}")
    acknowledged.update(i for line in child.stdout for i in json.loads(line)[0])  # in the pipe
    child.stdout.close()
    child.wait(60)
    assert child.returncode == -signal.SIGKILL
    return acknowledged, batches


def test_acknowledged_appends_survive_kill_9_with_checkpoints_off_the_commit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sqlite3"
    acknowledged: set[str] = set()
    first = 0
    for _crash in range(3):  # the second and third start from a crashed file's WAL
        ids, batches = kill_mid_stream(path, first)
        acknowledged |= ids
        first += batches + 1  # past any batch committed but not reported
        log = EventLog(path)
        try:
            assert set(log.seqs(acknowledged)) == acknowledged  # none lost
            # at most the one batch committed between its COMMIT and its report
            assert len(acknowledged) <= log.count() <= len(acknowledged) + 10
        finally:
            log.close()
        with closing(sqlite3.connect(path, isolation_level=None)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            report = chain.verify(db)
        assert report.intact, report.broken
        assert report.entries == report.head_seq >= len(acknowledged)

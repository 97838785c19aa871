"""The event log's WAL checkpoints, off the acknowledgement's path.

SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past `wal_autocheckpoint`
pages, so the request whose append crossed it waited for the pages to be copied into the main
file and for that file's fsync (2026-12-06: 8.2 against 5.8 µs CPU and 30 against 17 µs wall an
event). The commit is durable before that: `synchronous=FULL` fsyncs the WAL at COMMIT, and a
checkpoint only moves committed pages into the main file. So the log's writing connections turn
the automatic checkpoint off (`configure`), and a thread on its own connection runs PASSIVE
checkpoints, which never wait for a writer.

A PASSIVE checkpoint copies what was committed when it began. Under a steady writer, another
commit has nearly always landed by the time it ends, so the WAL is never copied whole and never
starts over (measured: 18.8 MB for a 4 MB bound). So each round is two: the bulk beside the
writer, then what was committed meanwhile with the log's writer lock held (a short copy and the
main file's fsync), after which the next transaction starts the WAL over at its beginning.

The WAL stays bounded:
- soft: `journal_size_limit` is the soft bound on the writing connections, so each time the WAL
  starts over (a writer begins after a checkpoint copied all of it), SQLite cuts the file back to
  it. A commit that leaves the file past it wakes the thread.
- hard: a writer faster than the thread (or a thread that never catches up) lets the file grow;
  a commit that leaves it past the hard bound checkpoints itself, TRUNCATE (every frame copied,
  the file emptied), before its caller hears back. So the file never passes the hard bound by more
  than the transactions committed before the next commit's check, except while a reader on
  another connection holds a snapshot in the WAL: no checkpoint can copy past it (SQLite's
  "checkpoint starvation"), so the writer waits at most `_FORCE_WAIT_MS` and goes on.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

SOFT_BYTES = 4 * 1024 * 1024  # SQLite's own default: 1,000 pages of 4 KiB
HARD_BYTES = 64 * 1024 * 1024
# a forced checkpoint waits this long for readers to leave the WAL (the connection's own
# timeout, 30 s, would hold every acknowledgement that long behind a long read)
_FORCE_WAIT_MS = 1000


def check_bounds(soft_bytes: int, hard_bytes: int) -> None:
    if not 0 < soft_bytes <= hard_bytes:
        raise ValueError(f"WAL bounds: soft {soft_bytes} must be > 0 and <= hard {hard_bytes}")


def configure(db: sqlite3.Connection, soft_bytes: int) -> None:
    """A writing connection of the log: no checkpoint in its commits, the WAL cut back to
    `soft_bytes` each time it starts over."""
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute(f"PRAGMA journal_size_limit={int(soft_bytes)}")


class WalCheckpointer:
    """One thread per log file, started at once; `close` stops it."""

    def __init__(
        self,
        path: Path,
        *,
        soft_bytes: int = SOFT_BYTES,
        hard_bytes: int = HARD_BYTES,
        writer_lock: threading.Lock | None = None,
    ) -> None:
        """`writer_lock`: the lock the log's appends hold (their transaction and `committed`)."""
        check_bounds(soft_bytes, hard_bytes)
        self.soft_bytes, self.hard_bytes = soft_bytes, hard_bytes
        self._wal = f"{path}-wal"
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        # the checkpoint fsyncs the main file before the WAL may start over (OFF would not)
        self._db.execute("PRAGMA synchronous=FULL")
        # one checkpoint of ours at a time: SQLite refuses a second at once (SQLITE_BUSY)
        self._checkpointing = threading.Lock()
        self._writer = writer_lock or threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self.passive = 0  # the thread's checkpoints
        # wake-ups asked for, and the last one a finished checkpoint began after (caught_up)
        self._asked = self._served = 0
        self.forced = 0  # writers' own, past the hard bound
        self.gave_up = 0  # forced ones a reader held off
        self._retry_past = 0  # after a forced checkpoint a reader blocked: the next try's size
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)
        self._thread.start()

    def wal_bytes(self) -> int:
        try:
            return os.stat(self._wal).st_size
        except FileNotFoundError:
            return 0

    def committed(self, db: sqlite3.Connection) -> None:
        """After each commit on a writing connection, outside its transaction, with the log's
        lock for that connection held (so this log's next writer waits for a forced checkpoint)."""
        size = self.wal_bytes()
        if size > self.soft_bytes:
            self._asked += 1
            self._wake.set()
        if size > max(self.hard_bytes, self._retry_past):
            self._force(db, size)

    def _force(self, db: sqlite3.Connection, size: int) -> None:
        """TRUNCATE: every frame copied, the file emptied. A reader holding an old snapshot (a
        backup, `lkg verify` in another process) pins the WAL: waited for `_FORCE_WAIT_MS`, then
        tried again only once the file grew by a quarter of the bound, not at every commit."""
        with self._checkpointing:
            (waits,) = db.execute("PRAGMA busy_timeout").fetchone()
            db.execute(f"PRAGMA busy_timeout={_FORCE_WAIT_MS}")
            try:
                busy, frames, copied = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                why = f"{copied} of {frames} frames copied: a reader holds it"
            except sqlite3.Error as exc:  # the commit before stands: report, do not fail it
                busy, why = 1, str(exc)
            finally:
                db.execute(f"PRAGMA busy_timeout={int(waits)}")
        if not busy:
            self.forced += 1
            self._retry_past = 0
            return
        self.gave_up += 1
        self._retry_past = size + self.hard_bytes // 4
        log.warning(
            "event log: the WAL is %d bytes, past its bound of %d, and could not be checkpointed "
            "(%s); next try past %d bytes",
            size,
            self.hard_bytes,
            why,
            self._retry_past,
        )

    def _run(self) -> None:
        try:
            # `stop` sets the flag before the event: a clear below cannot hide it from this check
            while not self._stopping:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                self._passive()  # the bulk, beside the writer
                with self._writer:
                    # what was committed meanwhile, the writer held off: a short copy, after
                    # which the WAL is copied whole and the next transaction starts it over
                    asked = self._asked
                    self._passive()
                    self._wake.clear()  # the commits that asked during the first are served
                self._served = asked
        finally:
            self._db.close()

    def _passive(self) -> None:
        with self._checkpointing:
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.passive += 1
            except sqlite3.Error as exc:  # the next commit past the soft bound retries
                log.warning("event log: WAL checkpoint failed: %s", exc)

    def caught_up(self) -> bool:
        """Whether a checkpoint has begun after the last commit that asked for one, and ended."""
        return self._served == self._asked

    def stop(self) -> None:
        """Ask the thread to end (it closes its connection); `close` also waits for it."""
        self._stopping = True
        self._wake.set()

    def close(self) -> None:
        self.stop()
        self._thread.join()

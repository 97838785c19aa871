"""One write transaction on an SQLite connection opened in autocommit mode
(`isolation_level=None`), as the event log and every side table take theirs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE (the write lock taken at once: no reader's upgrade that another writer can
    deadlock), COMMIT when the block ends, ROLLBACK when it raises. A COMMIT that fails (a full
    disk, a busy file) is rolled back too, so the connection is never left inside a transaction
    that the next BEGIN would trip over."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise

"""graph/sqlite_tx.py: one write transaction, committed, rolled back, and never left open."""

from __future__ import annotations

import sqlite3

import pytest

from lineage_kg.graph.sqlite_tx import immediate


@pytest.fixture
def db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.execute(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER "
        "REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
    )
    return db


def count(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_the_block_commits(db: sqlite3.Connection) -> None:
    with immediate(db) as tx:
        assert tx is db and db.in_transaction
        db.execute("INSERT INTO parent VALUES (1)")
    assert not db.in_transaction and count(db, "parent") == 1


def test_an_error_in_the_block_rolls_back(db: sqlite3.Connection) -> None:
    with pytest.raises(KeyError), immediate(db):
        db.execute("INSERT INTO parent VALUES (1)")
        raise KeyError("x")
    assert not db.in_transaction and count(db, "parent") == 0


def test_a_failed_commit_is_rolled_back_and_the_next_transaction_begins(
    db: sqlite3.Connection,
) -> None:
    # a deferred foreign key is checked at COMMIT: the COMMIT fails and, by itself, SQLite keeps
    # the transaction open, so the next BEGIN would fail with "within a transaction"
    with pytest.raises(sqlite3.IntegrityError), immediate(db):
        db.execute("INSERT INTO child VALUES (1, 99)")
    assert not db.in_transaction and count(db, "child") == 0
    with immediate(db):
        db.execute("INSERT INTO parent VALUES (99)")
        db.execute("INSERT INTO child VALUES (1, 99)")
    assert count(db, "child") == 1

"""The notifications outbox: one SQLite row per change with downstream impact, beside the graph.

Written by the change projection (ingest/notifications/projection.py) in the same transaction
as its checkpoint in the log and the state it compares against (the columns a dataset had, where
an alias pointed, ...), so a crash replays a batch and writes nothing twice: a change's id is a
hash of the event that brought it and of the change itself (`INSERT OR IGNORE`). Read and
updated by the delivery (service/notifications.py) and `lkg notifications`.

A row is `pending` until every configured target answered 2xx (`delivered`), or until it ran
out of attempts or a target refused it for good (`failed`); each target's 2xx is recorded in
`sent`, so a retry never sends a change again to a target that took it. Unlike the other side
tables, the delivery marks are not derivable from the log: commits are `synchronous=FULL`.

One connection, shared by the projector's thread, the delivery's and a command, under a lock;
other processes (`lkg notifications list` beside a running service) open their own (WAL).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from lineage_kg.graph.sqlite_tx import immediate
from lineage_kg.graph.timefmt import now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    change_id       TEXT PRIMARY KEY,
    seq             INTEGER NOT NULL,
    event_id        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    starts          TEXT NOT NULL,
    detail          TEXT NOT NULL,
    event_time      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    last_error      TEXT,
    delivered_at    TEXT,
    audience        TEXT
);
CREATE INDEX IF NOT EXISTS changes_due ON changes (status, next_attempt_at, seq);
CREATE INDEX IF NOT EXISTS changes_by_seq ON changes (seq, change_id);
CREATE TABLE IF NOT EXISTS sent (
    change_id TEXT NOT NULL,
    target    TEXT NOT NULL,
    sent_at   TEXT NOT NULL,
    PRIMARY KEY (change_id, target)
);
CREATE TABLE IF NOT EXISTS change_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Status(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # permanently, until `lkg notifications retry`


class ChangeKind(StrEnum):
    SCHEMA = "schema_change"  # a column dropped or retyped
    RUN_FAILED = "run_failed"  # a run ended FAIL or ABORT
    QUALITY_FAILED = "quality_failed"  # a data quality assertion failed
    CHECK_FAILING = "check_failing"  # a monitoring check turned failing
    ALIAS_MOVED = "alias_moved"  # a model alias now points at another version
    DEPLOYMENT_STARTED = "deployment_started"  # a model version began serving a decision point


@dataclass(frozen=True, slots=True)
class Change:
    """One change, as detected: `subject` the node changed (its id), `starts` the nodes whose
    impact decides who is told (e.g. a dataset's dropped columns), `detail` what changed."""

    kind: ChangeKind
    subject: str
    starts: tuple[str, ...]
    detail: dict[str, Any]
    event_id: str
    event_time: str

    @property
    def change_id(self) -> str:
        """Deterministic: the same event bringing the same change gives the same id."""
        text = json.dumps(
            [self.event_id, self.kind.value, self.subject, self.detail],
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(slots=True)
class OutboxRow:
    change_id: str
    seq: int
    event_id: str
    kind: str
    subject: str
    starts: list[str]
    detail: dict[str, Any]
    event_time: str
    created_at: str
    status: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    delivered_at: str | None
    audience: dict[str, Any] | None
    sent_to: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "change_id": self.change_id,
            "kind": self.kind,
            "subject": self.subject,
            "detail": self.detail,
            "event_id": self.event_id,
            "event_time": self.event_time,
            "seq": self.seq,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "created_at": self.created_at,
            "delivered_at": self.delivered_at,
            "audience": self.audience,
            "sent_to": self.sent_to,
        }


_COLUMNS = (
    "change_id, seq, event_id, kind, subject, starts, detail, event_time, created_at, status, "
    "attempts, next_attempt_at, last_error, delivered_at, audience"
)


def _row(values: Sequence[Any]) -> OutboxRow:
    audience = json.loads(values[14]) if values[14] else None
    return OutboxRow(
        values[0],
        int(values[1]),
        values[2],
        values[3],
        values[4],
        json.loads(values[5]),
        json.loads(values[6]),
        values[7],
        values[8],
        values[9],
        int(values[10]),
        float(values[11]),
        values[12],
        values[13],
        audience,
    )


class Outbox:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, immediate(self._db) as db:
            yield db

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, params))

    # ---- the projection's side -----------------------------------------------------------
    def checkpoint(self) -> int:
        rows = self._query("SELECT value FROM outbox_meta WHERE key = 'checkpoint'")
        return int(rows[0][0]) if rows else 0

    def set_checkpoint(self, db: sqlite3.Connection, seq: int) -> None:
        db.execute(
            "INSERT INTO outbox_meta (key, value) VALUES ('checkpoint', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(seq),),
        )

    def state(self, db: sqlite3.Connection, keys: Sequence[str]) -> dict[str, Any]:
        """What the detection remembers under these keys (absent: never seen)."""
        found: dict[str, Any] = {}
        for at in range(0, len(keys), 500):
            chunk = list(keys[at : at + 500])
            marks = ",".join("?" * len(chunk))
            for key, value in db.execute(
                f"SELECT key, value FROM change_state WHERE key IN ({marks})", chunk
            ):
                found[key] = json.loads(value)
        return found

    def set_state(self, db: sqlite3.Connection, values: dict[str, Any]) -> None:
        db.executemany(
            "INSERT INTO change_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(k, json.dumps(v, sort_keys=True)) for k, v in values.items()],
        )

    def add(self, db: sqlite3.Connection, seq: int, changes: Sequence[Change]) -> int:
        """Insert the changes (a change already there is left as it is); how many were new."""
        before = db.total_changes
        db.executemany(
            "INSERT OR IGNORE INTO changes (change_id, seq, event_id, kind, subject, starts, "
            "detail, event_time, created_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    c.change_id,
                    seq,
                    c.event_id,
                    c.kind.value,
                    c.subject,
                    json.dumps(list(c.starts)),
                    json.dumps(c.detail, sort_keys=True),
                    c.event_time,
                    now(),
                    Status.PENDING.value,
                )
                for c in changes
            ],
        )
        return db.total_changes - before

    # ---- the delivery's side ---------------------------------------------------------------
    def due(self, at: float, limit: int = 50) -> list[OutboxRow]:
        """Pending rows whose next attempt is due, oldest change first."""
        rows = self._query(
            f"SELECT {_COLUMNS} FROM changes WHERE status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY seq, change_id LIMIT ?",
            (at, limit),
        )
        return self._with_sent([_row(r) for r in rows])

    def next_due(self) -> float | None:
        rows = self._query("SELECT min(next_attempt_at) FROM changes WHERE status = 'pending'")
        return None if rows[0][0] is None else float(rows[0][0])

    def _with_sent(self, rows: list[OutboxRow]) -> list[OutboxRow]:
        if rows:
            by_id = {r.change_id: r for r in rows}
            marks = ",".join("?" * len(by_id))
            for change_id, target in self._query(
                f"SELECT change_id, target FROM sent WHERE change_id IN ({marks}) ORDER BY target",
                list(by_id),
            ):
                by_id[change_id].sent_to.append(target)
        return rows

    def mark_sent(
        self,
        change_id: str,
        target: str,
        *,
        audience: dict[str, Any] | None = None,
        delivered: bool = False,
    ) -> None:
        """`target` answered 2xx for this change: it is never sent there again. In the same
        commit: who was told (`audience`, when first worked out) and, after the last target,
        the row delivered — one fsync per target and change."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO sent (change_id, target, sent_at) VALUES (?, ?, ?)",
                (change_id, target, now()),
            )
            self._audience(db, change_id, audience)
            if delivered:
                self._delivered(db, change_id)

    def settled_upto(self) -> int:
        """The log position up to which every change is settled (delivered, or failed for good):
        what a new sender need not send again."""
        rows = self._query("SELECT min(seq) FROM changes WHERE status = 'pending'")
        if rows[0][0] is not None:
            return int(rows[0][0]) - 1
        return self.checkpoint()

    def settle_upto(self, seq: int) -> int:
        """Mark the pending changes at or before `seq` delivered without sending them: another
        process, the one that sends, settled them (service/notifications.py). How many."""
        with self.transaction() as db:
            return db.execute(
                "UPDATE changes SET status = 'delivered', delivered_at = ?, "
                "last_error = 'settled by the sending process' "
                "WHERE status = 'pending' AND seq <= ?",
                (now(), seq),
            ).rowcount

    def mark_delivered(self, change_id: str, audience: dict[str, Any] | None = None) -> None:
        """Every target has it (none left to send to)."""
        with self.transaction() as db:
            self._audience(db, change_id, audience)
            self._delivered(db, change_id)

    @staticmethod
    def _audience(db: sqlite3.Connection, change_id: str, audience: dict[str, Any] | None) -> None:
        if audience is not None:
            db.execute(
                "UPDATE changes SET audience = ? WHERE change_id = ?",
                (json.dumps(audience, sort_keys=True), change_id),
            )

    @staticmethod
    def _delivered(db: sqlite3.Connection, change_id: str) -> None:
        db.execute(
            "UPDATE changes SET status = 'delivered', delivered_at = ?, attempts = attempts + 1, "
            "last_error = NULL WHERE change_id = ? AND status = 'pending'",
            (now(), change_id),
        )

    def mark_attempt_failed(
        self,
        change_id: str,
        error: str,
        *,
        next_attempt_at: float | None,
        audience: dict[str, Any] | None = None,
    ) -> None:
        """One attempt failed: tried again at `next_attempt_at`, or never (None: failed)."""
        with self.transaction() as db:
            self._audience(db, change_id, audience)
            if next_attempt_at is None:
                db.execute(
                    "UPDATE changes SET status = 'failed', attempts = attempts + 1, "
                    "last_error = ? WHERE change_id = ? AND status = 'pending'",
                    (error, change_id),
                )
            else:
                db.execute(
                    "UPDATE changes SET attempts = attempts + 1, last_error = ?, "
                    "next_attempt_at = ? WHERE change_id = ? AND status = 'pending'",
                    (error, next_attempt_at, change_id),
                )

    def postpone(self, change_id: str, error: str, next_attempt_at: float) -> None:
        """Not tried: something of ours was down (the store); no attempt counted."""
        with self.transaction() as db:
            db.execute(
                "UPDATE changes SET last_error = ?, next_attempt_at = ? "
                "WHERE change_id = ? AND status = 'pending'",
                (error, next_attempt_at, change_id),
            )

    # ---- the command's side ----------------------------------------------------------------
    def rows(self, status: str | None = None, limit: int = 1000) -> list[OutboxRow]:
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        rows = self._query(
            f"SELECT {_COLUMNS} FROM changes {where} ORDER BY seq, change_id LIMIT ?",
            [*params, limit],
        )
        return self._with_sent([_row(r) for r in rows])

    def counts(self) -> dict[str, int]:
        return dict(self._query("SELECT status, count(*) FROM changes GROUP BY status ORDER BY 1"))

    def retry(self, change_ids: Sequence[str] | None) -> int:
        """Failed rows (these, or all when None) back to pending, due now; how many."""
        with self.transaction() as db:
            before = db.total_changes
            sql = (
                "UPDATE changes SET status = 'pending', attempts = 0, next_attempt_at = 0 "
                "WHERE status = 'failed'"
            )
            if change_ids is None:
                db.execute(sql)
            else:
                db.executemany(sql + " AND change_id = ?", [(i,) for i in change_ids])
            return db.total_changes - before

    def close(self) -> None:
        with self._lock:
            self._db.close()

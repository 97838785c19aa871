"""The decisions side table: one SQLite row per decision, beside the graph (ADR 0002).

A projection of the event log like the graph: rows carry the log position (`seq`) and the id of
the event that brought them (the evidence), and the table's checkpoint is written in the same
transaction as its rows, so it can always be rebuilt or caught up from the log. That is also why
it runs with `synchronous=NORMAL`: a commit lost in a power cut is replayed from the log.

Reads use one connection per thread (WAL: readers never wait for the writer).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage_kg.graph.canonical import canonical_json
from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.sqlite_tx import immediate
from lineage_kg.graph.timefmt import now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    decision_id    TEXT PRIMARY KEY,
    timestamp      TEXT NOT NULL,
    decision_point TEXT NOT NULL,
    registry       TEXT NOT NULL,
    model          TEXT NOT NULL,
    version        TEXT,
    alias          TEXT,
    features       TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    request_id     TEXT,
    digest         TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    event_id       TEXT NOT NULL
) WITHOUT ROWID;
-- version and alias exclusive: one index serves "by version", "by alias" and the counts
CREATE INDEX IF NOT EXISTS decisions_by_model
    ON decisions (registry, model, version, alias, timestamp, decision_id);
CREATE INDEX IF NOT EXISTS decisions_by_point ON decisions (decision_point, timestamp, decision_id);
CREATE INDEX IF NOT EXISTS decisions_by_time ON decisions (timestamp, decision_id);
CREATE TABLE IF NOT EXISTS parked_decisions (
    decision_id TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    event_id    TEXT NOT NULL,
    body        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    parked_at   TEXT NOT NULL,
    tried_at    TEXT NOT NULL,
    attempts    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS parked_by_try ON parked_decisions (tried_at, decision_id);
CREATE TABLE IF NOT EXISTS decision_conflicts (
    decision_id TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    digest      TEXT NOT NULL,
    PRIMARY KEY (decision_id, event_id)
);
CREATE TABLE IF NOT EXISTS decision_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_PARKED = "decision_id, seq, event_id, body, digest, reason, attempts"
_COLUMNS = (
    "decision_id, timestamp, decision_point, registry, model, version, alias, features, "
    "outcome, request_id, seq, event_id"
)


def _compact(value: Any) -> str:
    # items come from the log's canonical JSON, keys already sorted: no need to sort again
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def digest_of(item: dict[str, Any]) -> str:
    return hashlib.blake2b(_compact(item).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class DecisionRow:
    decision_id: str
    timestamp: str  # canonical
    decision_point: str
    registry: str
    model: str
    version: str | None
    alias: str | None
    features: list[dict[str, Any]]  # {project, view, name[, value]}
    outcome: Any
    request_id: str | None
    seq: int  # log position of the batch event
    event_id: str  # the batch event: GET /api/v1/events/{event_id}

    @classmethod
    def from_sql(cls, row: Sequence[Any]) -> DecisionRow:
        return cls(*row[:7], json.loads(row[7]), json.loads(row[8]), row[9], int(row[10]), row[11])

    @property
    def key(self) -> NodeKey:
        return NodeKey.of(NodeKind.DECISION, decision_id=self.decision_id)

    @property
    def model_key(self) -> NodeKey:
        return NodeKey.of(NodeKind.MODEL, registry=self.registry, name=self.model)

    @property
    def version_key(self) -> NodeKey | None:
        """The model version the decision names itself, if it does."""
        if self.version is None:
            return None
        return NodeKey.of(
            NodeKind.MODEL_VERSION, registry=self.registry, name=self.model, version=self.version
        )

    @property
    def point_key(self) -> NodeKey:
        return NodeKey.of(NodeKind.DECISION_POINT, name=self.decision_point)


@dataclass(frozen=True, slots=True)
class Parked:
    decision_id: str
    seq: int
    event_id: str
    body: dict[str, Any]
    digest: str
    reason: str
    attempts: int

    @classmethod
    def from_sql(cls, r: Sequence[Any]) -> Parked:
        return cls(r[0], int(r[1]), r[2], json.loads(r[3]), r[4], r[5], int(r[6]))


@dataclass(frozen=True, slots=True)
class TableStats:
    stored: int
    parked: int
    conflicts: int
    checkpoint: int


@dataclass(frozen=True, slots=True)
class Filter:
    """What to list; every field optional. Version and alias are exclusive, as in a decision."""

    registry: str | None = None
    model: str | None = None
    version: str | None = None
    alias: str | None = None
    decision_point: str | None = None
    since: str | None = None  # canonical, inclusive
    until: str | None = None  # canonical, inclusive


class DecisionTable:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = self._connect()
        self._db.executescript(_SCHEMA)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    # ---- writes (the projection's) ----------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, immediate(self._db) as db:
            yield db

    def checkpoint(self) -> int:
        row = self._read("SELECT value FROM decision_meta WHERE key = 'checkpoint'")
        return int(row[0][0]) if row else 0

    @staticmethod
    def set_checkpoint(db: sqlite3.Connection, seq: int) -> None:
        db.execute(
            "INSERT OR REPLACE INTO decision_meta (key, value) VALUES ('checkpoint', ?)",
            (str(seq),),
        )

    @staticmethod
    def known_digests(db: sqlite3.Connection, ids: Sequence[str]) -> dict[str, str]:
        """decision id → digest, for the ids already stored or parked."""
        found: dict[str, str] = {}
        for table in ("decisions", "parked_decisions"):
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT decision_id, digest FROM {table} WHERE decision_id IN ({marks})"
                found.update(db.execute(sql, chunk).fetchall())
        return found

    @staticmethod
    def insert(db: sqlite3.Connection, rows: list[tuple[dict[str, Any], str, int, str]]) -> None:
        """Store (item, digest, seq, event id) rows; the caller made sure the ids are new."""
        db.executemany(
            f"INSERT INTO decisions ({_COLUMNS}, digest) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    item["decision_id"], item["timestamp"], item["decision_point"],
                    item["registry"], item["model"], item.get("version"), item.get("alias"),
                    _compact(item.get("features", [])), _compact(item["outcome"]),
                    item.get("request_id"), seq, event_id, digest,
                )
                for item, digest, seq, event_id in rows
            ],
        )  # fmt: skip

    @staticmethod
    def park(db: sqlite3.Connection, rows: list[tuple[dict[str, Any], str, int, str, str]]) -> None:
        """Set aside (item, digest, seq, event id, reason) rows until their references exist."""
        at = now()
        db.executemany(
            "INSERT INTO parked_decisions (decision_id, seq, event_id, body, digest, reason, "
            "parked_at, tried_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
            [
                (item["decision_id"], seq, event_id, canonical_json(item), digest, reason, at, at)
                for item, digest, seq, event_id, reason in rows
            ],
        )

    @staticmethod
    def conflict(db: sqlite3.Connection, rows: list[tuple[str, str, int, str]]) -> None:
        """Record (decision id, event id, seq, digest) of a later, different copy (dropped)."""
        db.executemany(
            "INSERT OR IGNORE INTO decision_conflicts (decision_id, event_id, seq, digest) "
            "VALUES (?, ?, ?, ?)",
            rows,
        )

    def parked_to_retry(self, limit: int, before: str) -> list[Parked]:
        """The parked decisions tried longest ago (and before `before`), at most `limit`."""
        rows = self._read(
            f"SELECT {_PARKED} FROM parked_decisions WHERE tried_at < ? "
            "ORDER BY tried_at, decision_id LIMIT ?",
            (before, limit),
        )
        return [Parked.from_sql(r) for r in rows]

    @staticmethod
    def unpark(db: sqlite3.Connection, ids: Sequence[str]) -> None:
        db.executemany("DELETE FROM parked_decisions WHERE decision_id = ?", [(i,) for i in ids])

    @staticmethod
    def still_parked(db: sqlite3.Connection, rows: list[tuple[str, str]]) -> None:
        """(decision id, reason): tried again, still missing something."""
        at = now()
        db.executemany(
            "UPDATE parked_decisions SET reason = ?, tried_at = ?, attempts = attempts + 1 "
            "WHERE decision_id = ?",
            [(reason, at, decision_id) for decision_id, reason in rows],
        )

    # ---- reads ------------------------------------------------------------------------------
    def _reader(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
            with self._lock:
                self._readers.append(db)
        return db

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._reader().execute(sql, params).fetchall()

    def get(self, decision_id: str) -> DecisionRow | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM decisions WHERE decision_id = ?", (decision_id,))
        return DecisionRow.from_sql(rows[0]) if rows else None

    def get_parked(self, decision_id: str) -> Parked | None:
        rows = self._read(
            f"SELECT {_PARKED} FROM parked_decisions WHERE decision_id = ?",
            (decision_id,),
        )
        if not rows:
            return None
        return Parked.from_sql(rows[0])

    def parked(self, limit: int = 100) -> list[Parked]:
        rows = self._read(
            f"SELECT {_PARKED} FROM parked_decisions ORDER BY seq, decision_id LIMIT ?",
            (limit,),
        )
        return [Parked.from_sql(r) for r in rows]

    def page(
        self, where: Filter, limit: int, after: tuple[str, str] | None = None
    ) -> list[DecisionRow]:
        """Decisions by (timestamp, decision id), after the keyset `after`, at most `limit`."""
        clauses, params = self._where(where)
        if after is not None:
            clauses.append("(timestamp, decision_id) > (?, ?)")
            params.extend(after)
        sql = f"SELECT {_COLUMNS} FROM decisions"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        rows = self._read(sql + " ORDER BY timestamp, decision_id LIMIT ?", [*params, limit])
        return [DecisionRow.from_sql(r) for r in rows]

    @staticmethod
    def _where(where: Filter) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column in ("registry", "model", "decision_point"):
            if (value := getattr(where, column)) is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if where.version is not None:
            # "alias IS NULL" always holds then; saying so lets the index give time order
            clauses.append("version = ? AND alias IS NULL")
            params.append(where.version)
        elif where.alias is not None:
            clauses.append("version IS NULL AND alias = ?")
            params.append(where.alias)
        if where.since is not None:
            clauses.append("timestamp >= ?")
            params.append(where.since)
        if where.until is not None:
            clauses.append("timestamp <= ?")
            params.append(where.until)
        return clauses, params

    def counts(self, registry: str, model: str) -> list[tuple[str | None, str | None, int]]:
        """(version, alias, count) for one model: named versions, aliases, and (None, None)
        for decisions naming neither (resolved by deployment)."""
        rows = self._read(
            "SELECT version, alias, count(*) FROM decisions WHERE registry = ? AND model = ? "
            "GROUP BY version, alias ORDER BY version, alias",
            (registry, model),
        )
        return [(r[0], r[1], int(r[2])) for r in rows]

    def decided(self) -> list[tuple[str, str, str, str, str, str]]:
        """(registry, model, version, decision point, earliest time, its event id) for every
        version named by stored decisions: the aggregated DECIDED edges of the graph."""
        rows = self._read(
            "SELECT registry, model, version, decision_point, min(timestamp), event_id "
            "FROM decisions WHERE version IS NOT NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )
        return [tuple(str(v) for v in r) for r in rows]  # type: ignore[misc]

    def stats(self) -> TableStats:
        (stored,) = self._read("SELECT count(*) FROM decisions")[0]
        (parked,) = self._read("SELECT count(*) FROM parked_decisions")[0]
        (conflicts,) = self._read("SELECT count(*) FROM decision_conflicts")[0]
        return TableStats(int(stored), int(parked), int(conflicts), self.checkpoint())

    def close(self) -> None:
        with self._lock:
            for db in self._readers:
                db.close()
            self._readers.clear()
            self._db.close()

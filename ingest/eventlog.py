"""The durable, append-only event log: every accepted event, before anyone is told "accepted".

SQLite in WAL mode with `synchronous=FULL`: a commit returns only after the log is on disk, so an
event acknowledged with 2xx survives a crash of the process or the machine. The graph is a
projection of this log; it can always be rebuilt from it (the embedded store does at start).

An event's identity is the SHA-256 of its source and canonical JSON, so the same event sent
twice is stored once and reported as a duplicate. Each entry also carries the hash of the entry
before it (ingest/chain.py), so an entry changed or removed later shows in `lkg verify`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from lineage_kg.graph.canonical import canonical_json
from lineage_kg.graph.sides.history import EntryType, HistoryEntry, decode_cursor
from lineage_kg.graph.sqlite_tx import immediate
from lineage_kg.graph.timefmt import now
from lineage_kg.ingest import chain, logcheck

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL UNIQUE,
    source      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    event_time  TEXT NOT NULL,
    received_at TEXT NOT NULL,
    body        TEXT NOT NULL,
    prev_hash   TEXT,  -- the hash chain (ingest/chain.py); nullable only for ALTER TABLE
    entry_hash  TEXT
);
CREATE TABLE IF NOT EXISTS parked (
    seq       INTEGER PRIMARY KEY REFERENCES events(seq),
    error     TEXT NOT NULL,
    parked_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS confined (
    seq        INTEGER PRIMARY KEY REFERENCES events(seq),
    namespaces TEXT NOT NULL,  -- JSON list: the namespaces the accepting key was confined to
    chained    INTEGER NOT NULL DEFAULT 0  -- 1: the entry's hash covers them (ingest/chain.py)
);
CREATE TABLE IF NOT EXISTS node_history (
    node_id       TEXT NOT NULL,
    seq           INTEGER NOT NULL REFERENCES events(seq),
    entry_type    TEXT NOT NULL,
    event_time    TEXT NOT NULL,
    summary       TEXT NOT NULL,
    other_node_id TEXT,
    edge_kind     TEXT,
    PRIMARY KEY (node_id, seq, entry_type)
);
CREATE INDEX IF NOT EXISTS node_history_by_time ON node_history (node_id, event_time);
CREATE TABLE IF NOT EXISTS history_position (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL  -- every event up to here has its audit-trail rows (history_stage.py)
);
CREATE INDEX IF NOT EXISTS events_by_source ON events (source, seq);
CREATE TABLE IF NOT EXISTS sync_state (
    source TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (source, key)
);
"""


class LogUnavailable(RuntimeError):
    """The log cannot be written (disk full, read-only, locked) or read (a damaged page):
    nothing was accepted."""


def event_id_of(source: str, body: Any, salt: str = "") -> str:
    return _event_id(source, canonical_json(body), salt)


def _event_id(source: str, canonical_body: str, salt: str) -> str:
    return _event_id_utf8(source, canonical_body.encode(), salt)


def _event_id_utf8(source: str, body_utf8: bytes, salt: str) -> str:
    """The id from the body's UTF-8: SHA-256 of `source\n[salt\n]body`, fed in two pieces."""
    salted = f"{salt}\n" if salt else ""
    digest = hashlib.sha256(f"{source}\n{salted}".encode())
    digest.update(body_utf8)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class NewEvent:
    source: str
    kind: str
    event_time: str  # canonical (graph.timefmt)
    body: Any
    # set when the same content must count as new: a definition changed back (A → B → A)
    salt: str = ""
    # the namespaces of the key that sent it, if it was restricted (graph/confine.py): not part
    # of its identity; kept beside the entry so the projection confines it too
    namespaces: tuple[str, ...] = ()
    # the body's canonical JSON when the caller already spelled it (intake checks with it)
    text: str | None = field(default=None, compare=False, repr=False)
    # when it was received, if not now: a copy of the Kafka log takes the broker's time, so
    # every copy of one topic hashes the same chain (ingest/kafka_log.py)
    received_at: str | None = field(default=None, compare=False, repr=False)

    @property
    def event_id(self) -> str:
        if self.text is not None:
            return _event_id(self.source, self.text, self.salt)
        return event_id_of(self.source, self.body, self.salt)


@dataclass(frozen=True, slots=True)
class Appended:
    event_id: str
    seq: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class LogEntry:
    seq: int
    event_id: str
    source: str
    kind: str
    event_time: str
    received_at: str
    body: Any
    namespaces: tuple[str, ...] = ()  # the accepting key's, if it was restricted


# an entry's columns, with the namespaces its key was confined to (NULL: unrestricted)
_ENTRY = (
    "events.seq, event_id, source, kind, event_time, received_at, body, confined.namespaces "
    "FROM events LEFT JOIN confined ON confined.seq = events.seq"
)


# 19 digits in a row: maybe an integer past 64 bits, which orjson reads as a float (or a float
# with that many digits, read alike by both: left to `json` all the same, it is rare). Found by
# mapping every digit to one byte and all else to another, then one substring search: a regex
# took longer than `json.loads` itself on digit-rich bodies (78 against 51 us on 680 bytes).
_DIGIT_OR_NOT = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_NUMBER = b"0" * 19


def parse_stored(text: str) -> Any:
    """A stored body as `json.loads` reads it, by orjson (~3x faster: `json.loads` was a tenth of
    the projector thread's time in a 100k load) wherever orjson reads it alike: not where 19
    digits stand in a row (an integer past 64 bits), nor where orjson refuses what `json` reads
    (a lone surrogate's escape, a number too large for a double, NaN)."""
    raw = text.encode("utf-8", "surrogatepass")
    if _LONG_NUMBER not in raw.translate(_DIGIT_OR_NOT):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def _entry(row: Sequence[Any]) -> LogEntry:
    namespaces = tuple(json.loads(row[7])) if row[7] is not None else ()
    return LogEntry(*row[:6], parse_stored(row[6]), namespaces)


def _range(after_seq: int, source: str | None, upto: int | None) -> tuple[str, list[Any]]:
    """The WHERE clause (fixed text, values as parameters) of a read after `after_seq`."""
    where = ["events.seq > ?"]
    params: list[Any] = [after_seq]
    if source is not None:
        where.append("source = ?")
        params.append(source)
    if upto is not None:
        where.append("events.seq <= ?")
        params.append(upto)
    return " AND ".join(where), params


def _stored_seqs(db: sqlite3.Connection, event_ids: Sequence[str]) -> dict[str, int]:
    """The seq of each of these events the log holds, in a statement per 500 ids."""
    found: dict[str, int] = {}
    wanted = list(dict.fromkeys(event_ids))
    for begin in range(0, len(wanted), 500):  # well under SQLite's bound on parameters
        chunk = wanted[begin : begin + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT event_id, seq FROM events WHERE event_id IN ({marks})"
        found.update((str(i), int(seq)) for i, seq in db.execute(sql, chunk))
    return found


class EventLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # the audit trail's own connection (record_history): its writes neither wait for the
        # main connection's lock nor fsync (see record_history)
        self._history_lock = threading.Lock()
        self._history_db: sqlite3.Connection | None = None
        # set once SQLite reports the file damaged: /readyz says so, nothing more is written
        self.fault: str | None = None
        try:
            self._db = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            chain.ensure_confined_chained(self._db)
            unchained = not chain.chained(self._db)
        except sqlite3.Error as exc:
            raise LogUnavailable(f"event log {path}: {exc}") from exc
        if unchained:  # a log from before the chain: add and backfill it
            with self._transaction() as db:
                chain.ensure_chain(db)

    def _failed(self, exc: sqlite3.Error) -> LogUnavailable:
        if logcheck.is_corruption(exc):
            self.fault = f"event log {self.path} is damaged: {exc} (run `lkg verify`)"
        return LogUnavailable(self.fault or f"event log {self.path}: {exc}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self.fault is not None:  # writing more into a damaged file can only lose more
                raise LogUnavailable(self.fault)
            try:
                with immediate(self._db) as db:
                    yield db
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc

    def append(self, events: Sequence[NewEvent]) -> list[Appended]:
        """Store the events durably (one fsync for the lot); duplicates are not stored twice.
        Each new entry is linked into the hash chain in the same transaction."""
        received = now()
        results: list[Appended] = []
        # the text stored and the id hashing it, once per event and outside the lock: another
        # request's commit (its fsync) goes on meanwhile
        texts = [e.text if e.text is not None else canonical_json(e.body) for e in events]
        utf8 = [text.encode() for text in texts]  # once, for both hashes
        ids = [_event_id_utf8(e.source, b, e.salt) for e, b in zip(events, utf8, strict=True)]
        with self._transaction() as db:
            seq, prev_hash = chain.head(db)
            # one look for the lot (an ignored INSERT would still use up a sequence number);
            # an event twice in this batch is a duplicate of its first copy
            stored = _stored_seqs(db, ids)
            rows: list[tuple[Any, ...]] = []
            confined_rows: list[tuple[int, str]] = []
            spelled: dict[tuple[str, ...], str] = {}
            for event, body, body_utf8, event_id in zip(events, texts, utf8, ids, strict=True):
                if (found := stored.get(event_id)) is not None:
                    results.append(Appended(event_id, found, True))
                    continue
                # the seq AUTOINCREMENT would assign, given explicitly: the hash covers it
                seq += 1
                at = event.received_at or received
                fields = (seq, event_id, event.source, event.kind, event.event_time, at, body)
                # a restricted key's namespaces are hashed with the entry: widening them later
                # (the projection writes only inside them) breaks the chain
                confined = spelled.get(event.namespaces)  # spelled once per set in the batch
                if confined is None and event.namespaces:
                    confined = json.dumps(sorted(set(event.namespaces)))
                    spelled[event.namespaces] = confined
                digest = chain.entry_hash(prev_hash, fields, confined, body_utf8)
                rows.append((*fields, prev_hash, digest))
                if confined is not None:
                    confined_rows.append((seq, confined))
                prev_hash = digest
                stored[event_id] = seq
                results.append(Appended(event_id, seq, False))
            db.executemany(
                "INSERT INTO events (seq, event_id, source, kind, event_time, received_at, "
                "body, prev_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            if confined_rows:
                db.executemany(
                    "INSERT INTO confined (seq, namespaces, chained) VALUES (?, ?, 1)",
                    confined_rows,
                )
        return results

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                if not logcheck.is_corruption(exc):
                    raise
                raise self._failed(exc) from exc

    def read(
        self, after_seq: int, limit: int, *, source: str | None = None, upto: int | None = None
    ) -> list[LogEntry]:
        """Entries after `after_seq` in log order; only `source`'s, only up to `upto` if given."""
        where, params = _range(after_seq, source, upto)
        rows = self._query(
            f"SELECT {_ENTRY} WHERE {where} ORDER BY events.seq LIMIT ?", [*params, limit]
        )
        return [_entry(row) for row in rows]

    def heads(
        self, after_seq: int, limit: int, *, upto: int | None = None
    ) -> list[tuple[int, str]]:
        """(seq, source) of the entries `read` answers, without their bodies (nothing parsed)."""
        where, params = _range(after_seq, None, upto)
        rows = self._query(
            f"SELECT seq, source FROM events WHERE {where} ORDER BY events.seq LIMIT ?",
            [*params, limit],
        )
        return [(int(seq), str(source)) for seq, source in rows]

    def get(self, event_id: str) -> LogEntry | None:
        rows = self._query(f"SELECT {_ENTRY} WHERE event_id = ?", (event_id,))
        return _entry(rows[0]) if rows else None

    def seqs(self, event_ids: Collection[str]) -> dict[str, int]:
        """The seq of each of these events the log holds (absent: not in the log), read without
        their bodies."""
        found: dict[str, int] = {}
        wanted = list(event_ids)
        for begin in range(0, len(wanted), 500):  # well under SQLite's bound on parameters
            chunk = wanted[begin : begin + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT event_id, seq FROM events WHERE event_id IN ({marks})"
            found.update((str(i), int(seq)) for i, seq in self._query(sql, chunk))
        return found

    def last_seq(self) -> int:
        return int(self._query("SELECT coalesce(max(seq), 0) FROM events")[0][0])

    def entry_hash_at(self, seq: int) -> str | None:
        """The chain hash of the entry at `seq` (ingest/chain.py), None if there is none."""
        rows = self._query("SELECT entry_hash FROM events WHERE seq = ?", (seq,))
        return None if not rows or rows[0][0] is None else str(rows[0][0])

    def anchor_problem(self, seq: int, digest: str) -> str | None:
        """Why the entry at `seq` is no longer the one hashed `digest` (changed, the chain
        rewritten through it, entries before it deleted: `chain.anchor_problem`), else None.
        A copy of the graph made at `seq` follows this log only if this is None."""
        with self._lock:
            broken = chain.anchor_problem(self._db, seq, digest)
        return None if broken is None else broken.problem

    def count(self) -> int:
        return int(self._query("SELECT count(*) FROM events")[0][0])

    def park(self, seq: int, error: str) -> None:
        """Set aside an event the projector could not map; it stays in the log for a retry."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO parked (seq, error, parked_at) VALUES (?, ?, ?)",
                (seq, error, now()),
            )

    def unpark_all(self) -> int:
        """Forget every parked event (a rebuild maps them again); how many there were. The audit
        trail's position goes back to before the first of them, so that an event that maps now
        gets its history too."""
        with self._transaction() as db:
            first = db.execute("SELECT min(seq) FROM parked").fetchone()[0]
            if first is not None:
                db.execute("UPDATE history_position SET seq = min(seq, ?)", (int(first) - 1,))
            return db.execute("DELETE FROM parked").rowcount

    def parked(self) -> list[tuple[int, str]]:
        return [(int(s), str(e)) for s, e in self._query("SELECT seq, error FROM parked")]

    # ---- where each source's incremental sync got to (cursors, watermarks) --------------
    def get_state(self, source: str, key: str) -> str | None:
        rows = self._query(
            "SELECT value FROM sync_state WHERE source = ? AND key = ?", (source, key)
        )
        return str(rows[0][0]) if rows else None

    def set_state(self, source: str, key: str, value: str) -> None:
        """Record a sync cursor; call only after the events it covers were appended."""
        self.set_states(source, {key: value})

    def set_states(self, source: str, values: dict[str, str]) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO sync_state (source, key, value) VALUES (?, ?, ?)",
                [(source, k, v) for k, v in values.items()],
            )

    def get_states(self, source: str, prefix: str) -> dict[str, str]:
        """Every state of `source` whose key starts with `prefix`."""
        rows = self._query(
            "SELECT key, value FROM sync_state WHERE source = ? AND substr(key, 1, ?) = ?",
            (source, len(prefix), prefix),
        )
        return {str(k): str(v) for k, v in rows}

    # ---- the audit trail (derived from each event's mutations by the projector) -----------
    @contextmanager
    def _history_transaction(self) -> Iterator[sqlite3.Connection]:
        with self._history_lock:
            if self.fault is not None:
                raise LogUnavailable(self.fault)
            try:
                if self._history_db is None:
                    self._history_db = sqlite3.connect(
                        self.path, isolation_level=None, check_same_thread=False, timeout=30
                    )
                    # no fsync at commit: rows and position commit together, and WAL loses only
                    # a suffix, so what a crash takes is derived again from the position on
                    self._history_db.execute("PRAGMA synchronous=NORMAL")
                with immediate(self._history_db) as db:
                    yield db
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc

    def record_history(self, entries: Iterable[HistoryEntry], *, upto: int | None = None) -> None:
        """Store audit-trail entries in one transaction; recording them again changes nothing.
        With `upto`, every event up to that seq now has its entries (the history position,
        `history_position`, moves there in the same transaction; it never moves back here)."""
        rows = [
            (e.node_id, e.seq, e.entry_type.value, e.event_time, e.summary, e.other_node_id,
             e.edge_kind)
            for e in entries
        ]  # fmt: skip
        if not rows and upto is None:
            return
        with self._history_transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO node_history (node_id, seq, entry_type, event_time, "
                "summary, other_node_id, edge_kind) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            if upto is not None:
                db.execute(
                    "INSERT INTO history_position (id, seq) VALUES (1, ?) "
                    "ON CONFLICT (id) DO UPDATE SET seq = max(seq, excluded.seq)",
                    (upto,),
                )

    def history_position(self) -> int:
        """The last seq up to which every event's audit-trail entries are recorded."""
        rows = self._query("SELECT seq FROM history_position WHERE id = 1")
        return int(rows[0][0]) if rows else 0

    def history(
        self,
        node_id: str,
        *,
        since: str | None = None,
        until: str | None = None,
        types: Collection[EntryType] | None = None,
        limit: int = 50,
        after: str | None = None,
        also: Sequence[str] = (),
    ) -> list[HistoryEntry]:
        """A node's entries by (event time, seq, entry type), from `since` to `until` (both
        inclusive, canonical times), after the cursor `after`; with `also`, the entries of these
        ids too (the node's ids under its dataset's other names, graph/merge.py). Events parked
        after their entries were recorded (the store refused them) are left out. ValueError on a
        bad cursor.
        """
        ids = list(dict.fromkeys([node_id, *also]))  # `also`: its ids under other names
        where = [
            f"h.node_id IN ({', '.join('?' * len(ids))})",
            "h.seq NOT IN (SELECT seq FROM parked)",
        ]
        params: list[Any] = [*ids]
        if since is not None:
            where.append("h.event_time >= ?")
            params.append(since)
        if until is not None:
            where.append("h.event_time <= ?")
            params.append(until)
        if types:
            where.append(f"h.entry_type IN ({', '.join('?' * len(types))})")
            params.extend(EntryType(t).value for t in sorted(types))
        if after is not None:
            where.append("(h.event_time, h.seq, h.entry_type) > (?, ?, ?)")
            params.extend(decode_cursor(after))
        rows = self._query(
            "SELECT h.node_id, h.seq, e.event_id, e.source, h.event_time, h.entry_type, "
            "h.summary, h.other_node_id, h.edge_kind "
            "FROM node_history h JOIN events e ON e.seq = h.seq "
            f"WHERE {' AND '.join(where)} "
            "ORDER BY h.event_time, h.seq, h.entry_type LIMIT ?",
            [*params, limit],
        )
        return [HistoryEntry(*row[:5], EntryType(row[5]), *row[6:]) for row in rows]

    def close(self) -> None:
        with self._history_lock:
            if self._history_db is not None:
                self._history_db.close()
                self._history_db = None
        with self._lock:
            self._db.close()

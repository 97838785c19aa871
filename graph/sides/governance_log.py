"""The governance log: when each violation of the policy was seen to start and to end.

One row per transition of a violation, keyed by what names it (rule, subject, related node):
opened when an evaluation finds a violation no open row holds, closed when an evaluation no
longer finds it. Each end records the graph's position (the projector's checkpoint) at which it
was seen, and the start the violation's evidence events. Written by the watcher
(service/governance_watch.py), read by the audit trail (queries/audit.py) as GOVERNANCE entries.

`record` compares with the open rows in one transaction, so evaluating the same graph again
(a restart, a second look) opens and closes nothing: at most one open row per violation (a
partial unique index says so too). Unlike the history, the rows are not derivable from the log
(when a violation was *seen* is not in it): commits are `synchronous=FULL`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lineage_kg.graph.sides.history import EntryType, HistoryEntry, decode_cursor
from lineage_kg.graph.sqlite_tx import immediate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transitions (
    id         INTEGER PRIMARY KEY,
    rule       TEXT NOT NULL,
    severity   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    related    TEXT NOT NULL,            -- '' when the violation has no related node
    started_at TEXT NOT NULL,            -- the violation's own `since`, else when first seen
    start_seq  INTEGER NOT NULL,         -- the projector's checkpoint it was seen to start at
    evidence   TEXT NOT NULL,            -- JSON list of event ids
    detail     TEXT NOT NULL,
    ended_at   TEXT,                     -- when it was first seen gone
    end_seq    INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS transitions_open
    ON transitions (rule, subject, related) WHERE ended_at IS NULL;
CREATE INDEX IF NOT EXISTS transitions_subject ON transitions (subject);
"""

SOURCE = "governance"  # the entries' source in the audit trail


@dataclass(frozen=True, slots=True)
class Sighting:
    """A violation as one evaluation found it (queries/governance's Violation, in plain data)."""

    rule: str
    severity: str
    subject: str
    related: str | None
    since: str | None
    evidence: tuple[str, ...]
    detail: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.rule, self.subject, self.related or ""


@dataclass(frozen=True, slots=True)
class Observation:
    """One evaluation of the policy: what it found, the time it judged (canonical), and whether
    it is complete (no walk stopped at its bound: a violation it misses is really gone)."""

    sightings: list[Sighting]
    at: str
    complete: bool = True


@dataclass(frozen=True, slots=True)
class Transition:
    rule: str
    severity: str
    subject: str
    related: str | None
    started_at: str
    start_seq: int
    evidence: tuple[str, ...]
    detail: str
    ended_at: str | None
    end_seq: int | None


_COLUMNS = (
    "rule, severity, subject, related, started_at, start_seq, evidence, detail, ended_at, end_seq"
)


def _transition(row: Sequence[object]) -> Transition:
    rule, severity, subject, related, started, start_seq, evidence, detail, ended, end_seq = row
    return Transition(
        str(rule),
        str(severity),
        str(subject),
        str(related) or None,
        str(started),
        int(start_seq),  # type: ignore[call-overload]
        tuple(json.loads(str(evidence))),
        str(detail),
        None if ended is None else str(ended),
        None if end_seq is None else int(end_seq),  # type: ignore[call-overload]
    )


class GovernanceLog:
    """The transitions table in one SQLite file; one connection under a lock (the watcher's
    thread writes, request threads read)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def record(
        self, seen: Iterable[Sighting], *, position: int, at: str, close: bool = True
    ) -> tuple[int, int]:
        """Compare one evaluation (at the graph position `position`, judged at the canonical
        time `at`) with the open rows: open what is new, close what is gone — unless `close` is
        false (an incomplete evaluation: what it missed may still hold). (opened, closed)."""
        current = {s.key: s for s in seen}
        with self._lock, immediate(self._db) as db:
            open_keys = {
                (r, s, rel): row_id
                for row_id, r, s, rel in db.execute(
                    "SELECT id, rule, subject, related FROM transitions WHERE ended_at IS NULL"
                )
            }
            new = [s for key, s in current.items() if key not in open_keys]
            gone = [r for key, r in open_keys.items() if close and key not in current]
            db.executemany(
                f"INSERT INTO transitions ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,NULL,NULL)",
                [
                    (s.rule, s.severity, s.subject, s.related or "", s.since or at,
                     position, json.dumps(list(s.evidence)), s.detail)
                    for s in sorted(new, key=lambda s: s.key)
                ],
            )  # fmt: skip
            db.executemany(
                "UPDATE transitions SET ended_at = ?, end_seq = ? WHERE id = ?",
                [(at, position, row_id) for row_id in gone],
            )
        return len(new), len(gone)

    def transitions(self, subjects: Sequence[str] | None = None) -> list[Transition]:
        """Every row (of these subjects), oldest start first."""
        where, params = "", list(subjects or ())
        if subjects is not None:
            where = f"WHERE subject IN ({', '.join('?' * len(params))})"
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM transitions {where} ORDER BY started_at, start_seq, id",
                params,
            ).fetchall()
        return [_transition(row) for row in rows]

    def history(
        self,
        node_ids: Sequence[str],
        *,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> list[HistoryEntry]:
        """The audit-trail entries of these nodes' violations — a start and, once it ended, an
        end per row — in the log's entry order (event time, seq, type), within `since`..`until`
        (inclusive), after the cursor `after`. ValueError on a bad cursor."""
        cursor = decode_cursor(after) if after is not None else None
        entries = []
        for t in self.transitions(list(dict.fromkeys(node_ids))):
            entries.append(_entry(t, started=True))
            if t.ended_at is not None:
                entries.append(_entry(t, started=False))
        kept = [
            e
            for e in entries
            if (since is None or e.event_time >= since)
            and (until is None or e.event_time <= until)
            and (cursor is None or (e.event_time, e.seq, e.entry_type.value) > cursor)
        ]
        kept.sort(key=lambda e: (e.event_time, e.seq, e.entry_type.value, e.summary))
        return kept[:limit]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _entry(t: Transition, *, started: bool) -> HistoryEntry:
    what = f"{t.rule} ({t.severity})"
    summary = f"violation started: {what}: {t.detail}" if started else f"violation ended: {what}"
    return HistoryEntry(
        node_id=t.subject,
        seq=t.start_seq if started else t.end_seq or 0,
        event_id=t.evidence[-1] if t.evidence else "",
        source=SOURCE,
        event_time=t.started_at if started else t.ended_at or "",
        entry_type=EntryType.GOVERNANCE,
        summary=summary,
        other_node_id=t.related,
        evidence=t.evidence,
    )

"""The hash chain of the event log: each entry carries the hash of the entry before it, so an
entry edited, inserted or deleted behind the service's back shows as the first place where the
chain breaks (`lkg verify`).

entry_hash = SHA-256 of (prev_hash, seq, event_id, source, kind, event_time, received_at, body),
the fields length-prefixed so that no two different entries hash the same bytes; the first
entry's prev_hash is GENESIS. An entry a restricted key sent also hashes the namespaces the key
was confined to (kept in the `confined` table, marked `chained`): removing or widening them —
which would let the projection write outside them — breaks the chain there too. Entries
confined before that was so (`chained` 0) are verified as they were hashed, without them.

What a chain cannot show on its own: the whole chain rewritten from some entry on, or the newest
entries cut off together with the log's sequence counter. Against those, keep the head (seq and
hash, printed by `lkg verify`, written into each backup's manifest) somewhere else and compare.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

GENESIS = hashlib.sha256(b"lineage-kg event log, chain v1").hexdigest()
READ_BATCH = 5000

# the columns an entry's hash covers, in hashing order after prev_hash
HASHED = "seq, event_id, source, kind, event_time, received_at, body"


# (seq, event_id, source, kind, event_time, received_at, body): the columns HASHED, as stored
Fields = tuple[int, str, str, str, str, str, str]


# the columns `verify` reads: HASHED, the links, and the chained namespaces (NULL: none hashed)
_CHECKED = (
    "SELECT events.seq, event_id, source, kind, event_time, received_at, body, prev_hash, "
    "entry_hash, CASE WHEN confined.chained = 1 THEN confined.namespaces END "
    "FROM events LEFT JOIN confined ON confined.seq = events.seq"
)


def entry_hash(
    prev_hash: str, fields: Fields, namespaces: str | None = None, body_utf8: bytes | None = None
) -> str:
    """The hash of one entry; its body is the canonical JSON text exactly as stored. The text
    hashed is the fields' lengths (in characters), a newline, then the fields themselves, and
    last the confined namespaces' JSON text when the entry has them chained. `body_utf8`: the
    body's UTF-8 when the caller has it (the append encodes it once for both hashes). Fed to
    SHA-256 in pieces, the same bytes as one joined text: no copy of the body."""
    seq, event_id, source, kind, event_time, received_at, body = map(str, fields)
    chained = "" if namespaces is None else f",{len(namespaces)}"
    head = (
        f"{len(prev_hash)},{len(seq)},{len(event_id)},{len(source)},{len(kind)},"
        f"{len(event_time)},{len(received_at)},{len(body)}{chained}\n"
        f"{prev_hash}{seq}{event_id}{source}{kind}{event_time}{received_at}"
    )
    digest = hashlib.sha256(head.encode())
    digest.update(body.encode() if body_utf8 is None else body_utf8)
    if namespaces is not None:
        digest.update(namespaces.encode())
    return digest.hexdigest()


def head(db: sqlite3.Connection) -> tuple[int, str]:
    """(the last sequence number ever assigned, the hash of the newest entry) — where the next
    append links on. Assigned, not present: a deleted newest entry leaves a gap, not a reuse."""
    row = db.execute(
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), "
        "coalesce((SELECT max(seq) FROM events), 0)), "
        "(SELECT entry_hash FROM events ORDER BY seq DESC LIMIT 1)"
    ).fetchone()
    return int(row[0]), GENESIS if row[1] is None else str(row[1])


def chained(db: sqlite3.Connection) -> bool:
    return any(row[1] == "entry_hash" for row in db.execute("PRAGMA table_info(events)"))


def ensure_confined_chained(db: sqlite3.Connection) -> None:
    """Add the `chained` mark to a `confined` table from before it: its rows stay 0 (their
    entries were hashed without the namespaces, and are verified so)."""
    if not any(row[1] == "chained" for row in db.execute("PRAGMA table_info(confined)")):
        db.execute("ALTER TABLE confined ADD COLUMN chained INTEGER NOT NULL DEFAULT 0")


def ensure_chain(db: sqlite3.Connection) -> None:
    """Add the chain columns to a log written before it existed and hash its entries in seq
    order, in one transaction (the caller holds it). The existing entries are trusted as found."""
    if chained(db):
        return
    db.execute("ALTER TABLE events ADD COLUMN prev_hash TEXT")
    db.execute("ALTER TABLE events ADD COLUMN entry_hash TEXT")
    prev, after = GENESIS, 0
    while rows := db.execute(
        f"SELECT {HASHED} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, READ_BATCH)
    ).fetchall():
        updates = []
        for row in rows:
            digest = entry_hash(prev, row)
            updates.append((prev, digest, row[0]))
            prev, after = digest, row[0]
        db.executemany("UPDATE events SET prev_hash = ?, entry_hash = ? WHERE seq = ?", updates)


@dataclass(frozen=True, slots=True)
class Break:
    """The first entry where the chain does not hold, and what differs there."""

    seq: int
    event_id: str
    problem: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    entries: int  # how many were checked (up to the break, if any)
    head_seq: int
    head_hash: str
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify(
    db: sqlite3.Connection,
    progress: Callable[[int], None] = lambda _: None,
    *,
    after: tuple[int, str] = (0, GENESIS),
) -> ChainReport:
    """Walk the chain in seq order, a batch at a time, in one read snapshot; stop at the first
    break. `progress` is told how many entries each batch held. `after` (seq, entry_hash): start
    past an entry already verified (ingest/logcheck.py checks that anchor itself)."""
    db.execute("BEGIN")  # one snapshot: entries appended meanwhile are not half seen
    try:
        return _walk(db, progress, after)
    finally:
        db.execute("ROLLBACK")


def _walk(
    db: sqlite3.Connection, progress: Callable[[int], None], after: tuple[int, str]
) -> ChainReport:
    cursor = db.execute(f"{_CHECKED} WHERE events.seq > ? ORDER BY events.seq", (after[0],))
    checked, (last_seq, last_hash) = 0, after
    while rows := cursor.fetchmany(READ_BATCH):
        for row in rows:
            seq, event_id = int(row[0]), str(row[1])
            problem = _problem(row, last_seq, last_hash)
            if problem is not None:
                return ChainReport(checked, last_seq, last_hash, Break(seq, event_id, problem))
            checked, last_seq, last_hash = checked + 1, seq, str(row[8])
        progress(len(rows))
    assigned, _ = head(db)
    if assigned > last_seq:
        missing = _span(last_seq + 1, assigned)
        problem = f"{missing} missing at the end: the log had assigned seq up to {assigned}"
        return ChainReport(checked, last_seq, last_hash, Break(last_seq + 1, "", problem))
    return ChainReport(checked, last_seq, last_hash, None)


def anchor_problem(db: sqlite3.Connection, seq: int, digest: str) -> Break | None:
    """Whether the entry at `seq` is still the one verified with hash `digest` and none before
    it is missing: a cheap stand-in for walking entries 1..seq again. It catches that entry
    edited, the chain rewritten through it, and any entry before it deleted (a count); an
    entry before it edited in place is found only by the full walk (`lkg verify`)."""
    row = db.execute(f"{_CHECKED} WHERE events.seq = ?", (seq,)).fetchone()
    if row is None:
        return Break(seq, "", "the last verified entry is gone: entries were cut off or deleted")
    event_id, stored = str(row[1]), row[8]
    if stored != digest or entry_hash(str(row[7]), row[:7], row[9]) != digest:
        problem = (
            f"entry seq {seq} is no longer the one verified at the last start (hash "
            f"{_short(digest)}): it was changed, or the chain was rewritten through it"
        )
        return Break(seq, event_id, problem)
    (present,) = db.execute("SELECT count(*) FROM events WHERE seq <= ?", (seq,)).fetchone()
    if present != seq:
        problem = f"{seq - present} of the entries before seq {seq} are missing (deleted)"
        return Break(seq, event_id, problem)
    return None


def _problem(row: tuple[object, ...], last_seq: int, last_hash: str) -> str | None:
    seq, prev_hash, stored = int(row[0]), row[7], row[8]  # type: ignore[call-overload]
    if prev_hash is None or stored is None:
        return "no hash stored: the entry was written without the chain"
    if seq != last_seq + 1:
        return (
            f"{_span(last_seq + 1, seq - 1)} missing before it: prev_hash {_short(prev_hash)} "
            f"does not link to seq {last_seq}"
            if last_seq
            else f"{_span(1, seq - 1)} missing before it (the log starts at seq {seq})"
        )
    if prev_hash != last_hash:
        before = f"entry seq {last_seq}" if last_seq else "the genesis constant"
        return (
            f"prev_hash {_short(prev_hash)} is not the hash of {before} ({_short(last_hash)}): "
            "that entry was changed, or this one was put in its place"
        )
    computed = entry_hash(str(prev_hash), row[:7], row[9])  # type: ignore[arg-type]
    if computed != stored:
        return (
            f"content does not match entry_hash (stored {_short(stored)}, computed "
            f"{_short(computed)}): its event_id, source, kind, times, body or the namespaces "
            "its key was confined to were changed"
        )
    return None


def _span(first: int, last: int) -> str:
    return f"entry seq {first}" if first == last else f"entries seq {first}..{last}"


def _short(digest: object) -> str:
    return f"{str(digest)[:12]}…"

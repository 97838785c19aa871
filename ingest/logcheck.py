"""Checking the event log before it is served: SQLite's own page check, then the hash chain from
the last verified head on (ingest/chain.py), so a start costs what was appended since the last
one, not the whole log.

The verified head (seq and hash of the newest entry checked) is kept beside the log, in
`events.sqlite3.verified.json`. It is a record of work done, not a trust anchor: whoever can
rewrite the log can rewrite it too (compare the head printed by `lkg verify` or kept in a
backup's manifest for that). Without it, or when it is unreadable, the whole chain is walked.

A fault is an exception carrying the exit code `lkg serve` ends with (docs/cli.md).
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from lineage_kg.graph.sqlite_tx import immediate
from lineage_kg.graph.timefmt import now
from lineage_kg.ingest import chain

# SQLite's result codes for a file that is not (or no longer) a sound database
CORRUPTION_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
MAX_PROBLEMS = 5  # of integrity_check's lines, in a message


class LogFault(Exception):
    """The log must not be served; `exit_code` is what `lkg serve` exits with."""

    exit_code = 1


class ChainBroken(LogFault):
    """An entry was edited, inserted or deleted behind the service's back."""

    exit_code = 4


class LogDamaged(LogFault):
    """The file is not a sound SQLite database: truncated, a corrupt page, not SQLite at all."""

    exit_code = 5


class VerifiedHead(BaseModel):
    seq: int = Field(ge=0)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    verified_at: str


@dataclass(frozen=True, slots=True)
class StartCheck:
    """What a start verified: `entries` hashed after `from_seq`, up to the head, in `seconds`."""

    from_seq: int
    entries: int
    head_seq: int
    seconds: float


def is_corruption(exc: BaseException) -> bool:
    """Whether a sqlite3 error says the file is damaged (not: locked, full, read-only)."""
    return getattr(exc, "sqlite_errorcode", None) in CORRUPTION_CODES


def head_path(log: Path) -> Path:
    return log.with_name(log.name + ".verified.json")


def read_head(log: Path) -> VerifiedHead | None:
    try:
        return VerifiedHead.model_validate_json(head_path(log).read_text())
    except (OSError, ValidationError):
        return None  # absent or unreadable: walk the whole chain


def store_head(log: Path, seq: int, digest: str) -> None:
    """Record a verified head; written whole or not at all (a crash leaves the old one)."""
    path = head_path(log)
    draft = path.with_name(path.name + ".tmp")
    draft.write_text(VerifiedHead(seq=seq, hash=digest, verified_at=now()).model_dump_json())
    os.replace(draft, path)


def integrity_problems(db: sqlite3.Connection, *, quick: bool) -> list[str]:
    """SQLite's integrity_check (every page, every index against its table) or quick_check
    (every page, no index cross-check: about 4x faster); [] when it says ok."""
    pragma = "quick_check" if quick else "integrity_check"
    rows = [str(r[0]) for r in db.execute(f"PRAGMA {pragma}({MAX_PROBLEMS})")]
    return [] if rows == ["ok"] else rows


def describe_damage(log: Path, exc: BaseException) -> str:
    """One sentence for a log SQLite cannot read, naming a truncation when the header shows it."""
    message = f"{log} is not a readable SQLite database ({exc})"
    try:
        with log.open("rb") as file:
            header = file.read(100)
    except OSError:
        return message
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return message + ": it has no SQLite header"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    expected = int.from_bytes(header[28:32], "big") * page_size
    actual = log.stat().st_size
    if actual < expected:
        return (
            f"{message}: it is truncated — {actual:,} bytes where its header says {expected:,} "
            f"({actual / expected:.0%} of it is left)"
        )
    return message


def check_at_start(log: Path) -> StartCheck | None:
    """Verify the log before serving it; None when there is no log yet. Raises LogDamaged or
    ChainBroken (with the message to print) instead of serving a damaged or forged log."""
    if not log.exists():
        head_path(log).unlink(missing_ok=True)  # a head of a log no longer there means nothing
        return None
    began = time.monotonic()
    try:
        with closing(sqlite3.connect(log, isolation_level=None)) as db:
            result = _check(db, log, read_head(log))
    except sqlite3.Error as exc:
        if is_corruption(exc):
            raise LogDamaged(describe_damage(log, exc)) from None
        raise LogFault(f"cannot read the event log {log}: {exc}") from None  # locked, denied
    report, start = result
    store_head(log, report.head_seq, report.head_hash)
    return StartCheck(start, report.entries, report.head_seq, time.monotonic() - began)


def _check(
    db: sqlite3.Connection, log: Path, verified: VerifiedHead | None
) -> tuple[chain.ChainReport, int]:
    if problems := integrity_problems(db, quick=True):
        raise LogDamaged(
            f"{log} fails SQLite's quick_check: {'; '.join(problems)} — "
            "restore a backup (`lkg restore`)"
        )
    if not chain.chained(db):  # a log from before the chain: add it first, as opening it does
        with immediate(db):
            chain.ensure_chain(db)
    after = (0, chain.GENESIS)
    if verified is not None and verified.seq > 0:
        if (broken := chain.anchor_problem(db, verified.seq, verified.hash)) is not None:
            raise ChainBroken(_broken(log, broken))
        after = (verified.seq, verified.hash)
    report = chain.verify(db, after=after)
    if report.broken is not None:
        raise ChainBroken(_broken(log, report.broken))
    return report, after[0]


def _broken(log: Path, broken: chain.Break) -> str:
    event = f" (event {broken.event_id})" if broken.event_id else ""
    return (
        f"the event log {log} is not what it was: chain broken at seq {broken.seq}{event}: "
        f"{broken.problem}. Not serving it: run `lkg verify`, then restore a backup "
        "(`lkg restore`)"
    )


def verify_before_serving(log: Path) -> None:
    """`lkg serve`'s check: raise LogFault, else log what was verified and what it cost."""
    import logging

    checked = check_at_start(log)
    if checked is not None:
        logging.getLogger("lkg").info(
            "event log verified: quick_check ok, %d new entries hashed from seq %d to the head "
            "at seq %d in %.2fs",
            checked.entries,
            checked.from_seq,
            checked.head_seq,
            checked.seconds,
        )

"""What SQL text the parsers may be handed, and the stack the Rust one runs on.

A job's `sql` facet is the producer's text, parsed by the projector (every key's events, every
replay of the log at start) and at intake for a namespace-restricted key. Two parsers read it:
openlineage-sql (Rust; it holds the GIL for the whole parse, so a long parse freezes every
thread of the service, the event loop included) and sqlparse (pure Python, ~10-45 us a
character). Unbounded, one event could:

- crash the process: `SELECT a+a+…+a` of 15,000 terms (30 KB) overflowed the 8 MiB stack of the
  thread parsing it (SIGSEGV, no Python exception); the event was already logged (201), so every
  restart replayed it and crashed again;
- freeze it: a chain of CTEs each reading the one before is quadratic in the Rust parser
  (3,300 CTEs, 100 KB: 2 s holding the GIL; 20,000 CTEs: minutes).

So a text is parsed only within `MAX_SQL_CHARS` characters and `MAX_SQL_SUBQUERIES` `AS (`
(CTE and derived-table openings), else it is skipped as SQL the parser did not understand (the
event keeps its dataset-level lineage; no column lineage is derived from its SQL), and the Rust
parser runs on one thread of its own with a `PARSER_STACK_BYTES` stack (virtual: only the pages a
parse touches are used), deep enough for any expression `MAX_SQL_CHARS` characters can spell
(about 640 bytes a level; a level takes at least two characters). Text of at most
`SHALLOW_SQL_CHARS` is parsed where it is asked for: too short to be deep.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

MAX_SQL_CHARS = 65_536
MAX_SQL_SUBQUERIES = 256
PARSER_STACK_BYTES = 256 * 1024 * 1024
# a text this short spells no expression deeper than ~500 levels (~300 KiB of stack): parsed on
# the caller's thread, saving the hand-over (~80 us of CPU, more than a short query's parse)
SHALLOW_SQL_CHARS = 1_000

_OPENINGS = re.compile(r"\bas\s*\(", re.IGNORECASE)


def refusal(query: str) -> str | None:
    """Why `query` is not to be parsed (a sentence for the log), or None: it may be."""
    if len(query) > MAX_SQL_CHARS:
        return f"{len(query):,} characters (at most {MAX_SQL_CHARS:,})"
    if query.count("(") <= MAX_SQL_SUBQUERIES:  # each opening has its bracket: no need to count
        return None
    openings = subqueries(query)
    if openings > MAX_SQL_SUBQUERIES:
        return f"{openings:,} CTEs or subqueries (at most {MAX_SQL_SUBQUERIES:,})"
    return None


def subqueries(query: str) -> int:
    """The `AS (` in `query` (a word `as`, blanks, a bracket): its CTEs and aliased subqueries,
    counted in the text (in a string or a comment too: a bound errs towards not parsing)."""
    return sum(1 for _ in _OPENINGS.finditer(query))


_NAME = "lkg-sql-parser"
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _parser_pool() -> ThreadPoolExecutor:
    global _pool  # noqa: PLW0603 - one parser thread per process, made on first use
    with _lock:
        if _pool is None:
            old = threading.stack_size(PARSER_STACK_BYTES)
            try:
                pool = ThreadPoolExecutor(1, thread_name_prefix=_NAME)
                pool.submit(int).result()  # its one thread is started now, with this stack
            finally:
                threading.stack_size(old)
            _pool = pool
        return _pool


def _forget_pool() -> None:  # a forked child has no parser thread: it makes its own
    global _pool  # noqa: PLW0603
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def run_parser(parse: Callable[..., T], query: str, dialect: str | None) -> T:
    """openlineage-sql's `parse([query], dialect=dialect)`, on the parser thread's deep stack
    unless the text is too short to be deep (the caller's checked `refusal` first)."""
    if len(query) <= SHALLOW_SQL_CHARS or threading.current_thread().name.startswith(_NAME):
        return parse([query], dialect=dialect)
    return _parser_pool().submit(parse, [query], dialect=dialect).result()

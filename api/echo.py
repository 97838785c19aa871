"""User text in error messages: a short prefix at most, never the whole of what was sent.

A name, cursor, header or path segment a caller sends may be megabytes long; an error that
quotes it whole answers (and logs) all of it again. `clip` quotes the first MAX_ECHO characters
and says how long the rest was.
"""

from __future__ import annotations

MAX_ECHO = 64  # characters of user text an error message quotes


def clip(text: object, limit: int = MAX_ECHO) -> str:
    """`repr` of `text`'s first `limit` characters, with its length when it is longer."""
    value = str(text)
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"

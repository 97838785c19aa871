"""JSON as the log can keep it: what Python's `json` would accept but no stored event may hold is
marked where it stands, so the caller refuses that record naming its path.

- `NaN`, `Infinity`, `-Infinity` and floats that overflow (`1e400`): the stored body would not be
  JSON any more.
- integers longer than Python converts (`sys.get_int_max_str_digits()`, 4,300 digits): `json`
  raises a bare ValueError for them, which failed a whole request.
- a key given twice in one object: `json` keeps the last silently; the producer meant one.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from typing import Any

import orjson

MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300


@dataclass(frozen=True, slots=True)
class Unfit:
    """Stands where a value was that no stored event may hold; `reason` says why."""

    reason: str


def _constant(name: str) -> Unfit:
    return Unfit(f"{name} is not a JSON number: numbers must be finite")


def _float(text: str) -> float | Unfit:
    value = float(text)
    if math.isfinite(value):
        return value
    return Unfit(f"the number {text[:40]} is out of range for a float")


def _int(text: str) -> int | Unfit:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        return Unfit(f"an integer of {digits:,} digits (at most {MAX_INT_DIGITS:,})")
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                found[key] = Unfit(f"the key {key!r} appears more than once in this object")
            seen.add(key)
    return found


def loads(text: str | bytes) -> Any:
    """`json.loads`, marking unfit values with `Unfit` (see the module). Raises what `json.loads`
    raises for text that is not JSON (JSONDecodeError, UnicodeDecodeError, RecursionError)."""
    fast = _plain(text)
    if fast is not _ASK_JSON:
        return fast
    hooks: dict[str, Any] = {"parse_constant": _constant, "parse_float": _float}
    return json.loads(text, parse_int=_int, object_pairs_hook=_object, **hooks)


_ASK_JSON = object()


def _plain(text: str | bytes) -> Any:
    """The value when orjson reads `text` and nothing in it needs `loads`' hooks (one C parse,
    not a Python call per object and number); else `_ASK_JSON`. It needs none when orjson
    accepts it (no NaN or Infinity, no float overflowing, valid UTF-8 without lone surrogates,
    not nested past orjson's limit: it refuses all of these), no integer past 64 bits stands in
    it (orjson reads one as a float of at least 2^63, which it writes back with `e+`: any `e+`
    in that text, a string's or a float's, asks `json`), and no key is given twice (orjson
    keeps the last silently): the value has as many strings, keys included, as the text has."""
    try:
        raw = text.encode() if isinstance(text, str) else text
        if type(raw) is not bytes:
            return _ASK_JSON
        value = orjson.loads(raw)
        # orjson writes less deep than it reads: past its limit, `json` decides
        again = orjson.dumps(value)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, UnicodeEncodeError):
        return _ASK_JSON
    return value if read_alike(raw, again) else _ASK_JSON


def read_alike(raw: bytes, written: bytes) -> bool:
    """orjson's read of valid JSON `raw`, written back by orjson as `written` (sorted or not), is
    this module's: no `e+` in `written` (orjson reads an integer past 64 bits as a float of at
    least 2^63) and as many strings (a key given twice is one key fewer in the value, orjson
    keeping the last silently)."""
    # `+` first: one memchr, where the two-byte search for `e+` stops at every `e`
    if b"+" in written and b"e+" in written:
        return False
    return _quotes(raw) == _quotes(written)


def _quotes(text: bytes) -> int:
    """The quotes that open or close a string in valid JSON `text` (two per string)."""
    # an escaped quote, or an escaped \ ending a string (`rfind`: its search stops at each \,
    # `in`'s at each ", which JSON is full of)
    if b"\\" in text and text.rfind(b'\\"') >= 0:
        text = text.replace(b"\\\\", b"")  # each backslash-quote left is an escaped quote
        return text.count(b'"') - text.count(b'\\"')
    return text.count(b'"')  # no backslash before any quote: every quote is a string's


def first_unfit(value: Any, root: str = "$") -> tuple[str, str] | None:
    """(path, reason) of the first unfit value in a parsed document, or None. Iterative."""
    stack: list[tuple[str, Any]] = [(root, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, Unfit):
            return path, item.reason
        if isinstance(item, dict):
            stack.extend((f"{path}.{k}", v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(item))))
    return None

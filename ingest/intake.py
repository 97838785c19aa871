"""Intake: from bytes a producer sent to events durably in the log.

Validation and the append live here so that the HTTP endpoints and `lkg ingest` accept exactly
the same events in the same way; reading an HTTP body (size limits, Content-Encoding, status
codes) is the API's, api/http/body.py. Nothing here touches the graph: the projector does that,
after the producer has been told "accepted".
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from lineage_kg.graph.canonical import canonical_json
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest import strict_json
from lineage_kg.ingest.eventlog import Appended, EventLog, NewEvent
from lineage_kg.ingest.openlineage.validate import SOURCE as OPENLINEAGE
from lineage_kg.ingest.openlineage.validate import (
    FieldError,
    InvalidEvent,
    ahead_error,
    checked_event,
)

MAX_DEPTH = 100  # JSON nesting: OpenLineage events are a dozen levels deep; recursion is not


def _unstorable(obj: Any) -> FieldError | None:
    """What no valid event can hold: a string with a lone UTF-16 surrogate (JSON allows the
    escape, UTF-8 and so the log do not), nesting deeper than MAX_DEPTH, or a value
    ingest/strict_json.py marked (NaN, a 5,000-digit integer, a repeated key). Iterative."""
    stack: list[tuple[str, int, Any]] = [("$", 0, obj)]
    while stack:
        path, depth, value = stack.pop()
        if depth > MAX_DEPTH:
            return FieldError(path, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, strict_json.Unfit):
            return FieldError(path, value.reason)
        if isinstance(value, str):
            if any("\ud800" <= c <= "\udfff" for c in value):
                return FieldError(path, "a lone UTF-16 surrogate is not Unicode text")
        elif isinstance(value, dict):
            stack += [(f"{path}.{k}", depth + 1, v) for k, v in value.items()]
            stack += [(f"{path} (a key)", depth + 1, k) for k in value]
        elif isinstance(value, list):
            stack += [(f"{path}[{i}]", depth + 1, v) for i, v in enumerate(value)]
    return None


def _encodable(text: str) -> bool:
    """No lone surrogate: UTF-8 refuses exactly U+D800..U+DFFF (one C call, not a char loop)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


_PLAIN = frozenset({int, float, bool, type(None)})  # nothing to check in these


def _fit(obj: Any, depth: int = 0) -> bool:
    """True when `_unstorable` has nothing to say: its checks, without building a path per
    value (that made it 70 % of intake). Only a False pays for `_unstorable`'s answer.
    Recursive: it never goes deeper than MAX_DEPTH + 1 frames."""
    if depth > MAX_DEPTH:
        return False
    if isinstance(obj, str):
        return obj.isascii() or _encodable(obj)
    if isinstance(obj, dict):
        values: Any = obj.values()
        for key in obj:
            if isinstance(key, str) and not key.isascii() and not _encodable(key):
                return False
    elif isinstance(obj, list):
        values = obj
    else:
        return not isinstance(obj, strict_json.Unfit)
    if obj and depth + 1 > MAX_DEPTH:
        return False  # its items (and keys) sit one level down, as in `_unstorable`
    for value in values:
        if type(value) in _PLAIN:
            continue
        if type(value) is str:
            if not value.isascii() and not _encodable(value):
                return False
        elif not _fit(value, depth + 1):
            return False
    return True


def _stored_text(obj: Any) -> str | None:
    """The canonical JSON the log will store, when it shows at C speed that `_unstorable` has
    nothing to say: serialisable (a marked value is not), UTF-8 (a lone surrogate is not), and
    nested no deeper than MAX_DEPTH (orjson's own limit, see `_dump`; else `_nesting_within`).
    None: ask the slower checks."""
    written = _dump(obj, wrap=False)
    if written is not None and (text := _text_of(*written)) is not None:
        return text
    try:
        raw = canonical_json(obj).encode()
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError: a ValueError
        return None
    return raw.decode() if _nesting_within(raw, MAX_DEPTH) else None


# orjson's own types go to the error (then `json` decides): dataclasses (a marked value is one),
# datetimes, subclasses of str, int, dict and list (`json` may spell those otherwise)
_SORTED = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _sorted_text(obj: Any) -> bytes | None:
    """`canonical_json(obj)` written by orjson (a tenth of `json`'s time), or None where the two
    may differ. For JSON's types they spell strings, integers and key order alike; floats differ
    only where `json` (repr) writes an exponent and orjson does not (`1e-05`: `0.00001`) or
    writes it without its leading zero (`2.5e-07`: `2.5e-7`), so text holding either form is
    left to `json` (`_floats_alike`). orjson refuses what `json` would refuse or mark otherwise
    here: lone surrogates, integers past 64 bits, nesting past 254. Values no JSON parser gives
    (a `uuid.UUID`, a plain `Enum`) orjson writes and `json` refuses: intake never holds one."""
    try:
        raw = orjson.dumps(obj, option=_SORTED)
    except orjson.JSONEncodeError:
        return None
    return raw if _floats_alike(raw) else None


# `e-`, one digit, the number's end: a float's exponent as orjson writes it from -6 to -9, where
# `json` writes two digits (a string holding it, or a digit before it missing, only costs `json`)
_SHORT_EXPONENT = re.compile(rb"e-[0-9](?:[,\]}]|\Z)")


def _floats_alike(written: bytes) -> bool:
    """No float in orjson's `written` that `json` spells otherwise (`_sorted_text`): no
    `0.0000` (exponent -5) and no one-digit negative exponent. `rfind`: the backward search
    runs 3-4x the forward one on these texts (hex ids hold many zeros); the regex scans once
    where a `find` loop stopped at every `e-` of a name."""
    return written.rfind(b"0.0000") < 0 and _SHORT_EXPONENT.search(written) is None


def _orjson_nesting() -> int:
    """How many brackets deep orjson writes (254 in orjson 3), found by asking it: an orjson
    that writes deeper or less deep changes `_PAD`, not the answers."""
    probe: Any = 0
    for depth in range(1, 1001):
        probe = [probe]
        try:
            orjson.dumps(probe)
        except orjson.JSONEncodeError:
            return depth - 1
    return 1000


# Wrapped in _PAD lists, a value is written by orjson exactly when its own brackets nest at most
# MAX_DEPTH deep (past that orjson refuses): the depth costs no pass over the text, but ~3 us
# for orjson's _PAD levels, so only texts from _WRAP_FROM bytes on are wrapped. Each thread has
# its own wrapping; its innermost list holds the value for the length of one write.
_PAD = max(_orjson_nesting() - MAX_DEPTH, 0)
_WRAP_FROM = 16384
_wrapping = threading.local()


def _dump(obj: Any, wrap: bool) -> tuple[bytes, int] | None:
    """orjson's sorted write of `obj`, inside `pad` brackets if `wrap` (and orjson has a limit):
    (written, pad), or None where orjson refuses the value or it nests deeper than MAX_DEPTH
    (orjson's refusal says so inside the wrapping, `_nesting_within` without it)."""
    if not (wrap and _PAD):
        try:
            written = orjson.dumps(obj, option=_SORTED)
        except orjson.JSONEncodeError:
            return None
        return (written, 0) if _nesting_within(written, MAX_DEPTH) else None
    try:
        outer, inner = _wrapping.lists
    except AttributeError:
        outer = inner = [None]
        for _ in range(_PAD - 1):
            outer = [outer]
        _wrapping.lists = outer, inner
    inner[0] = obj
    try:
        return orjson.dumps(outer, option=_SORTED), _PAD
    except orjson.JSONEncodeError:
        return None
    finally:
        inner[0] = None


def _text_of(written: bytes, pad: int) -> str | None:
    """The text inside `_dump`'s `pad` brackets when it is `canonical_json`'s (`_floats_alike`)."""
    if not _floats_alike(written):
        return None
    if not pad:
        return written.decode()
    return str(memoryview(written)[pad : len(written) - pad], "utf-8")


# every byte but a quote or a bracket (what `_nesting_within` keeps)
_NOT_MARKS = bytes(c for c in range(256) if c not in b'"[]{}')
_SQUARE = bytes.maketrans(b"{}", b"[]")


def _nesting_within(text: bytes, limit: int) -> bool:
    """True when no bracket of the canonical JSON `text` opens more than `limit` deep: then no
    value sits deeper than `limit`, all `_unstorable` counts. Exact where counting brackets is
    not (a wide event can hold more than MAX_DEPTH of them), and at C speed. Only quotes and
    brackets are kept: no more openers than `limit`, the strings' included, is enough. Else,
    the escapes out first, two quotes side by side go (an empty string, or the end of one
    string and the start of the next with no bracket between: merged, the brackets outside
    strings stay as they were), the strings left are cut out, and each `replace` pass removes
    the innermost pairs, one level a pass."""
    marks = text.translate(None, _NOT_MARKS)
    if marks.count(b"[") + marks.count(b"{") <= limit:  # openers, the strings' too: the bound
        return True
    if b"\\" in text and b'\\"' in text:  # a backslash before a quote: the escapes out
        text = text.replace(b"\\\\", b"").replace(b'\\"', b"")
        marks = text.translate(None, _NOT_MARKS)
    marks = marks.replace(b'""', b"")
    if b'"' in marks:
        marks = b"".join(marks.split(b'"')[::2])
    if len(marks) <= 2 * limit:  # balanced: at most `limit` pairs, so at most `limit` deep
        return True
    marks = marks.translate(_SQUARE)
    for _ in range(limit):
        if not marks:
            return True
        marks = marks.replace(b"[]", b"")
    return not marks


def to_new_event(obj: Any, text: str | None = None, namespaces: tuple[str, ...] = ()) -> NewEvent:
    """Validate one OpenLineage event; raise `InvalidEvent` naming every bad field. `text`: its
    canonical JSON where `read_event` found it storable (else it is worked out here);
    `namespaces`: the restricted key's that sent it (`accept_lines`)."""
    if text is None:
        text = _stored_text(obj)
    if text is None and not _fit(obj) and (error := _unstorable(obj)) is not None:
        raise InvalidEvent([error])
    kind, event_time = checked_event(obj)  # the time converted once, by the check if it could
    if event_time is None:
        try:
            event_time = canonical_time(obj["eventTime"])
        except ValueError as exc:  # valid ISO-8601 whose UTC form leaves years 1-9999
            raise InvalidEvent([FieldError("$.eventTime", str(exc))]) from None
    if (ahead := ahead_error(event_time)) is not None:  # a time from the future pins the graph
        raise InvalidEvent([ahead])
    return NewEvent(OPENLINEAGE, kind.value, event_time, obj, namespaces=namespaces, text=text)


@dataclass(slots=True)
class Rejected:
    index: int  # position in the request/file (0-based line or array index)
    errors: list[FieldError]


@dataclass(slots=True)
class IntakeSummary:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    # the highest log position among the events stored (a duplicate: where it was stored before):
    # a read that waits for it sees them all (api/consistency.py, the LKG-Seq header)
    seq: int = 0

    def add(self, appended: list[Appended]) -> None:
        for a in appended:
            if a.duplicate:
                self.duplicates += 1
            else:
                self.accepted += 1
            self.seq = max(self.seq, a.seq)


# (index, event, its canonical text as `read_event` found it storable, or None)
Line = tuple[int, Any, str | None]


def accept_lines(
    log: EventLog,
    lines: Iterable[Line],
    namespaces: Sequence[str] = (),
    check: Callable[[list[tuple[int, Any]]], None] | None = None,
) -> IntakeSummary:
    """Validate each (index, event, text); then, if given, `check` the (index, event) pairs (it
    raises to refuse the lot: nothing is appended); then append the valid ones in one durable
    write. A text from `read_event` is used before anything but the reader has held its event,
    so it is that event's. `namespaces`: those of the restricted key that sent them, kept beside
    each new entry so the projection confines it too (graph/confine.py)."""
    summary = IntakeSummary()
    valid: list[NewEvent] = []
    pairs: list[tuple[int, Any]] = []
    confined = tuple(namespaces)  # once for the lot, each event holds the same
    for index, obj, text in lines:
        if check is not None:
            pairs.append((index, obj))
        try:
            if isinstance(obj, InvalidEvent):
                raise obj
            valid.append(to_new_event(obj, text, confined))
        except InvalidEvent as exc:
            summary.rejected.append(Rejected(index, exc.errors))
    if check is not None:
        check(pairs)
    if valid:
        summary.add(log.append(valid))
    return summary


def accept_many(
    log: EventLog, items: Iterable[tuple[int, Any]], namespaces: Sequence[str] = ()
) -> IntakeSummary:
    """Validate each (index, event); append the valid ones in one durable write (`accept_lines`
    without texts)."""
    return accept_lines(log, ((index, obj, None) for index, obj in items), namespaces)


def read_event(raw: bytes) -> tuple[Any, str | None]:
    """`strict_json.loads(raw)`, with the canonical text the log will store when one orjson read
    and one sorted write show at C speed both that the value is `strict_json`'s and that it is
    storable (else None: `to_new_event` works it out). `strict_json._plain`'s conditions, on
    that write: orjson read the text, `_dump` wrote it back (nested at most MAX_DEPTH) and
    `strict_json.read_alike` holds (no integer past 64 bits, no key given twice). Raises what
    `strict_json.loads` raises."""
    if type(raw) is bytes:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            dumped = None
        else:
            dumped = _dump(value, wrap=len(raw) >= _WRAP_FROM)
        if dumped is not None and strict_json.read_alike(raw, dumped[0]):
            return value, _text_of(*dumped)
    return strict_json.loads(raw), None


def ndjson_lines(body: bytes) -> Iterator[Line]:
    """(line index, event, text) per non-empty line (`read_event`) — 0-based, as an array's
    indexes are: line index i is line i + 1 of the body; a line that is not JSON yields its
    error. Lines end at \\n, \\r or \\r\\n (`splitlines`); a body without \\r is cut at \\n
    alone, which gives the same lines at a third of the time."""
    for index, line in enumerate(body.splitlines() if b"\r" in body else body.split(b"\n")):
        if not line.strip():
            continue
        try:
            value, text = read_event(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            yield index, InvalidEvent([FieldError("$", f"not valid JSON: {exc}")]), None
        except RecursionError:
            yield index, InvalidEvent([FieldError("$", "JSON nested too deeply")]), None
        else:
            yield index, value, text


def ndjson_items(body: bytes) -> Iterable[tuple[int, Any]]:
    """(line index, event) per non-empty line (`ndjson_lines` without the texts)."""
    for index, obj, _ in ndjson_lines(body):
        yield index, obj

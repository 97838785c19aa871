"""Intake: from bytes a producer sent to events durably in the log.

Validation and the append live here so that the HTTP endpoints and `lkg ingest` accept exactly
the same events in the same way; reading an HTTP body (size limits, Content-Encoding, status
codes) is the API's, api/http/body.py. Nothing here touches the graph: the projector does that,
after the producer has been told "accepted".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from lineage_kg.graph.canonical import canonical_json
from lineage_kg.graph.timefmt import canonical_time
from lineage_kg.ingest import strict_json
from lineage_kg.ingest.eventlog import Appended, EventLog, NewEvent
from lineage_kg.ingest.openlineage.validate import SOURCE as OPENLINEAGE
from lineage_kg.ingest.openlineage.validate import FieldError, InvalidEvent, checked_event

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
    nested no deeper than MAX_DEPTH (`_nesting_within`). None: ask the slower checks."""
    raw = _sorted_text(obj)
    if raw is None:
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
_NUMBER_END = (b",", b"]", b"}", b"")


def _sorted_text(obj: Any) -> bytes | None:
    """`canonical_json(obj)` written by orjson (a tenth of `json`'s time), or None where the two
    may differ. For JSON's types they spell strings, integers and key order alike; floats differ
    only where `json` (repr) writes an exponent and orjson does not (`1e-05`: `0.00001`) or
    writes it without its leading zero (`2.5e-07`: `2.5e-7`), so text holding either form is
    left to `json`. orjson refuses what `json` would refuse or mark otherwise here: lone
    surrogates, integers past 64 bits, nesting past 254. Values no JSON parser gives (a
    `uuid.UUID`, a plain `Enum`) orjson writes and `json` refuses: intake never holds one."""
    try:
        raw = orjson.dumps(obj, option=_SORTED)
    except orjson.JSONEncodeError:
        return None
    if b"0.0000" in raw:
        return None
    at = raw.find(b"e-")
    while at > 0:  # a float with a one-digit negative exponent: digit, e-, digit, its end
        digits = raw[at - 1 : at].isdigit() and raw[at + 2 : at + 3].isdigit()
        if digits and raw[at + 3 : at + 4] in _NUMBER_END:
            return None
        at = raw.find(b"e-", at + 2)
    return raw


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


def to_new_event(obj: Any) -> NewEvent:
    """Validate one OpenLineage event; raise `InvalidEvent` naming every bad field."""
    text = _stored_text(obj)
    if text is None and not _fit(obj) and (error := _unstorable(obj)) is not None:
        raise InvalidEvent([error])
    kind, event_time = checked_event(obj)  # the time converted once, by the check if it could
    if event_time is None:
        try:
            event_time = canonical_time(obj["eventTime"])
        except ValueError as exc:  # valid ISO-8601 whose UTC form leaves years 1-9999
            raise InvalidEvent([FieldError("$.eventTime", str(exc))]) from None
    return NewEvent(OPENLINEAGE, kind.value, event_time, obj, text=text)


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


def accept_many(
    log: EventLog, items: Iterable[tuple[int, Any]], namespaces: Sequence[str] = ()
) -> IntakeSummary:
    """Validate each (index, event); append the valid ones in one durable write. `namespaces`:
    those of the restricted key that sent them, kept beside each new entry so the projection
    confines it too (graph/confine.py)."""
    summary = IntakeSummary()
    valid: list[NewEvent] = []
    for index, obj in items:
        try:
            if isinstance(obj, InvalidEvent):
                raise obj
            event = to_new_event(obj)
            valid.append(replace(event, namespaces=tuple(namespaces)) if namespaces else event)
        except InvalidEvent as exc:
            summary.rejected.append(Rejected(index, exc.errors))
    if valid:
        summary.add(log.append(valid))
    return summary


def ndjson_items(body: bytes) -> Iterable[tuple[int, Any]]:
    """(line index, event) per non-empty line — 0-based, as an array's indexes are: line index
    i is line i + 1 of the body; a line that is not JSON yields its error."""
    for index, line in enumerate(body.splitlines()):
        if not line.strip():
            continue
        try:
            yield index, strict_json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            yield index, InvalidEvent([FieldError("$", f"not valid JSON: {exc}")])
        except RecursionError:
            yield index, InvalidEvent([FieldError("$", "JSON nested too deeply")])

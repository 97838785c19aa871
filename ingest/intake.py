"""Intake: from bytes a producer sent to events durably in the log.

Decoding (gzip, size limits), validation and the append live here so that the HTTP endpoints and
`lkg ingest` accept exactly the same things in the same way. Nothing here touches the graph: the
projector does that, after the producer has been told "accepted".
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graph.timefmt import canonical_time
from ingest.eventlog import Appended, EventLog, NewEvent
from ingest.openlineage.validate import SOURCE as OPENLINEAGE
from ingest.openlineage.validate import FieldError, InvalidEvent, validate_event


class BadBody(ValueError):
    """The request body is not readable as what it claims to be (4xx)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def decode_body(raw: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo gzip/deflate if sent; refuse bodies over `max_bytes` before or after inflating."""
    if len(raw) > max_bytes:
        raise BadBody(f"body of {len(raw)} bytes is over the limit of {max_bytes}", 413)
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return raw
    if encoding not in ("gzip", "deflate", "x-gzip"):
        raise BadBody(f"Content-Encoding {content_encoding!r} is not supported", 415)
    wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        # bounded inflate: a small gzip bomb must not take the memory of the service
        body = inflater.decompress(raw, max_bytes + 1)
    except zlib.error as exc:
        raise BadBody(f"body is not valid {encoding}: {exc}") from exc
    if len(body) > max_bytes or inflater.unconsumed_tail:
        raise BadBody(f"inflated body is over the limit of {max_bytes} bytes", 413)
    return body


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadBody(f"body is not valid JSON: {exc}") from exc
    except RecursionError:
        raise BadBody("body is JSON nested too deeply") from None


MAX_DEPTH = 100  # JSON nesting: OpenLineage events are a dozen levels deep; recursion is not


def _unstorable(obj: Any) -> FieldError | None:
    """What no valid event can hold: a string with a lone UTF-16 surrogate (JSON allows the
    escape, UTF-8 and so the log do not), or nesting deeper than MAX_DEPTH. Iterative."""
    stack: list[tuple[str, int, Any]] = [("$", 0, obj)]
    while stack:
        path, depth, value = stack.pop()
        if depth > MAX_DEPTH:
            return FieldError(path, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, str):
            if any("\ud800" <= c <= "\udfff" for c in value):
                return FieldError(path, "a lone UTF-16 surrogate is not Unicode text")
        elif isinstance(value, dict):
            stack += [(f"{path}.{k}", depth + 1, v) for k, v in value.items()]
            stack += [(f"{path} (a key)", depth + 1, k) for k in value]
        elif isinstance(value, list):
            stack += [(f"{path}[{i}]", depth + 1, v) for i, v in enumerate(value)]
    return None


def to_new_event(obj: Any) -> NewEvent:
    """Validate one OpenLineage event; raise `InvalidEvent` naming every bad field."""
    if (error := _unstorable(obj)) is not None:
        raise InvalidEvent([error])
    kind = validate_event(obj)
    return NewEvent(OPENLINEAGE, kind.value, canonical_time(obj["eventTime"]), obj)


@dataclass(slots=True)
class Rejected:
    index: int  # position in the request/file (0-based line or array index)
    errors: list[FieldError]


@dataclass(slots=True)
class IntakeSummary:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def add(self, appended: list[Appended]) -> None:
        for a in appended:
            if a.duplicate:
                self.duplicates += 1
            else:
                self.accepted += 1


def accept_many(log: EventLog, items: Iterable[tuple[int, Any]]) -> IntakeSummary:
    """Validate each (index, event); append the valid ones in one durable write."""
    summary = IntakeSummary()
    valid: list[NewEvent] = []
    for index, obj in items:
        try:
            if isinstance(obj, InvalidEvent):
                raise obj
            valid.append(to_new_event(obj))
        except InvalidEvent as exc:
            summary.rejected.append(Rejected(index, exc.errors))
    if valid:
        summary.add(log.append(valid))
    return summary


def ndjson_items(body: bytes) -> Iterable[tuple[int, Any]]:
    """(line number, event) per non-empty line; a line that is not JSON yields its error."""
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            yield number, InvalidEvent([FieldError("$", f"not valid JSON: {exc}")])
        except RecursionError:
            yield number, InvalidEvent([FieldError("$", "JSON nested too deeply")])

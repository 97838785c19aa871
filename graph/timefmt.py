"""One text form for every timestamp in the graph: UTC, microseconds, `Z`.

Fixed width means string order is time order, so both stores (and Cypher) compare times as
plain strings and give the same answers.
"""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def canonical_time(value: str | datetime) -> str:
    """Normalise an ISO-8601 string or a datetime to the graph's form.

    Naive times are taken as UTC (OpenLineage requires an offset; other sources may omit it).
    """
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"not an ISO-8601 timestamp: {value!r}") from exc
    else:
        parsed = value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime(_FORMAT)


def now() -> str:
    return datetime.now(UTC).strftime(_FORMAT)

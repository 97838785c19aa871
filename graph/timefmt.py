"""One text form for every timestamp in the graph: UTC, microseconds, `Z`.

Fixed width means string order is time order, so both stores (and Cypher) compare times as
plain strings and give the same answers.
"""

from __future__ import annotations

from datetime import UTC, datetime


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
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00, 0001-01-01T00:00:00+01:00
        raise ValueError(f"out of range: {value!s} is not within years 0001-9999 in UTC") from None
    return _text(utc)


def from_epoch_millis(millis: float) -> str:
    """Epoch milliseconds (MLflow, Feast, decisions) in the graph's form; ValueError when the
    time is not within years 0001-9999."""
    try:
        return _text(datetime.fromtimestamp(millis / 1000, tz=UTC))
    except (OverflowError, OSError, ValueError):
        raise ValueError(
            f"out of range: {millis!r} epoch milliseconds is not within years 0001-9999"
        ) from None


def _text(utc: datetime) -> str:
    # isoformat pads the year to four digits (strftime's %Y does not on glibc: year 999 gave
    # "999-…", which sorted after "2026-…"): fixed width, so string order is time order
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def now() -> str:
    return _text(datetime.now(UTC))

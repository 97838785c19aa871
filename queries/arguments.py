"""Checks of the arguments every question takes, in one place, so each names the argument and
the reason the same way whichever question is asked."""

from __future__ import annotations

from datetime import datetime

from lineage_kg.graph.errors import InvalidArgument
from lineage_kg.graph.timefmt import canonical_time

MAX_DEPTH = 25


def check_depth(depth: object) -> int:
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= MAX_DEPTH:
        raise InvalidArgument(f"depth must be between 1 and {MAX_DEPTH}, got {depth!r}")
    return depth


def time_arg(name: str, value: str | datetime | None) -> str | None:
    """A time argument in the graph's one form (comparable as a string), or None."""
    if value is None:
        return None
    try:
        return canonical_time(value)
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidArgument(f"{name}: not an ISO-8601 timestamp: {value!r}") from exc

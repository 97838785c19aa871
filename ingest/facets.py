"""Reading facets safely: the small readers every mapper of the log's events uses (the
OpenLineage mapper, and the column lineage parsed from SQL for any source that sends SQL).

Facets come from many producers in many shapes; these readers never trust one: a facet that is
not an object is skipped (and said so), absent or empty values read as None.
"""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger(__name__)

Facets = dict[str, Any]


def facets_of(part: object, key: str = "facets") -> Facets:
    """The facet map of an event part (job, run, dataset); {} when absent or not a map."""
    facets = part.get(key) if isinstance(part, dict) else None
    return facets if isinstance(facets, dict) else {}


def facet(facets: Facets, name: str) -> dict[str, Any] | None:
    """One facet if it is an object and not marked deleted (a deletion cannot unset props)."""
    value = facets.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        log.warning("skipping facet %s: expected an object, got %s", name, type(value).__name__)
        return None
    if value.get("_deleted") is True:
        return None
    return value


def scalar(value: Any) -> str | int | float | bool | None:
    """A prop value: scalars as they are, nested structures as JSON text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json_text(value)


def text(value: Any) -> str | None:
    """A string prop, or None if absent/empty; other scalars are stringified."""
    value = scalar(value)
    return None if value is None or value == "" else str(value)


def json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def schema_columns(fields: Any, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Schema fields flattened depth-first: nested struct fields as "parent.child".

    Raises TypeError if `fields` is not a list: then the whole facet is unreadable.
    Entries without a name are skipped.
    """
    if not isinstance(fields, list):
        raise TypeError(f"schema fields must be a list, got {type(fields).__name__}")
    flat: list[tuple[str, dict[str, Any]]] = []
    for entry in fields:
        name = text(entry.get("name")) if isinstance(entry, dict) else None
        if name is None:
            continue
        path = f"{prefix}{name}"
        flat.append((path, entry))
        if entry.get("fields"):
            flat.extend(schema_columns(entry["fields"], f"{path}."))
    return flat

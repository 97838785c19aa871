"""Reading event files for bulk intake: files or folders, plain or .gz; one JSON event, a JSON
array of events, or NDJSON. Yields (where, event) so rejections can say where they came from.
Parsed as the HTTP intake parses (ingest/strict_json.py): NaN, huge numbers and repeated keys are
refused by path, not stored."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lineage_kg.ingest import strict_json
from lineage_kg.ingest.openlineage.validate import FieldError, InvalidEvent

SUFFIXES = (".json", ".ndjson", ".jsonl", ".json.gz", ".ndjson.gz", ".jsonl.gz")


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders searched recursively for event files, in name order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.name.endswith(SUFFIXES)))
        else:
            found.append(path)
    return found


def read_events(path: Path) -> Iterator[tuple[str, Any]]:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    stripped = text.lstrip()
    if stripped.startswith("[") or (stripped.startswith("{") and _is_one_document(text)):
        data = strict_json.loads(text)
        for i, event in enumerate(data if isinstance(data, list) else [data]):
            yield f"{path}[{i}]", event
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield f"{path}:{number}", strict_json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                yield f"{path}:{number}", InvalidEvent([FieldError("$", f"not valid JSON: {exc}")])


def _is_one_document(text: str) -> bool:
    try:
        strict_json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return False
    return True

"""Reading the files: catalog YAML sections, and the rows of a deployments or monitoring file,
each item with where it came from, for error messages.

Rows: YAML (a list, or a mapping holding one list), NDJSON (one JSON object a line) or CSV (a
header line; empty cells are absent values; `subject.model`-style dotted headers nest).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lineage_kg.ingest.catalog.records import Row

SECTIONS = ("people", "teams", "assign", "kpis", "decision_points")


@dataclass(slots=True)
class CatalogDoc:
    """The sections of one or more catalog files, items unvalidated, each with its place."""

    sections: dict[str, list[Row]] = field(default_factory=lambda: {s: [] for s in SECTIONS})
    as_of: Any = None  # when the catalog speaks of (its `as_of:`), if it says
    problems: list[tuple[str, str]] = field(default_factory=list)  # (where, why)


def read_catalog(paths: list[Path]) -> CatalogDoc:
    """Every section of every file, in order; unknown sections and bad files as problems."""
    doc = CatalogDoc()
    for path in paths:
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            doc.problems.append((path.name, f"cannot read: {exc}"))
            continue
        if not isinstance(content, dict):
            doc.problems.append((path.name, f"expected a mapping of sections {SECTIONS}"))
            continue
        for name, items in content.items():
            if name == "as_of":
                doc.as_of = max(doc.as_of, items, key=str) if doc.as_of is not None else items
            elif name not in SECTIONS:
                doc.problems.append((f"{path.name} {name}", f"unknown section; known: {SECTIONS}"))
            elif not isinstance(items, list):
                doc.problems.append((f"{path.name} {name}", "must be a list"))
            else:
                doc.sections[name] += [(f"{path.name} {name}[{i}]", x) for i, x in enumerate(items)]
    return doc


def read_rows(path: Path, section: str) -> Iterator[Row]:
    """The rows of `path` by its suffix; a YAML mapping's rows are under `section`."""
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        yield from _yaml_rows(path, section)
    elif suffix in (".ndjson", ".jsonl"):
        yield from _ndjson_rows(path)
    elif suffix == ".csv":
        yield from _csv_rows(path)
    else:
        raise ValueError(f"{path.name}: unknown format {suffix!r} (use .yaml, .ndjson or .csv)")


def _yaml_rows(path: Path, section: str) -> Iterator[Row]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(doc, dict):
        doc = doc.get(section)
    if not isinstance(doc, list):
        raise TypeError(f"{path.name}: expected a list of {section} (or `{section}:` holding one)")
    for i, row in enumerate(doc):
        yield f"{path.name} {section}[{i}]", row


def _ndjson_rows(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path.name} line {number}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as exc:
                yield where, ValueError(f"not JSON: {exc.msg}")


def _csv_rows(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            yield f"{path.name} line {reader.line_num}", _nest(row)


def _nest(row: dict[str | None, Any]) -> dict[str, Any]:
    """`{"subject.model": "m"}` → `{"subject": {"model": "m"}}`; empty cells dropped."""
    out: dict[str, Any] = {}
    for header, value in row.items():
        if header is None or value is None or (isinstance(value, str) and not value.strip()):
            continue  # cells beyond the header, and empty ones
        *parents, leaf = header.strip().split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value.strip() if isinstance(value, str) else value
    return out

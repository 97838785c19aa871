"""Decision files for `lkg ingest-decisions`: NDJSON (or a JSON array), CSV and Parquet, read as
a stream of (where, item) so a rejected row can be reported by file and line (or row).

CSV: one column per field; empty cells are absent fields; `features` is a JSON array or
`;`-separated refs (`project/view:feature;…`); `outcome` is JSON when it parses as JSON, else
text. Parquet: the same columns; timestamps may be Parquet timestamps (naive = UTC).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from lineage_kg.ingest.decisions.records import ItemError

SUFFIXES = (".ndjson", ".jsonl", ".json", ".csv", ".parquet")


def kind_of(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return suffix.lstrip(".")
    raise ValueError(f"{path}: not a decision file (.ndjson, .jsonl, .json, .csv, .parquet)")


def row_count(path: Path) -> int | None:
    """Rows in the file when that is cheap to know (Parquet metadata), else None."""
    return pq.ParquetFile(path).metadata.num_rows if kind_of(path) == "parquet" else None


def read_decisions(path: Path) -> Iterator[tuple[str, Any]]:
    match kind_of(path):
        case "parquet":
            yield from _parquet(path)
        case "csv":
            yield from _csv(path)
        case _:
            yield from _json(path)


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8")  # type: ignore[return-value]
    return open(path, encoding="utf-8", newline="")  # type: ignore[return-value]


def _json(path: Path) -> Iterator[tuple[str, Any]]:
    with _open_text(path) as text:
        first = text.read(1)
        while first.isspace():
            first = text.read(1)
        if first == "[":  # one JSON array: small enough to load, by construction
            for i, item in enumerate(json.loads(first + text.read())):
                yield f"{path}[{i}]", item
            return
        for number, line in enumerate(_prepend(first, text), start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as exc:
                yield where, ItemError(number, where, [("$", f"not valid JSON: {exc}")])


def _prepend(first: str, text: io.TextIOBase) -> Iterator[str]:
    lines = iter(text)
    head = next(lines, "")
    yield first + head
    yield from lines


def _cell(name: str, value: str) -> Any:
    if name == "features":
        stripped = value.strip()
        if stripped.startswith("["):
            return json.loads(stripped)
        return [ref.strip() for ref in stripped.split(";") if ref.strip()]
    if name == "outcome":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if name == "timestamp" and value.strip().isdigit():
        return int(value)  # epoch milliseconds
    return value


def _csv(path: Path) -> Iterator[tuple[str, Any]]:
    with _open_text(path) as text:
        reader = csv.DictReader(text)
        for row in reader:
            where = f"{path}:{reader.line_num}"
            try:
                yield where, {k: _cell(k, v) for k, v in row.items() if k and v not in ("", None)}
            except json.JSONDecodeError as exc:
                yield where, ItemError(reader.line_num, where, [("features", f"not JSON: {exc}")])


def _plain(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and name in ("features", "outcome"):
        return _cell(name, value)
    return value


def _parquet(path: Path) -> Iterator[tuple[str, Any]]:
    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
        for row in batch.to_pylist():
            number += 1
            where = f"{path}:row {number}"
            try:
                yield where, {k: _plain(k, v) for k, v in row.items() if v is not None}
            except json.JSONDecodeError as exc:
                yield where, ItemError(number, where, [("features", f"not JSON: {exc}")])

"""Decision logs from files as a source (ingest/source_sync.py): the rows are validated in
batches and each batch's valid decisions become ONE record — one log event, as over HTTP —
durable before the next batch is read. Rejected rows are reported by file:line and field.

`lkg ingest-decisions` and the benchmarks' loader both run it with `run_source`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineage_kg.ingest.decisions.files import read_decisions
from lineage_kg.ingest.decisions.records import (
    MAX_BATCH,
    SOURCE,
    ItemError,
    decision_event,
    validate_items,
)
from lineage_kg.ingest.source_sync import SourceRecord, SourceState, SyncReport


def _nothing(*_: object) -> None:
    return None


@dataclass(slots=True)
class DecisionFiles:
    paths: list[Path]
    per_event: int = MAX_BATCH  # decisions per log event
    started: Callable[[Path], None] = _nothing  # a file begins
    advanced: Callable[[int], None] = _nothing  # rows of it read
    name: str = SOURCE
    batch: int = 1  # records per durable write: each batch durable before the next is read
    # what the files gave: decisions appended, already logged, rejected; log events written
    stored: int = 0
    duplicates: int = 0
    events: int = 0
    rejected: list[ItemError] = field(default_factory=list)

    def records(self, report: SyncReport, state: SourceState) -> Iterator[SourceRecord]:
        for path in self.paths:
            self.started(path)
            pending: list[tuple[int, str, Any]] = []
            for index, (where, item) in enumerate(read_decisions(path)):
                pending.append((index, where, item))
                if len(pending) >= self.per_event:
                    yield from self._batch(pending, report)
                    self.advanced(self.per_event)
                    pending = []
            self.advanced(len(pending))
            if pending:
                yield from self._batch(pending, report)

    def _batch(
        self, pending: list[tuple[int, str, Any]], report: SyncReport
    ) -> Iterator[SourceRecord]:
        checked = validate_items(pending)
        self.rejected.extend(checked.rejected)
        for item in checked.rejected:
            report.skip(item.where, "; ".join(f"{p}: {m}" for p, m in item.errors))
        if checked.decisions:
            report.count("decisions", len(checked.decisions))
            event = decision_event(checked.decisions)
            yield SourceRecord(event.kind, event.event_time, event.body)

    def appended(self, record: SourceRecord, duplicate: bool) -> None:
        """`run_source`'s `on_appended`: count the batch's decisions as stored or known."""
        self.events += 1
        if duplicate:
            self.duplicates += len(record.body["decisions"])
        else:
            self.stored += len(record.body["decisions"])

    def committed(self, report: SyncReport, state: SourceState) -> None:
        return None

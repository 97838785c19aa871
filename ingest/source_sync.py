"""The one durable path for every non-OpenLineage source: records → the event log → the graph.

A sync (MLflow, Feast, dbt, catalogs, deployments, monitoring) reads what its source says and
turns it into `SourceRecord`s: self-contained JSON documents with a kind and the time they speak
of. They are appended to the same event log as OpenLineage events, so they are replayable,
idempotent (a record's id is the hash of its content: an unchanged record synced again is a
duplicate and writes nothing) and the evidence behind every node and edge they create. The
projector maps them with the source's `map_entry` (ingest/sources.py).

Bad source data is reported by name (`Skipped`: where, and why) and left out; nothing else in
the batch is lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graph.timefmt import canonical_time
from ingest.eventlog import EventLog, NewEvent


@dataclass(frozen=True, slots=True)
class SourceRecord:
    kind: str  # e.g. "model_version", "feature_view", "manifest_node"
    event_time: str | int | float  # when the source says this was so (ISO time or epoch ms)
    body: dict[str, Any]  # self-contained: the mapper sees nothing else


@dataclass(frozen=True, slots=True)
class Skipped:
    where: str  # which item: "model credit-risk version 7", "decisions.csv line 12"
    why: str  # what is wrong, naming the field: "source run r-123: not found"


@dataclass(slots=True)
class SyncReport:
    source: str
    appended: int = 0
    duplicates: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    # what the sync read, for the summary: {"requests": 12, "model versions": 4, …}
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def skip(self, where: str, why: str) -> None:
        self.skipped.append(Skipped(where, why))


def record_time(value: str | float) -> str:
    """Epoch milliseconds (MLflow, Feast) or an ISO time → canonical time."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        from datetime import UTC, datetime

        return canonical_time(datetime.fromtimestamp(value / 1000, tz=UTC))
    return canonical_time(value)


def append_records(
    log: EventLog,
    source: str,
    records: Iterable[SourceRecord],
    report: SyncReport | None = None,
    *,
    batch: int = 500,
) -> SyncReport:
    """Append `records` durably, `batch` per fsync; count appended and duplicates."""
    report = report or SyncReport(source)
    pending: list[NewEvent] = []

    def flush() -> None:
        for appended in log.append(pending):
            if appended.duplicate:
                report.duplicates += 1
            else:
                report.appended += 1
        pending.clear()

    for record in records:
        pending.append(NewEvent(source, record.kind, record_time(record.event_time), record.body))
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return report

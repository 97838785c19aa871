"""The one durable path for every non-OpenLineage source: records → the event log → the graph.

The contract (after DataHub's `Source.get_workunits()` and its `SourceReport`): a `Source`
(MLflow, Feast, dbt, catalogs, deployments, monitoring, decision files) yields `SourceRecord`s
and says in a `SyncReport` what it read, and what it skipped and why; one runner, `run_source`,
appends them to the log (the service's projector, or `--project`, applies them to the graph).

A `SourceRecord` is a self-contained JSON document with a kind and the time it speaks of. They
are appended to the same event log as OpenLineage events, so they are replayable, idempotent (a
record's id is the hash of its content: an unchanged record synced again is a duplicate and
writes nothing) and the evidence behind every node and edge they create. The projector maps
them with the source's `map_entry` (ingest/sources.py).

Bad source data is reported by name (`Skipped`: where, and why) and left out; nothing else in
the batch is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from lineage_kg.graph.timefmt import canonical_time, from_epoch_millis
from lineage_kg.ingest.eventlog import EventLog, NewEvent, event_id_of


@dataclass(frozen=True, slots=True)
class SourceRecord:
    kind: str  # e.g. "model_version", "feature_view", "manifest_node"
    event_time: str | int | float  # when the source says this was so (ISO time or epoch ms)
    body: dict[str, Any]  # self-contained: the mapper sees nothing else
    # which object of the source this describes ("model.shop.orders"): with it, a record is new
    # whenever its content differs from the last one logged for that object, even if the same
    # content was logged before (a definition changed and then changed back)
    identity: str = ""


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
        return from_epoch_millis(value)
    return canonical_time(value)


class SourceState:
    """What a source keeps in the log between syncs (watermarks, last snapshots), by key."""

    def __init__(self, log: EventLog, source: str) -> None:
        self._log, self._source = log, source

    def get(self, key: str) -> str | None:
        return self._log.get_state(self._source, key)

    def set(self, key: str, value: str) -> None:
        self._log.set_state(self._source, key, value)


class Source(Protocol):
    """One source's read side: self-contained records, and a report of what it skipped."""

    name: str  # the log's source name (ingest/sources.py), which picks the mapper
    batch: int  # records per durable write

    def records(self, report: SyncReport, state: SourceState) -> Iterable[SourceRecord]:
        """What the source says now; bad items go into `report.skip(where, why)`."""
        ...

    def committed(self, report: SyncReport, state: SourceState) -> None:
        """Called once the records are durable: only now may watermarks move."""
        ...


def run_source(
    log: EventLog,
    source: Source,
    report: SyncReport | None = None,
    on_appended: Callable[[SourceRecord, bool], None] | None = None,
) -> SyncReport:
    """The one runner: the source's records appended to the log durably, then its state."""
    report = report or SyncReport(source.name)
    state = SourceState(log, source.name)
    records = source.records(report, state)
    append_records(log, source.name, records, report, batch=source.batch, on_appended=on_appended)
    source.committed(report, state)
    return report


@dataclass(slots=True)
class RecordsSource:
    """Records read beforehand (a dbt manifest, a catalog matched against the store) as a
    source: the reading, and its errors, came first; the runner appends."""

    name: str
    read: Iterable[SourceRecord]
    batch: int = 500

    def records(self, report: SyncReport, state: SourceState) -> Iterable[SourceRecord]:
        return self.read

    def committed(self, report: SyncReport, state: SourceState) -> None:
        return None


def append_records(
    log: EventLog,
    source: str,
    records: Iterable[SourceRecord],
    report: SyncReport | None = None,
    *,
    batch: int = 500,
    on_appended: Callable[[SourceRecord, bool], None] | None = None,
) -> SyncReport:
    """Append `records` durably, `batch` per fsync; count appended and duplicates (and tell
    `on_appended(record, duplicate)` of each record written or found already logged)."""
    report = report or SyncReport(source)
    last_content = log.get_states(source, _CONTENT)
    pending: list[NewEvent] = []
    written: list[SourceRecord] = []
    contents: dict[str, str] = {}

    def flush() -> None:
        for record, appended in zip(written, log.append(pending), strict=True):
            if appended.duplicate:
                report.duplicates += 1
            else:
                report.appended += 1
            if on_appended is not None:
                on_appended(record, appended.duplicate)
        if contents:  # after the records are durable, never before
            log.set_states(source, contents)
            last_content.update(contents)
        pending.clear()
        written.clear()
        contents.clear()

    for record in records:
        when = record_time(record.event_time)
        salt = ""
        if record.identity:
            key, content = _CONTENT + record.identity, event_id_of(source, record.body)
            if last_content.get(key) == content:
                report.duplicates += 1
                if on_appended is not None:
                    on_appended(record, True)
                continue
            # logged before but not as the latest: new again, told apart by its time
            salt, contents[key] = f"{record.identity}@{when}", content
        pending.append(NewEvent(source, record.kind, when, record.body, salt))
        written.append(record)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return report


_CONTENT = "content:"

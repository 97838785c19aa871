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

from graph.timefmt import canonical_time, from_epoch_millis
from ingest.eventlog import EventLog, NewEvent, event_id_of


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
    last_content = log.get_states(source, _CONTENT)
    pending: list[NewEvent] = []
    contents: dict[str, str] = {}

    def flush() -> None:
        for appended in log.append(pending):
            if appended.duplicate:
                report.duplicates += 1
            else:
                report.appended += 1
        if contents:  # after the records are durable, never before
            log.set_states(source, contents)
            last_content.update(contents)
        pending.clear()
        contents.clear()

    for record in records:
        when = record_time(record.event_time)
        salt = ""
        if record.identity:
            key, content = _CONTENT + record.identity, event_id_of(source, record.body)
            if last_content.get(key) == content:
                report.duplicates += 1
                continue
            # logged before but not as the latest: new again, told apart by its time
            salt, contents[key] = f"{record.identity}@{when}", content
        pending.append(NewEvent(source, record.kind, when, record.body, salt))
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return report


_CONTENT = "content:"

"""Which mapper turns a logged event of each source into graph mutations."""

from __future__ import annotations

from graph.mutations import MutationBatch
from ingest.eventlog import LogEntry
from ingest.intake import OPENLINEAGE
from ingest.projector import Mapper


def _openlineage(entry: LogEntry) -> MutationBatch:
    from ingest.openlineage.mapping import map_event

    return map_event(entry.body, entry.event_id)


def default_mappers() -> dict[str, Mapper]:
    return {OPENLINEAGE: _openlineage}

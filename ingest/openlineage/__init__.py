"""OpenLineage ingestion: events (RunEvent, DatasetEvent, JobEvent) to graph mutations."""

from ingest.openlineage.identity import canonical_dataset
from ingest.openlineage.mapping import UnmappableEvent, map_event

__all__ = ["UnmappableEvent", "canonical_dataset", "map_event"]

"""OpenLineage ingestion: events (RunEvent, DatasetEvent, JobEvent) to graph mutations.

Import from the modules (`ingest.openlineage.mapping`, `.naming`, …): the package itself loads
nothing, so naming rules used by every source do not pull in the spec's generated models.
"""

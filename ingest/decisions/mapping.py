"""Decision batches → the graph: nothing at mapping time.

The aggregated `ModelVersion -DECIDED-> DecisionPoint` edges are written by the decisions
projection (ingest/decisions/projection.py) for decisions it has stored, i.e. whose decision
point and model version other sources know: a mapper cannot know that, and an edge from here
would create the very nodes an unknown reference should not conjure up. The log entry still
goes through the projector like any other (its checkpoint covers it).
"""

from __future__ import annotations

from lineage_kg.graph.mutations import MutationBatch
from lineage_kg.ingest.eventlog import LogEntry


def map_entry(entry: LogEntry) -> MutationBatch:
    return MutationBatch()

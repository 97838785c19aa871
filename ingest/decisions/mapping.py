"""Decision batches → the graph: only aggregated edges, never one node per decision.

`ModelVersion -DECIDED-> DecisionPoint` for each (version, decision point) a batch names a
version for; the edge's time is the earliest such decision in the batch. Counts and the
decisions themselves live in the side table (ingest/decisions/table.py); decisions naming an
alias, or no model version at all, are resolved at query time and add no edge.
"""

from __future__ import annotations

from graph.model import EdgeKind, NodeKey, NodeKind
from graph.mutations import MutationBatch, Provenance
from ingest.decisions.records import SOURCE
from ingest.eventlog import LogEntry


def map_entry(entry: LogEntry) -> MutationBatch:
    earliest: dict[tuple[str, str, str, str], str] = {}
    for item in entry.body["decisions"]:
        if "version" not in item:
            continue
        key = (item["registry"], item["model"], item["version"], item["decision_point"])
        at = item["timestamp"]
        if key not in earliest or at < earliest[key]:
            earliest[key] = at
    batch = MutationBatch()
    for (registry, model, version, point), at in sorted(earliest.items()):
        batch.edge(
            NodeKey.of(NodeKind.MODEL_VERSION, registry=registry, name=model, version=version),
            EdgeKind.DECIDED,
            NodeKey.of(NodeKind.DECISION_POINT, name=point),
            Provenance(SOURCE, entry.event_id, at),
        )
    return batch

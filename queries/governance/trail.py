"""The policy's evaluation as the governance log records it (graph/sides/governance_log.py):
handed by the API to the watcher (service/governance_watch.py), which does not import queries/."""

from __future__ import annotations

from lineage_kg.graph.sides.decisions import DecisionTable
from lineage_kg.graph.sides.governance_log import Observation, Sighting
from lineage_kg.graph.store import GraphStore
from lineage_kg.queries.governance.evaluate import evaluate_all
from lineage_kg.queries.governance.policy import Policy


def observe(
    store: GraphStore,
    policy: Policy | None,
    *,
    decisions: DecisionTable | None = None,
    max_nodes: int = 100_000,
) -> Observation:
    """Every violation of `policy` over the graph as it is now."""
    found = evaluate_all(store, policy, decisions=decisions, max_nodes=max_nodes)
    sightings = [
        Sighting(
            v.rule, v.severity.value, v.subject, v.related, v.since, tuple(v.evidence), v.detail
        )
        for v in found.violations
    ]
    return Observation(sightings, found.at, complete=not found.truncated)
